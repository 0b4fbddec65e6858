r"""Convergence of gradient descent, momentum and Nesterov on a quadratic.

On :math:`f(\theta) = \tfrac12\theta^\top\mathbf{A}\theta` each method acts
independently along every eigenvector of :math:`\mathbf{A}`. Along an
eigenvector with eigenvalue :math:`\lambda` the state
:math:`(\theta, v)` evolves linearly, :math:`(\theta, v) \leftarrow \mathbf{M}(\theta, v)`, with

.. math::

    \mathbf{M}_{\text{momentum}} =
    \begin{pmatrix} 1 - \epsilon\lambda & \mu \\ -\epsilon\lambda & \mu \end{pmatrix},
    \qquad
    \mathbf{M}_{\text{Nesterov}} =
    \begin{pmatrix} 1 - \epsilon\lambda & \mu(1 - \epsilon\lambda) \\
    -\epsilon\lambda & \mu(1 - \epsilon\lambda) \end{pmatrix},

and the error shrinks asymptotically by the spectral radius
:math:`\rho(\mathbf{M})` per step. Gradient descent is momentum with
:math:`\mu = 0`.
"""

from __future__ import annotations

import math

import torch

from dlbook._checks import check_real

__all__ = ["iteration_matrix", "convergence_rate", "tuned_hyperparameters"]

METHODS = ("gd", "momentum", "nesterov")


def _method(fn: str, method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"{fn}: argument 'method' must be one of {METHODS}, got {method!r}")
    return method


def iteration_matrix(method: str, lr: float, momentum: float, eigenvalue: float) -> torch.Tensor:
    r"""The 2x2 iteration matrix of one method along one eigenvector.

    :math:`(\theta_{t+1}, v_{t+1}) = \mathbf{M}(\theta_t, v_t)`.

    Parameters
    ----------
    method : {"gd", "momentum", "nesterov"}
        ``"gd"`` ignores ``momentum`` (uses :math:`\mu = 0`).
    lr, momentum : float
        :math:`\epsilon` and :math:`\mu`.
    eigenvalue : float
        :math:`\lambda`, the curvature along one eigenvector.

    Returns
    -------
    torch.Tensor
        Shape ``(2, 2)``, float64.

    Examples
    --------
    >>> iteration_matrix("momentum", 0.1, 0.9, 2.0)
    tensor([[ 0.8000,  0.9000],
            [-0.2000,  0.9000]], dtype=torch.float64)
    """
    _method("iteration_matrix", method)
    e = check_real("iteration_matrix", "lr", lr, low=0.0, low_open=True)
    mu = 0.0 if method == "gd" else check_real("iteration_matrix", "momentum", momentum, low=0.0)
    lam = check_real("iteration_matrix", "eigenvalue", eigenvalue)
    a = e * lam
    if method == "nesterov":
        rows = [[1 - a, mu * (1 - a)], [-a, mu * (1 - a)]]
    else:
        rows = [[1 - a, mu], [-a, mu]]
    return torch.tensor(rows, dtype=torch.float64)


def convergence_rate(method: str, lr: float, momentum: float, eigenvalues) -> float:
    r"""Worst asymptotic contraction per step, :math:`\max_\lambda \rho(\mathbf{M}(\lambda))`.

    A value below 1 means convergence from every start; the number of steps
    to shrink the error by a factor :math:`10^{-k}` is about
    :math:`k \ln 10 / (-\ln\rho)`.

    Examples
    --------
    >>> round(convergence_rate("gd", 2 / 11, 0.0, [1.0, 10.0]), 6)   # (kappa - 1) / (kappa + 1)
    0.818182
    """
    _method("convergence_rate", method)
    rho = 0.0
    for lam in torch.as_tensor(eigenvalues, dtype=torch.float64).flatten().tolist():
        ev = torch.linalg.eigvals(iteration_matrix(method, lr, momentum, lam))
        rho = max(rho, ev.abs().max().item())
    return rho


def tuned_hyperparameters(method: str, L: float, m: float) -> tuple[float, float, float]:
    r"""Classical step and momentum for eigenvalues in :math:`[m, L]`, with the predicted rate.

    With :math:`\kappa = L/m` and :math:`r = (\sqrt\kappa-1)/(\sqrt\kappa+1)`:

    - ``"gd"``: :math:`\epsilon = 2/(L+m)`, :math:`\mu = 0`,
      :math:`\rho = (\kappa-1)/(\kappa+1)`;
    - ``"momentum"``: :math:`\epsilon = 4/(\sqrt L+\sqrt m)^2`, :math:`\mu = r^2`,
      :math:`\rho = r`;
    - ``"nesterov"``: :math:`\epsilon = 1/L`, :math:`\mu = r`,
      :math:`\rho = 1-1/\sqrt\kappa`.

    Returns
    -------
    lr, momentum, rate : float

    Examples
    --------
    >>> lr, mu, rho = tuned_hyperparameters("momentum", 100.0, 1.0)
    >>> round(lr, 6), round(mu, 6), round(rho, 6)
    (0.033058, 0.669421, 0.818182)
    """
    _method("tuned_hyperparameters", method)
    L = check_real("tuned_hyperparameters", "L", L, low=0.0, low_open=True)
    m = check_real("tuned_hyperparameters", "m", m, low=0.0, high=L, low_open=True)
    kappa = L / m
    r = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    if method == "gd":
        return 2 / (L + m), 0.0, (kappa - 1) / (kappa + 1)
    if method == "momentum":
        return 4 / (math.sqrt(L) + math.sqrt(m)) ** 2, r * r, r
    return 1 / L, r, 1 - 1 / math.sqrt(kappa)
