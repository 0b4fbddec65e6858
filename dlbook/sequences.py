"""Small sequence tasks and measurements for the recurrent-network chapter.

* :func:`adding_problem` draws batches of the adding problem of Hochreiter
  and Schmidhuber (1997).
* :func:`unroll` runs a one-layer :class:`dlbook.nn.RNN`, ``LSTM`` or ``GRU``
  step by step with the cell Functions, so that every hidden state is a
  node of the graph whose gradient can be read.
* :func:`state_gradient_norms` measures :math:`\\lVert \\partial L / \\partial
  h_t \\rVert` against the distance :math:`T - t` to a loss on the last state.
"""

from __future__ import annotations

import torch

from dlbook._checks import check_floating, check_ndim
from dlbook.functional.recurrent import gru_cell, lstm_cell, rnn_relu_cell, rnn_tanh_cell

__all__ = ["adding_problem", "state_gradient_norms", "unroll"]


def adding_problem(n: int, steps: int, generator: torch.Generator | None = None):
    """Draw ``n`` sequences of the adding problem.

    Each sequence has ``steps`` pairs (value, marker): values uniform on
    :math:`[0, 1]`, markers 1 at one position of the first half and one of
    the second half, 0 elsewhere. The target is the sum of the two marked
    values; predicting its mean 1 gives a mean squared error of 1/6.

    Returns
    -------
    tuple of torch.Tensor
        ``x`` of shape ``(T, n, 2)`` and the targets ``y`` of shape ``(n,)``.

    Examples
    --------
    >>> x, y = adding_problem(3, 10, torch.Generator().manual_seed(0))
    >>> x.shape, y.shape
    (torch.Size([10, 3, 2]), torch.Size([3]))
    >>> torch.allclose((x[:, :, 0] * x[:, :, 1]).sum(0), y)
    True
    """
    if steps < 2:
        raise ValueError(f"adding_problem: argument 'steps' must be at least 2, got {steps}")
    values = torch.rand(steps, n, generator=generator)
    first = torch.randint(0, steps // 2, (n,), generator=generator)
    second = torch.randint(steps // 2, steps, (n,), generator=generator)
    marks = torch.zeros(steps, n)
    rows = torch.arange(n)
    marks[first, rows] = 1.0
    marks[second, rows] = 1.0
    return torch.stack([values, marks], dim=2), values[first, rows] + values[second, rows]


def unroll(module, x: torch.Tensor, hx=None):
    """Run layer 0 of a one-directional ``dlbook.nn`` RNN, LSTM or GRU one step at a time.

    Parameters
    ----------
    module : dlbook.nn.RNN, dlbook.nn.LSTM or dlbook.nn.GRU
        Its ``l0`` weights are used (one layer, time-first input).
    x : torch.Tensor
        Input of shape ``(T, N, I)``.
    hx : torch.Tensor or tuple, optional
        Initial state ``(N, H)`` (a pair for the LSTM); zeros by default.

    Returns
    -------
    list of torch.Tensor
        The hidden states :math:`h_0, h_1, \\dots, h_T`, each ``(N, H)``;
        :math:`h_1, \\dots, h_T` equal the module's output.

    Examples
    --------
    >>> import dlbook.nn as dnn
    >>> lstm = dnn.LSTM(2, 3)
    >>> x = torch.randn(5, 4, 2)
    >>> hs = unroll(lstm, x)
    >>> torch.allclose(torch.stack(hs[1:]), lstm(x)[0], atol=1e-6)
    True
    """
    check_floating("unroll", "x", x)
    check_ndim("unroll", "x", x, 3, "(T, N, I)")
    if getattr(module, "bidirectional", False) or getattr(module, "batch_first", False):
        raise ValueError("unroll: expects a one-directional module with batch_first=False")
    w = [getattr(module, f"{name}_l0", None) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    n, hd = x.shape[1], module.hidden_size
    mode = module.mode
    if hx is None:
        zeros = x.new_zeros(n, hd)
        hx = (zeros, zeros) if mode == "LSTM" else zeros
    cell = {"RNN_TANH": rnn_tanh_cell, "RNN_RELU": rnn_relu_cell, "GRU": gru_cell}.get(mode)
    state = hx
    hs = [hx[0] if mode == "LSTM" else hx]
    for t in range(x.shape[0]):
        state = lstm_cell(x[t], state, *w) if mode == "LSTM" else cell(x[t], state, *w)
        hs.append(state[0] if mode == "LSTM" else state)
    return hs


def state_gradient_norms(module, x: torch.Tensor, readout: torch.Tensor | None = None) -> torch.Tensor:
    """Mean norm of :math:`\\partial L / \\partial h_t` for every step, with a loss on the last state only.

    The loss is :math:`L = \\sum_n \\mathbf u^\\top h_T^{(n)}` for a fixed
    vector :math:`\\mathbf u` (``readout``, by default all ones divided by
    :math:`\\sqrt H`), so :math:`\\partial L / \\partial h_T^{(n)} = \\mathbf u`
    and the norms measure how the error signal shrinks or grows on its way back.

    Returns
    -------
    torch.Tensor
        Shape ``(T + 1,)``: entry ``d`` is the mean over the batch of
        :math:`\\lVert \\partial L / \\partial h_{T-d} \\rVert` (distance ``d``
        from the loss).

    Examples
    --------
    >>> import dlbook.nn as dnn
    >>> norms = state_gradient_norms(dnn.RNN(2, 4), torch.randn(6, 3, 2))
    >>> norms.shape, round(float(norms[0]), 4)
    (torch.Size([7]), 1.0)
    """
    n, hd = x.shape[1], module.hidden_size
    h0 = x.new_zeros(n, hd, requires_grad=True)  # a leaf, so that its gradient is kept
    hx = (h0, x.new_zeros(n, hd)) if module.mode == "LSTM" else h0
    hs = unroll(module, x, hx)
    for h in hs[1:]:
        h.retain_grad()
    u = torch.full((hd,), hd**-0.5, dtype=x.dtype) if readout is None else readout
    (hs[-1] @ u).sum().backward()
    return torch.stack([h.grad.norm(dim=1).mean() for h in reversed(hs)]).detach()
