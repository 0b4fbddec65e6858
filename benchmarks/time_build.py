"""Time a clean build of the whole book at one budget, and record it in ``docs/results``.

Run it from a fresh clone, with the data in ``DLBOOK_DATA``::

    python benchmarks/time_build.py --budget default

It measures the machine's fp32 matrix-product peak (``bench_rnn.py``'s
function) before and after, removes ``docs/_build``, ``docs/gallery`` and
the notebook cache of that budget (so every gallery script and every cell
runs), runs the build command (``nox -s docs`` unless ``--command`` says
otherwise) with ``DLBOOK_BUDGET`` set, and writes
``docs/results/build-<budget>.json``: the total wall time (the ``nox``
environment's installation included when it is created), the seconds of
every gallery script and of every page's cells (``docs/_build/build-times.json``,
written by the build), the command, commit, machine and date. The
"Reproducing" page shows the newest record.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlbook.budget import BUDGETS  # noqa: E402
from dlbook.runs import provenance  # noqa: E402


def clean(budget: str) -> None:
    """Remove what would let the build skip work: built pages, gallery output, cached cells."""
    for path in (ROOT / "docs" / "_build", ROOT / "docs" / "gallery", ROOT / ".jupyter_cache" / budget):
        shutil.rmtree(path, ignore_errors=True)


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=BUDGETS, default="default")
    parser.add_argument("--command", default="nox -s docs", help="the build command (default: %(default)s)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "results"))
    parser.add_argument("--no-clean", action="store_true", help="keep earlier outputs (the record says so)")
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)

    matmul_peak = runpy.run_path(str(ROOT / "benchmarks" / "bench_rnn.py"))["matmul_peak"]
    info = provenance()
    peak_start = matmul_peak()
    print(f"fp32 matmul peak: {peak_start:.1f} GFLOP/s", flush=True)
    if not args.no_clean:
        clean(args.budget)
    env = {**os.environ, "DLBOOK_BUDGET": args.budget}
    start = time.perf_counter()
    proc = subprocess.run(shlex.split(args.command), cwd=ROOT, env=env)
    total = time.perf_counter() - start
    peak = max(peak_start, matmul_peak())
    if proc.returncode != 0:
        sys.exit(f"the build failed (exit status {proc.returncode}) after {total:.0f} s; nothing recorded")
    times = json.loads((ROOT / "docs" / "_build" / "build-times.json").read_text())
    scripts = dict(sorted(times["gallery"].items(), key=lambda kv: -kv[1]))
    notebooks = {d: v["seconds"] for d, v in times["notebooks"].items() if v["seconds"] is not None}
    record = {
        "experiment": "build", "budget": args.budget, "command": "python benchmarks/time_build.py "
        + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
        "build_command": args.command, "clean": not args.no_clean,
        "total_seconds": total, "gallery_seconds": sum(scripts.values()),
        "notebook_seconds": sum(notebooks.values()),
        "scripts": scripts, "notebooks": notebooks, "matmul_peak_gflops": peak, "note": args.note,
        **info,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"build-{args.budget}.json"
    path.write_text(json.dumps(record, indent=1))
    print(f"{args.budget} build: {total / 60:.1f} min in all; gallery {record['gallery_seconds'] / 60:.1f} min, "
          f"cells {record['notebook_seconds'] / 60:.1f} min; wrote {path}")
    for name, seconds in scripts.items():
        print(f"  {seconds:7.1f} s  {name}")
    return path


if __name__ == "__main__":
    main()
