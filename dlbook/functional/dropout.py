r"""Dropout with an explicit mask, in its standard and inverted forms.

Each unit is kept with probability :math:`q = 1 - p` (``p`` is the drop
probability, as in :func:`torch.nn.functional.dropout`). With a mask
:math:`m_i \sim \text{Bernoulli}(q)`:

===========  ==============================  ===========================
form         training                         evaluation
===========  ==============================  ===========================
standard     :math:`m_i x_i`                  :math:`q\, x_i`
inverted     :math:`m_i x_i / q`              :math:`x_i`
===========  ==============================  ===========================

In both forms the evaluation output equals the expectation of the
training output over the mask. The backward pass multiplies the upstream
gradient by the same (scaled) mask.
"""

from __future__ import annotations

import torch

from dlbook._checks import check_floating, check_real

__all__ = ["dropout", "DropoutFunction"]


class DropoutFunction(torch.autograd.Function):
    r""":math:`y = x \odot \mathbf{s}` for a fixed scaled mask :math:`\mathbf{s}`.

    The backward pass is :math:`\bar x = g \odot \mathbf{s}`.
    """

    @staticmethod
    def forward(ctx, input, scaled_mask):
        ctx.save_for_backward(scaled_mask)
        return input * scaled_mask

    @staticmethod
    def backward(ctx, grad_output):
        (scaled_mask,) = ctx.saved_tensors
        return grad_output * scaled_mask, None


def dropout(
    input: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    inverted: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Zero each element with probability ``p``; scale so that expectations match.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of any shape ``(*)``.
    p : float
        Drop probability, in :math:`[0, 1)`. The keep probability is :math:`q = 1 - p`.
    training : bool
        Draw a mask (training) or return the deterministic evaluation output.
    inverted : bool
        ``True``: scale kept units by :math:`1/q` during training and do nothing
        at evaluation (what PyTorch does). ``False``: standard dropout, no scaling
        during training and multiplication by :math:`q` at evaluation.
    generator : torch.Generator, optional
        Source of the mask, for reproducible runs.

    Returns
    -------
    torch.Tensor
        Shape ``(*)``.

    Raises
    ------
    ValueError
        If ``p`` is not in :math:`[0, 1)`.

    Notes
    -----
    Double backward: yes; the backward pass multiplies by the saved constant mask.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> y = dropout(torch.ones(8), p=0.5, generator=g)
    >>> sorted(set(y.tolist()))         # kept units are scaled by 1 / (1 - p)
    [0.0, 2.0]
    >>> dropout(torch.ones(3), p=0.25, training=False, inverted=False)
    tensor([0.7500, 0.7500, 0.7500])
    >>> dropout(torch.ones(3), p=1.0)
    Traceback (most recent call last):
    ...
    ValueError: dropout: argument 'p' must lie in [0.0, 1.0), got 1.0
    """
    check_floating("dropout", "input", input)
    p = check_real("dropout", "p", p, low=0.0, high=1.0, high_open=True)
    q = 1.0 - p
    if not training:
        return input if inverted else input * q
    # draw where the generator lives, so that a seed gives the same mask on every device
    device = generator.device if generator is not None else input.device
    keep = (torch.rand(input.shape, generator=generator, device=device) < q).to(input.device)
    scaled = keep.to(input.dtype)
    if inverted:
        scaled = scaled / q
    return DropoutFunction.apply(input, scaled)
