"""Pieces of the language models: gated linear unit, causal convolution, highway layer, windowed attention, sampling.

Gated linear unit (Dauphin et al. 2017). Split the input in two halves
:math:`a, b` along ``dim``:

.. math::

    \\mathrm{GLU}(a, b) = a \\odot \\sigma(b), \\qquad
    \\frac{\\partial L}{\\partial a} = g \\odot \\sigma(b), \\qquad
    \\frac{\\partial L}{\\partial b} = g \\odot a \\odot \\sigma(b)\\,(1 - \\sigma(b)).

Highway layer (Srivastava et al. 2015), for :math:`x \\in \\mathbb R^{D}`:

.. math::

    h = \\mathrm{relu}(W_H x + b_H), \\quad t = \\sigma(W_T x + b_T), \\quad
    y = t \\odot h + (1 - t) \\odot x,

with backward, for the upstream gradient :math:`g`,

.. math::

    \\delta_H = g \\odot t \\odot \\mathbb 1[W_H x + b_H > 0], \\quad
    \\delta_T = g \\odot (h - x) \\odot t \\odot (1 - t), \\quad
    \\frac{\\partial L}{\\partial x} = g \\odot (1 - t) + W_H^\\top \\delta_H + W_T^\\top \\delta_T,

and :math:`\\partial L/\\partial W_H = \\delta_H x^\\top`,
:math:`\\partial L/\\partial W_T = \\delta_T x^\\top`, the biases' gradients
being :math:`\\delta_H, \\delta_T`, summed over the batch.

Both backward passes are written with differentiable tensor operations on
the saved inputs, so they can be differentiated again (double backward).
"""

from __future__ import annotations

import math

import torch

from dlbook._checks import check_floating, check_ndim, check_real, check_same_dtype, check_tensor
from dlbook.functional.activations import tanh
from dlbook.functional.conv import conv2d
from dlbook.functional.softmax import softmax

__all__ = [
    "GLUFunction",
    "HighwayFunction",
    "causal_conv1d",
    "glu",
    "highway",
    "sample_tokens",
    "window_attention",
]


def _check_like(fn: str, ref_name: str, ref: torch.Tensor, *params) -> None:
    """Each ``(name, tensor or None)`` in ``params`` is a floating tensor of ``ref``'s dtype."""
    for name, value in params:
        if value is None:
            continue
        check_tensor(fn, name, value)
        check_floating(fn, name, value)
        check_same_dtype(fn, name, value, ref_name, ref)


class GLUFunction(torch.autograd.Function):
    """:math:`a \\odot \\sigma(b)` for the two halves of the input along ``dim``."""

    @staticmethod
    def forward(ctx, x, dim):
        a, b = x.chunk(2, dim=dim)
        ctx.save_for_backward(x)
        ctx.dim = dim
        return a * torch.sigmoid(b)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        a, b = x.chunk(2, dim=ctx.dim)
        s = torch.sigmoid(b)
        return torch.cat((grad_output * s, grad_output * a * s * (1 - s)), dim=ctx.dim), None


def glu(input: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Gated linear unit: the first half of ``input`` gated by the sigmoid of the second.

    Parameters
    ----------
    input : torch.Tensor
        Floating tensor of shape ``(*, 2C, *)``; the size along ``dim`` must be even.
    dim : int
        The dimension split in two.

    Returns
    -------
    torch.Tensor
        Shape ``(*, C, *)``.

    Examples
    --------
    >>> import torch
    >>> glu(torch.tensor([[2.0, 0.0]]))
    tensor([[1.]])
    """
    check_floating("glu", "input", input)
    if input.dim() == 0:
        raise ValueError("glu: argument 'input' must have at least one dimension, got a scalar")
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"glu: argument 'dim' must be an int, got {dim!r}")
    if not -input.dim() <= dim < input.dim():
        raise ValueError(f"glu: argument 'dim' must be in [{-input.dim()}, {input.dim()}), got {dim}")
    dim = dim % input.dim()
    if input.shape[dim] % 2:
        raise ValueError(f"glu: the size of 'input' along dim {dim} must be even (2C), got shape "
                         f"{tuple(input.shape)}")
    return GLUFunction.apply(input, dim)


def causal_conv1d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """One-dimensional convolution over time that sees only the present and the past.

    The input is padded with ``k - 1`` zeros on the left, so output step
    :math:`t` depends on input steps :math:`t-k+1, \\dots, t` only. It runs
    through :func:`dlbook.functional.conv2d` on a height-one image.

    Parameters
    ----------
    input : torch.Tensor
        Shape ``(N, C_in, T)``.
    weight : torch.Tensor
        Shape ``(C_out, C_in, k)``.
    bias : torch.Tensor, optional
        Shape ``(C_out,)``.

    Returns
    -------
    torch.Tensor
        Shape ``(N, C_out, T)``.

    Examples
    --------
    >>> import torch
    >>> causal_conv1d(torch.tensor([[[1.0, 2.0, 3.0]]]), torch.tensor([[[1.0, 10.0]]]))
    tensor([[[10., 21., 32.]]])
    """
    check_floating("causal_conv1d", "input", input)
    check_ndim("causal_conv1d", "input", input, 3, "(N, C_in, T)")
    _check_like("causal_conv1d", "input", input, ("weight", weight), ("bias", bias))
    check_ndim("causal_conv1d", "weight", weight, 3, "(C_out, C_in, k)")
    if weight.shape[1] != input.shape[1]:
        raise ValueError(f"causal_conv1d: 'weight' of shape (C_out, C_in, k) = {tuple(weight.shape)} needs "
                         f"C_in = {input.shape[1]} channels of 'input' {tuple(input.shape)}")
    k = weight.shape[2]
    x = torch.nn.functional.pad(input, (k - 1, 0)).unsqueeze(2)
    return conv2d(x, weight.unsqueeze(2), bias).squeeze(2)


class HighwayFunction(torch.autograd.Function):
    """Highway layer :math:`t\\odot h + (1-t)\\odot x` with the backward pass derived above."""

    @staticmethod
    def forward(ctx, x, w_h, b_h, w_t, b_t):
        z_h = torch.addmm(b_h, x, w_h.t())
        t = torch.sigmoid(torch.addmm(b_t, x, w_t.t()))
        h = z_h.clamp_min(0)
        ctx.save_for_backward(x, w_h, b_h, w_t, b_t)
        return t * h + (1 - t) * x

    @staticmethod
    def backward(ctx, g):
        x, w_h, b_h, w_t, b_t = ctx.saved_tensors
        z_h = torch.addmm(b_h, x, w_h.t())
        t = torch.sigmoid(torch.addmm(b_t, x, w_t.t()))
        h = z_h.clamp_min(0)  # as in the forward pass (0 at z_h = -inf)
        d_h = g * t * (~(z_h <= 0))  # a NaN pre-activation passes its gradient, as relu does
        d_t = g * (h - x) * t * (1 - t)
        grad_x = g * (1 - t) + d_h @ w_h + d_t @ w_t
        return grad_x, d_h.t() @ x, d_h.sum(0), d_t.t() @ x, d_t.sum(0)


def highway(input: torch.Tensor, weight_h: torch.Tensor, bias_h: torch.Tensor, weight_t: torch.Tensor,
            bias_t: torch.Tensor) -> torch.Tensor:
    """Highway layer :math:`y = t\\odot \\mathrm{relu}(W_H x + b_H) + (1-t)\\odot x`, :math:`t = \\sigma(W_T x + b_T)`.

    Parameters
    ----------
    input : torch.Tensor
        Shape ``(N, D)``.
    weight_h, weight_t : torch.Tensor
        Shape ``(D, D)``.
    bias_h, bias_t : torch.Tensor
        Shape ``(D,)``. A negative ``bias_t`` (such as -2) starts the layer
        close to the identity ("carry").

    Returns
    -------
    torch.Tensor
        Shape ``(N, D)``.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0, -1.0]])
    >>> w = torch.eye(2)
    >>> highway(x, w, torch.zeros(2), torch.zeros(2, 2), torch.full((2,), -1e4))  # gate shut: y = x
    tensor([[ 1., -1.]])
    """
    check_floating("highway", "input", input)
    check_ndim("highway", "input", input, 2, "(N, D)")
    _check_like("highway", "input", input, ("weight_h", weight_h), ("bias_h", bias_h), ("weight_t", weight_t),
                ("bias_t", bias_t))
    d = input.shape[1]
    for name, value, shape in (("weight_h", weight_h, (d, d)), ("bias_h", bias_h, (d,)),
                               ("weight_t", weight_t, (d, d)), ("bias_t", bias_t, (d,))):
        if tuple(value.shape) != shape:
            raise ValueError(f"highway: argument '{name}' must have shape {shape} for 'input' of shape (N, D) = "
                             f"{tuple(input.shape)}, got {tuple(value.shape)}")
    return HighwayFunction.apply(input, weight_h, bias_h, weight_t, bias_t)


def window_attention(output: torch.Tensor, memory: torch.Tensor, weight_key: torch.Tensor,
                     weight_query: torch.Tensor, score: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention of each step over the ``k`` outputs before it (Daniluk et al. 2017, one vector per step).

    With the outputs :math:`h_1, \\dots, h_T` of this window and the last
    :math:`k` outputs of the previous window :math:`m_{1}, \\dots, m_{k}`
    (the memory; zeros at the start of a stream), let
    :math:`u = (m_1, \\dots, m_k, h_1, \\dots, h_T)`. Step :math:`t` attends
    over :math:`u_t, \\dots, u_{t+k-1}`, the :math:`k` outputs just before
    :math:`h_t`:

    .. math::

        e_{tj} = v^\\top \\tanh(W_K u_{t+j} + W_Q h_t), \\quad
        \\alpha_t = \\mathrm{softmax}(e_t), \\quad
        r_t = \\sum_{j=0}^{k-1} \\alpha_{tj}\\, u_{t+j}.

    Because the memory carries over, the window spans batch boundaries.

    Parameters
    ----------
    output : torch.Tensor
        :math:`h`, shape ``(T, B, D)``.
    memory : torch.Tensor
        The previous ``k`` outputs, shape ``(k, B, D)``.
    weight_key, weight_query : torch.Tensor
        :math:`W_K, W_Q`, shape ``(A, D)``.
    score : torch.Tensor
        :math:`v`, shape ``(A,)``.

    Returns
    -------
    context : torch.Tensor
        :math:`r`, shape ``(T, B, D)``.
    weights : torch.Tensor
        :math:`\\alpha`, shape ``(T, B, k)``.

    Examples
    --------
    >>> import torch
    >>> h, mem = torch.ones(3, 2, 4), torch.zeros(2, 2, 4)
    >>> r, a = window_attention(h, mem, torch.zeros(5, 4), torch.zeros(5, 4), torch.zeros(5))
    >>> a[0, 0].tolist(), r[:, 0, 0].tolist()   # uniform weights over the 2 previous outputs
    ([0.5, 0.5], [0.0, 0.5, 1.0])
    """
    check_floating("window_attention", "output", output)
    check_ndim("window_attention", "output", output, 3, "(T, B, D)")
    _check_like("window_attention", "output", output, ("memory", memory), ("weight_key", weight_key),
                ("weight_query", weight_query), ("score", score))
    check_ndim("window_attention", "memory", memory, 3, "(k, B, D)")
    t_len, b, d = output.shape
    if memory.shape[1:] != output.shape[1:] or memory.shape[0] < 1:
        raise ValueError(f"window_attention: 'memory' must have shape (k, B, D) with k >= 1, B = {b}, D = {d}, "
                         f"got {tuple(memory.shape)}")
    if weight_key.dim() != 2 or weight_key.shape[1] != d or weight_query.shape != weight_key.shape \
            or score.shape != (weight_key.shape[0],):
        raise ValueError(f"window_attention: 'weight_key' and 'weight_query' must have shape (A, D = {d}) and "
                         f"'score' shape (A,), got {tuple(weight_key.shape)}, {tuple(weight_query.shape)}, "
                         f"{tuple(score.shape)}")
    k = memory.shape[0]
    u = torch.cat((memory, output), 0)                       # (k + T, B, D)
    keys = torch.matmul(u, weight_key.t())                   # (k + T, B, A)
    query = torch.matmul(output, weight_query.t())           # (T, B, A)
    key_win = keys.unfold(0, k, 1)[:t_len]                   # (T, B, A, k)
    e = torch.einsum("tbak,a->tbk", tanh(key_win + query.unsqueeze(-1)), score)
    alpha = softmax(e, dim=-1)                               # (T, B, k)
    u_win = u.unfold(0, k, 1)[:t_len]                        # (T, B, D, k)
    context = torch.einsum("tbdk,tbk->tbd", u_win, alpha)
    return context, alpha


def sample_tokens(logits: torch.Tensor, beta: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one token per row from :math:`\\mathrm{softmax}(\\beta\\, z)`.

    ``beta = 0`` samples uniformly; ``beta = inf`` takes the argmax
    (greedy decoding); :math:`\\beta > 1` sharpens the distribution and
    :math:`\\beta < 1` flattens it.

    Parameters
    ----------
    logits : torch.Tensor
        Shape ``(N, V)``.
    beta : float
        Inverse temperature, :math:`\\beta \\ge 0` (``math.inf`` allowed).
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor
        ``int64`` indices, shape ``(N,)``.

    Examples
    --------
    >>> import math, torch
    >>> sample_tokens(torch.tensor([[0.0, 3.0, 1.0]]), beta=math.inf)
    tensor([1])
    """
    check_floating("sample_tokens", "logits", logits)
    check_ndim("sample_tokens", "logits", logits, 2, "(N, V)")
    if isinstance(beta, float) and math.isinf(beta) and beta > 0:
        return logits.argmax(dim=1)
    beta = check_real("sample_tokens", "beta", beta, low=0.0)
    probs = softmax(logits.detach(), beta=beta, dim=1)
    # draw where the generator lives, so that a seed gives the same tokens on every device
    where = generator.device if generator is not None else probs.device
    return torch.multinomial(probs.to(where), 1, generator=generator).squeeze(1).to(logits.device)
