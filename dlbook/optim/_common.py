"""Helpers shared by the optimizers of :mod:`dlbook.optim`."""

from __future__ import annotations

import torch


def evaluate_closure(closure):
    """Call ``closure`` with gradients enabled and return its loss (``None`` without a closure), as PyTorch does."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()
