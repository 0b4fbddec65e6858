"""Adadelta (Zeiler 2012): per-coordinate steps from two running averages.

For each coordinate, with gradient :math:`g_t`,

.. math::

    s_t &= \\rho s_{t-1} + (1-\\rho) g_t^2, \\\\
    \\Delta_t &= \\frac{\\sqrt{u_{t-1} + \\epsilon}}{\\sqrt{s_t + \\epsilon}}\\, g_t, \\\\
    u_t &= \\rho u_{t-1} + (1-\\rho) \\Delta_t^2, \\\\
    \\theta_t &= \\theta_{t-1} - \\eta \\Delta_t,

with :math:`s_0 = u_0 = 0`. The ratio of root-mean-square step to
root-mean-square gradient gives each step the units of the parameter.
"""

from __future__ import annotations

import torch

from dlbook.optim._common import evaluate_closure

__all__ = ["Adadelta"]


class Adadelta(torch.optim.Optimizer):
    """Adadelta with learning rate ``lr`` (``η``), decay ``rho`` and ``eps``, as :class:`torch.optim.Adadelta`.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        Multiplies each step; Zeiler's method has ``lr = 1``.
    rho : float
        Decay of both running averages, in ``[0, 1]``. Kim (2014) uses 0.95.
    eps : float
        Added inside both square roots; it sets the size of the first steps
        (:math:`\\sqrt{\\epsilon}/\\sqrt{(1-\\rho) g^2 + \\epsilon}\\,g`). Kim uses 1e-6.
    weight_decay : float
        Adds ``weight_decay * θ`` to the gradient.
    lazy_rows : bool
        For 2-D parameters such as an embedding table, update only the rows
        whose gradient is not all zero. This gives the same parameters as
        the full update: for a row with zero gradient, :math:`\\Delta_t = 0`
        and both averages are only multiplied by :math:`\\rho`, so those
        factors are applied, as :math:`\\rho^k`, when the row next gets a
        gradient. (The stored averages of rows left out are therefore stale
        until then.) Requires ``weight_decay = 0``.

    Examples
    --------
    >>> import torch
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> opt = Adadelta([w], rho=0.95, eps=1e-6)
    >>> (w ** 2).sum().backward(); opt.step()
    >>> round(1.0 - w.item(), 6)  # sqrt(1e-6) / sqrt(0.05 * 4 + 1e-6) * 2
    0.004472
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0,
                 lazy_rows: bool = False):
        if lazy_rows and weight_decay:
            raise ValueError("Adadelta: argument 'lazy_rows' needs weight_decay = 0 (decay makes every row move)")
        for name, value, ok in (("lr", lr, lr >= 0), ("rho", rho, 0 <= rho <= 1), ("eps", eps, eps >= 0),
                                ("weight_decay", weight_decay, weight_decay >= 0)):
            if not ok:
                raise ValueError(f"Adadelta: argument '{name}' is out of range, got {value!r}")
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                                  "lazy_rows": lazy_rows})

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step; ``closure`` (optional) re-evaluates the loss and is returned as PyTorch does."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("Adadelta: sparse gradients are not supported")
                g = p.grad if wd == 0 else p.grad.add(p, alpha=wd)
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["acc_delta"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                if group["lazy_rows"] and p.dim() == 2 and wd == 0:
                    self._lazy_step(p, g, state, lr, rho, eps)
                    continue
                s, u = state["square_avg"], state["acc_delta"]
                s.mul_(rho).addcmul_(g, g, value=1 - rho)  # s_t
                delta = u.add(eps).sqrt_().div_(s.add(eps).sqrt_()).mul_(g)  # Δ_t
                u.mul_(rho).addcmul_(delta, delta, value=1 - rho)  # u_t
                p.add_(delta, alpha=-lr)
        return loss

    @staticmethod
    def _lazy_step(p, g, state, lr, rho, eps):
        k = state["step"]
        if "last_step" not in state:
            state["last_step"] = torch.zeros(p.shape[0], dtype=torch.long, device=p.device)
        rows = g.ne(0).any(dim=1).nonzero().squeeze(1)
        catch_up = torch.pow(torch.full((), rho, dtype=p.dtype, device=p.device),
                             (k - 1 - state["last_step"][rows]).to(p.dtype)).unsqueeze(1)  # missed steps
        gr = g[rows]
        s = state["square_avg"][rows].mul_(catch_up).mul_(rho).addcmul_(gr, gr, value=1 - rho)
        u = state["acc_delta"][rows].mul_(catch_up)
        delta = u.add(eps).sqrt_().div_(s.add(eps).sqrt_()).mul_(gr)
        u.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        state["square_avg"][rows] = s
        state["acc_delta"][rows] = u
        state["last_step"][rows] = k
        p.index_add_(0, rows, delta, alpha=-lr)
