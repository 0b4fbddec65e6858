"""Pseudo-labels (Lee 2013), confident consistency targets and the mean teacher.

Pseudo-labels train unlabelled examples on the model's own argmax.

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

:func:`consistency_loss` takes its targets from another network (a
*teacher*) on another view of the same images, and keeps only the confident
ones; :func:`mean_teacher` and :func:`ema_update` make that teacher an
exponential moving average of the trained network's weights (Tarvainen and
Valpola, 2017).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from dlbook._checks import check_floating, check_ndim, check_real
from dlbook.functional import cross_entropy

__all__ = ["pseudo_label_weight", "pseudo_label_loss", "consistency_loss", "mean_teacher", "ema_update"]


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


def consistency_loss(teacher_logits: torch.Tensor, student_logits: torch.Tensor,
                     threshold: float = 0.95) -> torch.Tensor:
    r"""Cross-entropy of the student on the teacher's confident arg max labels.

    .. math::

        L_u = \frac1{n'} \sum_{m=1}^{n'} \ind[\max_c p'_{mc} \ge \tau]\;
              \ell(\vz_m, \arg\max_c p'_{mc}),
        \qquad \mathbf{p}'_m = \softmax(\vz'_m),

    with :math:`\vz'` the teacher's logits (treated as constants) and
    :math:`\vz` the student's. The mean is over all :math:`n'` examples,
    confident or not, so the weight of the term grows as the teacher becomes
    confident on more of them. Row by row, the gradient with respect to the
    student's logits is :math:`\frac1{n'}\ind[\cdot](\hat{\mathbf{y}}_m - \mathbf{y}'_m)`.

    Parameters
    ----------
    teacher_logits : torch.Tensor
        Logits of the teacher on one view, shape ``(n', C)``; no gradient flows into them.
    student_logits : torch.Tensor
        Logits of the student on another view of the same examples, shape ``(n', C)``.
    threshold : float
        Confidence :math:`\tau \in [0, 1]` a teacher prediction needs to count.

    Returns
    -------
    torch.Tensor
        The scalar loss (0 for an empty batch).

    Examples
    --------
    >>> import torch
    >>> teacher = torch.tensor([[4.0, 0.0], [0.1, 0.0]])  # confident, unsure
    >>> student = torch.tensor([[1.0, 1.0], [0.0, 5.0]])
    >>> round(consistency_loss(teacher, student, threshold=0.9).item(), 4)  # ln(2) / 2
    0.3466
    """
    fn = "consistency_loss"
    check_floating(fn, "student_logits", student_logits)
    check_ndim(fn, "student_logits", student_logits, 2, "(n', C)")
    check_floating(fn, "teacher_logits", teacher_logits)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"{fn}: 'teacher_logits' must have the shape of 'student_logits' "
                         f"{tuple(student_logits.shape)}, got {tuple(teacher_logits.shape)}")
    threshold = check_real(fn, "threshold", threshold, low=0.0, high=1.0)
    if student_logits.shape[0] == 0:
        return student_logits.sum()
    conf, target = teacher_logits.detach().softmax(dim=1).max(dim=1)
    mask = (conf >= threshold).to(student_logits.dtype)
    return (mask * cross_entropy(student_logits, target, reduction="none")).mean()


def mean_teacher(model: nn.Module) -> nn.Module:
    """A copy of ``model`` to be the teacher: in eval mode, its parameters take no gradient.

    Update it after every optimizer step with :func:`ema_update`.

    Examples
    --------
    >>> from torch import nn
    >>> teacher = mean_teacher(nn.Linear(2, 1))
    >>> teacher.training, teacher.weight.requires_grad
    (False, False)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"mean_teacher: argument 'model' must be a torch.nn.Module, got {type(model).__name__}")
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, step: int, decay: float = 0.99) -> float:
    r"""Move the teacher's weights towards the student's: :math:`\theta' \leftarrow d\,\theta' + (1-d)\,\theta`.

    The rate is :math:`d = \min(\text{decay}, (1 + t)/(10 + t))` after step
    :math:`t = 0, 1, \ldots`: it starts at 0.1, so the first teachers follow
    the student closely, and reaches ``decay`` after a few dozen steps.
    Buffers, such as batch-norm running statistics, are copied from the
    student.

    Parameters
    ----------
    teacher, student : torch.nn.Module
        Networks of the same architecture.
    step : int
        Index of the optimizer step just taken, from 0.
    decay : float
        Largest rate, in :math:`[0, 1)`; the teacher averages about
        :math:`1/(1 - d)` recent students.

    Returns
    -------
    float
        The rate :math:`d` used.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> student = nn.Linear(1, 1, bias=False)
    >>> teacher = mean_teacher(student)
    >>> _ = teacher.weight.fill_(0.0), student.weight.data.fill_(1.0)
    >>> ema_update(teacher, student, step=0), round(teacher.weight.item(), 6)
    (0.1, 0.9)
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"ema_update: argument 'step' must be a non-negative int, got {step!r}")
    decay = check_real("ema_update", "decay", decay, low=0.0, high=1.0, high_open=True)
    tp, sp = list(teacher.parameters()), list(student.parameters())
    if len(tp) != len(sp) or any(a.shape != b.shape for a, b in zip(tp, sp)):
        raise ValueError("ema_update: 'teacher' and 'student' must have parameters of the same shapes")
    d = min(decay, (1 + step) / (10 + step))
    for pt, ps in zip(tp, sp):
        pt.lerp_(ps, 1 - d)
    for bt, bs in zip(teacher.buffers(), student.buffers()):
        bt.copy_(bs)
    return d
