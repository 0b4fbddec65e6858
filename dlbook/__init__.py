"""dlbook: deep-learning fundamentals with executable, tested derivations.

The package is organised in small modules that mirror the book's chapters:

``dlbook.functional``
    Differentiable operations written as :class:`torch.autograd.Function`
    subclasses with hand-derived backward passes.
``dlbook.nn``
    :class:`torch.nn.Module` wrappers around ``dlbook.functional``.
``dlbook.optim``
    Momentum, Nesterov and proximal gradient optimizers written from
    their update rules.
``dlbook.features``
    Unsupervised k-means features (Coates, Lee and Ng, 2011).
``dlbook.init``
    LeCun, Glorot (Xavier) and He initializers, and warm starts.
``dlbook.regularization``
    Dropout as an ensemble: exact enumeration and Monte-Carlo averaging.
``dlbook.autodiff``
    Numerical gradient checking and the chain-rule worked example.
``dlbook.linear``
    Softmax regression with the hand-derived gradient.
``dlbook.metrics``
    Accuracy and top-k error.
``dlbook.data``
    Data-set registry, verified downloads, loaders and class-balanced splits.
``dlbook.semisupervised``
    The pseudo-label loss and its ramp-up schedule.
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
    features,
    functional,
    init,
    linear,
    manifold,
    metrics,
    nn,
    optim,
    plotting,
    regularization,
    runs,
    semisupervised,
)

__version__ = "0.1.0"

__all__ = [
    "autodiff",
    "budget",
    "data",
    "features",
    "functional",
    "init",
    "linear",
    "manifold",
    "metrics",
    "nn",
    "optim",
    "plotting",
    "regularization",
    "runs",
    "semisupervised",
]
