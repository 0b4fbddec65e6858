"""Tests of dlbook.optim: momentum/Nesterov against torch.optim.SGD, ISTA/FISTA against sklearn."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook.optim import (
    Momentum,
    Nesterov,
    ProximalGradient,
    box_projection,
    l1_prox,
    soft_threshold,
)


def _quadratic(seed=0, n=6):
    g = torch.Generator().manual_seed(seed)
    Q = torch.randn(n, n, generator=g, dtype=torch.float64)
    A = Q @ Q.T / n + 0.1 * torch.eye(n, dtype=torch.float64)
    b = torch.randn(n, dtype=torch.float64, generator=g)
    x0 = torch.randn(n, dtype=torch.float64, generator=g)
    return A, b, x0


def _f(A, b, x):
    return 0.5 * x @ A @ x - b @ x


def _run(opt_cls, x0, A, b, steps, **kw):
    x = x0.clone().requires_grad_()
    opt = opt_cls([x], **kw)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        _f(A, b, x).backward()
        opt.step()
        path.append(x.detach().clone())
    return opt, x, path


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_momentum_matches_sgd(wd):
    A, b, x0 = _quadratic()
    _, _, ours = _run(Momentum, x0, A, b, 50, lr=0.05, momentum=0.9, weight_decay=wd)
    _, _, ref = _run(torch.optim.SGD, x0, A, b, 50, lr=0.05, momentum=0.9, weight_decay=wd)
    for a, r in zip(ours, ref):
        torch.testing.assert_close(a, r, rtol=1e-12, atol=1e-12)


def test_momentum_zero_is_gradient_descent():
    A, b, x0 = _quadratic()
    _, _, ours = _run(Momentum, x0, A, b, 5, lr=0.1, momentum=0.0)
    x = x0.clone()
    for a in ours:
        x = x - 0.1 * (A @ x - b)
        torch.testing.assert_close(a, x, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_nesterov_parameter_matches_sgd_nesterov(wd):
    A, b, x0 = _quadratic(1)
    _, _, ours = _run(Nesterov, x0, A, b, 50, lr=0.05, momentum=0.9, weight_decay=wd)
    _, _, ref = _run(
        torch.optim.SGD, x0, A, b, 50, lr=0.05, momentum=0.9, nesterov=True, weight_decay=wd
    )
    for a, r in zip(ours, ref):
        torch.testing.assert_close(a, r, rtol=1e-12, atol=1e-12)


def test_nesterov_iterate_follows_sutskever_form():
    """theta from .iterate() equals the direct recursion v <- mu v - lr grad(theta + mu v)."""
    A, b, x0 = _quadratic(2)
    lr, mu = 0.05, 0.9
    x = x0.clone().requires_grad_()
    opt = Nesterov([x], lr=lr, momentum=mu)
    theta, v = x0.clone(), torch.zeros_like(x0)
    for _ in range(40):
        opt.zero_grad()
        _f(A, b, x).backward()
        opt.step()
        v = mu * v - lr * (A @ (theta + mu * v) - b)
        theta = theta + v
        torch.testing.assert_close(opt.iterate(x), theta, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(x.detach(), theta + mu * v, rtol=1e-12, atol=1e-12)


def test_optimizers_converge_on_quadratic():
    A, b, x0 = _quadratic(3)
    x_star = torch.linalg.solve(A, b)
    for cls in (Momentum, Nesterov):
        opt, x, _ = _run(cls, x0, A, b, 2000, lr=0.1, momentum=0.9)
        assert torch.allclose(x.detach(), x_star, atol=1e-8)


@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.0, momentum=0.9),
        dict(lr=0.1, momentum=1.0),
        dict(lr=0.1, momentum=-0.1),
        dict(lr=0.1, momentum=0.5, weight_decay=-1),
    ],
)
def test_bad_hyperparameters(kw):
    for cls in (Momentum, Nesterov):
        with pytest.raises(ValueError, match=cls.__name__):
            cls([torch.zeros(1, requires_grad=True)], **kw)


def test_soft_threshold_exact():
    v = torch.tensor([-3.0, -1.0, -0.25, 0.0, 0.25, 1.0, 3.0], dtype=torch.float64)
    expected = torch.tensor([-2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0], dtype=torch.float64)
    assert torch.equal(soft_threshold(v, 1.0), expected)
    assert torch.equal(soft_threshold(v, 0.0), v)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=8), st.floats(0, 5))
def test_soft_threshold_is_the_prox(values, tau):
    """S_tau(v) minimises tau|x| + (x - v)^2 / 2: no grid point does better."""
    v = torch.tensor(values, dtype=torch.float64)
    x = soft_threshold(v, tau)
    obj = tau * x.abs() + 0.5 * (x - v) ** 2
    grid = torch.linspace(-15, 15, 3001, dtype=torch.float64)[:, None]
    best = (tau * grid.abs() + 0.5 * (grid - v) ** 2).min(0).values
    assert torch.all(obj <= best + 1e-12)


def test_prox_bad_arguments():
    with pytest.raises(ValueError, match="threshold"):
        soft_threshold(torch.ones(2), -0.1)
    with pytest.raises(ValueError, match="lam"):
        l1_prox(-1.0)
    with pytest.raises(TypeError, match="floating"):
        soft_threshold(torch.ones(2, dtype=torch.long), 0.1)
    with pytest.raises(ValueError, match="low <= high"):
        box_projection(1.0, 0.0)
    with pytest.raises(TypeError, match="prox"):
        ProximalGradient([torch.zeros(1, requires_grad=True)], lr=0.1, prox=None)


def _lasso_problem():
    g = torch.Generator().manual_seed(0)
    n, d = 80, 30
    X = torch.randn(n, d, dtype=torch.float64, generator=g)
    w_true = torch.zeros(d, dtype=torch.float64)
    w_true[:5] = torch.tensor([3.0, -2.0, 1.5, 1.0, -1.0], dtype=torch.float64)
    y = X @ w_true + 0.5 * torch.randn(n, dtype=torch.float64, generator=g)
    return X, y, 0.1


@pytest.mark.parametrize("accelerated", [False, True])
def test_ista_fista_reach_sklearn_lasso(accelerated):
    Lasso = pytest.importorskip("sklearn.linear_model").Lasso
    X, y, alpha = _lasso_problem()
    n = X.shape[0]
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(
        X.numpy(), y.numpy()
    )
    w_ref = torch.from_numpy(ref.coef_)
    L = torch.linalg.eigvalsh(X.T @ X / n).max().item()
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    opt = ProximalGradient([w], lr=1.0 / L, prox=l1_prox(alpha), accelerated=accelerated)
    for _ in range(3000):
        opt.zero_grad()
        (0.5 / n * ((y - X @ w) ** 2).sum()).backward()
        opt.step()
    assert (opt.iterate(w) - w_ref).abs().max().item() < 1e-6
    assert (w_ref == 0).sum() > 0  # the solution is sparse, so the prox matters


def test_fista_sequence_and_projection():
    """FISTA's s_k sequence and a projected-gradient step onto a box."""
    x = torch.tensor([2.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = ProximalGradient([x], lr=0.5, prox=box_projection(-1.0, 1.0), accelerated=True)
    s = 1.0
    for _ in range(200):
        opt.zero_grad()
        (0.5 * ((x - torch.tensor([3.0, 0.5], dtype=torch.float64)) ** 2).sum()).backward()
        opt.step()
        s = (1 + math.sqrt(1 + 4 * s * s)) / 2
        assert opt.state[x]["s"] == pytest.approx(s)
    torch.testing.assert_close(
        opt.iterate(x), torch.tensor([1.0, 0.5], dtype=torch.float64), atol=1e-6, rtol=0
    )
    assert opt.iterate(x).abs().max() <= 1.0


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_tuned_rates_match_spectral_radius(kappa):
    from dlbook.optim import convergence_rate, tuned_hyperparameters

    eigs = torch.linspace(1.0, kappa, 101, dtype=torch.float64)
    for method in ("gd", "momentum", "nesterov"):
        lr, mu, rho = tuned_hyperparameters(method, kappa, 1.0)
        assert convergence_rate(method, lr, mu, eigs) == pytest.approx(rho, rel=1e-6)


@pytest.mark.parametrize("method,cls", [("momentum", Momentum), ("nesterov", Nesterov)])
def test_predicted_rate_matches_optimizer(method, cls):
    """The real optimizer's error shrinks at the predicted rate (up to a polynomial factor)."""
    from dlbook.optim import tuned_hyperparameters

    A = torch.diag(torch.tensor([1.0, 3.0, 10.0, 30.0, 100.0], dtype=torch.float64))
    b = torch.zeros(5, dtype=torch.float64)
    lr, mu, rho = tuned_hyperparameters(method, 100.0, 1.0)
    _, x, _ = _run(cls, torch.ones(5, dtype=torch.float64), A, b, 200, lr=lr, momentum=mu)
    observed = x.detach().norm().item() ** (1 / 200)
    assert observed <= rho * 1.05 and observed >= rho * 0.9


def test_analysis_bad_method():
    from dlbook.optim import iteration_matrix

    with pytest.raises(ValueError, match="method"):
        iteration_matrix("adam", 0.1, 0.9, 1.0)
