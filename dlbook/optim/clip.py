"""Gradient-norm clipping (Pascanu et al., 2013).

All gradients :math:`g` of the parameters together have the norm
:math:`\\|g\\|` (the ``norm_type`` norm of the vector of all entries, equal to
the norm of the vector of per-parameter norms). If it exceeds the threshold
:math:`\\tau`, every gradient is multiplied by the same factor
:math:`\\tau / (\\|g\\| + \\epsilon)` with :math:`\\epsilon = 10^{-6}`:
the direction of the step is kept and only its length is bounded.
"""

from __future__ import annotations

import math

import torch

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> torch.Tensor:
    """Rescale the gradients in place so that their total norm is at most ``max_norm``.

    Equals :func:`torch.nn.utils.clip_grad_norm_`.

    Parameters
    ----------
    parameters : torch.Tensor or iterable of torch.Tensor
        Tensors whose ``.grad`` is clipped; those without a gradient are skipped.
    max_norm : float
        The threshold :math:`\\tau > 0`.
    norm_type : float
        :math:`p` of the :math:`\\ell_p` norm (``float('inf')`` for the largest entry).
    error_if_nonfinite : bool
        Raise ``RuntimeError`` if the total norm is NaN or infinite (otherwise
        the gradients are multiplied by NaN or 0, as in PyTorch).

    Returns
    -------
    torch.Tensor
        The total norm of the gradients before clipping (a 0-d tensor).

    Examples
    --------
    >>> import torch
    >>> w = torch.zeros(2, requires_grad=True)
    >>> w.grad = torch.tensor([3.0, 4.0])
    >>> clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> w.grad
    tensor([0.6000, 0.8000])
    """
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if not grads:
        return torch.tensor(0.0)
    if math.isinf(norm_type):
        norms = torch.stack([g.detach().abs().max() for g in grads])
        total = norms.max()
    else:
        norms = torch.stack([torch.linalg.vector_norm(g.detach(), norm_type) for g in grads])
        total = torch.linalg.vector_norm(norms, norm_type)
    if error_if_nonfinite and not torch.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {float(total)}; "
            "set error_if_nonfinite=False to clip anyway"
        )
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.detach().mul_(coef.to(g.dtype))
    return total
