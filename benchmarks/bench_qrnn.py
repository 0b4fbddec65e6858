"""QRNN (window 2) vs LSTM of the same width, forward and backward, one thread, one run.

Prints milliseconds per batch and the ratios LSTM / QRNN for dlbook's LSTM
and torch.nn.LSTM, for the sentence-classification shape (50 sentences of
30 word vectors of size 300) and widths 150 and 300. No goal is asserted:
the QRNN's point is that its sequential part is elementwise.

    python benchmarks/bench_qrnn.py [--repeat 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch

import dlbook.nn as dnn


def best_ms(module, x, repeat):
    module(x)[0].sum().backward()  # warm up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        module(x)[0].sum().backward()
        best = min(best, time.perf_counter() - start)
    return 1e3 * best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(50, 30, 300)
    print(f"{'width':>6} {'QRNN ms':>9} {'dlbook LSTM ms':>15} {'torch LSTM ms':>14} {'dlbook/QRNN':>12} "
          f"{'torch/QRNN':>11}")
    for width in (150, 300):
        q = best_ms(dnn.QRNN(300, width, window=2, batch_first=True), x, args.repeat)
        d = best_ms(dnn.LSTM(300, width, batch_first=True), x, args.repeat)
        t = best_ms(torch.nn.LSTM(300, width, batch_first=True), x, args.repeat)
        print(f"{width:>6} {q:9.1f} {d:15.1f} {t:14.1f} {d / q:12.2f} {t / q:11.2f}")


if __name__ == "__main__":
    main()
