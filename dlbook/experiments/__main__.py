"""Command line: ``python -m dlbook.experiments <study> [--budget B] [--jobs J] [--out DIR] [study options]``.

Each study is a module listed in :data:`dlbook.experiments.runner.STUDIES`;
``python -m dlbook.experiments <study> --help`` lists its options.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from dlbook.budget import BUDGETS, get_budget
from dlbook.experiments.runner import STUDIES, write_results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dlbook.experiments",
                                     description="Run a dlbook study and write its results as JSON.")
    sub = parser.add_subparsers(dest="experiment", required=True, metavar="study",
                                help="one of: " + ", ".join(STUDIES))
    for name, module in STUDIES.items():
        study = importlib.import_module(module)
        p = sub.add_parser(name, help=(study.__doc__ or "").strip().splitlines()[0],
                           description=(study.__doc__ or "").strip().splitlines()[0])
        p.add_argument("--budget", choices=BUDGETS, default=None,
                       help="run budget; DLBOOK_BUDGET (or 'default') when omitted")
        p.add_argument("--jobs", type=int, default=1,
                       help="worker processes sharing the runs, each with cpu_count // jobs threads")
        p.add_argument("--out", default=".", help="folder for the results file")
        p.add_argument("--note", default="", help="free text stored in the JSON (e.g. machine load)")
        p.add_argument("--merge", action="store_true",
                       help="keep the rows already in the results file that this run does not produce")
        study.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    args.budget = get_budget(args.budget)
    study = importlib.import_module(STUDIES[args.experiment])
    try:
        result = study.run(args)
    except ValueError as err:
        parser.error(str(err))
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only the first process writes the results
        return 0
    path = write_results(result, args.out, study.results_name(args), argv, note=args.note, merge=args.merge)
    for line in getattr(study, "summary_lines", lambda r: [])(result):
        print(line)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
