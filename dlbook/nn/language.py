"""Modules of the language-model chapter: a gated causal convolution and a highway layer."""

from __future__ import annotations

import math

import torch

from dlbook.functional.language import causal_conv1d, glu, highway

__all__ = ["GatedConv1d", "Highway"]


class GatedConv1d(torch.nn.Module):
    """Causal convolution with ``2 * out_channels`` outputs followed by a gated linear unit.

    :math:`y = (X * W + b) \\odot \\sigma(X * V + c)`, the block of Dauphin et
    al. (2017), where :math:`*` only looks at the present and past steps.

    Shape: ``(N, C_in, T)`` to ``(N, C_out, T)``.

    Examples
    --------
    >>> import torch
    >>> GatedConv1d(3, 5, kernel_size=4)(torch.randn(2, 3, 7)).shape
    torch.Size([2, 5, 7])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        bound = 1 / math.sqrt(in_channels * kernel_size)
        shape = (2 * out_channels, in_channels, kernel_size)
        self.weight = torch.nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
        self.bias = torch.nn.Parameter(torch.empty(2 * out_channels).uniform_(-bound, bound))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Gated causal convolution of ``input`` ``(N, C_in, T)``; shape ``(N, C_out, T)``."""
        return glu(causal_conv1d(input, self.weight, self.bias), dim=1)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"


class Highway(torch.nn.Module):
    """Highway layer :math:`t\\odot\\mathrm{relu}(W_H x + b_H) + (1-t)\\odot x` (see :func:`dlbook.functional.highway`).

    The gate bias starts at ``gate_bias`` (negative: mostly carry the input).
    Shape: ``(*, D)`` to ``(*, D)``.

    Examples
    --------
    >>> import torch
    >>> Highway(6)(torch.randn(2, 3, 6)).shape
    torch.Size([2, 3, 6])
    """

    def __init__(self, size: int, gate_bias: float = -2.0):
        super().__init__()
        bound = 1 / math.sqrt(size)
        self.size = size
        self.weight_h = torch.nn.Parameter(torch.empty(size, size).uniform_(-bound, bound))
        self.bias_h = torch.nn.Parameter(torch.empty(size).uniform_(-bound, bound))
        self.weight_t = torch.nn.Parameter(torch.empty(size, size).uniform_(-bound, bound))
        self.bias_t = torch.nn.Parameter(torch.full((size,), float(gate_bias)))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Highway layer applied to the last dimension of ``input`` ``(*, D)``."""
        flat = input.reshape(-1, self.size)
        return highway(flat, self.weight_h, self.bias_h, self.weight_t, self.bias_t).reshape(input.shape)

    def extra_repr(self) -> str:
        return str(self.size)
