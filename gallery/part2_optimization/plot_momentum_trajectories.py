"""
Gradient descent, momentum and Nesterov on two valleys
======================================================

The three update rules of :doc:`/part2/momentum`, run with
:class:`dlbook.optim.Momentum` (``momentum=0`` is gradient descent) and
:class:`dlbook.optim.Nesterov`, on an ill-conditioned quadratic and on the
Rosenbrock function. For each problem the figure draws the first iterates
and the table counts the iterations needed to reach a tolerance.
"""

# %%
# Setup
# -----
import math

import matplotlib.pyplot as plt
import torch

from dlbook.budget import by_budget
from dlbook.optim import Momentum, Nesterov, tuned_hyperparameters
from dlbook.plotting import PALETTE, use_style

use_style()
max_iter = by_budget(smoke=2_000, ci=20_000, default=50_000)


def run(make_opt, f, x0, x_star, tol, max_iter):
    """Iterate until ||theta - x*|| < tol; return the path of theta and the count."""
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = make_opt([x])
    path = [x.detach().clone()]
    for k in range(1, max_iter + 1):
        opt.zero_grad()
        f(x).backward()
        opt.step()
        theta = opt.iterate(x) if isinstance(opt, Nesterov) else x.detach().clone()
        path.append(theta)
        if not torch.isfinite(theta).all():
            return torch.stack(path), None
        if (theta - x_star).norm() < tol:
            return torch.stack(path), k
    return torch.stack(path), None


# %%
# An ill-conditioned quadratic
# ----------------------------
# :math:`f(\theta) = \tfrac12(\theta_1^2 + \kappa\,\theta_2^2)` with
# :math:`\kappa = 50`. Each method uses the tuned step and momentum of the
# chapter, so the predicted per-step contraction is
# :math:`(\kappa-1)/(\kappa+1)`, :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)` and
# :math:`1 - 1/\sqrt\kappa`. The number of iterations to reach the tolerance
# should scale like :math:`\ln(1/\text{tol}) / (-\ln\rho)`.
kappa = 50.0
A = torch.diag(torch.tensor([1.0, kappa], dtype=torch.float64))
quad = lambda x: 0.5 * x @ A @ x  # noqa: E731
x0, x_star, tol = [-9.0, 1.5], torch.zeros(2, dtype=torch.float64), 1e-8
makers = {}
for method, cls in (("gd", Momentum), ("momentum", Momentum), ("nesterov", Nesterov)):
    lr, mu, rho = tuned_hyperparameters(method, kappa, 1.0)
    makers[method] = (lambda p, cls=cls, lr=lr, mu=mu: cls(p, lr, mu), lr, mu, rho)

rows = []
paths = {}
for method, (make, lr, mu, rho) in makers.items():
    path, k = run(make, quad, x0, x_star, tol, max_iter)
    predicted = math.log(math.dist(x0, [0, 0]) / tol) / -math.log(rho)
    rows.append(("quadratic", method, lr, mu, k, predicted))
    paths[method] = path

fig, ax = plt.subplots(figsize=(7, 3.8))
u, v = torch.meshgrid(torch.linspace(-10, 10, 200), torch.linspace(-2.5, 2.5, 200), indexing="xy")
ax.contour(u, v, 0.5 * (u**2 + kappa * v**2), levels=15, colors="#808080", linewidths=0.5)
for (method, path), color in zip(paths.items(), PALETTE):
    ax.plot(path[:40, 0], path[:40, 1], "-o", ms=2.5, lw=1, color=color, label=method)
ax.set_title(f"quadratic, $\\kappa$ = {kappa:.0f} (first 40 iterates)")
ax.legend()
plt.show()

# %%
# The Rosenbrock function
# -----------------------
# :math:`f(x, y) = (1 - x)^2 + 100 (y - x^2)^2` has its minimum at
# :math:`(1, 1)` at the bottom of a curved, flat valley. Its curvature
# varies along the path, so there are no tuned values; all three methods
# use the same step :math:`\epsilon = 10^{-3}`, with :math:`\mu = 0.9` for the
# two momentum methods.
rosen = lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2  # noqa: E731
r_star = torch.ones(2, dtype=torch.float64)
r_makers = {
    "gd": lambda p: Momentum(p, 1e-3, 0.0),
    "momentum": lambda p: Momentum(p, 1e-3, 0.9),
    "nesterov": lambda p: Nesterov(p, 1e-3, 0.9),
}
r_tol = 1e-4
fig, ax = plt.subplots(figsize=(7, 4.5))
for (method, make), color in zip(r_makers.items(), PALETTE):
    path, k = run(make, rosen, [-1.5, 2.0], r_star, r_tol, max_iter)
    rows.append(("Rosenbrock", method, 1e-3, 0.0 if method == "gd" else 0.9, k, float("nan")))
    ax.plot(path[:, 0], path[:, 1], "-", lw=1, color=color, label=method)
x, y = torch.meshgrid(torch.linspace(-2, 2, 300), torch.linspace(-1, 3, 300), indexing="xy")
ax.contour(
    x,
    y,
    (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    levels=torch.logspace(-1, 3.5, 14),
    colors="#808080",
    linewidths=0.5,
)
ax.plot([1], [1], "*", ms=10, color=PALETTE[5])
ax.set_title("Rosenbrock (whole path, minimum at the star)")
ax.legend()
plt.show()

# %%
# Iterations to reach the tolerance
# ---------------------------------
# Tolerance :math:`\|\theta - \theta^*\| < 10^{-8}` on the quadratic and
# :math:`10^{-4}` on Rosenbrock; "not reached" means more than the budget's
# iteration limit.
print(f"{'problem':12s}{'method':10s}{'lr':>8s}{'mu':>8s}{'iterations':>12s}{'predicted':>11s}")
for problem, method, lr, mu, k, pred in rows:
    its = f"{k}" if k is not None else f"> {max_iter}"
    pr = "" if math.isnan(pred) else f"{pred:.0f}"
    print(f"{problem:12s}{method:10s}{lr:8.4f}{mu:8.3f}{its:>12s}{pr:>11s}")
quad_its = {m: k for p, m, _, _, k, _ in rows if p == "quadratic"}
assert quad_its["momentum"] < quad_its["nesterov"] < quad_its["gd"]
