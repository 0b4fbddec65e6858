"""
ISTA against FISTA on the lasso
===============================

Solves a lasso problem with :class:`dlbook.optim.ProximalGradient`, without
and with acceleration (see :doc:`/part2/proximal`), plots the objective gap
:math:`F(\\mathbf{x}_k) - F^*` on a log scale with the two worst-case
bounds of Beck and Teboulle's theorem, and checks that both solutions agree
with scikit-learn's :class:`~sklearn.linear_model.Lasso`.
"""

# %%
# A lasso problem with correlated features
# ----------------------------------------
import matplotlib.pyplot as plt
import torch
from sklearn.linear_model import Lasso

from dlbook.budget import by_budget
from dlbook.optim import ProximalGradient, l1_prox
from dlbook.plotting import use_style

use_style()
iters = by_budget(smoke=1_000, ci=5_000, default=10_000)

gen = torch.Generator().manual_seed(0)
N, D, rho = 100, 200, 0.9
Z = torch.randn(N, D, dtype=torch.float64, generator=gen)
X = Z.clone()
for j in range(1, D):
    X[:, j] = rho * X[:, j - 1] + (1 - rho**2) ** 0.5 * Z[:, j]
w_true = torch.zeros(D, dtype=torch.float64)
w_true[::20] = 2 * torch.randn(10, dtype=torch.float64, generator=gen)
y = X @ w_true + 0.1 * torch.randn(N, dtype=torch.float64, generator=gen)
alpha = 0.01
L = torch.linalg.eigvalsh(X.T @ X / N).max().item()
print(f"N = {N}, D = {D}, alpha = {alpha}, L = {L:.2f}")


def F(w):
    return (0.5 / N * ((y - X @ w) ** 2).sum() + alpha * w.abs().sum()).item()


def solve(accelerated):
    w = torch.zeros(D, dtype=torch.float64, requires_grad=True)
    opt = ProximalGradient([w], lr=1 / L, prox=l1_prox(alpha), accelerated=accelerated)
    values = []
    for _ in range(iters):
        opt.zero_grad()
        (0.5 / N * ((y - X @ w) ** 2).sum()).backward()
        opt.step()
        values.append(F(opt.iterate(w)))
    return opt.iterate(w), torch.tensor(values, dtype=torch.float64)


w_ista, F_ista = solve(False)
w_fista, F_fista = solve(True)

# %%
# Agreement with scikit-learn
# ---------------------------
sk = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=500_000).fit(X.numpy(), y.numpy())
w_sk = torch.from_numpy(sk.coef_)
F_star = min(F(w_sk), F_fista.min().item(), F_ista.min().item())
print(f"F(sklearn) - F* = {F(w_sk) - F_star:.1e}")
print(f"FISTA after {iters} iterations: max |w - w_sklearn| = {(w_fista - w_sk).abs().max():.2e}")
print(f"ISTA  after {iters} iterations: max |w - w_sklearn| = {(w_ista - w_sk).abs().max():.2e}")
print(
    f"nonzero coefficients: sklearn {(w_sk != 0).sum().item()}, "
    f"FISTA {(w_fista != 0).sum().item()}"
)
# 5,000 FISTA iterations reach scikit-learn's solution to 1e-6; the smoke budget stops early.
assert (w_fista - w_sk).abs().max() < (1e-6 if iters >= 5_000 else 1e-2)

# %%
# The objective gap
# -----------------
# The dashed lines are the bounds :math:`L\|\mathbf{x}_0-\mathbf{x}^*\|^2/(2k)`
# (ISTA) and :math:`2L\|\mathbf{x}_0-\mathbf{x}^*\|^2/(k+1)^2` (FISTA). Both
# methods stay under them; once FISTA has identified the support of the
# solution it converges much faster than the bound, since on that support
# the problem is strongly convex. FISTA's gap is not monotone: the
# extrapolation overshoots and comes back, as momentum does.
k = torch.arange(1, iters + 1, dtype=torch.float64)
R2 = (w_fista**2).sum().item()
fig, ax = plt.subplots(figsize=(7, 4))
floor = 1e-16
ax.loglog(k, (F_ista - F_star).clamp_min(floor), label="ISTA")
ax.loglog(k, (F_fista - F_star).clamp_min(floor), label="FISTA")
ax.loglog(k, L * R2 / (2 * k), "--", lw=1, label="ISTA bound $LR^2/2k$")
ax.loglog(k, 2 * L * R2 / (k + 1) ** 2, "--", lw=1, label="FISTA bound $2LR^2/(k+1)^2$")
ax.set_xlabel("iteration $k$")
ax.set_ylabel("$F(x_k) - F^*$")
ax.set_ylim(floor, None)
ax.set_title("Lasso: objective gap of ISTA and FISTA, with their bounds")
ax.legend()
plt.show()

assert torch.all(F_ista - F_star <= L * R2 / (2 * k) + 1e-12)
assert torch.all(F_fista - F_star <= 2 * L * R2 / (k + 1) ** 2 + 1e-12)
for kk in (10, 100, iters):
    print(
        f"k = {kk:5d}: ISTA gap {F_ista[kk - 1] - F_star:.2e}, "
        f"FISTA gap {F_fista[kk - 1] - F_star:.2e}"
    )
