"""Max, average, power-average (Lp) and adaptive pooling with their backward passes.

Over a window :math:`\\mathcal{R}` of the input,

.. math::

    \\text{max: } y = \\max_{r \\in \\mathcal{R}} x_r, \\qquad
    \\text{avg: } y = \\frac{1}{|\\mathcal{R}|} \\sum_{r \\in \\mathcal{R}} x_r, \\qquad
    \\text{Lp: } y = \\Big(\\sum_{r \\in \\mathcal{R}} x_r^{\\,p}\\Big)^{1/p}.

Backward passes: max pooling sends the gradient to the position of the
maximum (on ties, to the first one in row-major order, as PyTorch does);
average pooling spreads it evenly, :math:`g/|\\mathcal{R}|` to every
position; Lp pooling sends :math:`g\\, x_r^{p-1} y^{1-p}` to position
:math:`r`. Overlapping windows add their contributions.

Every backward pass here is built from differentiable torch operations on
saved inputs, outputs and constant index or weight tensors, so second
derivatives (``torch.autograd.gradgradcheck``) are correct.
"""

from __future__ import annotations

import math
import numbers

import torch

from dlbook._checks import check_floating, check_ndim, check_real
from dlbook.functional.conv import _pad, _pair, col2im, im2col

__all__ = [
    "max_pool2d",
    "avg_pool2d",
    "lp_pool2d",
    "adaptive_max_pool2d",
    "adaptive_avg_pool2d",
    "pool_output_size",
    "MaxIndexFunction",
    "MaxPoolFunction",
    "AvgPoolFunction",
    "LpPoolFunction",
    "AdaptiveAvgPoolFunction",
]


def pool_output_size(
    n: int, k: int, stride: int, padding: int = 0, dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Output length of a pooling layer, with PyTorch's rule for ``ceil_mode``.

    With ``ceil_mode=False`` this is the convolution formula
    :math:`\\lfloor (n + 2p - d(k-1) - 1)/s \\rfloor + 1`. With
    ``ceil_mode=True`` the floor becomes a ceiling, except that the last
    window must start inside the input or the left padding.

    Examples
    --------
    >>> pool_output_size(5, 2, 2)
    2
    >>> pool_output_size(5, 2, 2, ceil_mode=True)
    3
    """
    num = n + 2 * padding - dilation * (k - 1) - 1
    out = (num + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1
    return out


def _geometry(fn, x, kernel_size, stride, padding, dilation, ceil_mode):
    check_floating(fn, "input", x)
    check_ndim(fn, "input", x, 4, "(N, C, H, W)")
    k = _pair(fn, "kernel_size", kernel_size, 1)
    s = (
        k
        if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
        else _pair(fn, "stride", stride, 1)
    )
    p = _pair(fn, "padding", padding, 0)
    d = _pair(fn, "dilation", dilation, 1)
    out, extra = [], []
    for side, size, ki, si, pi, di in zip(("height", "width"), x.shape[2:], k, s, p, d):
        if pi > ki // 2:
            raise ValueError(
                f"{fn}: padding {pi} must be at most half the kernel {side} {ki}, "
                f"got padding={padding!r}"
            )
        o = pool_output_size(size, ki, si, pi, di, ceil_mode)
        if o < 1:
            raise ValueError(
                f"{fn}: the {side} {ki} of 'kernel_size' (dilated: {di * (ki - 1) + 1}) is "
                f"larger than the padded {side} of 'input', {size} + 2*{pi} = {size + 2 * pi}"
            )
        out.append(o)
        # ceil_mode may need room beyond the padding for the last window
        extra.append(max(0, (o - 1) * si + di * (ki - 1) + 1 - (size + 2 * pi)))
    return k, s, p, d, tuple(out), tuple(extra)


def _scatter_to_input(grad_output, index, x_shape):
    """Add each output gradient ``(N, C, oh, ow)`` at its flat input position; shape ``x_shape``.

    A scatter-add is linear in ``grad_output``, so this backward pass is
    differentiable again (its own derivative gathers at the same indices).
    """
    n, c, h, w = x_shape
    m = grad_output.shape[2] * grad_output.shape[3]
    grad = grad_output.new_zeros(n, c, h * w)
    grad.scatter_add_(2, index.reshape(n, c, m), grad_output.reshape(n, c, m))
    return grad.reshape(n, c, h, w)


class MaxIndexFunction(torch.autograd.Function):
    """Pick ``x`` at flat spatial indices; backward adds the gradient back at those indices.

    ``forward(x, index)`` with ``x`` ``(N, C, H, W)`` and ``index``
    ``(N, C, oh, ow)`` holding positions ``h * W + w``. This is the backward
    of every max pooling: only the selected input receives gradient.
    """

    @staticmethod
    def forward(ctx, x, index):
        """Gather ``x`` at the flat indices."""
        n, c, h, w = x.shape
        ctx.save_for_backward(index)
        ctx.x_shape = x.shape
        flat = index.reshape(n, c, index.shape[2] * index.shape[3])
        return x.reshape(n, c, h * w).gather(2, flat).reshape(index.shape)

    @staticmethod
    def backward(ctx, grad_output):
        """Scatter-add the gradient back to the gathered positions."""
        (index,) = ctx.saved_tensors
        return _scatter_to_input(grad_output, index, ctx.x_shape), None


def max_pool2d(
    input: torch.Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-D max pooling, as :func:`torch.nn.functional.max_pool2d`.

    Parameters
    ----------
    input : torch.Tensor
        Shape ``(N, C, H, W)``.
    kernel_size : int or (int, int)
        Window size :math:`k`.
    stride : int or (int, int), optional
        Step between windows; ``kernel_size`` when omitted (no overlap).
    padding : int or (int, int)
        Implicit :math:`-\\infty` padding, at most half the kernel.
    dilation : int or (int, int)
        Spacing between the window's elements.
    ceil_mode : bool
        Round the output size up instead of down.
    return_indices : bool
        Also return the flat positions ``h * W + w`` of the maxima.

    Returns
    -------
    torch.Tensor or (torch.Tensor, torch.Tensor)
        Output ``(N, C, oh, ow)``, and the ``int64`` indices if asked.
        The gradient goes to the first maximum of each window in row-major
        order; a position that is the maximum of several overlapping windows
        receives the sum of their gradients.

    Notes
    -----
    Double backward: yes; the backward pass is a scatter-add at the saved indices,
    linear in the gradient.

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import max_pool2d
    >>> x = torch.tensor([[[[1.0, 3.0, 2.0, 0.0],
    ...                     [4.0, 3.0, 1.0, 2.0]]]])
    >>> max_pool2d(x, 2, return_indices=True)
    (tensor([[[[4., 2.]]]]), tensor([[[[4, 2]]]]))
    """
    fn = "max_pool2d"
    k, s, p, d, out, extra = _geometry(
        fn, input, kernel_size, stride, padding, dilation, ceil_mode
    )
    y, index = MaxPoolFunction.apply(input, k, s, p, d, out, extra)
    if (index < 0).any():
        raise ValueError(
            f"{fn}: a pooling window of 'input' {tuple(input.shape)} holds no input "
            f"element (it lies in the padding); reduce padding={padding!r} or "
            f"dilation={dilation!r}"
        )
    return (y, index) if return_indices else y


class MaxPoolFunction(torch.autograd.Function):
    """Max over each window; backward sends the gradient to the (first) maximum.

    ``forward(x, kernel, stride, padding, dilation, out, extra)`` returns the
    maxima ``(N, C, oh, ow)`` and their flat positions ``h * W + w`` (``-1``
    if a window holds only padding), a non-differentiable output.
    """

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, out, extra):
        """Window maxima and the flat positions of the (first) maxima."""
        n, c, h, w = x.shape
        kk = kernel[0] * kernel[1]
        xp = _pad(x, padding, value=-math.inf, extra=extra)
        win = im2col(xp, kernel, stride, dilation, out).reshape(n, c, kk, *out)
        y, arg = win.max(dim=2)  # ties: the first maximum in row-major order
        # the same windows over a map of positions give the index of each maximum
        pos = torch.arange(h * w, device=x.device, dtype=torch.float64).reshape(1, 1, h, w)
        pos = _pad(pos, padding, value=-1.0, extra=extra)
        pos = im2col(pos, kernel, stride, dilation, out).reshape(kk, *out).long()
        index = pos.gather(0, arg.reshape(n * c, *out)).reshape(n, c, *out)
        # A window whose inputs are all -inf ties with the -inf padding; as PyTorch,
        # point it at its first input element (-1 remains only for a window of padding).
        first_input = torch.where(pos >= 0, pos, h * w).amin(0)
        first_input = torch.where(first_input < h * w, first_input, -1)
        index = torch.where(index < 0, first_input, index)
        ctx.save_for_backward(index)
        ctx.x_shape = x.shape
        ctx.mark_non_differentiable(index)
        return y, index

    @staticmethod
    def backward(ctx, grad_output, _grad_index):
        """Scatter-add each output gradient to the position of its maximum."""
        (index,) = ctx.saved_tensors
        return _scatter_to_input(grad_output, index, ctx.x_shape), *([None] * 6)


def _window_sum(xp: torch.Tensor, kernel, stride, out) -> torch.Tensor:
    """Sum of each window of a padded ``(N, C, Hp, Wp)`` tensor, shape ``(N, C, oh, ow)``.

    Adds one strided slice per kernel offset (``kh * kw`` additions of the
    output size), which is much faster than reducing the strided im2col view.
    """
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out
    total = None
    for u in range(kh):
        for v in range(kw):
            part = xp[:, :, u : u + sh * (oh - 1) + 1 : sh, v : v + sw * (ow - 1) + 1 : sw]
            total = part.clone() if total is None else total.add_(part)
    return total


class AvgPoolFunction(torch.autograd.Function):
    """Window sums divided by a per-position divisor; backward spreads ``g / divisor``."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, extra, out, divisor):
        """Window sums divided by the per-window divisor."""
        xp = _pad(x, padding, extra=extra)
        y = _window_sum(xp, kernel, stride, out) / divisor
        ctx.save_for_backward(divisor)
        ctx.conf = (x.shape, xp.shape[2:], kernel, stride, padding)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        """Spread ``g / divisor`` evenly over each window (col2im)."""
        (divisor,) = ctx.saved_tensors
        (n, c, h, w), padded, kernel, stride, padding = ctx.conf
        g = (grad_output / divisor).unsqueeze(2).unsqueeze(3)
        g = g.expand(n, c, kernel[0], kernel[1], *grad_output.shape[2:])
        gxp = col2im(g, tuple(padded), stride, (1, 1))
        return gxp[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w], *([None] * 6)


def _window_counts(size, padded_extent, kernel, stride, padding, extra, out, like):
    """Number of elements of each window that lie in a region of size ``padded_extent``."""
    mask = torch.zeros(
        1,
        1,
        size[0] + 2 * padding[0] + extra[0],
        size[1] + 2 * padding[1] + extra[1],
        dtype=like.dtype,
        device=like.device,
    )
    top, left = (padding[0] - padded_extent[0], padding[1] - padded_extent[1])
    mask[
        :,
        :,
        top : top + size[0] + 2 * padded_extent[0],
        left : left + size[1] + 2 * padded_extent[1],
    ] = 1
    return _window_sum(mask, kernel, stride, out)[0, 0]


def avg_pool2d(
    input: torch.Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> torch.Tensor:
    """2-D average pooling, as :func:`torch.nn.functional.avg_pool2d`.

    Parameters
    ----------
    input : torch.Tensor
        Shape ``(N, C, H, W)``.
    kernel_size, stride, padding : int or (int, int)
        As in :func:`max_pool2d`; the padding is zeros.
    ceil_mode : bool
        Round the output size up instead of down.
    count_include_pad : bool
        Count the zero padding in the divisor. Either way, positions beyond
        the padding (added by ``ceil_mode``) are not counted.
    divisor_override : int, optional
        Divide every window sum by this number instead.

    Returns
    -------
    torch.Tensor
        Shape ``(N, C, oh, ow)``.

    Notes
    -----
    Double backward: yes; the backward pass is linear with constant weights.

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import avg_pool2d
    >>> x = torch.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    >>> avg_pool2d(x, 2)
    tensor([[[[2.5000]]]])
    >>> avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False)[0, 0]
    tensor([[1.0000, 1.5000, 2.0000],
            [2.0000, 2.5000, 3.0000],
            [3.0000, 3.5000, 4.0000]])
    """
    fn = "avg_pool2d"
    k, s, p, _, out, extra = _geometry(fn, input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if (
            isinstance(divisor_override, bool)
            or not isinstance(divisor_override, numbers.Integral)
            or divisor_override == 0
        ):
            raise ValueError(
                f"{fn}: argument 'divisor_override' must be a non-zero int, got "
                f"{divisor_override!r}"
            )
        divisor = torch.full(out, float(divisor_override), dtype=input.dtype, device=input.device)
    else:
        region = p if count_include_pad else (0, 0)
        divisor = _window_counts(input.shape[2:], region, k, s, p, extra, out, input)
    return AvgPoolFunction.apply(input, k, s, p, extra, out, divisor)


class LpPoolFunction(torch.autograd.Function):
    """:math:`y = (r \\sum_{\\mathcal R} x^p)^{1/p}` per window.

    ``r`` is 1 except for windows clipped by the edge in ``ceil_mode``.
    """

    @staticmethod
    def forward(ctx, x, norm_type, kernel, stride, extra, out, ratio):
        """Power sums of the windows, to the power ``1/p``."""
        xp = _pad(x, (0, 0), extra=extra)
        total = _window_sum(xp.pow(norm_type), kernel, stride, out) * ratio
        y = total.pow(1.0 / norm_type)
        ctx.save_for_backward(x, y, ratio)
        ctx.conf = (norm_type, xp.shape[2:], kernel, stride)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        """Send :math:`g\\, r\\, x_r^{p-1} y^{1-p}` to each window element (0 where :math:`y = 0`).

        Built from the saved input and output with differentiable operations,
        so it can be differentiated again.
        """
        x, y, ratio = ctx.saved_tensors
        p, padded, kernel, stride = ctx.conf
        n, c, h, w = x.shape
        # dy/dS = (1/p) (rS)^{1/p - 1} r = y^{1-p} r / p, and dS/dx_r = p x_r^{p-1}.
        # A window of zeros has y = 0 and y^{1-p} = inf for p > 1; its gradient is 0
        # (the one-sided derivative for p = 1, and PyTorch's choice).
        nonzero = y != 0
        y_safe = torch.where(nonzero, y, torch.ones_like(y))
        g_total = torch.where(nonzero, grad_output * y_safe.pow(1.0 - p) * ratio / p, 0.0)
        # a NaN window (a NaN, or inf and -inf, inside) gets 0 * that: 0 if it is
        # finite, else NaN, which is what PyTorch's sign(S) |S| composition gives
        g_total = g_total * ~y.isnan()
        g = g_total.unsqueeze(2).unsqueeze(3).expand(n, c, kernel[0], kernel[1], *y.shape[2:])
        g_xp = col2im(g, tuple(padded), stride, (1, 1))[:, :, :h, :w]
        return g_xp * p * x.pow(p - 1.0), *([None] * 6)


def lp_pool2d(
    input: torch.Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False
) -> torch.Tensor:
    """2-D power-average pooling, as :func:`torch.nn.functional.lp_pool2d`.

    Parameters
    ----------
    input : torch.Tensor
        Shape ``(N, C, H, W)``.
    norm_type : float
        :math:`p > 0`. ``p = 1`` is sum pooling; as :math:`p \\to \\infty` it
        tends to max pooling of non-negative input.
    kernel_size, stride : int or (int, int)
        As in :func:`max_pool2d` (no padding).
    ceil_mode : bool
        Round the output size up. As in PyTorch, a window cut short by the
        input's edge is rescaled by ``kernel area / elements present``.

    Returns
    -------
    torch.Tensor
        :math:`(\\sum_{\\mathcal R} x^p)^{1/p}` per window, shape ``(N, C, oh, ow)``.
        As in PyTorch, :math:`x^p` is not :math:`|x|^p`: for odd or
        fractional ``p`` use it on non-negative input, such as after a ReLU.

    Notes
    -----
    Double backward: yes; the backward pass uses the saved input and output (0 for a
    window of zeros).

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import lp_pool2d
    >>> x = torch.tensor([[[[3.0, 0.0], [0.0, 4.0]]]])
    >>> lp_pool2d(x, 2, 2)
    tensor([[[[5.]]]])
    """
    fn = "lp_pool2d"
    p = check_real(fn, "norm_type", norm_type, low=0.0, low_open=True)
    if math.isinf(p):
        raise ValueError(f"{fn}: argument 'norm_type' must be finite; use max_pool2d for p = inf")
    k, s, _, _, out, extra = _geometry(fn, input, kernel_size, stride, 0, 1, ceil_mode)
    counts = _window_counts(input.shape[2:], (0, 0), k, s, (0, 0), extra, out, input)
    ratio = (k[0] * k[1]) / counts
    return LpPoolFunction.apply(input, p, k, s, extra, out, ratio)


def _adaptive_size(fn, x, output_size):
    check_floating(fn, "input", x)
    check_ndim(fn, "input", x, 4, "(N, C, H, W)")
    pair = (
        (output_size, output_size)
        if isinstance(output_size, numbers.Integral) or output_size is None
        else tuple(output_size) if isinstance(output_size, (tuple, list, torch.Size))
        else None
    )
    if pair is None or len(pair) != 2 or not all(
        v is None or (isinstance(v, numbers.Integral) and not isinstance(v, bool)) for v in pair
    ):
        raise TypeError(
            f"{fn}: argument 'output_size' must be an int or a pair of ints (or None), "
            f"got {output_size!r}"
        )
    out = tuple(x.shape[2 + i] if v is None else int(v) for i, v in enumerate(pair))
    if any(v < 1 for v in out):
        raise ValueError(f"{fn}: argument 'output_size' must be >= 1, got {output_size!r}")
    return out


def _bins(n: int, m: int) -> list[tuple[int, int]]:
    """Adaptive windows: bin ``i`` covers ``[floor(i n / m), ceil((i + 1) n / m))``."""
    return [((i * n) // m, -((-(i + 1) * n) // m)) for i in range(m)]


def _bin_positions(n: int, m: int, device) -> torch.Tensor:
    """Input positions of each adaptive bin, shape ``(m, K)`` with ``K`` the largest bin.

    A bin shorter than ``K`` repeats its last position: a repeated element
    changes neither the maximum of the bin nor the position of its first maximum.
    """
    bins = _bins(n, m)
    size = max(e - s for s, e in bins)
    start = torch.tensor([s for s, _ in bins], device=device).unsqueeze(1)
    last = torch.tensor([e - 1 for _, e in bins], device=device).unsqueeze(1)
    return torch.minimum(start + torch.arange(size, device=device), last)


def _first_max(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum over dimension 1 and the position of its first occurrence (as ``Tensor.max(1)``).

    ``Tensor.max(dim)`` with indices is several times slower on the CPU
    than the value-only ``amax`` when ``dim`` is short; the position is
    recovered from the elements equal to the maximum (NaN counts as a
    maximum, as in ``max``).
    """
    value = t.amax(1)
    k = t.shape[1]
    rank = torch.arange(k, 0, -1, device=t.device, dtype=torch.uint8 if k < 256 else torch.int64)
    hit = t == value.unsqueeze(1)
    if value.isnan().any():  # NaN is never equal to itself
        hit |= t.isnan()
    first = k - (hit * rank.view(1, k, *([1] * (t.ndim - 2)))).amax(1)
    return value, first.long()


def adaptive_max_pool2d(input: torch.Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size, as :func:`torch.nn.functional.adaptive_max_pool2d`.

    Output row :math:`i` of :math:`m` pools input rows
    :math:`\\lfloor i n / m \\rfloor` to :math:`\\lceil (i+1) n / m \\rceil - 1`
    (and the same for columns), so the windows cover the input and may
    differ in size by one.

    Parameters
    ----------
    input : torch.Tensor
        Shape ``(N, C, H, W)``.
    output_size : int or (int or None, int or None)
        Target ``(oh, ow)``; ``None`` keeps that input size.
    return_indices : bool
        Also return the flat positions ``h * W + w`` of the maxima.

    Notes
    -----
    Double backward: yes; the backward pass is a scatter-add at the saved indices,
    linear in the gradient.

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import adaptive_max_pool2d
    >>> x = torch.arange(15.0).reshape(1, 1, 3, 5)
    >>> adaptive_max_pool2d(x, (1, 2))
    tensor([[[[12., 14.]]]])
    """
    fn = "adaptive_max_pool2d"
    out = _adaptive_size(fn, input, output_size)
    n, c, h, w = input.shape
    if h % out[0] == 0 and w % out[1] == 0:
        # equal bins that tile the input: ordinary max pooling with kernel = stride
        k = (h // out[0], w // out[1])
        y, index = MaxPoolFunction.apply(input, k, k, (0, 0), (1, 1), out, (0, 0))
        return (y, index) if return_indices else y
    with torch.no_grad():
        # Every output's window, listed in row-major order: positions[o] holds
        # the flat positions h * W + w of window o = i * ow + j. With the
        # positions as the leading dimension, each window is a stack of whole
        # (N * C)-slabs of memory, and the maximum over a window is a
        # reduction over dimension 1. The first maximum in this order is
        # PyTorch's choice on ties.
        rows, cols = _bin_positions(h, out[0], input.device), _bin_positions(w, out[1], input.device)
        positions = (rows[:, None, :, None] * w + cols[None, :, None, :]).reshape(out[0] * out[1], -1)
        slabs = input.detach().reshape(n * c, h * w).t().contiguous()  # (H W, N C)
        windows = slabs[positions.flatten()].view(*positions.shape, n * c)  # (oh ow, Kh Kw, N C)
        _, first = _first_max(windows)  # (oh ow, N C)
        index = positions.gather(1, first).t().reshape(n, c, *out)
    y = MaxIndexFunction.apply(input, index)
    return (y, index) if return_indices else y


def _average_matrix(n: int, m: int, like: torch.Tensor) -> torch.Tensor:
    a = torch.zeros(m, n, dtype=like.dtype, device=like.device)
    for i, (s, e) in enumerate(_bins(n, m)):
        a[i, s:e] = 1.0 / (e - s)
    return a


def _bin_means(x: torch.Tensor, m: int, dim: int) -> torch.Tensor:
    """Mean of each adaptive bin of ``x`` along ``dim`` (2 or 3), reading only the bin's elements."""
    n = x.shape[dim]
    positions = _bin_positions(n, m, x.device)  # (m, K), the last position repeated
    size = positions.shape[1]
    valid = torch.arange(size, device=x.device) < torch.tensor(
        [e - s for s, e in _bins(n, m)], device=x.device
    ).unsqueeze(1)
    picked = x.index_select(dim, positions.flatten())
    shape = list(x.shape)
    shape[dim : dim + 1] = [m, size]
    mask_shape = [1] * len(shape)
    mask_shape[dim : dim + 2] = [m, size]
    picked = torch.where(valid.view(mask_shape), picked.reshape(shape), 0.0)
    counts_shape = [1] * x.ndim
    counts_shape[dim] = m
    return picked.sum(dim + 1) / valid.sum(1).to(x.dtype).view(counts_shape)


class AdaptiveAvgPoolFunction(torch.autograd.Function):
    """:math:`Y = A_h X A_w^\\top` with averaging matrices; backward :math:`A_h^\\top G A_w`."""

    @staticmethod
    def forward(ctx, x, a_h, a_w):
        """Compute :math:`A_h X A_w^\\top`.

        A product with the averaging matrices multiplies every element by the
        zeros outside its bin too, and :math:`0 \\cdot \\infty` is NaN; so when
        the product is not finite (an infinite or NaN input makes the output of
        its own bin so), the input is averaged bin by bin instead, which
        confines the inf or NaN to the bins that hold it.
        """
        ctx.save_for_backward(a_h, a_w)
        y = a_h @ x @ a_w.T
        if not torch.isfinite(y).all():
            y = _bin_means(_bin_means(x, a_h.shape[0], 2), a_w.shape[0], 3)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        """Return :math:`A_h^\\top G A_w`."""
        a_h, a_w = ctx.saved_tensors
        return a_h.T @ grad_output @ a_w, None, None


def adaptive_avg_pool2d(input: torch.Tensor, output_size) -> torch.Tensor:
    """Average pooling to a fixed output size, as :func:`torch.nn.functional.adaptive_avg_pool2d`.

    Uses the windows of :func:`adaptive_max_pool2d`. Averaging rows and
    columns separately, the layer is :math:`Y = A_h X A_w^\\top` where row
    :math:`i` of :math:`A_h` holds :math:`1/|\\text{bin}_i|` on the bin.

    Notes
    -----
    Double backward: yes; the backward pass is linear with constant weights.

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import adaptive_avg_pool2d
    >>> x = torch.arange(15.0).reshape(1, 1, 3, 5)
    >>> adaptive_avg_pool2d(x, (1, 2))
    tensor([[[[6., 8.]]]])
    """
    out = _adaptive_size("adaptive_avg_pool2d", input, output_size)
    a_h = _average_matrix(input.shape[2], out[0], input)
    a_w = _average_matrix(input.shape[3], out[1], input)
    return AdaptiveAvgPoolFunction.apply(input, a_h, a_w)
