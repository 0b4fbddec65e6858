"""Recurrent modules with the arguments, return values and state-dict keys of :mod:`torch.nn`."""

from __future__ import annotations

import math

import torch

from dlbook import functional as F
from dlbook.functional.recurrent import recurrent_layer

__all__ = ["GRU", "LSTM", "RNN", "RNNBase"]


class RNNBase(torch.nn.Module):
    """Stacked, optionally bidirectional recurrent layers built on :func:`dlbook.functional.recurrent_layer`.

    The parameters are named and shaped as in :class:`torch.nn.RNNBase`
    (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
    ``bias_hh_l{k}``, with the suffix ``_reverse`` for the backward
    direction), registered in the same order and initialised the same way
    (uniform on :math:`[-1/\\sqrt H, 1/\\sqrt H]`), so ``state_dict`` loads
    in both directions.
    """

    _gates = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        for arg, value, low in (
            ("input_size", input_size, 0),
            ("hidden_size", hidden_size, 1),
            ("num_layers", num_layers, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name}: argument '{arg}' must be an int >= {low}, got {value!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"{name}: argument 'dropout' must be a number in [0, 1), got {dropout!r}")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        kw = {"device": device, "dtype": dtype}
        gate_size = self._gates[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                params = [
                    ("weight_ih" + suffix, (gate_size, layer_input)),
                    ("weight_hh" + suffix, (gate_size, hidden_size)),
                ]
                if bias:
                    params += [("bias_ih" + suffix, (gate_size,)), ("bias_hh" + suffix, (gate_size,))]
                for pname, shape in params:
                    self.register_parameter(pname, torch.nn.Parameter(torch.empty(shape, **kw)))
                    self._flat_weights_names.append(pname)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter from :math:`U[-1/\\sqrt H, 1/\\sqrt H]`, as :mod:`torch.nn` does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound)

    def flatten_parameters(self) -> None:
        """Do nothing: present so that code written for :mod:`torch.nn` (which packs weights for cuDNN) runs."""

    def _layer_weights(self, layer: int, direction: int):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = lambda n: getattr(self, n + suffix) if self.bias or n.startswith("weight") else None  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _check_input(self, input):
        name = type(self).__name__
        layout = "(N, T, I)" if self.batch_first else "(T, N, I)"
        if not isinstance(input, torch.Tensor):
            raise TypeError(f"{name}: argument 'input' must be a torch.Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(
                f"{name}: argument 'input' must have shape {layout} (3-D) or (T, I) (2-D, unbatched), "
                f"got shape {tuple(input.shape)}"
            )
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: argument 'input' must have last dimension I = input_size = {self.input_size} "
                f"(shape {layout}), got shape {tuple(input.shape)}"
            )

    def _check_state(self, arg: str, h, batch: int | None, dtype, device):
        name = type(self).__name__
        expect = (
            (self.num_layers * (2 if self.bidirectional else 1),)
            + (() if batch is None else (batch,))
            + (self.hidden_size,)
        )
        layout = "(D * num_layers, H)" if batch is None else "(D * num_layers, N, H)"
        if not isinstance(h, torch.Tensor):
            raise TypeError(f"{name}: argument '{arg}' must be a torch.Tensor, got {type(h).__name__}")
        if tuple(h.shape) != expect:
            raise ValueError(f"{name}: argument '{arg}' must have shape {layout} = {expect}, got {tuple(h.shape)}")

    def _run(self, input, hx):
        """Shared forward: returns ``(output, [h_n] or [h_n, c_n])`` with torch.nn's layouts."""
        self._check_input(input)
        lstm = self.mode == "LSTM"
        unbatched = input.ndim == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        n = x.shape[1]
        directions = 2 if self.bidirectional else 1
        names = ("hx[0]", "hx[1]") if lstm else ("hx",)
        if hx is None:
            zeros = x.new_zeros(self.num_layers * directions, n, self.hidden_size)
            states = [zeros] * len(names)
        else:
            if lstm and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError("LSTM: argument 'hx' must be a tuple (h_0, c_0) of two tensors")
            states = list(hx) if lstm else [hx]
            for arg, h in zip(names, states):
                self._check_state(arg, h, None if unbatched else n, x.dtype, x.device)
            if unbatched:
                states = [h.unsqueeze(1) for h in states]
        finals = [[] for _ in states]
        layer_input = x
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                h0 = tuple(s[k] for s in states)
                res = recurrent_layer(
                    self.mode,
                    layer_input,
                    h0 if lstm else h0[0],
                    *self._layer_weights(layer, direction),
                    reverse=bool(direction),
                )
                outs.append(res[0])
                for store, final in zip(finals, res[1:]):
                    store.append(final)
            layer_input = outs[0] if directions == 1 else torch.cat(outs, dim=2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input
        finals = [torch.stack(f, dim=0) for f in finals]
        if unbatched:
            output = output.squeeze(1)
            finals = [f.squeeze(1) for f in finals]
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, finals

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN layers, :math:`h_t = \\tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`, as :class:`torch.nn.RNN`.

    ``forward(input, hx=None)`` returns ``(output, h_n)``, with ``output`` of
    shape ``(T, N, D H)`` and ``h_n`` of shape ``(D * num_layers, N, H)``,
    where ``D`` is 2 for a bidirectional network and 1 otherwise. Unbatched
    input ``(T, I)`` gives unbatched results.

    Parameters
    ----------
    input_size, hidden_size : int
        The input size :math:`I` and the hidden size :math:`H`.
    num_layers : int
        Stacked layers; layer :math:`k > 0` reads the outputs of layer :math:`k - 1`.
    nonlinearity : str
        ``'tanh'`` or ``'relu'``.
    bias : bool
        Use ``bias_ih`` and ``bias_hh``.
    batch_first : bool
        Input and output of shape ``(N, T, *)`` instead of ``(T, N, *)``
        (the states keep ``(D * num_layers, N, H)``).
    dropout : float
        Dropout probability on the outputs of every layer but the last, in training.
    bidirectional : bool
        Add a layer running from the last step to the first; the outputs
        of the two directions are concatenated, ``(T, N, 2H)``.

    Examples
    --------
    >>> import torch
    >>> rnn = RNN(3, 5, num_layers=2, batch_first=True)
    >>> out, h_n = rnn(torch.randn(4, 7, 3))
    >>> out.shape, h_n.shape
    (torch.Size([4, 7, 5]), torch.Size([2, 4, 5]))
    >>> torch.allclose(out[:, -1], h_n[-1])
    True
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: argument 'nonlinearity' must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
        )

    def forward(self, input, hx=None):
        output, (h_n,) = self._run(input, hx)
        return output, h_n


class LSTM(RNNBase):
    """LSTM layers with PyTorch's gate order ``(i, f, g, o)``, as :class:`torch.nn.LSTM`.

    Arguments as :class:`RNN` (without ``nonlinearity``). ``forward(input,
    hx=None)`` takes ``hx = (h_0, c_0)`` and returns ``(output, (h_n, c_n))``.
    Weight blocks are stacked ``i, f, g, o`` in ``weight_ih_l{k}`` ``(4H, I)``
    and ``weight_hh_l{k}`` ``(4H, H)``.

    Examples
    --------
    >>> import torch
    >>> lstm = LSTM(3, 5, bidirectional=True)
    >>> out, (h_n, c_n) = lstm(torch.randn(7, 2, 3))
    >>> out.shape, h_n.shape, c_n.shape
    (torch.Size([7, 2, 10]), torch.Size([2, 2, 5]), torch.Size([2, 2, 5]))
    >>> sorted(lstm.state_dict())[:4]
    ['bias_hh_l0', 'bias_hh_l0_reverse', 'bias_ih_l0', 'bias_ih_l0_reverse']
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype
        )

    def forward(self, input, hx=None):
        output, (h_n, c_n) = self._run(input, hx)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """GRU layers in PyTorch's form (blocks ``r, z, n``), as :class:`torch.nn.GRU`.

    Arguments and return values as :class:`RNN` (without ``nonlinearity``).

    Examples
    --------
    >>> import torch
    >>> gru = GRU(3, 5, num_layers=3, dropout=0.5)
    >>> out, h_n = gru(torch.randn(7, 2, 3))
    >>> out.shape, h_n.shape
    (torch.Size([7, 2, 5]), torch.Size([3, 2, 5]))
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype
        )

    def forward(self, input, hx=None):
        output, (h_n,) = self._run(input, hx)
        return output, h_n
