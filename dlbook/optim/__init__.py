"""Optimizers written from the book's update rules.

``Momentum`` and ``Nesterov`` follow the velocity form of
Sutskever et al. (2013); ``ProximalGradient`` runs ISTA, or FISTA when
``accelerated=True``, with any proximal operator ``prox(v, step)``.
Each is a :class:`torch.optim.Optimizer`, so it plugs into any training
loop, including :func:`dlbook.runs.fit`.
"""

from dlbook.optim.adadelta import Adadelta
from dlbook.optim.analysis import convergence_rate, iteration_matrix, tuned_hyperparameters
from dlbook.optim.clip import clip_grad_norm_
from dlbook.optim.constraints import max_norm_
from dlbook.optim.momentum import Momentum, Nesterov
from dlbook.optim.proximal import (
    ProximalGradient,
    box_projection,
    l1_prox,
    soft_threshold,
)

__all__ = [
    "Adadelta",
    "max_norm_",
    "Momentum",
    "Nesterov",
    "ProximalGradient",
    "box_projection",
    "clip_grad_norm_",
    "convergence_rate",
    "iteration_matrix",
    "l1_prox",
    "soft_threshold",
    "tuned_hyperparameters",
]
