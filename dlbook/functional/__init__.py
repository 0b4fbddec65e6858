"""Differentiable operations with hand-derived backward passes.

Each public function wraps a :class:`torch.autograd.Function` whose
``backward`` implements the derivative that the book derives; the tests
check every one with :func:`torch.autograd.gradcheck` in float64 and
against :mod:`torch.nn.functional`. Signatures mirror ``torch.nn.functional``
so that the two can be swapped.
"""

from dlbook.functional.activations import relu, sigmoid, tanh
from dlbook.functional.dropout import dropout
from dlbook.functional.softmax import cross_entropy, log_softmax, softmax

__all__ = [
    "cross_entropy",
    "dropout",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
