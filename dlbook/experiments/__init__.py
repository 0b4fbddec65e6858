"""Reproducible experiments with a command-line entry point.

``python -m dlbook.experiments mnist3k --seeds 3 --budget default --out DIR``
runs the case study of :mod:`dlbook.experiments.mnist3k` and writes
``DIR/mnist3k.json``.
"""

from dlbook.experiments.mnist3k import CONFIGS, load_split, run_config, run_study

__all__ = ["CONFIGS", "load_split", "run_config", "run_study"]
