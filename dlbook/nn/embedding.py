"""The embedding layer, with the arguments and state-dict key of :class:`torch.nn.Embedding`."""

from __future__ import annotations

import torch

from dlbook import functional as F

__all__ = ["Embedding"]


class Embedding(torch.nn.Module):
    """A lookup table of ``num_embeddings`` rows of size ``embedding_dim``, as :class:`torch.nn.Embedding`.

    The weight, of shape ``(V, D)``, is drawn from :math:`\\mathcal N(0, 1)`
    as in PyTorch, and the row ``padding_idx`` (if given) is set to zero and
    gets no gradient. ``forward(input)`` maps integer indices of shape ``(*)``
    to ``(*, D)`` with :func:`dlbook.functional.embedding`.

    Examples
    --------
    >>> import torch
    >>> emb = Embedding(10, 3, padding_idx=0)
    >>> emb(torch.tensor([[0, 4], [4, 9]])).shape
    torch.Size([2, 2, 3])
    >>> emb.weight[0]
    tensor([0., 0., 0.], grad_fn=<SelectBackward0>)
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, device=None, dtype=None
    ):
        super().__init__()
        for arg, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Embedding: argument '{arg}' must be an int >= 1, got {value!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: argument 'padding_idx' must lie in [-{num_embeddings}, {num_embeddings}), "
                    f"got {padding_idx}"
                )
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.weight = torch.nn.Parameter(torch.empty(num_embeddings, embedding_dim, device=device, dtype=dtype))
        self.reset_parameters()

    @classmethod
    def from_pretrained(cls, embeddings: torch.Tensor, freeze: bool = True, padding_idx: int | None = None):
        """An embedding layer holding a copy of ``embeddings`` ``(V, D)``, as in :mod:`torch.nn`.

        Equals :meth:`torch.nn.Embedding.from_pretrained`. With
        ``freeze=True`` the weight gets no gradient. The padding row is kept
        as given (not zeroed), as in PyTorch.

        Examples
        --------
        >>> emb = Embedding.from_pretrained(torch.eye(3))
        >>> emb(torch.tensor([2])), emb.weight.requires_grad
        (tensor([[0., 0., 1.]]), False)
        """
        if not isinstance(embeddings, torch.Tensor) or embeddings.ndim != 2:
            shape = tuple(embeddings.shape) if isinstance(embeddings, torch.Tensor) else type(embeddings).__name__
            raise ValueError(f"Embedding.from_pretrained: argument 'embeddings' must have shape (V, D), got {shape}")
        v, d = embeddings.shape
        layer = cls(v, d, padding_idx=padding_idx, device=embeddings.device, dtype=embeddings.dtype)
        with torch.no_grad():
            layer.weight.copy_(embeddings)
        layer.weight.requires_grad_(not freeze)
        return layer

    def reset_parameters(self) -> None:
        """Draw the weight from :math:`\\mathcal N(0, 1)` and zero the padding row."""
        with torch.no_grad():
            self.weight.normal_()
            if self.padding_idx is not None:
                self.weight[self.padding_idx].zero_()

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
