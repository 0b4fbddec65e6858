"""Reproducible studies with one command-line entry point.

``python -m dlbook.experiments <study> [--budget B] [--jobs J] [--out DIR]``
runs a study and writes its results file; the shared machinery (worker
processes, aggregation over seeds or folds, provenance, JSON) is in
:mod:`dlbook.experiments.runner`, and each study module defines only its
data, rows and training. ``python -m dlbook.experiments mnist3k --seeds 3
--out DIR`` runs the case study of :mod:`dlbook.experiments.mnist3k` and
writes ``DIR/mnist3k.json``.
"""

from dlbook.experiments.mnist3k import CONFIGS, load_split, run_config, run_study

__all__ = ["CONFIGS", "load_split", "run_config", "run_study"]
