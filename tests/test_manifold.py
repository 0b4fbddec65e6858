"""Tests of dlbook.manifold: affinities, the t-SNE gradient and the estimator."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook.budget import by_budget
from dlbook.manifold import (
    TSNE,
    attractive_forces,
    conditional_probabilities,
    fft_length,
    joint_probabilities,
    joint_probabilities_nn,
    kl_divergence,
    kl_divergence_sparse,
    perplexity_of,
    repulsive_forces_fft,
    squared_distances,
    student_t_affinities,
    tsne_gradient,
    tsne_gradient_fft,
    upper_pairs,
)


def _random_P(n, seed):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g, dtype=torch.float64)
    return joint_probabilities(X, perplexity=min(5.0, (n - 1) / 3)), g


@settings(max_examples=25, deadline=None)
@given(n=st.integers(4, 30), d=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_gradient_matches_autograd(n, d, seed):
    P, g = _random_P(n, seed)
    Y = (3 * torch.randn(n, d, generator=g, dtype=torch.float64)).requires_grad_()
    kl_divergence(P, Y).backward()
    assert torch.allclose(tsne_gradient(P, Y.detach()), Y.grad, rtol=0, atol=1e-10)


def test_gradient_matches_autograd_gradcheck():
    P, g = _random_P(12, 3)
    Y = torch.randn(12, 2, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda Y: kl_divergence(P, Y), (Y,))


def test_gradient_without_distance_factor_is_wrong():
    # dropping the (1 + d^2)^-1 factor gives a different vector field
    P, g = _random_P(10, 1)
    Y = torch.randn(10, 2, generator=g, dtype=torch.float64)
    Q = student_t_affinities(Y)
    careless = 4 * ((P - Q).sum(1, keepdim=True) * Y - (P - Q) @ Y)
    assert (careless - tsne_gradient(P, Y)).abs().max() > 1e-3


@settings(max_examples=20, deadline=None)
@given(n=st.integers(8, 40), perp=st.floats(1.5, 6.0), seed=st.integers(0, 10_000))
def test_perplexity_calibration_hits_target(n, perp, seed):
    g = torch.Generator().manual_seed(seed)
    X = (
        torch.randn(n, 3, generator=g, dtype=torch.float64)
        * 10 ** torch.rand(1, generator=g).item()
    )
    D2 = squared_distances(X)
    D2.fill_diagonal_(math.inf)
    P, beta = conditional_probabilities(D2, perp)
    assert torch.allclose(P.sum(1), torch.ones(n, dtype=torch.float64))
    assert (perplexity_of(P) - perp).abs().max() < 1e-5
    assert (beta > 0).all()


def test_joint_P_dense_properties():
    X = torch.randn(60, 5, generator=torch.Generator().manual_seed(0))
    P = joint_probabilities(X, perplexity=10)
    assert torch.equal(P, P.T)
    assert abs(float(P.sum()) - 1) < 1e-12
    assert (P.diagonal() == 0).all() and (P >= 0).all()


def test_joint_P_sparse_properties_and_k():
    X = torch.randn(200, 5, generator=torch.Generator().manual_seed(0))
    P = joint_probabilities_nn(X, perplexity=10)
    D = P.to_dense()
    assert torch.allclose(D, D.T, rtol=0, atol=0)
    assert abs(float(P.values().sum()) - 1) < 1e-12
    # each row holds its 30 = 3 * perplexity neighbours, plus those that chose it
    assert ((D > 0).sum(1) >= 30).all()
    assert P._nnz() <= 2 * 200 * 30


def test_sparse_P_is_close_to_dense_P():
    X = torch.randn(300, 5, generator=torch.Generator().manual_seed(1))
    Pd = joint_probabilities(X, perplexity=10)
    Ps = joint_probabilities_nn(X, perplexity=10).to_dense()
    assert float((Pd - Ps).abs().sum()) < 0.1  # L1 distance; at most 2


def test_fft_forces_match_exact():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(400, 5, generator=g)
    P = joint_probabilities(X, 10)
    Y = 5 * torch.randn(400, 2, generator=g, dtype=torch.float64)
    rep, Z = repulsive_forces_fft(Y)
    W = 1 / (1 + squared_distances(Y))
    W.fill_diagonal_(0)
    W2 = W * W
    rep_exact = W2.sum(1, keepdim=True) * Y - W2 @ Y
    err = float((rep - rep_exact).norm() / rep_exact.norm())
    assert err < 1e-2
    assert abs(Z - float(W.sum())) / float(W.sum()) < 1e-3
    # a finer grid interpolates better: the error falls faster than linearly
    rep_fine, _ = repulsive_forces_fft(Y, min_num_intervals=100)
    assert float((rep_fine - rep_exact).norm() / rep_exact.norm()) < err / 4
    # the gradient is a difference of attraction and repulsion, so its relative error is larger
    grad, Z = tsne_gradient_fft(P.to_sparse(), Y)
    exact = tsne_gradient(P, Y)
    assert float((grad - exact).norm() / exact.norm()) < 1e-2
    assert (
        abs(float(kl_divergence_sparse(P.to_sparse(), Y, Z=Z)) - float(kl_divergence(P, Y))) < 1e-3
    )


def test_fft_rejects_3d_maps():
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        repulsive_forces_fft(torch.zeros(10, 3, dtype=torch.float64))


def test_fft_length_is_smallest_even_5_smooth():
    def smooth(m):
        for q in (2, 3, 5):
            while m % q == 0:
                m //= q
        return m == 1

    for m in range(1, 600):
        L = fft_length(m)
        assert L >= m and L % 2 == 0 and smooth(L)
        assert not any(k % 2 == 0 and smooth(k) for k in range(m, L))
    with pytest.raises(ValueError, match="positive"):
        fft_length(0)


def test_symmetric_attraction_matches_dense():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(120, 5, generator=g)
    P = joint_probabilities_nn(X, perplexity=8)
    Y = 4 * torch.randn(120, 2, generator=g, dtype=torch.float64)
    rows, cols, vals = upper_pairs(P)
    assert bool((rows < cols).all()) and bool((vals > 0).all())
    assert float(2 * vals.sum()) == pytest.approx(1.0, abs=1e-12)
    half = attractive_forces(rows, cols, vals, Y, symmetric=True)
    full = attractive_forces(*P.indices(), P.values(), Y)
    Pd = P.to_dense()
    PW = Pd / (1 + squared_distances(Y))
    dense = PW.sum(1, keepdim=True) * Y - PW @ Y
    assert torch.allclose(half, dense, rtol=0, atol=1e-15)
    assert torch.allclose(full, dense, rtol=0, atol=1e-15)
    # a dense P gives the same pairs as its sparse form
    assert all(torch.equal(a, b) for a, b in zip(upper_pairs(Pd), (rows, cols, vals)))


@pytest.mark.parametrize("scale", [(1.0, 1.0), (1.0, 0.1), (0.05, 1.0)])
def test_fft_forces_float64_fine_grid_match_exact(scale):
    # on a small map the grid is fine compared with the kernel's width, so the
    # interpolation error is tiny and the FFT sums agree with the exact ones in float64;
    # rectangular maps get a rectangular grid
    g = torch.Generator().manual_seed(1)
    Y = 0.5 * torch.randn(300, 2, generator=g, dtype=torch.float64) * torch.tensor(scale)
    W = (1 + squared_distances(Y)).reciprocal().fill_diagonal_(0)
    rep_exact = (W * W).sum(1, keepdim=True) * Y - (W * W) @ Y
    timings = {}
    rep, Z = repulsive_forces_fft(
        Y, n_interpolation_points=5, grid_dtype=torch.float64, timings=timings
    )
    assert rep.dtype == torch.float64
    assert float((rep - rep_exact).norm() / rep_exact.norm()) < 1e-7
    assert abs(Z - float(W.sum())) / float(W.sum()) < 1e-9
    assert set(timings) == {"fft_weights", "fft_spread", "fft_convolve", "fft_gather"}
    assert all(v >= 0 for v in timings.values())
    # single precision on the grid adds round-off far below the interpolation error
    rep32, Z32 = repulsive_forces_fft(Y, n_interpolation_points=5)
    assert float((rep32 - rep).norm() / rep.norm()) < 1e-5
    assert abs(Z32 - Z) / Z < 1e-6


def test_fft_rejects_bad_grid_dtype():
    with pytest.raises(ValueError, match="grid_dtype"):
        repulsive_forces_fft(torch.zeros(10, 2, dtype=torch.float64), grid_dtype=torch.int32)


def test_fft_kl_history_matches_sparse_kl():
    X, _ = _blobs(100, 2, seed=3)
    t = TSNE(perplexity=10, n_iter=60, exaggeration_iter=20, log_every=20, random_state=0)
    Y = t.fit_transform(X)
    _, Z = repulsive_forces_fft(Y, n_interpolation_points=t.n_interpolation_points)
    assert t.kl_divergence_ == pytest.approx(
        float(kl_divergence_sparse(t.P_, Y, Z=Z)), rel=1e-12
    )
    assert set(t.timings_) >= {"attraction", "fft_convolve", "kl", "update"}


def test_n_threads_is_restored_and_checked():
    X, _ = _blobs(40, 2, seed=4)
    before = torch.get_num_threads()
    TSNE(perplexity=5, n_iter=5, n_threads=1).fit(X)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads"):
        TSNE(perplexity=5, n_iter=5, n_threads=0).fit(X)
    assert torch.get_num_threads() == before


def _blobs(n_per, k, seed, spread=20.0):
    g = torch.Generator().manual_seed(seed)
    centres = spread * torch.randn(k, 10, generator=g)
    X = torch.cat([c + torch.randn(n_per, 10, generator=g) for c in centres])
    y = torch.arange(k).repeat_interleave(n_per)
    return X, y


def _one_nn_accuracy(Y, y):
    Y = torch.as_tensor(Y)
    D = torch.cdist(Y, Y)
    D.fill_diagonal_(float("inf"))
    return float((y[D.argmin(1)] == y).double().mean())


@pytest.mark.parametrize("method", ["exact", "fft"])
def test_blobs_come_out_separated(method):
    n_per = by_budget(smoke=40, ci=60, default=100)
    n_iter = by_budget(smoke=300, ci=500, default=750)
    X, y = _blobs(n_per, 4, seed=0)
    Y = TSNE(perplexity=10, n_iter=n_iter, method=method, random_state=0).fit_transform(X)
    assert Y.shape == (4 * n_per, 2)
    assert _one_nn_accuracy(Y, y) == 1.0


def test_returns_numpy_for_numpy_input():
    X, _ = _blobs(20, 2, seed=0)
    Y = TSNE(perplexity=5, n_iter=50, method="exact").fit_transform(X.numpy())
    assert isinstance(Y, np.ndarray) and Y.shape == (40, 2)


@pytest.mark.parametrize("method", ["exact", "fft"])
@pytest.mark.parametrize("init", ["pca", "random"])
def test_seeded_runs_are_deterministic(method, init):
    X, _ = _blobs(30, 3, seed=2)
    a = TSNE(perplexity=8, n_iter=100, method=method, init=init, random_state=3).fit_transform(X)
    b = TSNE(perplexity=8, n_iter=100, method=method, init=init, random_state=3).fit_transform(X)
    assert torch.equal(a, b)


def test_random_init_depends_on_seed():
    X, _ = _blobs(30, 3, seed=2)
    a = TSNE(perplexity=8, n_iter=20, method="exact", init="random", random_state=0).fit_transform(
        X
    )
    b = TSNE(perplexity=8, n_iter=20, method="exact", init="random", random_state=1).fit_transform(
        X
    )
    assert not torch.equal(a, b)


def test_kl_divergence_attribute_is_the_final_cost():
    X, _ = _blobs(25, 2, seed=4)
    t = TSNE(perplexity=8, n_iter=400, exaggeration_iter=100, method="exact", random_state=0)
    Y = t.fit_transform(X)
    assert t.kl_divergence_ == pytest.approx(float(kl_divergence(t.P_, Y)), abs=1e-12)
    history = dict(t.kl_history_)
    # the cost goes down once exaggeration ends
    assert t.kl_divergence_ < history[150] < history[100]


def test_learning_rate_auto():
    X, _ = _blobs(200, 2, seed=0)
    t = TSNE(perplexity=10, n_iter=1, method="fft").fit(X)
    # max(400 / 12 / 4, 50) with exaggeration, max(400 / 4, 50) after
    assert t.learning_rate_ == (50.0, 100.0)


@pytest.mark.parametrize("method", ["exact", "fft"])
def test_identical_points_raise(method):
    X = torch.ones(50, 3)
    with pytest.raises(ValueError, match="identical"):
        TSNE(perplexity=5, method=method).fit(X)


def test_many_duplicates_of_one_point_raise():
    X = torch.cat(
        [torch.zeros(20, 3), torch.randn(40, 3, generator=torch.Generator().manual_seed(0))]
    )
    with pytest.raises(ValueError, match="identical points"):
        joint_probabilities(X, perplexity=5)


def test_few_duplicates_are_handled():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(60, 3, generator=g)
    X[1] = X[0]
    P = joint_probabilities(X, perplexity=10)
    assert torch.isfinite(P).all() and abs(float(P.sum()) - 1) < 1e-12


@pytest.mark.parametrize("method", ["exact", "fft"])
def test_too_few_points_raise(method):
    X = torch.randn(80, 3)
    with pytest.raises(ValueError, match="too few for perplexity=30"):
        TSNE(perplexity=30, method=method).fit(X)


def test_bad_arguments_raise():
    X = torch.randn(50, 3)
    with pytest.raises(ValueError, match="method"):
        TSNE(perplexity=5, method="barnes").fit(X)
    with pytest.raises(ValueError, match=r"shape \(N, D\)"):
        TSNE(perplexity=5).fit(torch.randn(50))
    with pytest.raises(ValueError, match="NaN"):
        TSNE(perplexity=5).fit(torch.full((50, 3), float("nan")))
    with pytest.raises(ValueError, match="n_components=2"):
        TSNE(n_components=3, perplexity=5, method="fft").fit(X)
    with pytest.raises(ValueError, match="P"):
        tsne_gradient(
            torch.zeros(3, 3, dtype=torch.float64), torch.zeros(4, 2, dtype=torch.float64)
        )
