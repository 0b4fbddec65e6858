"""Time forward + backward of dlbook's conv2d, batch_norm and pooling against PyTorch's.

Run from the repository root::

    python benchmarks/bench_layers.py [--threads N] [--repeat R] [--out DIR]

For each layer at a typical CNN shape (float32, CPU unless CUDA is asked
for), the script times one forward and one backward pass of the dlbook
Function and of the ``torch.nn.functional`` built-in, alternating the two,
and prints the median times and their ratio. Goals on CPU: batch_norm within
1.5x of the built-in, pooling within 2x, conv2d within 3x. With ``--out DIR``
it also writes ``DIR/bench_layers.json``: the rows, the command, the commit,
the machine, the 1-minute load average at the start and the end, and the
date (see :func:`dlbook.runs.provenance`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

import dlbook.functional as D
from dlbook.runs import load_average, provenance

TF = torch.nn.functional

GOALS = {
    "batch_norm": 1.5,
    "max_pool2d": 2.0,
    "avg_pool2d": 2.0,
    "lp_pool2d": 2.0,
    "adaptive_avg_pool2d": 2.0,
    "adaptive_max_pool2d": 2.0,
    "conv2d": 3.0,
}


def _cases(device):
    def t(*shape):
        return torch.randn(*shape, device=device)

    bn = lambda f: lambda x, w, b: f(x, None, None, w, b, True, 0.1, 1e-5)  # noqa: E731
    return [
        (
            "conv2d",
            "3x3, 32->64, 64x32x28x28, pad 1",
            lambda: (t(64, 32, 28, 28), t(64, 32, 3, 3), t(64)),
            lambda x, w, b: D.conv2d(x, w, b, 1, 1),
            lambda x, w, b: TF.conv2d(x, w, b, 1, 1),
        ),
        (
            "conv2d",
            "5x5, 1->32, 64x1x28x28",
            lambda: (t(64, 1, 28, 28), t(32, 1, 5, 5), t(32)),
            lambda x, w, b: D.conv2d(x, w, b),
            lambda x, w, b: TF.conv2d(x, w, b),
        ),
        (
            "conv2d",
            "3x3 s2, 64->128, 32x64x16x16",
            lambda: (t(32, 64, 16, 16), t(128, 64, 3, 3), t(128)),
            lambda x, w, b: D.conv2d(x, w, b, 2, 1),
            lambda x, w, b: TF.conv2d(x, w, b, 2, 1),
        ),
        (
            "batch_norm",
            "64x64x28x28",
            lambda: (t(64, 64, 28, 28), t(64), t(64)),
            bn(D.batch_norm),
            bn(TF.batch_norm),
        ),
        (
            "batch_norm",
            "256x512",
            lambda: (t(256, 512), t(512), t(512)),
            bn(D.batch_norm),
            bn(TF.batch_norm),
        ),
        (
            "max_pool2d",
            "2x2 s2, 64x32x28x28",
            lambda: (t(64, 32, 28, 28),),
            lambda x: D.max_pool2d(x, 2),
            lambda x: TF.max_pool2d(x, 2),
        ),
        (
            "max_pool2d",
            "3x3 s2 pad 1, 32x64x32x32",
            lambda: (t(32, 64, 32, 32),),
            lambda x: D.max_pool2d(x, 3, 2, 1),
            lambda x: TF.max_pool2d(x, 3, 2, 1),
        ),
        (
            "avg_pool2d",
            "2x2 s2, 64x32x28x28",
            lambda: (t(64, 32, 28, 28),),
            lambda x: D.avg_pool2d(x, 2),
            lambda x: TF.avg_pool2d(x, 2),
        ),
        (
            "lp_pool2d",
            "p=2, 2x2 s2, 64x32x28x28",
            lambda: (t(64, 32, 28, 28).abs() + 0.1,),
            lambda x: D.lp_pool2d(x, 2.0, 2),
            lambda x: TF.lp_pool2d(x, 2.0, 2),
        ),
        (
            "adaptive_avg_pool2d",
            "to 7x7, 64x64x28x28",
            lambda: (t(64, 64, 28, 28),),
            lambda x: D.adaptive_avg_pool2d(x, 7),
            lambda x: TF.adaptive_avg_pool2d(x, 7),
        ),
        (
            "adaptive_max_pool2d",
            "to 7x7, 64x64x28x28",
            lambda: (t(64, 64, 28, 28),),
            lambda x: D.adaptive_max_pool2d(x, 7),
            lambda x: TF.adaptive_max_pool2d(x, 7),
        ),
        (
            "adaptive_max_pool2d",
            "to 6x6 (unequal bins), 64x64x28x28",
            lambda: (t(64, 64, 28, 28),),
            lambda x: D.adaptive_max_pool2d(x, 6),
            lambda x: TF.adaptive_max_pool2d(x, 6),
        ),
    ]


def _time(fn, inputs, grad):
    leaves = [x.detach().requires_grad_() for x in inputs]
    start = time.perf_counter()
    y = fn(*leaves)
    y.backward(grad)
    if y.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per layer")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None, help="folder for bench_layers.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    info, load_start = provenance(), load_average()
    print(
        f"torch {info['torch_version']}, {info['cpu'] or info['platform']}, device {device}, "
        f"{torch.get_num_threads()} threads, commit {(info['commit'] or 'unknown')[:7]}"
        f"{' (uncommitted changes)' if info['uncommitted_changes'] else ''}, {info['date']}, "
        f"1-minute load {load_start}"
    )
    print(f"{'layer':<19} {'shape':<36} {'dlbook ms':>9} {'torch ms':>9} {'ratio':>6}  goal")
    rows = []
    for name, shape, make, ours, ref in _cases(device):
        inputs = make()
        grad = torch.randn_like(ref(*inputs))
        for _ in range(2):  # warm up
            _time(ours, inputs, grad)
            _time(ref, inputs, grad)
        t_ours, t_ref = [], []
        for _ in range(args.repeat):
            t_ours.append(_time(ours, inputs, grad))
            t_ref.append(_time(ref, inputs, grad))
        a, b = statistics.median(t_ours), statistics.median(t_ref)
        goal = GOALS[name]
        rows.append({"layer": name, "shape": shape, "dlbook_ms": 1e3 * a, "torch_ms": 1e3 * b,
                     "ratio": a / b, "goal": goal, "met": a / b <= goal})
        print(
            f"{name:<19} {shape:<36} {1e3 * a:9.2f} {1e3 * b:9.2f} {a / b:6.2f}  "
            f"<= {goal} {'met' if a / b <= goal else 'missed'}"
        )
    if args.out:
        out = Path(args.out) / "bench_layers.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "command": "python " + " ".join(sys.argv),
            **info,
            "device": str(device),
            "torch_threads": torch.get_num_threads(),
            "repeat": args.repeat,
            "load_start": load_start,
            "load_end": load_average(),
            "rows": rows,
        }
        out.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
