"""Constraints applied to the weights after an optimizer step."""

from __future__ import annotations

import torch

__all__ = ["max_norm_"]


@torch.no_grad()
def max_norm_(weight: torch.Tensor, max_norm: float, dim: int = 1) -> torch.Tensor:
    """Rescale, in place, each weight vector whose L2 norm exceeds ``max_norm`` to norm ``max_norm``.

    The vectors are the slices along ``dim``: with the default ``dim=1``
    and a :class:`torch.nn.Linear` weight of shape ``(out, in)``, each row,
    i.e. the incoming weights of one output unit, as in Kim (2014)
    and Srivastava et al. (2014). Vectors already within the ball are left
    unchanged. Call it after each ``optimizer.step()``; it is a projection
    of the weights, not a clipping of the gradient.

    Parameters
    ----------
    weight : torch.Tensor
        At least 1-D; a 1-D tensor is one vector.
    max_norm : float
        The radius, > 0.
    dim : int
        The dimension along which each vector runs.

    Returns
    -------
    torch.Tensor
        ``weight``, modified in place.

    Examples
    --------
    >>> import torch
    >>> w = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    >>> max_norm_(w, 1.0)
    tensor([[0.6000, 0.8000],
            [0.3000, 0.4000]])
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() < 1:
        raise ValueError("max_norm_: argument 'weight' must be a tensor with at least one dimension")
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm > 0:
        raise ValueError(f"max_norm_: argument 'max_norm' must be a positive number, got {max_norm!r}")
    norms = weight.norm(dim=dim, keepdim=True) if weight.dim() > 1 else weight.norm()
    scale = (max_norm / norms.clamp_min(1e-12)).clamp(max=1.0)
    return weight.mul_(scale)
