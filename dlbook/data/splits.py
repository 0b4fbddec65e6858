"""Seeded, class-balanced splits of a labelled data set."""

from __future__ import annotations

import torch

from dlbook._checks import check_tensor

__all__ = ["balanced_split"]


def balanced_split(labels: torch.Tensor, per_class: tuple[int, ...], *, seed: int = 0,
                   remainder: bool = True) -> list[torch.Tensor]:
    """Split indices into disjoint parts with a fixed number of examples per class.

    For each class, its indices are shuffled with a generator seeded by
    ``seed``, and consecutive blocks of ``per_class[0]``, ``per_class[1]``, ...
    indices go to the parts. The same labels and seed always give the same
    split.

    Parameters
    ----------
    labels : torch.Tensor
        Integer class labels, shape ``(N,)``.
    per_class : tuple of int
        Examples per class in each part.
    seed : int
        Seed of the shuffle.
    remainder : bool
        Append one more part with every index not used by the others.

    Returns
    -------
    list of torch.Tensor
        Sorted ``int64`` index tensors, one per part (plus the remainder).

    Examples
    --------
    >>> import torch
    >>> labels = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    >>> labeled, valid, rest = balanced_split(labels, (1, 2), seed=0)
    >>> torch.bincount(labels[labeled]).tolist(), torch.bincount(labels[valid]).tolist(), len(rest)
    ([1, 1], [2, 2], 2)
    """
    check_tensor("balanced_split", "labels", labels)
    if labels.ndim != 1 or labels.is_floating_point():
        raise ValueError(f"balanced_split: argument 'labels' must be integer labels of shape (N,), got "
                         f"dtype {labels.dtype} and shape {tuple(labels.shape)}")
    if any(int(k) < 0 for k in per_class):
        raise ValueError(f"balanced_split: 'per_class' must be non-negative, got {per_class}")
    g = torch.Generator().manual_seed(seed)
    parts = [[] for _ in per_class]
    used = torch.zeros(len(labels), dtype=torch.bool)
    need = sum(per_class)
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < need:
            raise ValueError(f"balanced_split: class {c} has {len(idx)} examples but the parts need {need}")
        idx = idx[torch.randperm(len(idx), generator=g)]
        start = 0
        for part, k in zip(parts, per_class):
            part.append(idx[start:start + k])
            start += k
        used[idx[:need]] = True
    out = [torch.sort(torch.cat(p)).values for p in parts]
    if remainder:
        out.append(torch.nonzero(~used).flatten())
    return out
