"""Pseudo-labels (Lee 2013): unlabelled examples trained on the model's own argmax.

The loss on a mini-batch of :math:`n` labelled and :math:`n'` unlabelled
examples is

.. math::

    L = \\frac1n \\sum_{m=1}^{n} \\ell(\\vz_m, y_m)
      + \\alpha(t)\\, \\frac1{n'} \\sum_{m=1}^{n'} \\ell(\\vz'_m, y'_m),
    \\qquad y'_m = \\arg\\max_c z'_{mc},

with :math:`\\ell` the cross-entropy. The pseudo-labels :math:`y'_m` are
recomputed at every step from the current model and treated as constants:
no gradient flows through the arg max. The weight ramps up linearly,

.. math::

    \\alpha(t) = \\begin{cases}
      0 & t < T_1 \\\\
      \\alpha_f\\, \\frac{t - T_1}{T_2 - T_1} & T_1 \\le t < T_2 \\\\
      \\alpha_f & t \\ge T_2,
    \\end{cases}

so that the model first learns from the labels alone; Lee used
:math:`T_1 = 100`, :math:`T_2 = 600` epochs and :math:`\\alpha_f = 3`.
"""

from __future__ import annotations

import torch

from dlbook._checks import check_floating, check_ndim, check_real
from dlbook.functional import cross_entropy

__all__ = ["pseudo_label_weight", "pseudo_label_loss"]


def pseudo_label_weight(t: float, T1: float = 100, T2: float = 600, alpha_f: float = 3.0) -> float:
    """The ramp :math:`\\alpha(t)` of the pseudo-label loss.

    Parameters
    ----------
    t : float
        Training time (epochs or steps; the same unit as ``T1`` and ``T2``).
    T1, T2 : float
        Start and end of the linear ramp, ``0 <= T1 < T2``.
    alpha_f : float
        Final weight.

    Examples
    --------
    >>> [pseudo_label_weight(t) for t in (0, 100, 350, 600, 900)]
    [0.0, 0.0, 1.5, 3.0, 3.0]
    """
    t = check_real("pseudo_label_weight", "t", t)
    T1 = check_real("pseudo_label_weight", "T1", T1, low=0.0)
    T2 = check_real("pseudo_label_weight", "T2", T2)
    alpha_f = check_real("pseudo_label_weight", "alpha_f", alpha_f, low=0.0)
    if not T2 > T1:
        raise ValueError(f"pseudo_label_weight: need T1 < T2, got T1={T1}, T2={T2}")
    if t < T1:
        return 0.0
    if t < T2:
        return alpha_f * (t - T1) / (T2 - T1)
    return alpha_f


def pseudo_label_loss(logits_labeled: torch.Tensor, target: torch.Tensor,
                      logits_unlabeled: torch.Tensor, alpha: float) -> torch.Tensor:
    """Labelled cross-entropy plus ``alpha`` times the pseudo-label cross-entropy.

    Parameters
    ----------
    logits_labeled : torch.Tensor
        Logits of the labelled examples, shape ``(n, C)``.
    target : torch.Tensor
        Their class indices, shape ``(n,)``.
    logits_unlabeled : torch.Tensor
        Logits of the unlabelled examples, shape ``(n', C)``.
    alpha : float
        Weight of the unlabelled term, usually :func:`pseudo_label_weight`.

    Returns
    -------
    torch.Tensor
        The scalar loss. Its gradient with respect to ``logits_unlabeled`` is
        :math:`\\frac{\\alpha}{n'}(\\hat{\\mathbf{y}}' - \\mathbf{y}')` row by row,
        with :math:`\\mathbf{y}'` the one-hot arg max.

    Examples
    --------
    >>> import torch
    >>> zl, y = torch.tensor([[2.0, 0.0]]), torch.tensor([0])
    >>> zu = torch.tensor([[0.0, 3.0]])
    >>> round(pseudo_label_loss(zl, y, zu, alpha=0.0).item(), 4)
    0.1269
    >>> round(pseudo_label_loss(zl, y, zu, alpha=1.0).item(), 4)
    0.1755
    """
    check_floating("pseudo_label_loss", "logits_unlabeled", logits_unlabeled)
    check_ndim("pseudo_label_loss", "logits_unlabeled", logits_unlabeled, 2, "(n', C)")
    alpha = check_real("pseudo_label_loss", "alpha", alpha, low=0.0)
    if logits_labeled.ndim == 2 and logits_unlabeled.shape[1] != logits_labeled.shape[1]:
        raise ValueError(
            f"pseudo_label_loss: 'logits_unlabeled' must have C = {logits_labeled.shape[1]} columns like "
            f"'logits_labeled', got shape {tuple(logits_unlabeled.shape)}"
        )
    loss = cross_entropy(logits_labeled, target)
    if alpha == 0.0 or logits_unlabeled.shape[0] == 0:
        return loss
    pseudo = logits_unlabeled.detach().argmax(dim=1)
    return loss + alpha * cross_entropy(logits_unlabeled, pseudo)
