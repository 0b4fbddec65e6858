"""Two-dimensional convolution (cross-correlation) through im2col.

Like every deep-learning framework, :func:`conv2d` computes the
*cross-correlation*

.. math::

    Y_{n,o,i,j} = b_o + \\sum_{c}\\sum_{u,v} W_{o,c,u,v}\\,
    X_{n,\\,c,\\; s i + d u - p,\\; s j + d v - p},

with stride :math:`s`, padding :math:`p` and dilation :math:`d`; a
convolution in the signal-processing sense would flip the kernel. Each
spatial size of the output is
:math:`\\lfloor (n + 2p - d(k-1) - 1)/s \\rfloor + 1`.

*im2col* copies every receptive field into one column, so that the whole
layer becomes one matrix product. The backward pass is two more products:

* :math:`\\partial E/\\partial W` is the correlation of the input with the
  upstream gradient (columns times gradient rows);
* :math:`\\partial E/\\partial X` is the transposed convolution of the
  upstream gradient with :math:`W`: the columns :math:`W^\\top G` are added
  back to the places they were copied from (*col2im*).
"""

from __future__ import annotations

import numbers

import torch

from dlbook._checks import (
    check_floating,
    check_groups,
    check_ndim,
    check_same_dtype,
    check_tensor,
)

__all__ = ["conv2d", "conv_output_size", "Conv2dFunction", "im2col", "col2im"]


def _pair(fn: str, name: str, value, low: int) -> tuple[int, int]:
    """Return ``value`` as a pair of ints ``>= low``, or raise naming ``name``."""
    if isinstance(value, numbers.Integral):
        pair = (value, value)
    elif isinstance(value, (tuple, list, torch.Size)):
        pair = tuple(value)
    else:
        raise TypeError(f"{fn}: argument '{name}' must be an int or a pair of ints, got {value!r}")
    if len(pair) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair
    ):
        raise TypeError(f"{fn}: argument '{name}' must be an int or a pair of ints, got {value!r}")
    if any(v < low for v in pair):
        raise ValueError(f"{fn}: argument '{name}' must be >= {low}, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length :math:`\\lfloor (n + 2p - d(k - 1) - 1)/s \\rfloor + 1` of a convolution.

    Parameters
    ----------
    n : int
        Input length (height or width).
    k : int
        Kernel length.
    stride, padding, dilation : int
        Stride :math:`s \\ge 1`, zero padding :math:`p \\ge 0` on each side, dilation :math:`d \\ge 1`.

    Returns
    -------
    int
        The output length; it is at least 1 exactly when the dilated kernel
        :math:`d(k-1)+1` fits in the padded input :math:`n + 2p`.

    Examples
    --------
    >>> conv_output_size(28, 5)
    24
    >>> conv_output_size(7, 3, stride=2, padding=1)
    4
    >>> conv_output_size(10, 3, dilation=2)
    6
    """
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def im2col(
    xp: torch.Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out_size: tuple[int, int],
) -> torch.Tensor:
    """All receptive fields of an already padded ``(N, C, H, W)`` tensor, without copying.

    Returns a strided *view* of shape ``(N, C, kh, kw, oh, ow)`` whose entry
    ``[n, c, u, v, i, j]`` is ``xp[n, c, s_h i + d_h u, s_w j + d_w v]``.
    Reshaping it to ``(N, C kh kw, oh ow)`` gives the im2col matrix
    (that reshape copies), the same as :func:`torch.nn.functional.unfold`.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
    >>> im2col(x, (2, 2), (1, 1), (1, 1), (2, 2)).reshape(1, 4, 4)
    tensor([[[0., 1., 3., 4.],
             [1., 2., 4., 5.],
             [3., 4., 6., 7.],
             [4., 5., 7., 8.]]])
    """
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.stride()
    size = (n, c, kernel[0], kernel[1], out_size[0], out_size[1])
    strides = (sn, sc, dilation[0] * sh, dilation[1] * sw, stride[0] * sh, stride[1] * sw)
    return xp.as_strided(size, strides, xp.storage_offset())


def col2im(
    cols: torch.Tensor,
    padded_size: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> torch.Tensor:
    """Adjoint of :func:`im2col`: add each column entry back where it was read from.

    Parameters
    ----------
    cols : torch.Tensor
        Shape ``(N, C, kh, kw, oh, ow)``.
    padded_size : (int, int)
        Height and width of the padded input that :func:`im2col` read.

    Returns
    -------
    torch.Tensor
        Shape ``(N, C, Hp, Wp)``. Overlapping receptive fields add up.

    Examples
    --------
    >>> import torch
    >>> ones = torch.ones(1, 1, 2, 2, 2, 2)
    >>> col2im(ones, (3, 3), (1, 1), (1, 1))[0, 0]  # how many windows cover each pixel
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]])
    """
    n, c, kh, kw, oh, ow = cols.shape
    out = cols.new_zeros(n, c, *padded_size)
    (sh, sw), (dh, dw) = stride, dilation
    for u in range(kh):
        for v in range(kw):
            h0, w0 = u * dh, v * dw
            out[:, :, h0 : h0 + sh * (oh - 1) + 1 : sh, w0 : w0 + sw * (ow - 1) + 1 : sw] += cols[
                :, :, u, v
            ]
    return out


def _pad(
    x: torch.Tensor, padding: tuple[int, int], value: float = 0.0, extra=(0, 0)
) -> torch.Tensor:
    """Pad ``p`` on every side, plus ``extra`` more at the bottom and right."""
    (ph, pw), (eh, ew) = padding, extra
    if ph == pw == eh == ew == 0:
        return x
    return torch.nn.functional.pad(x, (pw, pw + ew, ph, ph + eh), value=value)


# Below this many output positions per image, the matrix products run over all
# (example, position) pairs at once instead of one image at a time.
_FEW_POSITIONS = 16
# The weight gradient sums one product per example. Where the columns of the
# whole batch hold at most this many numbers, they are copied side by side and
# summed in one product instead: with many small examples (a character CNN over
# 700 words) the per-example loop is thousands of tiny products, and on a GPU
# thousands of kernel launches.
_SMALL_COLUMNS = 1 << 22


def _batch_to_columns(t: torch.Tensor) -> torch.Tensor:
    """``(N, G, R, L)`` to ``(G, R, N * L)``: the examples side by side as columns."""
    n, g, r, length = t.shape
    return t.permute(1, 2, 0, 3).reshape(g, r, n * length)


class Conv2dFunction(torch.autograd.Function):
    """Grouped 2-D cross-correlation by im2col and matrix products.

    ``forward(x, weight, bias, stride, padding, dilation, groups)`` with
    ``x`` ``(N, C, H, W)``, ``weight`` ``(O, C/groups, kh, kw)`` and
    ``bias`` ``(O,)`` or ``None``.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        """Cross-correlate by im2col and one matrix product per group."""
        n, c, h, w = x.shape
        o, cg, kh, kw = weight.shape
        oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
        ow = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
        xp = _pad(x, padding)
        # (N, G, C/G * kh * kw, oh * ow): one column per output position
        cols = im2col(xp, (kh, kw), stride, dilation, (oh, ow)).reshape(
            n, groups, cg * kh * kw, oh * ow
        )
        wm = weight.reshape(groups, o // groups, cg * kh * kw)
        if oh * ow <= _FEW_POSITIONS:
            # few output positions: one product over all (example, position) pairs
            y = torch.matmul(wm, _batch_to_columns(cols)).reshape(groups, o // groups, n, oh * ow)
            y = y.permute(2, 0, 1, 3).reshape(n, o, oh, ow)
        else:
            y = torch.matmul(wm, cols).reshape(n, o, oh, ow)
        if bias is not None:
            y = y + bias.reshape(1, o, 1, 1)
        # x is saved too: a double backward rebuilds the columns from it (see backward)
        ctx.save_for_backward(x, weight, cols)
        ctx.conf = (x.shape, xp.shape[2:], stride, padding, dilation, groups, bias is not None)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        """Input gradient by col2im of :math:`W^\\top G`; weight gradient :math:`G U^\\top`.

        Every step is a differentiable torch operation (strided views,
        matrix products, slice additions), so the backward pass can itself be
        differentiated. For that (``create_graph=True``, when grad mode is on
        here) the columns are rebuilt from the saved input, whose dependence
        on earlier layers autograd tracks; otherwise the saved columns are
        reused.
        """
        x, weight, cols = ctx.saved_tensors
        x_shape, padded, stride, padding, dilation, groups, has_bias = ctx.conf
        n, c, h, w = x_shape
        o, cg, kh, kw = weight.shape
        oh, ow = grad_output.shape[2:]
        if torch.is_grad_enabled() and ctx.needs_input_grad[1]:
            cols = im2col(_pad(x, padding), (kh, kw), stride, dilation, (oh, ow)).reshape(
                n, groups, cg * kh * kw, oh * ow
            )
        g = grad_output.reshape(n, groups, o // groups, oh * ow)
        grad_x = grad_w = grad_b = None
        few = oh * ow <= _FEW_POSITIONS
        if ctx.needs_input_grad[0]:
            wm = weight.reshape(groups, o // groups, cg * kh * kw)
            # W^T G, then every column goes back to its receptive field
            if few:
                gcols = torch.matmul(wm.transpose(1, 2), _batch_to_columns(g))
                gcols = gcols.reshape(groups, cg * kh * kw, n, oh * ow).permute(2, 0, 1, 3)
            else:
                gcols = torch.matmul(wm.transpose(1, 2), g)
            gcols = gcols.reshape(n, c, kh, kw, oh, ow)
            gxp = col2im(gcols, tuple(padded), stride, dilation)
            grad_x = gxp[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w]
        if ctx.needs_input_grad[1]:
            # correlation of the input columns with the upstream gradient, summed over N
            if few or cols.numel() <= _SMALL_COLUMNS:
                cols_t = _batch_to_columns(cols).transpose(1, 2)
                grad_w = torch.matmul(_batch_to_columns(g), cols_t)
            else:
                # one product per example, accumulated: no (N, O, K) intermediate and no
                # transposed copy of the columns
                grad_w = weight.new_zeros(groups, o // groups, cg * kh * kw)
                for i in range(n):
                    grad_w.baddbmm_(g[i], cols[i].transpose(1, 2))
            grad_w = grad_w.reshape(weight.shape)
        if has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_output.sum(dim=(0, 2, 3))
        return grad_x, grad_w, grad_b, None, None, None, None


def conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> torch.Tensor:
    """2-D cross-correlation, as :func:`torch.nn.functional.conv2d`.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of shape ``(N, C, H, W)``.
    weight : torch.Tensor
        Filters of shape ``(O, C / groups, kh, kw)``.
    bias : torch.Tensor, optional
        Shape ``(O,)``.
    stride, padding, dilation : int or (int, int)
        Stride :math:`s \\ge 1`, zero padding :math:`p \\ge 0` on each side,
        and dilation :math:`d \\ge 1`; one number for both dimensions, or a pair ``(h, w)``.
    groups : int
        Split the channels into ``groups`` independent convolutions; ``C``
        and ``O`` must both be divisible by it.

    Returns
    -------
    torch.Tensor
        Shape ``(N, O, oh, ow)`` with
        :math:`o = \\lfloor (n + 2p - d(k-1) - 1)/s \\rfloor + 1` per side.

    Raises
    ------
    ValueError
        If the dilated kernel is larger than the padded input, or the
        channels do not match ``weight`` and ``groups``.

    Notes
    -----
    Double backward: yes; the backward pass is built from strided views, matrix
    products and slice additions, and under ``create_graph=True`` rebuilds the
    columns from the saved input.

    Examples
    --------
    >>> import torch
    >>> from dlbook.functional import conv2d
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = torch.tensor([[[[1.0, 0.0], [0.0, -1.0]]]])
    >>> conv2d(x, w, stride=2)
    tensor([[[[-5., -5.],
              [-5., -5.]]]])
    """
    fn = "conv2d"
    check_floating(fn, "input", input)
    check_floating(fn, "weight", weight)
    check_ndim(fn, "input", input, 4, "(N, C, H, W)")
    check_ndim(fn, "weight", weight, 4, "(O, C/groups, kh, kw)")
    check_same_dtype(fn, "weight", weight, "input", input)
    stride = _pair(fn, "stride", stride, 1)
    padding = _pair(fn, "padding", padding, 0)
    dilation = _pair(fn, "dilation", dilation, 1)
    check_groups(fn, groups)
    n, c, h, w = input.shape
    o, cg, kh, kw = weight.shape
    if kh < 1 or kw < 1:
        raise ValueError(
            f"{fn}: argument 'weight' (O, C/groups, kh, kw) = {tuple(weight.shape)} must have "
            f"a kernel of at least 1 x 1, got {kh} x {kw}"
        )
    if c % groups:
        raise ValueError(
            f"{fn}: the {c} input channels of 'input' (N, C, H, W) = {tuple(input.shape)} "
            f"are not divisible by groups={groups}"
        )
    if o % groups:
        raise ValueError(
            f"{fn}: the {o} output channels of 'weight' (O, C/groups, kh, kw) = "
            f"{tuple(weight.shape)} are not divisible by groups={groups}"
        )
    if cg * groups != c:
        raise ValueError(
            f"{fn}: 'weight' of shape (O, C/groups, kh, kw) = {tuple(weight.shape)} expects "
            f"C = {cg * groups} input channels with groups={groups}, but 'input' has {c}"
        )
    for side, size, k, p, d in (
        ("height", h, kh, padding[0], dilation[0]),
        ("width", w, kw, padding[1], dilation[1]),
    ):
        if d * (k - 1) + 1 > size + 2 * p:
            raise ValueError(
                f"{fn}: the kernel {side} {k} of 'weight' (dilated: {d * (k - 1) + 1}) is larger "
                f"than the padded {side} of 'input', {size} + 2*{p} = {size + 2 * p}"
            )
    if bias is not None:
        check_tensor(fn, "bias", bias)
        check_same_dtype(fn, "bias", bias, "input", input)
        if bias.shape != (o,):
            raise ValueError(
                f"{fn}: argument 'bias' must have shape (O,) = ({o},), got {tuple(bias.shape)}"
            )
    return Conv2dFunction.apply(input, weight, bias, stride, padding, dilation, groups)
