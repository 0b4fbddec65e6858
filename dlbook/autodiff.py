"""Numerical gradient checking and the chain-rule worked example.

:func:`numerical_gradient` is a small teaching implementation of central
differences; :func:`relative_error` is the error measure used to compare it
with an analytic gradient. The worked example of the chain-rule chapter,

.. math::

    f(x, y) = \\frac{x^2 + \\sigma(y)}{3x + y - \\sigma(x)},

is implemented twice: :func:`chain_rule_example` evaluates it, and
:func:`chain_rule_example_backward` runs a hand-written forward and reverse
pass through its computational graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dlbook._checks import check_floating, check_real

__all__ = [
    "numerical_gradient",
    "relative_error",
    "chain_rule_example",
    "chain_rule_example_backward",
]


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                       eps: float = 1e-6) -> torch.Tensor:
    """Central-difference estimate of the gradient of a scalar function.

    Each coordinate is perturbed in turn:

    .. math::

        \\frac{\\partial f}{\\partial x_i} \\approx
        \\frac{f(x + \\epsilon e_i) - f(x - \\epsilon e_i)}{2\\epsilon},

    whose truncation error is :math:`O(\\epsilon^2)`.

    Parameters
    ----------
    f : callable
        Maps a tensor shaped like ``x`` to a scalar tensor.
    x : torch.Tensor
        Floating-point point of evaluation, any shape ``(*)``. Use float64:
        in float32 the rounding error :math:`\\approx 10^{-7}/\\epsilon`
        swamps the estimate.
    eps : float
        Step size :math:`\\epsilon > 0`.

    Returns
    -------
    torch.Tensor
        Estimated gradient, shape ``(*)``.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> numerical_gradient(lambda v: (v ** 2).sum(), x)
    tensor([2.0000, 4.0000], dtype=torch.float64)
    """
    check_floating("numerical_gradient", "x", x)
    eps = check_real("numerical_gradient", "eps", eps, low=0.0, low_open=True)
    x = x.detach().clone()
    grad = torch.empty_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + eps
            f_plus = float(f(x))
            flat[i] = old - eps
            f_minus = float(f(x))
            flat[i] = old
            gflat[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: torch.Tensor, b: torch.Tensor, floor: float = 1e-12) -> float:
    """Relative error :math:`\\max_i |a_i - b_i| / \\max(|a_i| + |b_i|, \\text{floor})`.

    Dividing by the sum of magnitudes makes the measure scale-free, and the
    floor keeps it finite where both values are zero.

    Examples
    --------
    >>> import torch
    >>> relative_error(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.0]))
    0.0
    >>> round(relative_error(torch.tensor([1.0]), torch.tensor([1.1])), 4)
    0.0476
    """
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes must match, got {tuple(a.shape)} and {tuple(b.shape)}")
    denom = (a.abs() + b.abs()).clamp_min(floor)
    return float(((a - b).abs() / denom).max()) if a.numel() else 0.0


def _sigma(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def chain_rule_example(x, y):
    """Evaluate :math:`f(x, y) = (x^2 + \\sigma(y)) / (3x + y - \\sigma(x))`.

    Works on Python floats and on tensors (element-wise), so that autograd
    can differentiate it.

    Examples
    --------
    >>> round(chain_rule_example(1.0, 0.0), 6)
    0.661101
    """
    if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
        return (x**2 + torch.sigmoid(y)) / (3 * x + y - torch.sigmoid(x))
    return (x**2 + _sigma(y)) / (3 * x + y - _sigma(x))


def chain_rule_example_backward(x: float, y: float) -> tuple[float, dict, dict]:
    """A hand-written forward and reverse pass through :func:`chain_rule_example`.

    The forward pass stores every intermediate node of the graph; the
    reverse pass visits them in the opposite order and applies the local
    derivative of each, accumulating where a variable is used twice.

    Returns
    -------
    f : float
        The value :math:`f(x, y)`.
    grads : dict
        ``{"x": df/dx, "y": df/dy}``.
    nodes : dict
        Every intermediate value and its adjoint :math:`\\bar v = \\partial f/\\partial v`,
        as ``{name: (value, adjoint)}``, to print the graph.

    Examples
    --------
    >>> f, grads, _ = chain_rule_example_backward(1.0, 0.0)
    >>> round(grads["x"], 6), round(grads["y"], 6)
    (0.064645, -0.181186)
    """
    x = check_real("chain_rule_example_backward", "x", x)
    y = check_real("chain_rule_example_backward", "y", y)
    # forward pass: one elementary operation per line
    a = x * x  # a = x^2
    b = _sigma(y)  # b = sigma(y)
    num = a + b  # numerator
    c = _sigma(x)  # c = sigma(x)
    den = 3 * x + y - c  # denominator
    f = num / den
    # reverse pass: adjoints, starting from df/df = 1
    f_bar = 1.0
    num_bar = f_bar / den  # d(num/den)/dnum
    den_bar = -f_bar * num / den**2  # d(num/den)/dden
    a_bar = num_bar  # num = a + b
    b_bar = num_bar
    c_bar = -den_bar  # den = 3x + y - c
    x_bar = 3 * den_bar + a_bar * 2 * x + c_bar * c * (1 - c)  # x feeds a, den and c
    y_bar = den_bar + b_bar * b * (1 - b)  # y feeds b and den
    nodes = {
        "x": (x, x_bar), "y": (y, y_bar), "a": (a, a_bar), "b": (b, b_bar), "c": (c, c_bar),
        "num": (num, num_bar), "den": (den, den_bar), "f": (f, f_bar),
    }
    return f, {"x": x_bar, "y": y_bar}, nodes
