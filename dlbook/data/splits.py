"""Seeded, class-balanced splits of a labelled data set."""

from __future__ import annotations

import torch

from dlbook._checks import check_tensor

__all__ = ["balanced_split", "kfold_train_test", "stratified_kfold"]


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


def stratified_kfold(labels: torch.Tensor, n_folds: int = 10, *, seed: int = 0) -> list[torch.Tensor]:
    """Deal indices into ``n_folds`` disjoint folds with the class proportions of the whole set.

    The indices of each class are shuffled with a generator seeded by
    ``seed`` and dealt in turn to folds ``0, 1, ..., n_folds - 1, 0, ...``;
    the deal continues from class to class, so fold sizes differ by at most
    one and each class's count in a fold differs by at most one from
    ``count / n_folds``. The same labels and seed always give the same folds.

    Parameters
    ----------
    labels : torch.Tensor
        Integer class labels, shape ``(N,)``.
    n_folds : int
        Number of folds, at least 2 and at most ``N``.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    list of torch.Tensor
        ``n_folds`` sorted ``int64`` index tensors (the test indices of each
        fold); together they hold every index exactly once.

    Examples
    --------
    >>> import torch
    >>> folds = stratified_kfold(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), 2, seed=0)
    >>> [len(f) for f in folds], [int(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])[f].sum()) for f in folds]
    ([4, 4], [2, 2])
    """
    check_tensor("stratified_kfold", "labels", labels)
    if labels.ndim != 1 or labels.is_floating_point():
        raise ValueError(f"stratified_kfold: argument 'labels' must be integer labels of shape (N,), got "
                         f"dtype {labels.dtype} and shape {tuple(labels.shape)}")
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or not 2 <= n_folds <= len(labels):
        raise ValueError(f"stratified_kfold: argument 'n_folds' must be an int in [2, N={len(labels)}], "
                         f"got {n_folds!r}")
    g = torch.Generator().manual_seed(seed)
    folds: list[list[torch.Tensor]] = [[] for _ in range(n_folds)]
    offset = 0
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        for f in range(n_folds):
            folds[f].append(idx[(f - offset) % n_folds::n_folds])
        offset = (offset + len(idx)) % n_folds
    return [torch.sort(torch.cat(f)).values for f in folds]


def kfold_train_test(folds: list[torch.Tensor], k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Training and test indices of fold ``k``: every other fold, and fold ``k``.

    Examples
    --------
    >>> import torch
    >>> kfold_train_test([torch.tensor([0, 2]), torch.tensor([1, 3])], 1)
    (tensor([0, 2]), tensor([1, 3]))
    """
    if not 0 <= k < len(folds):
        raise ValueError(f"kfold_train_test: argument 'k' must be in [0, {len(folds)}), got {k!r}")
    train = torch.sort(torch.cat([f for i, f in enumerate(folds) if i != k])).values
    return train, folds[k]
