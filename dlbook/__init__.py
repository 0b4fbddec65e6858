"""dlbook: deep-learning fundamentals with executable, tested derivations.

The package is organised in small modules that mirror the book's chapters:

``dlbook.functional``
    Differentiable operations written as :class:`torch.autograd.Function`
    subclasses with hand-derived backward passes.
``dlbook.nn``
    :class:`torch.nn.Module` wrappers around ``dlbook.functional``.
``dlbook.autodiff``
    Numerical gradient checking and the chain-rule worked example.
``dlbook.linear``
    Softmax regression with the hand-derived gradient.
``dlbook.metrics``
    Accuracy and top-k error.
``dlbook.data``
    Data-set registry, verified downloads and loaders.
``dlbook.manifold``
    t-SNE: perplexity calibration, the exact and FFT-accelerated gradient,
    and a scikit-learn-like estimator.
``dlbook.budget``, ``dlbook.runs``, ``dlbook.plotting``
    Run budgets, seeding, device choice, a small training loop and the
    book's figure style.
"""

from dlbook import (
    autodiff,
    budget,
    data,
    functional,
    linear,
    manifold,
    metrics,
    nn,
    plotting,
    runs,
)

__version__ = "0.1.0"

__all__ = [
    "autodiff",
    "budget",
    "data",
    "functional",
    "linear",
    "manifold",
    "metrics",
    "nn",
    "plotting",
    "runs",
]
