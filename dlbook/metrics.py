"""Metrics: classification accuracy and top-k error, language-model perplexity, Spearman's rank correlation."""

from __future__ import annotations

import math

import torch

from dlbook._checks import check_ndim, check_tensor

__all__ = ["accuracy", "perplexity", "rankdata", "spearman", "topk_error"]


def _check_scores(fn, scores, target):
    check_tensor(fn, "scores", scores)
    check_tensor(fn, "target", target)
    check_ndim(fn, "scores", scores, 2, "(N, C)")
    if target.shape != (scores.shape[0],):
        raise ValueError(
            f"{fn}: argument 'target' must have shape (N,) = ({scores.shape[0]},) to match "
            f"'scores' of shape (N, C) = {tuple(scores.shape)}, got {tuple(target.shape)}"
        )
    if target.is_floating_point():
        raise TypeError(f"{fn}: argument 'target' must hold integer class indices, got dtype {target.dtype}")


def topk_error(scores: torch.Tensor, target: torch.Tensor, k: int = 5) -> float:
    """Fraction of examples whose true class is not among the ``k`` highest scores.

    .. math::

        \\text{err}_k = \\frac{1}{N} \\sum_{n=1}^N
        \\mathbb{1}\\bigl[\\, y_n \\notin \\operatorname{top}_k(s_n) \\bigr]

    Parameters
    ----------
    scores : torch.Tensor
        Scores, logits or probabilities, shape ``(N, C)``.
    target : torch.Tensor
        True class indices, shape ``(N,)``.
    k : int
        How many guesses count, ``1 <= k <= C``. ``k=1`` is the usual error rate.

    Returns
    -------
    float
        A value in :math:`[0, 1]`.

    Examples
    --------
    >>> import torch
    >>> scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    >>> target = torch.tensor([2, 1])
    >>> topk_error(scores, target, k=1), topk_error(scores, target, k=2)
    (1.0, 0.0)
    """
    _check_scores("topk_error", scores, target)
    c = scores.shape[1]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= c:
        raise ValueError(f"topk_error: argument 'k' must be an int in [1, C] = [1, {c}], got {k!r}")
    if scores.shape[0] == 0:
        raise ValueError("topk_error: 'scores' holds no examples (N = 0)")
    top = scores.topk(k, dim=1).indices
    hit = (top == target.unsqueeze(1)).any(dim=1)
    return 1.0 - hit.double().mean().item()


def accuracy(scores: torch.Tensor, target: torch.Tensor) -> float:
    """Top-1 accuracy, ``1 - topk_error(scores, target, 1)``.

    Examples
    --------
    >>> import torch
    >>> accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0]))
    0.5
    """
    _check_scores("accuracy", scores, target)
    if scores.shape[0] == 0:
        raise ValueError("accuracy: 'scores' holds no examples (N = 0)")
    return (scores.argmax(dim=1) == target).double().mean().item()


def rankdata(x: torch.Tensor) -> torch.Tensor:
    """Ranks ``1..n`` of a 1-D tensor, tied values sharing the average of their ranks.

    Parameters
    ----------
    x : torch.Tensor
        Values, shape ``(n,)``.

    Returns
    -------
    torch.Tensor
        Ranks in float64, shape ``(n,)``.

    Examples
    --------
    >>> import torch
    >>> rankdata(torch.tensor([10.0, 20.0, 10.0, 5.0])).tolist()
    [2.5, 4.0, 2.5, 1.0]
    """
    check_tensor("rankdata", "x", x)
    check_ndim("rankdata", "x", x, 1, "(n,)")
    x = x.double()
    order = torch.argsort(x, stable=True)
    sorted_x = x[order]
    n = x.numel()
    # groups of equal values: a new group starts where the sorted value changes
    new = torch.ones(n, dtype=torch.bool)
    if n > 1:
        new[1:] = sorted_x[1:] != sorted_x[:-1]
    group = torch.cumsum(new.long(), 0) - 1
    first = torch.nonzero(new).flatten()                     # 0-based position where each group starts
    size = torch.diff(torch.cat([first, torch.tensor([n])]))
    avg = first.double() + (size.double() + 1) / 2          # mean of ranks first+1 .. first+size
    ranks = torch.empty(n, dtype=torch.float64)
    ranks[order] = avg[group]
    return ranks


def spearman(x, y) -> float:
    """Spearman's rank correlation: the Pearson correlation of the ranks.

    .. math::

        \\rho = \\frac{\\sum_i (r_i - \\bar r)(s_i - \\bar s)}
                   {\\sqrt{\\sum_i (r_i - \\bar r)^2 \\sum_i (s_i - \\bar s)^2}}

    with :math:`r = \\operatorname{rank}(x)` and :math:`s = \\operatorname{rank}(y)`
    (:func:`rankdata`, ties given their average rank). Without ties this is
    :math:`1 - 6 \\sum_i d_i^2 / (n (n^2 - 1))`; with ties that shortcut is
    wrong and the Pearson form above is the definition.

    Parameters
    ----------
    x, y : torch.Tensor or sequence of float
        Paired values, shape ``(n,)`` each, ``n >= 2``.

    Returns
    -------
    float
        A value in :math:`[-1, 1]`; NaN when either input is constant.

    Examples
    --------
    >>> spearman([1, 2, 3, 4], [10, 20, 30, 45])
    1.0
    >>> round(spearman([1, 2, 2, 3], [3, 1, 2, 0]), 6)
    -0.948683
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    check_ndim("spearman", "x", x, 1, "(n,)")
    check_ndim("spearman", "y", y, 1, "(n,)")
    if x.shape != y.shape:
        raise ValueError(f"spearman: arguments 'x' and 'y' must have the same shape (n,), got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    if x.numel() < 2:
        raise ValueError(f"spearman: need at least 2 pairs, got n = {x.numel()}")
    r = rankdata(x)
    s = rankdata(y)
    r = r - r.mean()
    s = s - s.mean()
    denom = torch.sqrt((r * r).sum() * (s * s).sum())
    if denom == 0:
        return float("nan")
    return float((r * s).sum() / denom)


def perplexity(nll_sum: float | torch.Tensor, n_tokens: int | torch.Tensor) -> float:
    """Perplexity from the summed negative log-likelihood of ``n_tokens`` predictions.

    .. math::

        \\mathrm{PPL} = \\exp\\Big(-\\frac{1}{N}\\sum_{t=1}^{N} \\log p(w_t \\mid w_{<t})\\Big)

    with :math:`N` every predicted token, ``<eos>`` included. Sum the
    losses over a whole stream and divide once; the mean of per-batch
    perplexities is not the perplexity (the exponential is convex, so it
    is larger by Jensen's inequality
    when the batches are of equal size).

    Parameters
    ----------
    nll_sum : float or torch.Tensor
        :math:`-\\sum_t \\log p(w_t \\mid w_{<t})` in nats (a scalar).
    n_tokens : int
        :math:`N`, the number of predictions summed.

    Returns
    -------
    float

    Examples
    --------
    >>> import math
    >>> round(perplexity(-(math.log(0.5) + math.log(0.25)), 2), 6)  # geometric mean of 1/p: sqrt(2 * 4)
    2.828427
    """
    nll = float(nll_sum)
    n = int(n_tokens)
    if n < 1:
        raise ValueError(f"perplexity: argument 'n_tokens' must be >= 1, got {n_tokens!r}")
    if math.isnan(nll):
        raise ValueError("perplexity: argument 'nll_sum' is NaN")
    return math.exp(nll / n) if nll / n < 700 else math.inf
