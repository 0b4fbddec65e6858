r"""Classical momentum and Nesterov's accelerated gradient, in velocity form.

With learning rate :math:`\epsilon`, momentum coefficient :math:`\mu` and
velocity :math:`\mathbf{v}` (zero at the start), the two methods are
(Sutskever et al., 2013)

.. math::

    \text{momentum:}\quad \mathbf{v} \leftarrow \mu\mathbf{v} - \epsilon\nabla f(\theta),
    \qquad \theta \leftarrow \theta + \mathbf{v},

    \text{Nesterov:}\quad
    \mathbf{v} \leftarrow \mu\mathbf{v} - \epsilon\nabla f(\theta + \mu\mathbf{v}),
    \qquad \theta \leftarrow \theta + \mathbf{v}.

Nesterov needs the gradient at the *look-ahead point*
:math:`\phi = \theta + \mu\mathbf{v}`. So that an ordinary training loop
(forward, ``backward()``, ``step()``) computes exactly that gradient, the
parameter tensor holds :math:`\phi`, and :meth:`Nesterov.iterate` returns
:math:`\theta = \phi - \mu\mathbf{v}`. This is the change of variables under
which the method coincides with ``torch.optim.SGD(nesterov=True)``.
"""

from __future__ import annotations

import torch

from dlbook._checks import check_real
from dlbook.optim._common import evaluate_closure

__all__ = ["Momentum", "Nesterov"]


def _check_hyper(name: str, lr, momentum, weight_decay):
    lr = check_real(name, "lr", lr, low=0.0, low_open=True)
    momentum = check_real(name, "momentum", momentum, low=0.0, high=1.0, high_open=True)
    weight_decay = check_real(name, "weight_decay", weight_decay, low=0.0)
    return dict(lr=lr, momentum=momentum, weight_decay=weight_decay)


class _VelocityOptimizer(torch.optim.Optimizer):
    """The loop shared by :class:`Momentum` and :class:`Nesterov`; subclasses give ``_update``."""

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step; ``closure`` re-evaluates and returns the loss, as in PyTorch."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad if wd == 0 else p.grad + wd * p
                state = self.state[p]
                if "velocity" not in state:
                    state["velocity"] = torch.zeros_like(p)
                self._update(p, g, state["velocity"], lr, mu)
        return loss


class Momentum(_VelocityOptimizer):
    r"""Gradient descent with classical (heavy-ball) momentum.

    One step, for every parameter :math:`\theta` with gradient
    :math:`\mathbf{g} = \nabla f(\theta) + \lambda\theta`:

    .. math::

        \mathbf{v} \leftarrow \mu\mathbf{v} - \epsilon\,\mathbf{g}, \qquad
        \theta \leftarrow \theta + \mathbf{v}.

    With a constant learning rate this is ``torch.optim.SGD(params, lr,
    momentum)``, whose buffer :math:`\mathbf{b}` is :math:`-\mathbf{v}/\epsilon`.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups, as for any ``torch.optim.Optimizer``.
    lr : float
        Learning rate :math:`\epsilon > 0`.
    momentum : float
        Momentum coefficient :math:`\mu \in [0, 1)`. ``0`` gives plain gradient descent.
    weight_decay : float
        L2 penalty :math:`\lambda \ge 0`, added to the gradient as :math:`\lambda\theta`.

    Examples
    --------
    >>> import torch
    >>> from dlbook.optim import Momentum
    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = Momentum([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w ** 2).sum().backward()   # gradient 2w
    ...     opt.step()
    >>> w   # v1 = -0.2, w1 = 0.8; v2 = 0.9 * v1 - 0.1 * 1.6 = -0.34, w2 = 0.46
    tensor([0.4600], requires_grad=True)
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(params, _check_hyper("Momentum", lr, momentum, weight_decay))

    @staticmethod
    def _update(p, g, v, lr, mu):
        v.mul_(mu).sub_(lr * g)
        p.add_(v)


class Nesterov(_VelocityOptimizer):
    r"""Nesterov's accelerated gradient in the form of Sutskever et al. (2013).

    The method is

    .. math::

        \mathbf{v} \leftarrow \mu\mathbf{v} - \epsilon\nabla f(\theta + \mu\mathbf{v}), \qquad
        \theta \leftarrow \theta + \mathbf{v}.

    The parameter tensor holds the look-ahead point
    :math:`\phi = \theta + \mu\mathbf{v}`, so that its ``.grad`` after
    ``backward()`` is :math:`\nabla f(\theta + \mu\mathbf{v})`. One step
    recovers :math:`\theta = \phi - \mu\mathbf{v}`, applies the two lines
    above, and stores :math:`\phi = \theta + \mu\mathbf{v}` back in the
    parameter. Use :meth:`iterate` to read :math:`\theta`. In :math:`\phi`
    the step reads :math:`\phi \leftarrow \phi - \epsilon\mathbf{g} + \mu\mathbf{v}_{\text{new}}`,
    which is ``torch.optim.SGD(params, lr, momentum, nesterov=True)``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        Learning rate :math:`\epsilon > 0`.
    momentum : float
        Momentum coefficient :math:`\mu \in [0, 1)`.
    weight_decay : float
        L2 penalty :math:`\lambda \ge 0`, added to the gradient as :math:`\lambda\phi`
        (as PyTorch does).

    Examples
    --------
    >>> import torch
    >>> from dlbook.optim import Nesterov
    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = Nesterov([w], lr=0.1, momentum=0.9)
    >>> opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
    >>> opt.iterate(w)   # theta1 = 1 - 0.1 * 2 = 0.8
    tensor([0.8000])
    >>> w.detach()       # phi1 = theta1 + 0.9 * v1 = 0.8 - 0.18
    tensor([0.6200])
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(params, _check_hyper("Nesterov", lr, momentum, weight_decay))

    @staticmethod
    def _update(p, g, v, lr, mu):
        # g is the gradient at the stored look-ahead point phi = theta + mu v
        theta = p - mu * v  # undo the look-ahead
        v.mul_(mu).sub_(lr * g)  # v <- mu v - lr grad f(theta + mu v)
        theta.add_(v)  # theta <- theta + v
        p.copy_(theta + mu * v)  # store the next look-ahead point

    @torch.no_grad()
    def iterate(self, p: torch.Tensor) -> torch.Tensor:
        r"""Return :math:`\theta = \phi - \mu\mathbf{v}` for parameter ``p`` (a new tensor)."""
        for group in self.param_groups:
            if any(q is p for q in group["params"]):
                v = self.state[p].get("velocity")
                return p.detach().clone() if v is None else p.detach() - group["momentum"] * v
        raise ValueError("Nesterov.iterate: argument 'p' is not a parameter of this optimizer")
