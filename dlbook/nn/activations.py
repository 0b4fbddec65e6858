"""Activation modules built on :mod:`dlbook.functional`."""

from __future__ import annotations

import torch

from dlbook import functional as F

__all__ = ["Sigmoid", "Tanh", "ReLU", "Softmax"]


class Sigmoid(torch.nn.Module):
    """Element-wise :func:`dlbook.functional.sigmoid`. Shape ``(*)`` to ``(*)``.

    Examples
    --------
    >>> import torch
    >>> Sigmoid()(torch.zeros(2))
    tensor([0.5000, 0.5000])
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.sigmoid(input)


class Tanh(torch.nn.Module):
    """Element-wise :func:`dlbook.functional.tanh`. Shape ``(*)`` to ``(*)``."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.tanh(input)


class ReLU(torch.nn.Module):
    """Element-wise :func:`dlbook.functional.relu`. Shape ``(*)`` to ``(*)``."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.relu(input)


class Softmax(torch.nn.Module):
    """:func:`dlbook.functional.softmax` along ``dim`` with inverse temperature ``beta``.

    As :class:`torch.nn.Softmax`, the first argument is ``dim``; ``beta`` is keyword-only.

    Examples
    --------
    >>> import torch
    >>> Softmax(0)(torch.tensor([[0.0], [0.0]]))
    tensor([[0.5000],
            [0.5000]])
    """

    def __init__(self, dim: int = -1, *, beta: float = 1.0):
        super().__init__()
        self.beta, self.dim = beta, dim

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.softmax(input, beta=self.beta, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, beta={self.beta}"
