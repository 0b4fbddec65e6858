"""Sigmoid, tanh and ReLU, each with its closed-form derivative.

==========  =====================================  ======================================
name        :math:`f(x)`                           :math:`f'(x)`
==========  =====================================  ======================================
sigmoid     :math:`\\sigma(x) = 1/(1 + e^{-x})`     :math:`\\sigma(x)\\,(1 - \\sigma(x))`
tanh        :math:`(e^x - e^{-x})/(e^x + e^{-x})`  :math:`1 - \\tanh^2(x)`
relu        :math:`\\max(0, x)`                     :math:`\\mathbb{1}[x > 0]`
==========  =====================================  ======================================

The backward passes reuse the forward output where the derivative is a
function of it (sigmoid, tanh), so they save the output, not the input.
"""

from __future__ import annotations

import torch

from dlbook._checks import check_floating

__all__ = ["sigmoid", "tanh", "relu", "SigmoidFunction", "TanhFunction", "ReLUFunction"]


class SigmoidFunction(torch.autograd.Function):
    """:math:`\\sigma(x) = 1/(1+e^{-x})` with backward :math:`g\\,\\sigma(1-\\sigma)`."""

    @staticmethod
    def forward(ctx, x):
        # Evaluate with exp(-|x|) <= 1 so that nothing overflows.
        z = torch.exp(-x.abs())
        s = torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        return grad_output * s * (1.0 - s)


class TanhFunction(torch.autograd.Function):
    """:math:`\\tanh(x)` with backward :math:`g\\,(1-\\tanh^2 x)`."""

    @staticmethod
    def forward(ctx, x):
        # tanh(x) = sign(x) (1 - e^{-2|x|}) / (1 + e^{-2|x|}); expm1 keeps
        # full relative precision for small |x|.
        e = torch.exp(-2.0 * x.abs())
        t = torch.sign(x) * (-torch.expm1(-2.0 * x.abs())) / (1.0 + e)
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx, grad_output):
        (t,) = ctx.saved_tensors
        return grad_output * (1.0 - t * t)


class ReLUFunction(torch.autograd.Function):
    """:math:`\\max(0, x)` with backward :math:`g\\,\\mathbb{1}[x>0]` (0 at :math:`x=0`, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        mask = ~(x <= 0)  # NaN passes its gradient, as in PyTorch
        ctx.save_for_backward(mask)
        return x.clamp_min(0)

    @staticmethod
    def backward(ctx, grad_output):
        (mask,) = ctx.saved_tensors
        return grad_output * mask


def sigmoid(input: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid, element-wise.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of any shape ``(*)``.

    Returns
    -------
    torch.Tensor
        :math:`\\sigma(x) = 1/(1 + e^{-x})`, shape ``(*)``, values in :math:`(0, 1)`.

    Notes
    -----
    Double backward: yes; the backward pass uses the saved output, which autograd
    tracks.

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import sigmoid
    >>> sigmoid(torch.tensor([0.0, 1000.0, -1000.0]))
    tensor([0.5000, 1.0000, 0.0000])
    """
    check_floating("sigmoid", "input", input)
    return SigmoidFunction.apply(input)


def tanh(input: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent, element-wise.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of any shape ``(*)``.

    Returns
    -------
    torch.Tensor
        :math:`\\tanh x = 2\\sigma(2x) - 1`, shape ``(*)``, values in :math:`(-1, 1)`.

    Notes
    -----
    Double backward: yes; the backward pass uses the saved output, which autograd
    tracks.

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import tanh
    >>> tanh(torch.tensor([0.0, 0.5, -50.0]))
    tensor([ 0.0000,  0.4621, -1.0000])
    """
    check_floating("tanh", "input", input)
    return TanhFunction.apply(input)


def relu(input: torch.Tensor) -> torch.Tensor:
    """Rectified linear unit, element-wise.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of any shape ``(*)``.

    Returns
    -------
    torch.Tensor
        :math:`\\max(0, x)`, shape ``(*)``. The derivative at 0 is taken as 0,
        as PyTorch does.

    Notes
    -----
    Double backward: yes; the backward pass multiplies by a saved constant mask (the
    second derivative is 0).

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import relu
    >>> relu(torch.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    """
    check_floating("relu", "input", input)
    return ReLUFunction.apply(input)
