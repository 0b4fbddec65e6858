"""Recurrent cells and whole-sequence recurrent layers with hand-derived backward passes.

The three cells, in PyTorch's layout (a row-stacked ``weight_ih`` of shape
``(G H, I)``, ``weight_hh`` of shape ``(G H, H)`` and two bias vectors of
shape ``(G H,)``, with ``G`` = 1, 4 and 3 blocks):

* Elman (tanh) RNN:
  :math:`h' = \\tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`.
* LSTM, gate blocks in the order ``(i, f, g, o)``:
  :math:`c' = f \\odot c + i \\odot g`, :math:`h' = o \\odot \\tanh(c')`, with
  :math:`i, f, o = \\sigma(\\cdot)` and :math:`g = \\tanh(\\cdot)` of the
  pre-activations :math:`a = W_{ih} x + b_{ih} + W_{hh} h + b_{hh}`.
* GRU, blocks ``(r, z, n)``:
  :math:`r, z = \\sigma(W_{i\\cdot} x + b_{i\\cdot} + W_{h\\cdot} h + b_{h\\cdot})`,
  :math:`n = \\tanh(W_{in} x + b_{in} + r \\odot (W_{hn} h + b_{hn}))`,
  :math:`h' = (1 - z) \\odot n + z \\odot h`.

Two kinds of :class:`torch.autograd.Function` implement them.

* The **cell Functions** (:func:`rnn_tanh_cell`, :func:`lstm_cell`,
  :func:`gru_cell`) compute one step. Their backward passes are the
  equations of the chapter, written with differentiable tensor operations on
  the saved inputs (the gates are recomputed), so a second derivative
  (``create_graph=True``) is correct.
* The **layer Functions** (:class:`RNNLayerFunction`,
  :class:`LSTMLayerFunction`, :class:`GRULayerFunction`) run a whole
  sequence in one direction. The forward pass applies the input projection of
  all time steps as one matrix product, then loops over time with one matrix
  product and a few in-place element-wise operations per step, into
  preallocated buffers. The backward pass is backpropagation through time:
  the reverse loop carries :math:`\\partial L / \\partial h_t` (and
  :math:`\\partial L / \\partial c_t`) back one step with one matrix
  product; every factor that does not depend on the upstream gradient is
  computed for all steps at once before the loop, and the weight gradients
  are one matrix product over all steps after it. They give first
  derivatives only: a backward pass with ``create_graph=True`` raises a
  ``RuntimeError``; use the cell Functions for higher derivatives.
"""

from __future__ import annotations

import functools

import torch

from dlbook._checks import check_floating, check_ndim, check_same_dtype, check_tensor

__all__ = [
    "GRUCellFunction",
    "GRULayerFunction",
    "LSTMCellFunction",
    "LSTMLayerFunction",
    "RNNCellFunction",
    "RNNLayerFunction",
    "gru_cell",
    "lstm_cell",
    "recurrent_layer",
    "rnn_relu_cell",
    "rnn_tanh_cell",
]


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------


def _check_cell_args(fn, gates, input, hs, weight_ih, weight_hh, bias_ih, bias_hh):
    """Check the shapes of a cell call; ``hs`` is a list of (name, tensor)."""
    check_floating(fn, "input", input)
    check_ndim(fn, "input", input, 2, "(N, I)")
    check_floating(fn, "weight_ih", weight_ih)
    check_floating(fn, "weight_hh", weight_hh)
    check_ndim(fn, "weight_hh", weight_hh, 2, f"({gates}H, H)")
    gh, h = weight_hh.shape
    if gh != gates * h:
        raise ValueError(f"{fn}: argument 'weight_hh' must have shape ({gates}H, H), got {tuple(weight_hh.shape)}")
    n, i = input.shape
    if tuple(weight_ih.shape) != (gates * h, i):
        raise ValueError(
            f"{fn}: argument 'weight_ih' must have shape ({gates}H, I) = ({gates * h}, {i}) to match "
            f"'input' of shape (N, I) = {tuple(input.shape)} and 'weight_hh', got {tuple(weight_ih.shape)}"
        )
    check_same_dtype(fn, "weight_ih", weight_ih, "input", input)
    check_same_dtype(fn, "weight_hh", weight_hh, "input", input)
    for name, t in hs:
        check_floating(fn, name, t)
        check_same_dtype(fn, name, t, "input", input)
        if tuple(t.shape) != (n, h):
            raise ValueError(f"{fn}: argument '{name}' must have shape (N, H) = ({n}, {h}), got {tuple(t.shape)}")
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None:
            check_floating(fn, name, b)
            check_same_dtype(fn, name, b, "input", input)
            if tuple(b.shape) != (gates * h,):
                raise ValueError(
                    f"{fn}: argument '{name}' must have shape ({gates}H,) = ({gates * h},), got {tuple(b.shape)}"
                )


def _affine(x, w, b):
    """``x @ w.T + b`` (``b`` may be ``None``)."""
    return x @ w.t() if b is None else torch.addmm(b, x, w.t())


def _bias_grads(ctx, i_ih, i_hh, g_ih, g_hh):
    """The bias gradients, or ``None`` where a bias was absent or needs no gradient."""
    b_ih = g_ih.sum(0) if ctx.needs_input_grad[i_ih] else None
    b_hh = g_hh.sum(0) if ctx.needs_input_grad[i_hh] else None
    return b_ih, b_hh


# --------------------------------------------------------------------------
# one step: the cell Functions
# --------------------------------------------------------------------------


class RNNCellFunction(torch.autograd.Function):
    """One step of the Elman RNN, ``forward(x, h, w_ih, w_hh, b_ih, b_hh, relu)``.

    With :math:`a = W_{ih} x + b_{ih} + W_{hh} h + b_{hh}` and
    :math:`h' = \\phi(a)`, the backward pass is
    :math:`\\delta = \\bar h' \\odot \\phi'(a)` (:math:`1 - h'^2` for tanh,
    :math:`[a > 0]` for ReLU), :math:`\\bar x = W_{ih}^\\top \\delta`,
    :math:`\\bar h = W_{hh}^\\top \\delta`,
    :math:`\\bar W_{ih} = \\delta x^\\top`, :math:`\\bar W_{hh} = \\delta h^\\top`,
    :math:`\\bar b_{ih} = \\bar b_{hh} = \\delta` (summed over the batch).
    """

    @staticmethod
    def forward(ctx, x, h, w_ih, w_hh, b_ih, b_hh, relu):
        """One step: the activation of the affine map of ``x`` and ``h``."""
        a = torch.addmm(_affine(x, w_ih, b_ih), h, w_hh.t())
        if b_hh is not None:
            a = a + b_hh
        ctx.relu = relu
        ctx.save_for_backward(x, h, w_ih, w_hh, b_ih, b_hh)
        return torch.relu(a) if relu else torch.tanh(a)

    @staticmethod
    def backward(ctx, grad_h):
        """The cell's backward equations, from the gates recomputed with differentiable operations."""
        x, h, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        a = torch.addmm(_affine(x, w_ih, b_ih), h, w_hh.t())
        if b_hh is not None:
            a = a + b_hh
        if ctx.relu:
            delta = grad_h * (~(a <= 0)).to(a.dtype)  # NaN passes its gradient, as relu does
        else:
            y = torch.tanh(a)
            delta = grad_h * (1 - y * y)
        gx = delta @ w_ih if ctx.needs_input_grad[0] else None
        gh = delta @ w_hh if ctx.needs_input_grad[1] else None
        gw_ih = delta.t() @ x if ctx.needs_input_grad[2] else None
        gw_hh = delta.t() @ h if ctx.needs_input_grad[3] else None
        gb_ih, gb_hh = _bias_grads(ctx, 4, 5, delta, delta)
        return gx, gh, gw_ih, gw_hh, gb_ih, gb_hh, None


class LSTMCellFunction(torch.autograd.Function):
    """One LSTM step, ``forward(x, h, c, w_ih, w_hh, b_ih, b_hh) -> (h', c')``.

    Backward, with the upstream gradients :math:`\\bar h'` and :math:`\\bar c'`:

    .. math::

        \\bar o &= \\bar h' \\odot \\tanh(c'), \\qquad
        \\hat c = \\bar c' + \\bar h' \\odot o \\odot (1 - \\tanh^2 c'), \\\\
        \\bar i &= \\hat c \\odot g, \\quad \\bar f = \\hat c \\odot c, \\quad
        \\bar g = \\hat c \\odot i, \\quad \\bar c = \\hat c \\odot f,

    and the pre-activation gradients :math:`\\delta` multiply these by
    :math:`\\sigma' = \\sigma(1 - \\sigma)` (for i, f, o) or
    :math:`1 - g^2` (for g); then :math:`\\bar x = W_{ih}^\\top \\delta`,
    :math:`\\bar h = W_{hh}^\\top \\delta` and the weight gradients are outer
    products with :math:`x` and :math:`h`, as for the RNN cell.
    """

    @staticmethod
    def forward(ctx, x, h, c, w_ih, w_hh, b_ih, b_hh):
        """One step: ``(h', c')`` from the four gates."""
        ctx.save_for_backward(x, h, c, w_ih, w_hh, b_ih, b_hh)
        i, f, g, o, c_new = _lstm_gates(x, h, c, w_ih, w_hh, b_ih, b_hh)
        return o * torch.tanh(c_new), c_new

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        """The cell's backward equations, from the gates recomputed with differentiable operations."""
        x, h, c, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        i, f, g, o, c_new = _lstm_gates(x, h, c, w_ih, w_hh, b_ih, b_hh)
        tc = torch.tanh(c_new)
        if grad_h is None:
            grad_h = torch.zeros_like(tc)
        c_hat = grad_h * o * (1 - tc * tc)
        if grad_c is not None:
            c_hat = c_hat + grad_c
        delta = torch.cat(
            [
                c_hat * g * i * (1 - i),
                c_hat * c * f * (1 - f),
                c_hat * i * (1 - g * g),
                grad_h * tc * o * (1 - o),
            ],
            dim=1,
        )
        gx = delta @ w_ih if ctx.needs_input_grad[0] else None
        gh = delta @ w_hh if ctx.needs_input_grad[1] else None
        gc = c_hat * f if ctx.needs_input_grad[2] else None
        gw_ih = delta.t() @ x if ctx.needs_input_grad[3] else None
        gw_hh = delta.t() @ h if ctx.needs_input_grad[4] else None
        gb_ih, gb_hh = _bias_grads(ctx, 5, 6, delta, delta)
        return gx, gh, gc, gw_ih, gw_hh, gb_ih, gb_hh


def _lstm_gates(x, h, c, w_ih, w_hh, b_ih, b_hh):
    a = torch.addmm(_affine(x, w_ih, b_ih), h, w_hh.t())
    if b_hh is not None:
        a = a + b_hh
    ai, af, ag, ao = a.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(ai), torch.sigmoid(af), torch.tanh(ag), torch.sigmoid(ao)
    return i, f, g, o, f * c + i * g


class GRUCellFunction(torch.autograd.Function):
    """One GRU step in PyTorch's form, ``forward(x, h, w_ih, w_hh, b_ih, b_hh) -> h'``.

    With :math:`u = W_{hn} h + b_{hn}` and the upstream gradient :math:`\\bar h'`:

    .. math::

        \\delta_n &= \\bar h' \\odot (1 - z) \\odot (1 - n^2), \\qquad
        \\delta_z = \\bar h' \\odot (h - n) \\odot z (1 - z), \\\\
        \\delta_r &= \\delta_n \\odot u \\odot r (1 - r), \\qquad
        \\bar u = \\delta_n \\odot r, \\\\
        \\bar h &= \\bar h' \\odot z + W_{hh}^\\top [\\delta_r; \\delta_z; \\bar u], \\qquad
        \\bar x = W_{ih}^\\top [\\delta_r; \\delta_z; \\delta_n].

    The input side sees :math:`\\delta_n` but the hidden side sees
    :math:`\\bar u = r \\odot \\delta_n`, so the two bias gradients differ in
    their last block.
    """

    @staticmethod
    def forward(ctx, x, h, w_ih, w_hh, b_ih, b_hh):
        """One step: ``h'`` from the gates ``r``, ``z`` and the candidate ``n``."""
        ctx.save_for_backward(x, h, w_ih, w_hh, b_ih, b_hh)
        r, z, n, _ = _gru_gates(x, h, w_ih, w_hh, b_ih, b_hh)
        return n + z * (h - n)

    @staticmethod
    def backward(ctx, grad_h):
        """The cell's backward equations, from the gates recomputed with differentiable operations."""
        x, h, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        r, z, n, u = _gru_gates(x, h, w_ih, w_hh, b_ih, b_hh)
        d_n = grad_h * (1 - z) * (1 - n * n)
        d_z = grad_h * (h - n) * z * (1 - z)
        d_r = d_n * u * r * (1 - r)
        delta_i = torch.cat([d_r, d_z, d_n], dim=1)
        delta_h = torch.cat([d_r, d_z, d_n * r], dim=1)
        gx = delta_i @ w_ih if ctx.needs_input_grad[0] else None
        gh = grad_h * z + delta_h @ w_hh if ctx.needs_input_grad[1] else None
        gw_ih = delta_i.t() @ x if ctx.needs_input_grad[2] else None
        gw_hh = delta_h.t() @ h if ctx.needs_input_grad[3] else None
        gb_ih, gb_hh = _bias_grads(ctx, 4, 5, delta_i, delta_h)
        return gx, gh, gw_ih, gw_hh, gb_ih, gb_hh


def _gru_gates(x, h, w_ih, w_hh, b_ih, b_hh):
    ax = _affine(x, w_ih, b_ih)
    ah = _affine(h, w_hh, b_hh)
    hdim = h.shape[1]
    rz = torch.sigmoid(ax[:, : 2 * hdim] + ah[:, : 2 * hdim])
    r, z = rz[:, :hdim], rz[:, hdim:]
    u = ah[:, 2 * hdim :]
    n = torch.tanh(ax[:, 2 * hdim :] + r * u)
    return r, z, n, u


def rnn_tanh_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One step of the Elman RNN, :math:`h' = \\tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`.

    Equals :func:`torch.rnn_tanh_cell` (the step of :class:`torch.nn.RNNCell`).

    Parameters
    ----------
    input : torch.Tensor
        :math:`x`, shape ``(N, I)``.
    hx : torch.Tensor
        :math:`h`, shape ``(N, H)``.
    weight_ih, weight_hh : torch.Tensor
        Shapes ``(H, I)`` and ``(H, H)``.
    bias_ih, bias_hh : torch.Tensor or None
        Shape ``(H,)``.

    Returns
    -------
    torch.Tensor
        :math:`h'`, shape ``(N, H)``.

    Examples
    --------
    >>> import torch
    >>> x, h = torch.ones(1, 2), torch.zeros(1, 1)
    >>> rnn_tanh_cell(x, h, torch.tensor([[0.5, -0.5]]), torch.ones(1, 1))
    tensor([[0.]])
    """
    _check_cell_args("rnn_tanh_cell", 1, input, [("hx", hx)], weight_ih, weight_hh, bias_ih, bias_hh)
    return RNNCellFunction.apply(input, hx, weight_ih, weight_hh, bias_ih, bias_hh, False)


def rnn_relu_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One step of the ReLU RNN, :math:`h' = \\max(0, W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`.

    Equals :func:`torch.rnn_relu_cell`. Shapes as in :func:`rnn_tanh_cell`.

    Examples
    --------
    >>> import torch
    >>> rnn_relu_cell(torch.ones(1, 1), torch.ones(1, 1), -torch.ones(1, 1), torch.ones(1, 1))
    tensor([[0.]])
    """
    _check_cell_args("rnn_relu_cell", 1, input, [("hx", hx)], weight_ih, weight_hh, bias_ih, bias_hh)
    return RNNCellFunction.apply(input, hx, weight_ih, weight_hh, bias_ih, bias_hh, True)


def lstm_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step with PyTorch's gate order ``(i, f, g, o)``.

    Equals :func:`torch.lstm_cell` (the step of :class:`torch.nn.LSTMCell`).

    Parameters
    ----------
    input : torch.Tensor
        :math:`x`, shape ``(N, I)``.
    hx : tuple of torch.Tensor
        ``(h, c)``, each of shape ``(N, H)``.
    weight_ih, weight_hh : torch.Tensor
        Shapes ``(4H, I)`` and ``(4H, H)``, blocks ``i, f, g, o``.
    bias_ih, bias_hh : torch.Tensor or None
        Shape ``(4H,)``.

    Returns
    -------
    tuple of torch.Tensor
        ``(h', c')``, each of shape ``(N, H)``.

    Examples
    --------
    >>> import torch
    >>> x, h, c = torch.zeros(1, 1), torch.zeros(1, 1), torch.ones(1, 1)
    >>> w_ih, w_hh = torch.zeros(4, 1), torch.zeros(4, 1)
    >>> b = torch.tensor([0.0, 50.0, 0.0, 0.0])  # forget gate open: c' = c
    >>> lstm_cell(x, (h, c), w_ih, w_hh, b)[1]
    tensor([[1.]])
    """
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError("lstm_cell: argument 'hx' must be a tuple (h, c) of two (N, H) tensors")
    h, c = hx
    _check_cell_args("lstm_cell", 4, input, [("hx[0]", h), ("hx[1]", c)], weight_ih, weight_hh, bias_ih, bias_hh)
    return LSTMCellFunction.apply(input, h, c, weight_ih, weight_hh, bias_ih, bias_hh)


def gru_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One GRU step in PyTorch's form (blocks ``r, z, n``; ``r`` multiplies :math:`W_{hn} h + b_{hn}`).

    Equals :func:`torch.gru_cell` (the step of :class:`torch.nn.GRUCell`).

    Parameters
    ----------
    input : torch.Tensor
        :math:`x`, shape ``(N, I)``.
    hx : torch.Tensor
        :math:`h`, shape ``(N, H)``.
    weight_ih, weight_hh : torch.Tensor
        Shapes ``(3H, I)`` and ``(3H, H)``.
    bias_ih, bias_hh : torch.Tensor or None
        Shape ``(3H,)``.

    Returns
    -------
    torch.Tensor
        :math:`h'`, shape ``(N, H)``.

    Examples
    --------
    >>> import torch
    >>> x, h = torch.zeros(1, 1), torch.full((1, 1), 0.5)
    >>> b = torch.tensor([0.0, 50.0, 0.0])  # update gate z = 1: h' = h
    >>> gru_cell(x, h, torch.zeros(3, 1), torch.zeros(3, 1), b)
    tensor([[0.5000]])
    """
    _check_cell_args("gru_cell", 3, input, [("hx", hx)], weight_ih, weight_hh, bias_ih, bias_hh)
    return GRUCellFunction.apply(input, hx, weight_ih, weight_hh, bias_ih, bias_hh)


# --------------------------------------------------------------------------
# a whole sequence: the layer Functions
# --------------------------------------------------------------------------


def _backward_operand(w_hh):
    """``w_hh`` ``(G H, H)`` as a column-major copy: the same matrix, faster as the right operand per step."""
    return w_hh.t().contiguous().t()


def _first_order_only(backward):
    """Raise a clear error when a layer Function's backward pass would be differentiated again.

    Autograd runs ``backward`` with gradient recording on only when the caller
    asked for ``create_graph=True``. (``torch.autograd.function.once_differentiable``
    is not enough: it raises only when the graph is differentiated with
    respect to the upstream gradient, and silently returns zero second
    derivatives with respect to the inputs and weights.)
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        if torch.is_grad_enabled():
            raise RuntimeError(
                "dlbook recurrent layers (RNN, LSTM, GRU and recurrent_layer) support first derivatives "
                "only: backward with create_graph=True is not implemented. For second derivatives, unroll "
                "the sequence with dlbook.functional.rnn_tanh_cell, lstm_cell or gru_cell, whose backward "
                "passes are differentiable."
            )
        return backward(ctx, *grads)

    return wrapper


def _project(x, w_ih, bias):
    """The input projection of all steps as one matrix product: ``(T, N, I) -> (T, N, G H)``."""
    t, n, i = x.shape
    x2 = x.reshape(t * n, i)
    out = x2 @ w_ih.t() if bias is None else torch.addmm(bias, x2, w_ih.t())
    return out.view(t, n, w_ih.shape[0])


def _sum_bias(b_ih, b_hh):
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh


def _steps(x, reverse):
    """The sequence in the order of the recurrence (a copy only when reversed)."""
    return x.flip(0) if reverse else x


def _prev_states(h0, out):
    """``(T, N, H)``: the state each step starts from, ``h0`` then the outputs ``0..T-2``."""
    return torch.cat([h0.unsqueeze(0), out[:-1]], dim=0)


def _weight_grads(ctx, delta_ih, delta_hh, x_steps, h_prev, i0):
    """The weight and bias gradients, summed over all steps, each as one product."""
    gsize = delta_ih.shape[-1]
    d_ih = delta_ih.reshape(-1, gsize)
    d_hh = delta_hh.reshape(-1, gsize)
    need = ctx.needs_input_grad
    # (x^T delta)^T: the same sum, in the operand layout that is faster for MKL on the CPU
    gw_ih = (x_steps.reshape(-1, x_steps.shape[-1]).t() @ d_ih).t() if need[i0] else None
    gw_hh = (h_prev.reshape(-1, h_prev.shape[-1]).t() @ d_hh).t() if need[i0 + 1] else None
    gb_ih = d_ih.sum(0) if need[i0 + 2] else None
    gb_hh = (d_ih.sum(0) if delta_hh is delta_ih else d_hh.sum(0)) if need[i0 + 3] else None
    return gw_ih, gw_hh, gb_ih, gb_hh


class RNNLayerFunction(torch.autograd.Function):
    """A whole Elman-RNN sequence in one direction.

    ``forward(x, h0, w_ih, w_hh, b_ih, b_hh, reverse, relu) -> (out, h_n)`` with
    ``x`` of shape ``(T, N, I)``, ``h0`` ``(N, H)``, ``out`` ``(T, N, H)``.
    With ``reverse=True`` the recurrence runs from the last step to the first
    and ``out[t]`` is still the state at input position ``t``.

    Backward through time, with :math:`\\delta_t = (\\bar y_t + W_{hh}^\\top
    \\delta_{t+1}) \\odot \\phi'(a_t)` and :math:`\\bar W_{hh} = \\sum_t
    \\delta_t h_{t-1}^\\top`.
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, relu):
        """Run the recurrence over all steps; return ``(out, h_n)``."""
        xs = _project(_steps(x, reverse), w_ih, _sum_bias(b_ih, b_hh))
        out = torch.empty_like(xs)  # the projection's shape is (T, N, H) here
        h = h0
        wt = w_hh.t()
        act = torch.relu_ if relu else torch.tanh_
        for t in range(xs.shape[0]):
            h = act(torch.addmm(xs[t], h, wt, out=out[t]))
        ctx.save_for_backward(x, h0, w_ih, w_hh, out)
        ctx.reverse, ctx.relu = reverse, relu
        h_n = out[-1].clone()
        return _steps(out, reverse), h_n

    @staticmethod
    @_first_order_only
    def backward(ctx, grad_out, grad_hn):
        """Backpropagation through time; first derivatives only."""
        x, h0, w_ih, w_hh, out = ctx.saved_tensors
        g = _steps(grad_out, ctx.reverse)
        # phi'(a_t) for all steps at once
        dphi = (~(out <= 0)).to(out.dtype) if ctx.relu else 1 - out * out  # NaN passes, as in relu
        delta = torch.empty_like(out)
        dh = g[-1] if grad_hn is None else g[-1] + grad_hn
        w_back = _backward_operand(w_hh)
        for t in range(out.shape[0] - 1, -1, -1):
            torch.mul(dh, dphi[t], out=delta[t])
            if t > 0:
                dh = torch.addmm(g[t - 1], delta[t], w_back)
        need = ctx.needs_input_grad
        gh0 = delta[0] @ w_hh if need[1] else None
        gx = None
        if need[0]:
            gx = _steps((delta.reshape(-1, delta.shape[-1]) @ w_ih).view(*x.shape), ctx.reverse)
        xs = _steps(x, ctx.reverse)
        grads = _weight_grads(ctx, delta, delta, xs, _prev_states(h0, out), 2)
        return (gx, gh0, *grads, None, None)


class LSTMLayerFunction(torch.autograd.Function):
    """A whole LSTM sequence in one direction.

    ``forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse) -> (out, h_n, c_n)``
    with ``x`` ``(T, N, I)``, ``h0`` and ``c0`` ``(N, H)``, ``out`` ``(T, N, H)``.

    Per step the forward pass is one ``addmm`` into the saved gate buffer,
    three in-place activations and three fused element-wise products. The
    backward pass precomputes, for all steps at once, the factors of the
    cell's backward equations that do not depend on the upstream gradient
    (e.g. :math:`o (1 - \\tanh^2 c_t)` and :math:`g\\, i (1 - i)`), so each
    reverse step is one ``addmm`` and four element-wise products.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
        """Run the recurrence over all steps; return ``(out, h_n, c_n)``."""
        gates = _project(_steps(x, reverse), w_ih, _sum_bias(b_ih, b_hh))  # (T, N, 4H)
        steps, n, four_h = gates.shape
        hd = four_h // 4
        out = gates.new_empty(steps, n, hd)
        cs = gates.new_empty(steps + 1, n, hd)  # c_0, c_1, ..., c_T
        cs[0] = c0
        tcs = gates.new_empty(steps, n, hd)  # tanh(c_t)
        # per-step views, made once (unbind is one call; indexing in the loop would be one call per view)
        g_all = gates.unbind(0)
        a_if = gates[:, :, : 2 * hd].unbind(0)
        a_i, a_f, a_g, a_o = (v.unbind(0) for v in gates.split(hd, dim=2))
        c_all, tc_all, h_all = cs.unbind(0), tcs.unbind(0), out.unbind(0)
        h = h0
        wt = w_hh.t()
        for t in range(steps):
            g_all[t].addmm_(h, wt)
            a_if[t].sigmoid_()
            a_g[t].tanh_()
            a_o[t].sigmoid_()
            c = torch.mul(a_f[t], c_all[t], out=c_all[t + 1]).addcmul_(a_i[t], a_g[t])
            h = torch.mul(a_o[t], torch.tanh(c, out=tc_all[t]), out=h_all[t])
        ctx.save_for_backward(x, h0, w_ih, w_hh, gates, out, cs, tcs)
        ctx.reverse = reverse
        return _steps(out, reverse), out[-1].clone(), cs[-1].clone()

    @staticmethod
    @_first_order_only
    def backward(ctx, grad_out, grad_hn, grad_cn):
        """Backpropagation through time; first derivatives only."""
        x, h0, w_ih, w_hh, gates, out, cs, tcs = ctx.saved_tensors
        steps, n, hd = out.shape
        g_out = _steps(grad_out, ctx.reverse)
        i, f, g, o = gates.split(hd, dim=2)
        # factors of the cell's backward equations, for all steps at once:
        # delta_o = hbar tanh(c) o (1 - o);  chat = cbar + hbar o (1 - tanh^2 c);
        # delta_i, delta_f, delta_g = chat * (g i (1 - i), c_prev f (1 - f), i (1 - g^2))
        d_o = torch.addcmul(o, o, o, value=-1).mul_(tcs)
        d_c = torch.addcmul(o, o * tcs, tcs, value=-1)
        d_ifg = gates.new_empty(steps, n, 3, hd)
        torch.mul(torch.addcmul(i, i, i, value=-1), g, out=d_ifg[:, :, 0])
        torch.mul(torch.addcmul(f, f, f, value=-1), cs[:-1], out=d_ifg[:, :, 1])
        torch.addcmul(i, i * g, g, value=-1, out=d_ifg[:, :, 2])
        delta = torch.empty_like(gates)  # (T, N, 4H): dL/da, blocks i, f, g, o
        delta_ifg, delta_o = delta[:, :, : 3 * hd].view(steps, n, 3, hd), delta[:, :, 3 * hd :]
        dh = g_out[-1] if grad_hn is None else g_out[-1] + grad_hn
        dc = torch.zeros_like(out[0]) if grad_cn is None else grad_cn
        w_back = _backward_operand(w_hh)
        d_o, d_c, d_ifg, f_all = d_o.unbind(0), d_c.unbind(0), d_ifg.unbind(0), f.unbind(0)
        delta_all, delta_ifg, delta_o = delta.unbind(0), delta_ifg.unbind(0), delta_o.unbind(0)
        g_steps = g_out.unbind(0)
        for t in range(steps - 1, -1, -1):
            torch.mul(dh, d_o[t], out=delta_o[t])
            chat = torch.addcmul(dc, dh, d_c[t])
            torch.mul(chat.unsqueeze(1), d_ifg[t], out=delta_ifg[t])
            dc = chat.mul_(f_all[t])
            if t > 0:
                dh = torch.addmm(g_steps[t - 1], delta_all[t], w_back)
        need = ctx.needs_input_grad
        gh0 = delta[0] @ w_hh if need[1] else None
        gc0 = dc if need[2] else None
        gx = None
        if need[0]:
            gx = _steps((delta.reshape(-1, 4 * hd) @ w_ih).view(*x.shape), ctx.reverse)
        xs = _steps(x, ctx.reverse)
        grads = _weight_grads(ctx, delta, delta, xs, _prev_states(h0, out), 3)
        return (gx, gh0, gc0, *grads, None)


class GRULayerFunction(torch.autograd.Function):
    """A whole GRU sequence in one direction.

    ``forward(x, h0, w_ih, w_hh, b_ih, b_hh, reverse) -> (out, h_n)``, shapes
    as in :class:`RNNLayerFunction`. The hidden-side products
    :math:`W_{hh} h + b_{hh}` are saved, since the ``n`` block needs
    :math:`u = W_{hn} h + b_{hn}` on its own.
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
        """Run the recurrence over all steps; return ``(out, h_n)``."""
        ax = _project(_steps(x, reverse), w_ih, b_ih)  # (T, N, 3H)
        steps, n, three_h = ax.shape
        hd = three_h // 3
        ah = torch.empty_like(ax)
        out = ax.new_empty(steps, n, hd)
        h = h0
        wt = w_hh.t()
        for t in range(steps):
            a, b = ax[t], ah[t]
            if b_hh is None:
                torch.mm(h, wt, out=b)
            else:
                torch.addmm(b_hh, h, wt, out=b)
            a[:, : 2 * hd].add_(b[:, : 2 * hd]).sigmoid_()  # r, z (in place in ax)
            r, z = a[:, :hd], a[:, hd : 2 * hd]
            nn_ = a[:, 2 * hd :].addcmul_(r, b[:, 2 * hd :]).tanh_()  # n
            # h' = n + z (h - n)
            h = torch.addcmul(nn_, z, h - nn_, out=out[t])
        ctx.save_for_backward(x, h0, w_ih, w_hh, ax, ah, out)
        ctx.reverse = reverse
        return _steps(out, reverse), out[-1].clone()

    @staticmethod
    @_first_order_only
    def backward(ctx, grad_out, grad_hn):
        """Backpropagation through time; first derivatives only."""
        x, h0, w_ih, w_hh, ax, ah, out = ctx.saved_tensors
        steps, n, hd = out.shape
        g_out = _steps(grad_out, ctx.reverse)
        r, z, nn_ = ax.split(hd, dim=2)
        u = ah[:, :, 2 * hd :]
        h_prev = _prev_states(h0, out)
        # delta_z = hbar (h - n) z (1 - z); delta_n r = hbar (1 - z)(1 - n^2) r
        d_zn = torch.stack([(h_prev - nn_) * z * (1 - z), (1 - z) * (1 - nn_ * nn_) * r], dim=2)
        d_r = u * (1 - r)  # delta_r = (delta_n r) u (1 - r)
        delta_h = torch.empty_like(ax)  # dL/d(W_hh h + b_hh), blocks r, z, n
        dhs = torch.empty_like(out)
        dh = g_out[-1] if grad_hn is None else g_out[-1] + grad_hn
        w_back = _backward_operand(w_hh)
        for t in range(steps - 1, -1, -1):
            dhs[t] = dh
            dt = delta_h[t]
            torch.mul(dh.unsqueeze(1), d_zn[t], out=dt[:, hd:].view(n, 2, hd))
            torch.mul(dt[:, 2 * hd :], d_r[t], out=dt[:, :hd])
            if t > 0:
                dh = torch.addcmul(g_out[t - 1], dh, z[t]).addmm_(dt, w_back)
        # the input side sees delta_n itself in the n block
        delta_i = delta_h.clone()
        delta_i[:, :, 2 * hd :] = dhs * (1 - z) * (1 - nn_ * nn_)
        need = ctx.needs_input_grad
        gh0 = torch.addmm(dh * z[0], delta_h[0], w_hh) if need[1] else None
        gx = None
        if need[0]:
            gx = _steps((delta_i.reshape(-1, 3 * hd) @ w_ih).view(*x.shape), ctx.reverse)
        xs = _steps(x, ctx.reverse)
        grads = _weight_grads(ctx, delta_i, delta_h, xs, h_prev, 2)
        return (gx, gh0, *grads, None)


def recurrent_layer(mode, input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """Run one direction of one recurrent layer over a whole sequence.

    Equals one layer and direction of :class:`torch.nn.RNN` (``mode`` is
    ``'RNN_TANH'`` or ``'RNN_RELU'``), :class:`torch.nn.LSTM` (``'LSTM'``) or
    :class:`torch.nn.GRU` (``'GRU'``) with ``batch_first=False``.

    Parameters
    ----------
    mode : str
        ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``.
    input : torch.Tensor
        Shape ``(T, N, I)``, time first.
    hx : torch.Tensor or tuple of torch.Tensor
        Initial state ``(N, H)``; for ``'LSTM'`` the pair ``(h0, c0)``.
    weight_ih, weight_hh : torch.Tensor
        Shapes ``(G H, I)`` and ``(G H, H)`` with ``G`` = 1, 4 or 3 blocks.
    bias_ih, bias_hh : torch.Tensor or None
        Shape ``(G H,)``.
    reverse : bool
        Run from the last step to the first (the backward direction of a
        bidirectional layer).

    Returns
    -------
    tuple
        ``(output, h_n)``, or ``(output, h_n, c_n)`` for ``'LSTM'``;
        ``output`` has shape ``(T, N, H)`` and the states ``(N, H)``.

    Examples
    --------
    >>> import torch
    >>> x = torch.ones(3, 1, 1)
    >>> out, h = recurrent_layer('RNN_RELU', x, torch.zeros(1, 1), torch.ones(1, 1), torch.ones(1, 1))
    >>> out.flatten()  # h_t = h_{t-1} + 1
    tensor([1., 2., 3.])
    """
    gates = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
    if mode not in gates:
        raise ValueError(f"recurrent_layer: argument 'mode' must be one of {sorted(gates)}, got {mode!r}")
    fn = "recurrent_layer"
    check_floating(fn, "input", input)
    check_ndim(fn, "input", input, 3, "(T, N, I)")
    if input.shape[0] == 0:
        raise ValueError(f"{fn}: argument 'input' must have at least one time step, got shape {tuple(input.shape)}")
    if mode == "LSTM" and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
        got = f"a tensor of shape {tuple(hx.shape)}" if isinstance(hx, torch.Tensor) else repr(type(hx).__name__)
        raise TypeError(f"{fn}: argument 'hx' must be a pair (h, c) of tensors of shape (N, H) for 'LSTM', "
                        f"got {got}" + (f" of length {len(hx)}" if isinstance(hx, (tuple, list)) else ""))
    hs = [("hx[0]", hx[0]), ("hx[1]", hx[1])] if mode == "LSTM" else [("hx", hx)]
    for name, t in hs:
        check_tensor(fn, name, t)
    _check_cell_args(fn, gates[mode], input[0], hs, weight_ih, weight_hh, bias_ih, bias_hh)
    if mode == "LSTM":
        return LSTMLayerFunction.apply(input, hx[0], hx[1], weight_ih, weight_hh, bias_ih, bias_hh, reverse)
    if mode == "GRU":
        return GRULayerFunction.apply(input, hx, weight_ih, weight_hh, bias_ih, bias_hh, reverse)
    return RNNLayerFunction.apply(input, hx, weight_ih, weight_hh, bias_ih, bias_hh, reverse, mode == "RNN_RELU")
