"""Time forward + backward of dlbook's LSTM and GRU against torch.nn's, and the machine's matmul peak.

Run from the repository root::

    python benchmarks/bench_rnn.py [--threads 1] [--repeat R] [--out DIR] [--tiny]

Two shapes from Zaremba et al. (2014): *small* (2 layers, 200 units, batch
20, 20 steps) and *medium* (2 layers, 650 units, batch 20, 35 steps), in
float32 on the CPU, input size equal to the hidden size. For each model the
script times one forward pass and one backward pass (the input also needs
its gradient, as after an embedding layer), alternating dlbook's module and
torch.nn's with the same weights, and prints the medians and their ratio.
Goal: dlbook's LSTM at most 1.5x torch.nn.LSTM.

In the same run it measures the fp32 matrix-product peak (the best rate of
square ``torch.mm`` products of sides 512, 1024 and 2048, on the same threads,
at the start and at the end of the run) and reports, against it, the rate
of the whole pass (the matrix-product FLOPs of the pass, counted below,
over its time) and of one recurrent step's product ``(N, H) @ (H, G H)``
alone. With ``--out DIR`` it writes ``DIR/bench_rnn.json`` with the command,
commit, machine, the 1-minute load average at the start and the end, and the
date (see :func:`dlbook.runs.provenance`). ``--tiny`` runs small shapes for
the tests.

FLOPs of one layer and direction with ``G`` gate blocks, ``T`` steps, batch
``N``, input ``I`` and hidden ``H``: the forward pass multiplies
:math:`T N \\times (I + H)` by :math:`(I + H) \\times G H` (input projection
plus one product per step), :math:`2 T N G H (I + H)` FLOPs; the backward pass
does it twice (input and state gradients; weight gradients), so a forward
plus backward pass costs :math:`6 T N G H (I + H)`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

import dlbook.nn as dnn
from dlbook.runs import load_average, provenance

GOALS = {"LSTM": 1.5, "GRU": 1.5}
SHAPES = {
    "small": {"layers": 2, "hidden": 200, "batch": 20, "steps": 20},
    "medium": {"layers": 2, "hidden": 650, "batch": 20, "steps": 35},
}
TINY = {"tiny": {"layers": 2, "hidden": 16, "batch": 4, "steps": 5}}
GATES = {"LSTM": 4, "GRU": 3}


def pass_flops(mode: str, layers: int, hidden: int, batch: int, steps: int) -> float:
    """Matrix-product FLOPs of one forward plus backward pass (input size = hidden size)."""
    g = GATES[mode]
    return float(sum(6 * steps * batch * g * hidden * (hidden + hidden) for _ in range(layers)))


def matmul_peak(sizes=(512, 1024, 2048), repeat: int = 5) -> float:
    """The best rate, in GFLOP/s, of ``torch.mm`` of two square fp32 matrices over a few sides."""
    best_rate = 0.0
    for size in sizes:
        a, b = torch.randn(size, size), torch.randn(size, size)
        torch.mm(a, b)
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - start)
        best_rate = max(best_rate, 2 * size**3 / best / 1e9)
    return best_rate


def step_rate(mode: str, hidden: int, batch: int, repeat: int = 50) -> float:
    """GFLOP/s of one recurrent step's product ``(N, H) @ (H, G H)`` alone (median of ``repeat``)."""
    g = GATES[mode]
    h, w = torch.randn(batch, hidden), torch.randn(g * hidden, hidden)
    out = torch.empty(batch, g * hidden)
    times = []
    for _ in range(repeat + 5):
        start = time.perf_counter()
        torch.mm(h, w.t(), out=out)
        times.append(time.perf_counter() - start)
    return 2 * batch * hidden * g * hidden / statistics.median(times[5:]) / 1e9


def _time(model, x, grad):
    leaf = x.detach().requires_grad_()
    start = time.perf_counter()
    out, _ = model(leaf)
    middle = time.perf_counter()
    out.backward(grad)
    end = time.perf_counter()
    return middle - start, end - middle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--repeat", type=int, default=15, help="timed passes per model")
    parser.add_argument("--out", default=None, help="folder for bench_rnn.json")
    parser.add_argument("--tiny", action="store_true", help="tiny shapes (for the tests)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    info, load_start = provenance(), load_average()
    print(
        f"torch {info['torch_version']}, {info['cpu'] or info['platform']}, "
        f"{torch.get_num_threads()} threads, commit {(info['commit'] or 'unknown')[:7]}"
        f"{' (uncommitted changes)' if info['uncommitted_changes'] else ''}, {info['date']}, "
        f"1-minute load {load_start}"
    )
    sizes = (128, 256) if args.tiny else (512, 1024, 2048)
    peak_start = matmul_peak(sizes)
    print(f"fp32 matmul peak at the start (best square torch.mm): {peak_start:.1f} GFLOP/s")
    print(
        f"{'model':<6} {'shape':<8} {'dlbook ms':>9} {'(fwd/bwd)':>13} {'torch ms':>9} {'(fwd/bwd)':>13} "
        f"{'ratio':>6} {'dlbook rate':>12} {'torch rate':>11} {'step rate':>10}  goal"
    )
    rows = []
    for shape_name, shape in (TINY if args.tiny else SHAPES).items():
        for mode in ("LSTM", "GRU"):
            h, n, t, layers = shape["hidden"], shape["batch"], shape["steps"], shape["layers"]
            ref = getattr(torch.nn, mode)(h, h, layers)
            ours = getattr(dnn, mode)(h, h, layers)
            ours.load_state_dict(ref.state_dict())
            x = torch.randn(t, n, h)
            grad = torch.randn(t, n, h)
            for _ in range(2):  # warm up
                _time(ours, x, grad)
                _time(ref, x, grad)
            t_ours, t_ref = [], []
            for _ in range(args.repeat):
                t_ours.append(_time(ours, x, grad))
                t_ref.append(_time(ref, x, grad))
            a = statistics.median(f + b for f, b in t_ours)
            b = statistics.median(f + b for f, b in t_ref)
            fwd_a, bwd_a = (statistics.median(v[i] for v in t_ours) for i in (0, 1))
            fwd_b, bwd_b = (statistics.median(v[i] for v in t_ref) for i in (0, 1))
            flops = pass_flops(mode, layers, h, n, t)
            rate_ours, rate_ref = flops / a / 1e9, flops / b / 1e9
            step = step_rate(mode, h, n)
            goal = GOALS[mode]
            rows.append(
                {
                    "model": mode,
                    "shape": shape_name,
                    **shape,
                    "dlbook_ms": 1e3 * a,
                    "dlbook_forward_ms": 1e3 * fwd_a,
                    "dlbook_backward_ms": 1e3 * bwd_a,
                    "torch_ms": 1e3 * b,
                    "torch_forward_ms": 1e3 * fwd_b,
                    "torch_backward_ms": 1e3 * bwd_b,
                    "ratio": a / b,
                    "goal": goal,
                    "met": a / b <= goal,
                    "matmul_gflop": flops / 1e9,
                    "dlbook_gflops": rate_ours,
                    "torch_gflops": rate_ref,
                    "step_matmul_gflops": step,
                }
            )
            print(
                f"{mode:<6} {shape_name:<8} {1e3 * a:9.1f} {f'({1e3 * fwd_a:.0f}/{1e3 * bwd_a:.0f})':>13} "
                f"{1e3 * b:9.1f} {f'({1e3 * fwd_b:.0f}/{1e3 * bwd_b:.0f})':>13} {a / b:6.2f} "
                f"{rate_ours:7.1f} GF/s {rate_ref:6.1f} GF/s {step:5.1f} GF/s  "
                f"<= {goal} {'met' if a / b <= goal else 'missed'}"
            )
    # the peak again at the end: on a shared machine the better of the two is the closer to the truth
    peak = max(peak_start, matmul_peak(sizes))
    print(f"fp32 matmul peak (best of the start and the end): {peak:.1f} GFLOP/s")
    for r in rows:
        r["dlbook_fraction_of_peak"] = r["dlbook_gflops"] / peak
        r["torch_fraction_of_peak"] = r["torch_gflops"] / peak
        r["step_fraction_of_peak"] = r["step_matmul_gflops"] / peak
        print(
            f"{r['model']:<6} {r['shape']:<8} fraction of the peak: dlbook {100 * r['dlbook_fraction_of_peak']:.0f}%, "
            f"torch {100 * r['torch_fraction_of_peak']:.0f}%, "
            f"one step's product {100 * r['step_fraction_of_peak']:.0f}%"
        )
    if args.out:
        out = Path(args.out) / "bench_rnn.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "command": "python " + " ".join(sys.argv),
            **info,
            "torch_threads": torch.get_num_threads(),
            "repeat": args.repeat,
            "matmul_peak_gflops": peak,
            "matmul_peak_start_gflops": peak_start,
            "load_start": load_start,
            "load_end": load_average(),
            "rows": rows,
        }
        out.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
