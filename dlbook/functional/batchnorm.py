"""Batch normalization with the hand-derived backward pass.

For one feature (one channel of an image batch) with the ``n`` values
:math:`x_1, \\dots, x_n` seen in a batch (over ``N`` for ``(N, C)`` input,
over ``N, H, W`` for ``(N, C, H, W)`` input),

.. math::

    \\mu = \\frac1n \\sum_i x_i, \\quad
    \\sigma^2 = \\frac1n \\sum_i (x_i - \\mu)^2, \\quad
    \\hat x_i = \\frac{x_i - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}, \\quad
    y_i = \\gamma \\hat x_i + \\beta .

With the upstream gradient :math:`g_i = \\partial E / \\partial y_i`,

.. math::

    \\frac{\\partial E}{\\partial \\gamma} = \\sum_i g_i \\hat x_i, \\quad
    \\frac{\\partial E}{\\partial \\beta} = \\sum_i g_i, \\quad
    \\frac{\\partial E}{\\partial x_i} = \\frac{\\gamma}{n\\sqrt{\\sigma^2+\\epsilon}}
    \\Big(n g_i - \\sum_j g_j - \\hat x_i \\sum_j g_j \\hat x_j\\Big).

In evaluation mode the running estimates replace :math:`\\mu` and
:math:`\\sigma^2`, and the layer is a fixed affine map of each feature.
"""

from __future__ import annotations

import torch

from dlbook._checks import check_floating, check_real, check_tensor

__all__ = ["batch_norm", "BatchNormFunction"]


def _reduce_dims(x: torch.Tensor) -> list[int]:
    return [0, *range(2, x.ndim)]


def _channel_shape(x: torch.Tensor) -> tuple[int, ...]:
    """The shape ``(1, C, 1, ...)`` of a per-channel tensor that broadcasts against ``x`` ``(N, C, *)``."""
    return (1, x.shape[1], *([1] * (x.ndim - 2)))


class BatchNormFunction(torch.autograd.Function):
    """Training-mode batch normalization with batch statistics.

    ``forward(x, weight, bias, eps)`` returns ``(y, mean, var)`` where
    ``mean`` and ``var`` (biased) are the per-channel batch statistics, which
    are not differentiable outputs. ``weight`` and ``bias`` may be ``None``.

    For speed, the passes work with the centred input :math:`x - \\mu` instead
    of :math:`\\hat x` and apply per-channel affine maps with fused
    multiply-adds; the algebra is that of the module docstring. Between the
    passes only the input and per-channel vectors are kept, as in PyTorch's
    kernel: the backward pass centres the input again (one more pass over the
    data, and no second activation-sized tensor held for every layer), and a
    double backward can rebuild the statistics from the saved input.
    (:func:`torch.var_mean` would read the data once instead of twice, but
    on the CPU it is tens of times slower than two means at these shapes.)
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        """Normalize with the batch statistics; return ``(y, mean, var)``."""
        dims = _reduce_dims(x)
        shape = _channel_shape(x)
        mean = x.mean(dim=dims)
        xc = x - mean.view(shape)  # the centred input; two passes: stable and fast
        y = xc * xc  # a buffer of the size of x, reused below for the output
        var = y.mean(dim=dims)  # biased variance
        invstd = torch.rsqrt(var + eps)
        scale = (invstd if weight is None else invstd * weight).view(shape)
        # y = gamma (x - mu) / sqrt(var + eps) + beta = scale * (x - mu) + beta
        if bias is None:
            torch.mul(xc, scale, out=y)
        else:
            torch.addcmul(bias.view(shape), xc, scale, out=y)
        ctx.save_for_backward(x, weight, mean, invstd, scale)
        ctx.eps = eps
        ctx.has_weight, ctx.has_bias = weight is not None, bias is not None
        ctx.mark_non_differentiable(mean, var)
        ctx.set_materialize_grads(False)  # no zero gradients built for mean and var
        return y, mean, var

    @staticmethod
    def backward(ctx, grad_output, _grad_mean, _grad_var):
        """Gradients of the batch-norm equations for ``x``, ``weight`` and ``bias``."""
        x, weight, mean, invstd, scale = ctx.saved_tensors
        g = grad_output
        if g is None:  # y was not used
            return None, None, None, None
        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward pass
            return (*_differentiable_backward(ctx, x, weight, g), None)
        dims = _reduce_dims(g)
        n = g.numel() // g.shape[1]
        sum_g = g.sum(dim=dims)
        xc = x - mean.view(scale.shape)
        # sum_j g_j xhat_j = invstd * sum_j g_j (x_j - mu)
        buffer = g * xc  # reused below for grad_x
        sum_g_xhat = invstd * buffer.sum(dim=dims)
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            # gamma invstd / n * (n g - sum g - xhat sum g xhat) = scale g + a (x - mu) + c
            shape = scale.shape
            coef = (invstd * sum_g_xhat).view(shape).mul(scale).div_(-n)
            const = (sum_g.view(shape) * scale).div_(-n)
            grad_x = torch.addcmul(const, xc, coef, out=buffer).addcmul_(g, scale)
        if ctx.has_weight and ctx.needs_input_grad[1]:
            grad_weight = sum_g_xhat
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = sum_g
        return grad_x, grad_weight, grad_bias, None


def _differentiable_backward(ctx, x, weight, g):
    """The backward pass of the module docstring in out-of-place torch operations.

    The batch statistics are recomputed from the saved input, so autograd
    sees how they depend on it and can differentiate this pass again
    (``create_graph=True``); the fast pass above reuses buffers in place,
    which autograd cannot follow.
    """
    dims = _reduce_dims(x)
    shape = _channel_shape(x)
    n = x.numel() // x.shape[1]
    mean = x.mean(dim=dims, keepdim=True)
    xc = x - mean
    invstd = torch.rsqrt((xc * xc).mean(dim=dims, keepdim=True) + ctx.eps)
    xhat = xc * invstd
    sum_g = g.sum(dim=dims, keepdim=True)
    sum_g_xhat = (g * xhat).sum(dim=dims, keepdim=True)
    grad_x = grad_weight = grad_bias = None
    if ctx.needs_input_grad[0]:
        gamma = invstd if weight is None else invstd * weight.view(shape)
        grad_x = gamma / n * (n * g - sum_g - xhat * sum_g_xhat)
    if ctx.has_weight and ctx.needs_input_grad[1]:
        grad_weight = sum_g_xhat.reshape(-1)
    if ctx.has_bias and ctx.needs_input_grad[2]:
        grad_bias = sum_g.reshape(-1)
    return grad_x, grad_weight, grad_bias


def _check_channel_vector(name: str, t, c: int) -> None:
    if t is None:
        return
    check_tensor("batch_norm", name, t)
    if t.shape != (c,):
        raise ValueError(
            f"batch_norm: argument '{name}' must have shape (C,) = ({c},) to match 'input' "
            f"of shape (N, C, *), got {tuple(t.shape)}"
        )


def batch_norm(
    input: torch.Tensor,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Batch normalization of each channel, as :func:`torch.nn.functional.batch_norm`.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of shape ``(N, C)``, ``(N, C, L)`` or
        ``(N, C, H, W)`` (any ``(N, C, *)``). Statistics are per channel,
        over every dimension except ``C``.
    running_mean, running_var : torch.Tensor or None
        Running estimates of shape ``(C,)``. With ``training=True`` they are
        updated in place, if given, as
        :math:`r \\leftarrow (1 - m)\\, r + m\\, s` with the batch mean and the
        **unbiased** batch variance :math:`\\frac{n}{n-1}\\sigma^2`. With
        ``training=False`` they are used to normalize and must be given.
    weight, bias : torch.Tensor or None
        :math:`\\gamma` and :math:`\\beta` of shape ``(C,)``; ``None`` means 1 and 0.
    training : bool
        Use the batch statistics (and update the running ones) instead of
        the running statistics.
    momentum : float
        Weight :math:`m \\in [0, 1]` of the new batch in the running averages.
    eps : float
        :math:`\\epsilon > 0` added to the variance.

    Returns
    -------
    torch.Tensor
        :math:`\\gamma \\hat x + \\beta`, same shape as ``input``. An empty
        batch gives an empty output and leaves the running statistics alone.

    Notes
    -----
    Double backward: yes, in both modes. In training mode the backward pass
    switches to out-of-place operations that recompute the statistics from
    the saved input when a graph of it is requested (``create_graph=True``).

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import batch_norm
    >>> x = torch.tensor([[1.0], [3.0]])
    >>> rm, rv = torch.zeros(1), torch.ones(1)
    >>> batch_norm(x, rm, rv, training=True, eps=0.0)
    tensor([[-1.],
            [ 1.]])
    >>> rm, rv  # mean 2, unbiased variance 2, momentum 0.1
    (tensor([0.2000]), tensor([1.1000]))
    """
    check_floating("batch_norm", "input", input)
    if input.ndim < 2:
        raise ValueError(
            f"batch_norm: argument 'input' must have shape (N, C, *) (at least 2-D), "
            f"got shape {tuple(input.shape)}"
        )
    c = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _check_channel_vector(name, t, c)
    momentum = check_real("batch_norm", "momentum", momentum, low=0.0, high=1.0)
    eps = check_real("batch_norm", "eps", eps, low=0.0)
    shape = _channel_shape(input)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError(
                "batch_norm: with training=False, 'running_mean' and 'running_var' must be given"
            )
        invstd = torch.rsqrt(running_var + eps)
        scale = invstd if weight is None else invstd * weight
        shift = -running_mean * scale
        if bias is not None:
            shift = shift + bias
        return torch.addcmul(shift.view(shape), input, scale.view(shape))
    if input.numel() == 0:
        # an empty batch: an empty output (still a function of weight and bias, whose
        # gradients are 0), and the running statistics stay as they are, as in torch
        y = input * (1.0 if weight is None else weight.view(shape))
        return y if bias is None else y + bias.view(shape)
    n = input.numel() // c
    if n <= 1:
        raise ValueError(
            f"batch_norm: training needs more than one value per channel, got 'input' of "
            f"shape {tuple(input.shape)} ({n} value per channel)"
        )
    y, mean, var = BatchNormFunction.apply(input, weight, bias, eps)
    with torch.no_grad():
        if running_mean is not None:
            running_mean.mul_(1.0 - momentum).add_(mean.to(running_mean.dtype), alpha=momentum)
        if running_var is not None:
            unbiased = var * (n / (n - 1))
            running_var.mul_(1.0 - momentum).add_(unbiased.to(running_var.dtype), alpha=momentum)
    return y
