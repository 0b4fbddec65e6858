"""Classification metrics (accuracy, top-k error) and language-model perplexity."""

from __future__ import annotations

import math

import torch

from dlbook._checks import check_ndim, check_tensor

__all__ = ["accuracy", "perplexity", "topk_error"]


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
