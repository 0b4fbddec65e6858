"""Dropout module built on :func:`dlbook.functional.dropout`."""

from __future__ import annotations

import torch

from dlbook import functional as F
from dlbook._checks import check_real

__all__ = ["Dropout"]


class Dropout(torch.nn.Module):
    """Dropout layer: :func:`dlbook.functional.dropout` when training, deterministic in eval.

    Parameters
    ----------
    p : float
        Drop probability in :math:`[0, 1)`.
    inverted : bool
        Inverted dropout (scale by :math:`1/(1-p)` while training) or standard
        dropout (scale by :math:`1-p` at evaluation).
    generator : torch.Generator, optional
        Source of the masks.

    Shape: ``(*)`` to ``(*)``.

    Examples
    --------
    >>> import torch
    >>> layer = Dropout(0.5, inverted=False)
    >>> layer.eval()(torch.ones(2))
    tensor([0.5000, 0.5000])
    """

    def __init__(
        self, p: float = 0.5, inverted: bool = True, generator: torch.Generator | None = None
    ):
        super().__init__()
        self.p = check_real("Dropout", "p", p, low=0.0, high=1.0, high_open=True)
        self.inverted = inverted
        self.generator = generator

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.dropout(input, self.p, self.training, self.inverted, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inverted={self.inverted}"
