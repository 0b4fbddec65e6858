r"""Proximal gradient methods: ISTA and FISTA, and three proximal operators.

For an objective :math:`F(\mathbf{x}) = f(\mathbf{x}) + g(\mathbf{x})` with
:math:`f` smooth and :math:`g` convex but possibly non-smooth, the proximal
operator of :math:`t g` is

.. math::

    \operatorname{prox}_{t g}(\mathbf{v}) = \arg\min_{\mathbf{x}}
    \Big( g(\mathbf{x}) + \tfrac{1}{2t}\lVert\mathbf{x} - \mathbf{v}\rVert_2^2 \Big).

ISTA iterates
:math:`\mathbf{x}_{k} = \operatorname{prox}_{t g}(\mathbf{x}_{k-1} - t\nabla f(\mathbf{x}_{k-1}))`;
FISTA (Beck and Teboulle, 2009) takes the same step from an extrapolated point.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dlbook._checks import check_floating, check_real
from dlbook.optim._common import evaluate_closure

__all__ = ["soft_threshold", "l1_prox", "box_projection", "ProximalGradient"]


def soft_threshold(v: torch.Tensor, threshold: float) -> torch.Tensor:
    r"""Soft-thresholding, the proximal operator of :math:`\tau\lVert\cdot\rVert_1`.

    .. math::

        S_\tau(v)_i = \operatorname{sign}(v_i)\,\max(|v_i| - \tau, 0).

    Parameters
    ----------
    v : torch.Tensor
        Floating-point tensor of any shape ``(*)``.
    threshold : float
        :math:`\tau \ge 0`.

    Returns
    -------
    torch.Tensor
        Shape ``(*)``: entries with :math:`|v_i| \le \tau` become 0, the others move
        :math:`\tau` towards 0.

    Examples
    --------
    >>> import torch
    >>> soft_threshold(torch.tensor([-3.0, -0.5, 0.0, 0.5, 2.0]), 1.0)
    tensor([-2., -0.,  0.,  0.,  1.])
    >>> soft_threshold(torch.tensor([1.0]), -1.0)
    Traceback (most recent call last):
    ...
    ValueError: soft_threshold: argument 'threshold' must lie in [0.0, inf], got -1.0
    """
    check_floating("soft_threshold", "v", v)
    tau = check_real("soft_threshold", "threshold", threshold, low=0.0)
    return torch.sign(v) * torch.clamp(v.abs() - tau, min=0.0)


def l1_prox(lam: float) -> Callable[[torch.Tensor, float], torch.Tensor]:
    r"""Return ``prox(v, step)`` for :math:`g = \lambda\lVert\cdot\rVert_1`.

    It soft-thresholds at :math:`\lambda t` (``t`` = ``step``).

    Examples
    --------
    >>> import torch
    >>> prox = l1_prox(0.5)
    >>> prox(torch.tensor([1.0, -0.2]), 2.0)   # threshold 0.5 * 2 = 1
    tensor([0., -0.])
    """
    lam = check_real("l1_prox", "lam", lam, low=0.0)

    def prox(v: torch.Tensor, step: float) -> torch.Tensor:
        return soft_threshold(v, lam * step)

    return prox


def box_projection(low: float, high: float) -> Callable[[torch.Tensor, float], torch.Tensor]:
    r"""Return ``prox(v, step)`` for the indicator of the box :math:`[l, h]^n`.

    The proximal operator of an indicator function is the Euclidean
    projection onto its set, whatever the step; for a box it clamps each entry.

    Examples
    --------
    >>> import torch
    >>> box_projection(0.0, 1.0)(torch.tensor([-0.5, 0.3, 4.0]), 0.1)
    tensor([0.0000, 0.3000, 1.0000])
    """
    low = check_real("box_projection", "low", low)
    high = check_real("box_projection", "high", high)
    if low > high:
        raise ValueError(f"box_projection: need low <= high, got low={low}, high={high}")

    def prox(v: torch.Tensor, step: float) -> torch.Tensor:
        return v.clamp(low, high)

    return prox


class ProximalGradient(torch.optim.Optimizer):
    r"""Proximal gradient descent: ISTA, or FISTA when ``accelerated=True``.

    With step :math:`t` (``lr``) and :math:`\mathbf{y}_1 = \mathbf{x}_0`, one step is

    .. math::

        \mathbf{x}_k = \operatorname{prox}_{t g}\big(\mathbf{y}_k - t\nabla f(\mathbf{y}_k)\big),

    with :math:`\mathbf{y}_{k+1} = \mathbf{x}_k` for ISTA and, for FISTA,

    .. math::

        s_{k+1} = \frac{1 + \sqrt{1 + 4 s_k^2}}{2}, \qquad
        \mathbf{y}_{k+1} = \mathbf{x}_k + \frac{s_k - 1}{s_{k+1}}(\mathbf{x}_k - \mathbf{x}_{k-1}),
        \qquad s_1 = 1.

    The parameter tensor holds :math:`\mathbf{y}_k`, the point where the
    next gradient is needed; :meth:`iterate` returns :math:`\mathbf{x}_k`.
    For ISTA the two coincide.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        Step :math:`t > 0`; :math:`t \le 1/L` for an :math:`L`-smooth :math:`f`
        guarantees convergence.
    prox : callable
        ``prox(v, step)`` returns :math:`\operatorname{prox}_{\text{step}\cdot g}(v)`,
        e.g. :func:`l1_prox` or :func:`box_projection`.
    accelerated : bool
        FISTA instead of ISTA.

    Notes
    -----
    :meth:`state_dict` leaves out each group's ``prox`` (a function, which
    :func:`torch.save` with ``weights_only`` loading cannot hold), and
    :meth:`load_state_dict` keeps the ``prox`` of this optimizer's groups; so
    a checkpoint saves and loads with ``torch.load(..., weights_only=True)``.

    Examples
    --------
    Minimise :math:`\tfrac12 (x - 3)^2 + |x|`, whose minimiser is :math:`x = 2`:

    >>> import torch
    >>> x = torch.zeros(1, requires_grad=True)
    >>> opt = ProximalGradient([x], lr=1.0, prox=l1_prox(1.0))
    >>> opt.zero_grad(); (0.5 * (x - 3) ** 2).sum().backward(); opt.step()
    >>> x
    tensor([2.], requires_grad=True)
    """

    def __init__(self, params, lr: float, prox: Callable, accelerated: bool = False):
        lr = check_real("ProximalGradient", "lr", lr, low=0.0, low_open=True)
        if not callable(prox):
            raise TypeError(
                "ProximalGradient: argument 'prox' must be a callable prox(v, step), "
                f"got {type(prox).__name__}"
            )
        super().__init__(params, dict(lr=lr, prox=prox, accelerated=bool(accelerated)))

    def state_dict(self):
        """The optimizer state as :meth:`torch.optim.Optimizer.state_dict`, without the ``prox``."""
        state = super().state_dict()
        for group in state["param_groups"]:
            group.pop("prox", None)
        return state

    def load_state_dict(self, state_dict) -> None:
        """Load a :meth:`state_dict`; each group keeps its current ``prox``."""
        proxes = [group["prox"] for group in self.param_groups]
        super().load_state_dict(state_dict)
        for group, prox in zip(self.param_groups, proxes):
            group["prox"] = prox

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step; ``closure`` re-evaluates and returns the smooth part's loss."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            t, prox, fast = group["lr"], group["prox"], group["accelerated"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                x_new = prox(p - t * p.grad, t)
                if not fast:
                    p.copy_(x_new)
                    continue
                s = state.get("s", 1.0)
                x_old = state.get("x", p.detach().clone())
                s_next = (1.0 + math.sqrt(1.0 + 4.0 * s * s)) / 2.0
                p.copy_(x_new + ((s - 1.0) / s_next) * (x_new - x_old))
                state["x"], state["s"] = x_new, s_next
        return loss

    @torch.no_grad()
    def iterate(self, p: torch.Tensor) -> torch.Tensor:
        r"""Return :math:`\mathbf{x}_k` for parameter ``p`` (a new tensor)."""
        for group in self.param_groups:
            if any(q is p for q in group["params"]):
                x = self.state[p].get("x")
                return p.detach().clone() if x is None else x.clone()
        raise ValueError(
            "ProximalGradient.iterate: argument 'p' is not a parameter of this optimizer"
        )
