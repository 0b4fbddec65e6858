"""Softmax with inverse temperature, log-softmax and cross-entropy.

With inverse temperature :math:`\\beta`,

.. math::

    s_i = \\frac{e^{\\beta x_i}}{\\sum_k e^{\\beta x_k}}, \\qquad
    \\frac{\\partial s_i}{\\partial x_j} = \\beta\\, s_i (\\delta_{ij} - s_j).

The backward pass never forms the Jacobian: for an upstream gradient
:math:`g`, the vector–Jacobian product is
:math:`\\beta\\, s \\odot (g - \\langle g, s\\rangle)`.

Everything is computed from the shifted logits :math:`\\beta x - \\max_k \\beta x_k`
(softmax is shift-invariant), so no exponential overflows.
"""

from __future__ import annotations

import math

import torch

from dlbook._checks import check_dim, check_floating, check_ndim, check_real, check_tensor

__all__ = [
    "softmax",
    "log_softmax",
    "cross_entropy",
    "SoftmaxFunction",
    "LogSoftmaxFunction",
    "CrossEntropyFunction",
]


def _shifted(x, beta, dim):
    z = x if beta == 1 else beta * x  # beta = 1 (cross-entropy, plain softmax): no pass over x for the product
    if z.ndim == 0 or z.shape[dim] == 0:  # one value (or none) along dim
        return z - z.detach()
    # the shift is a constant of the derivation: detached, so that a backward
    # pass that rebuilds this with autograd does not differentiate the max
    return z - z.amax(dim=dim, keepdim=True).detach()


def _log_softmax(x, beta, dim):
    """:math:`\\beta x - \\log\\sum_k e^{\\beta x_k}` from torch operations (differentiable by autograd)."""
    z = _shifted(x, beta, dim)
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))


class SoftmaxFunction(torch.autograd.Function):
    """Softmax along ``dim``; backward :math:`\\beta\\, s\\odot(g - \\langle g, s\\rangle)`."""

    @staticmethod
    def forward(ctx, x, beta, dim):
        e = torch.exp(_shifted(x, beta, dim))
        s = e / e.sum(dim=dim, keepdim=True)
        ctx.save_for_backward(s)
        ctx.beta, ctx.dim = beta, dim
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        inner = (grad_output * s).sum(dim=ctx.dim, keepdim=True)
        return ctx.beta * s * (grad_output - inner), None, None


class LogSoftmaxFunction(torch.autograd.Function):
    """Log-softmax along ``dim``; backward :math:`\\beta\\,(g - s \\sum_k g_k)`."""

    @staticmethod
    def forward(ctx, x, beta, dim):
        z = _shifted(x, beta, dim)
        out = z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))
        ctx.save_for_backward(out)
        ctx.beta, ctx.dim = beta, dim
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        s = torch.exp(out)
        return ctx.beta * (grad_output - s * grad_output.sum(dim=ctx.dim, keepdim=True)), None, None


def _reduce(losses, reduction):
    """The per-example losses ``(N,)`` combined as ``reduction`` says."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _grad_scale(grad_output, reduction, n):
    """The upstream gradient of a reduced loss, as a factor on the ``(N, C)`` per-example gradients."""
    if reduction == "mean":
        return grad_output / n
    if reduction == "sum":
        return grad_output
    return grad_output.unsqueeze(1)


class CrossEntropyFunction(torch.autograd.Function):
    """Cross-entropy of logits against target distributions.

    ``forward(logits, target_dist, reduction)`` with both of shape ``(N, C)``.
    Backward, per example and times the upstream gradient:
    :math:`\\hat y \\sum_c y_c - y` for the logits (:math:`\\hat y - y` when
    the target sums to one) and :math:`-\\log \\hat y` for the target. A term
    with :math:`y_c = 0` is 0 even where :math:`\\log \\hat y_c = -\\infty`
    (a logit masked with :math:`-\\infty`).

    The backward pass is differentiable: under ``create_graph=True`` it
    rebuilds :math:`\\log \\hat y` from the saved logits with torch
    operations, so second derivatives are correct.
    """

    @staticmethod
    def forward(ctx, logits, target_dist, reduction):
        logp = _log_softmax(logits, 1.0, 1)
        # 0 * log(0) counts as 0: a class with no target mass adds nothing
        losses = -torch.where(target_dist == 0, 0.0, target_dist * logp).sum(dim=1)
        ctx.save_for_backward(logits, target_dist, logp)
        ctx.reduction = reduction
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        logits, y, logp = ctx.saved_tensors
        if torch.is_grad_enabled():  # double backward: keep logp's dependence on the logits
            logp = _log_softmax(logits, 1.0, 1)
        scale = _grad_scale(grad_output, ctx.reduction, y.shape[0])
        grad_logits = grad_target = None
        if ctx.needs_input_grad[0]:
            grad_logits = (torch.exp(logp) * y.sum(dim=1, keepdim=True) - y) * scale
        if ctx.needs_input_grad[1]:
            grad_target = -logp * scale
        return grad_logits, grad_target, None


def softmax(input: torch.Tensor, dim: int = -1, *, beta: float = 1.0) -> torch.Tensor:
    """Softmax with inverse temperature ``beta`` along ``dim``.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point logits :math:`x` of any shape ``(*)``.
    dim : int
        Dimension along which the outputs sum to one; the second positional
        argument, as in :func:`torch.nn.functional.softmax`.
    beta : float, keyword-only
        Finite inverse temperature :math:`\\beta \\ge 0`. ``beta=0`` gives the
        uniform distribution; large ``beta`` approaches a one-hot argmax.

    Returns
    -------
    torch.Tensor
        :math:`s_i = e^{\\beta x_i} / \\sum_k e^{\\beta x_k}`, same shape as ``input``.

    Notes
    -----
    Some texts write :math:`e^{-\\beta x_i}`, treating :math:`x` as energies;
    that is ``softmax(-x, beta=beta)``, and its Jacobian changes sign.

    Double backward: yes (the backward pass uses the saved output, which
    autograd tracks).

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import softmax
    >>> softmax(torch.tensor([1.0, 2.0, 3.0]))
    tensor([0.0900, 0.2447, 0.6652])
    >>> softmax(torch.tensor([1.0, 2.0, 3.0]), beta=0.0)
    tensor([0.3333, 0.3333, 0.3333])
    """
    check_floating("softmax", "input", input)
    beta = check_real("softmax", "beta", beta, low=0.0, high=math.inf, high_open=True)
    dim = check_dim("softmax", "input", input, dim)
    return SoftmaxFunction.apply(input, beta, dim)


def log_softmax(input: torch.Tensor, dim: int = -1, *, beta: float = 1.0) -> torch.Tensor:
    """Logarithm of :func:`softmax`, computed stably with log-sum-exp.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point logits of any shape ``(*)``.
    dim : int
        Dimension of the classes (second positional argument, as in torch).
    beta : float, keyword-only
        Finite inverse temperature :math:`\\beta \\ge 0`.

    Returns
    -------
    torch.Tensor
        :math:`\\beta x_i - \\log \\sum_k e^{\\beta x_k}`, same shape as ``input``.

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import log_softmax
    >>> log_softmax(torch.tensor([0.0, 1e4]))
    tensor([-10000.,      0.])

    Double backward: yes.
    """
    check_floating("log_softmax", "input", input)
    beta = check_real("log_softmax", "beta", beta, low=0.0, high=math.inf, high_open=True)
    dim = check_dim("log_softmax", "input", input, dim)
    return LogSoftmaxFunction.apply(input, beta, dim)


class CrossEntropyIndexFunction(torch.autograd.Function):
    """Cross-entropy of logits ``(N, C)`` against class indices ``(N,)``: the sparse form of the one-hot target.

    The loss of example :math:`i` is :math:`-\\log \\hat y_{i, t_i}`, read with a
    gather, and its gradient with respect to the logits is
    :math:`\\hat y_i - e_{t_i}`: the softmax with 1 subtracted at the target,
    a scatter. The result equals :class:`CrossEntropyFunction` with one-hot
    targets, without forming the one-hot matrix and the passes over it.
    Double backward: yes, as :class:`CrossEntropyFunction`.
    """

    @staticmethod
    def forward(ctx, logits, target, reduction):
        logp = _log_softmax(logits, 1.0, 1)
        losses = -logp.gather(1, target.unsqueeze(1)).squeeze(1)
        ctx.save_for_backward(logits, target, logp)
        ctx.reduction = reduction
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        logits, target, logp = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None, None
        scale = _grad_scale(grad_output, ctx.reduction, target.shape[0])
        minus_one = torch.full((target.shape[0], 1), -1.0, dtype=logits.dtype, device=logits.device)
        if torch.is_grad_enabled():  # double backward: rebuild the softmax with torch operations
            probs = torch.exp(_log_softmax(logits, 1.0, 1))
            return probs.scatter_add(1, target.unsqueeze(1), minus_one) * scale, None, None
        grad = torch.exp(logp).scatter_add_(1, target.unsqueeze(1), minus_one)
        return grad.mul_(scale), None, None


def cross_entropy(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy between softmax(``input``) and ``target``.

    Parameters
    ----------
    input : torch.Tensor
        Logits of shape ``(N, C)``.
    target : torch.Tensor
        Either class indices, an integer tensor of shape ``(N,)`` with values
        in ``[0, C)``, or class probabilities, a floating tensor of shape
        ``(N, C)`` whose rows sum to one; a probability target may require a
        gradient, which is :math:`-\\log \\hat y` per example (divided by ``N``
        for ``"mean"``), as in torch.
    reduction : {"mean", "sum", "none"}
        How the ``N`` per-example losses are combined.

    Returns
    -------
    torch.Tensor
        :math:`-\\sum_c y_c \\log \\hat y_c` per example, reduced. The gradient
        with respect to the logits is :math:`\\hat y - y` per example
        (divided by ``N`` for ``"mean"``). A class with target 0 adds 0
        to the loss even if its logit is :math:`-\\infty` (a masked class).

    Notes
    -----
    Double backward: yes. The backward pass is built from differentiable
    operations on the saved logits and targets.

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import cross_entropy
    >>> logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> cross_entropy(logits, torch.tensor([0, 2]), reduction="none")
    tensor([0.2395, 1.0986])
    """
    check_floating("cross_entropy", "input", input)
    check_ndim("cross_entropy", "input", input, 2, "(N, C)")
    check_tensor("cross_entropy", "target", target)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: argument 'reduction' must be 'mean', 'sum' or 'none', got {reduction!r}")
    n, c = input.shape
    if target.is_floating_point():
        if target.shape != input.shape:
            raise ValueError(
                f"cross_entropy: probability 'target' must have the shape of 'input' (N, C) = "
                f"{(n, c)}, got {tuple(target.shape)}"
            )
        dist = target.to(input.dtype)
    elif target.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        if target.shape != (n,):
            raise ValueError(
                f"cross_entropy: class-index 'target' must have shape (N,) = ({n},) to match "
                f"'input' of shape (N, C) = {(n, c)}, got {tuple(target.shape)}"
            )
        if n and (int(target.min()) < 0 or int(target.max()) >= c):
            raise ValueError(
                f"cross_entropy: class indices in 'target' must lie in [0, {c}), "
                f"got values in [{int(target.min())}, {int(target.max())}]"
            )
        return CrossEntropyIndexFunction.apply(input, target.long(), reduction)
    else:
        raise TypeError(
            f"cross_entropy: argument 'target' must be int64 class indices (N,) or float "
            f"probabilities (N, C), got dtype {target.dtype}"
        )
    return CrossEntropyFunction.apply(input, dist, reduction)
