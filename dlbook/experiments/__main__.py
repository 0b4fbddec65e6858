"""Command line: ``python -m dlbook.experiments mnist3k --seeds 3 [--budget B] [--out DIR] [--jobs J]``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from dlbook.budget import BUDGETS, get_budget
from dlbook.experiments.mnist3k import CONFIGS, run_study


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m dlbook.experiments",
                                     description="Run a dlbook experiment and write its results as JSON.")
    parser.add_argument("experiment", choices=["mnist3k"], help="which experiment")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0, 1, ..., n-1)")
    parser.add_argument("--budget", choices=BUDGETS, default=None,
                        help="run budget; DLBOOK_BUDGET (or 'default') when omitted")
    parser.add_argument("--out", default=".", help="folder for mnist3k.json")
    parser.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=None,
                        help="run only these rows (default: all)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes sharing the runs, each with cpu_count // jobs threads")
    parser.add_argument("--note", default="", help="free text stored in the JSON (e.g. machine load)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    budget = get_budget(args.budget)
    result = run_study(seeds=args.seeds, budget=budget, dataset=args.dataset,
                       configs=args.configs, progress=True, jobs=args.jobs)
    result["command"] = "python -m dlbook.experiments " + " ".join(shlex.quote(a) for a in argv)
    result["note"] = args.note
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "mnist3k.json" if args.dataset == "mnist" else f"mnist3k-{args.dataset}.json"
    path = out / name
    path.write_text(json.dumps(result, indent=1) + "\n")
    for row in result["rows"]:
        print(f"{row['name']:<28} test {100 * row['test_accuracy_mean']:.2f} +- "
              f"{100 * row['test_accuracy_std']:.2f} %  val {100 * row['val_accuracy_mean']:.2f} %  "
              f"train {100 * row['train_accuracy_mean']:.2f} %  {row['wall_time_mean']:.0f} s/run")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
