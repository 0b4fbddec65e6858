"""fo-pooling, the recurrence of a quasi-recurrent network (Bradbury et al. 2016).

A QRNN computes, at every time step and in parallel, a candidate
:math:`z_t`, a forget gate :math:`f_t` and an output gate :math:`o_t` from
convolutions over the inputs. The only sequential part is elementwise:

.. math::

    c_t = f_t \\odot c_{t-1} + (1 - f_t) \\odot z_t, \\qquad h_t = o_t \\odot c_t .

Backward, write :math:`\\bar c_t` for the total gradient reaching
:math:`c_t`: from :math:`h_t`, from the output :math:`c_t` itself and from
:math:`c_{t+1}`,

.. math::

    \\bar c_t = o_t \\odot \\bar h_t + \\hat c_t + f_{t+1} \\odot \\bar c_{t+1}, \\qquad
    \\bar c_{T+1} = 0,

where :math:`\\hat c_t` is the upstream gradient of the returned cell state.
Then :math:`\\bar o_t = c_t \\odot \\bar h_t`,
:math:`\\bar z_t = (1 - f_t) \\odot \\bar c_t`,
:math:`\\bar f_t = (c_{t-1} - z_t) \\odot \\bar c_t` and
:math:`\\bar c_0 = f_1 \\odot \\bar c_1`. One reverse sweep, elementwise,
like the forward one.
"""

from __future__ import annotations

import torch

from dlbook._checks import check_floating, check_ndim, check_same_dtype, check_tensor

__all__ = ["FoPoolFunction", "fo_pool"]


class FoPoolFunction(torch.autograd.Function):
    """``forward(z, f, o, c0) -> (h, c)`` for inputs of shape ``(T, N, H)`` and ``c0`` of shape ``(N, H)``.

    ``o`` may be ``None`` (f-pooling: ``h = c``). The backward pass is the
    reverse sweep derived in the module docstring, written with
    differentiable operations, so double backward is correct.
    """

    @staticmethod
    def forward(ctx, z, f, o, c0):
        """Run the recurrence forward in time; return ``(h, c)``, both ``(T, N, H)``."""
        c = torch.empty_like(z, memory_format=torch.contiguous_format)
        prev = c0
        for t in range(z.shape[0]):
            prev = torch.addcmul((1 - f[t]) * z[t], f[t], prev)  # f c_{t-1} + (1 - f) z
            c[t] = prev
        h = c.clone() if o is None else o * c
        ctx.save_for_backward(z, f, o, c0, c)
        ctx.has_o = o is not None
        return h, c

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        """One reverse sweep for the total cell-state gradients, then the local gradients of each input."""
        z, f, o, c0, c = ctx.saved_tensors
        T = z.shape[0]
        gh = grad_h if grad_h is not None else torch.zeros_like(c)
        gc_out = grad_c if grad_c is not None else torch.zeros_like(c)
        direct = gh * o + gc_out if ctx.has_o else gh + gc_out  # gradient reaching c_t from outside the recurrence
        grad_o = gh * c if ctx.has_o and ctx.needs_input_grad[2] else None
        cbar = [None] * T
        carry = torch.zeros_like(c0)
        for t in range(T - 1, -1, -1):
            carry = direct[t] + carry  # \bar c_t
            cbar[t] = carry
            carry = f[t] * carry  # its share for c_{t-1}
        grad_c0 = carry if ctx.needs_input_grad[3] else None
        if T == 0:
            return torch.zeros_like(z), torch.zeros_like(f), grad_o, grad_c0
        cb = torch.stack(cbar)
        prev = torch.cat([c0.unsqueeze(0), c[:-1]])
        grad_z = (1 - f) * cb if ctx.needs_input_grad[0] else None
        grad_f = (prev - z) * cb if ctx.needs_input_grad[1] else None
        return grad_z, grad_f, grad_o, grad_c0


def fo_pool(z: torch.Tensor, f: torch.Tensor, o: torch.Tensor | None = None,
            c0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """fo-pooling: ``c_t = f_t c_{t-1} + (1 - f_t) z_t`` and ``h_t = o_t c_t`` over time.

    Parameters
    ----------
    z, f : torch.Tensor
        Candidates and forget gates (already squashed: typically ``tanh`` and
        ``sigmoid``), shape ``(T, N, H)``, time first.
    o : torch.Tensor, optional
        Output gates, shape ``(T, N, H)``; ``None`` for f-pooling (``h = c``).
    c0 : torch.Tensor, optional
        Initial cell state, shape ``(N, H)``; zeros when omitted.

    Returns
    -------
    h : torch.Tensor
        Hidden states, shape ``(T, N, H)``.
    c : torch.Tensor
        Cell states, shape ``(T, N, H)``; ``c[-1]`` is the final state.

    Examples
    --------
    >>> import torch
    >>> z = torch.ones(3, 1, 1)
    >>> f = torch.full((3, 1, 1), 0.5)
    >>> h, c = fo_pool(z, f)
    >>> c.flatten().tolist()
    [0.5, 0.75, 0.875]
    """
    for name, t in (("z", z), ("f", f)):
        check_tensor("fo_pool", name, t)
        check_floating("fo_pool", name, t)
        check_ndim("fo_pool", name, t, 3, "(T, N, H)")
    check_same_dtype("fo_pool", "f", f, "z", z)
    if f.shape != z.shape:
        raise ValueError(f"fo_pool: argument 'f' must have the shape of 'z' {tuple(z.shape)}, got {tuple(f.shape)}")
    if o is not None:
        check_tensor("fo_pool", "o", o)
        check_floating("fo_pool", "o", o)
        check_same_dtype("fo_pool", "o", o, "z", z)
        if o.shape != z.shape:
            raise ValueError(f"fo_pool: argument 'o' must have the shape of 'z' {tuple(z.shape)}, "
                             f"got {tuple(o.shape)}")
    if c0 is None:
        c0 = z.new_zeros(z.shape[1:])
    else:
        check_tensor("fo_pool", "c0", c0)
        check_floating("fo_pool", "c0", c0)
        check_same_dtype("fo_pool", "c0", c0, "z", z)
        if c0.shape != z.shape[1:]:
            raise ValueError(f"fo_pool: argument 'c0' must have shape (N, H) = {tuple(z.shape[1:])}, "
                             f"got {tuple(c0.shape)}")
    return FoPoolFunction.apply(z, f, o, c0)
