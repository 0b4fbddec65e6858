"""Tests of dlbook.features: k-means, k-means++, the Coates et al. pipeline pieces."""

import pytest
import torch

from dlbook import features as K


def _blobs(seed=0, k=5, per=200, d=3, spread=0.05):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=g, dtype=torch.float64) * 10
    X = centres[:, None, :] + spread * torch.randn(k, per, d, generator=g, dtype=torch.float64)
    y = torch.arange(k).repeat_interleave(per)
    return X.reshape(-1, d), y, centres


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_recovers_blobs(seed):
    X, y, centres = _blobs(seed)
    C, labels, J = K.kmeans(X, 5, generator=torch.Generator().manual_seed(seed))
    # every true centre has a centroid within 0.05, and clusters are pure
    d = torch.cdist(centres, C)
    assert (d.min(1).values < 0.05).all()
    for c in range(5):
        assert labels[y == c].unique().numel() == 1
    assert all(b <= a + 1e-9 for a, b in zip(J, J[1:]))


def test_kmeans_plusplus_distinct_and_seeded():
    X, _, _ = _blobs()
    a = K.kmeans_plusplus(X, 5, torch.Generator().manual_seed(3))
    b = K.kmeans_plusplus(X, 5, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert torch.cdist(a, a).add(torch.eye(5, dtype=a.dtype) * 1e9).min() > 1.0  # one per blob


def test_pairwise_distances_match_cdist():
    g = torch.Generator().manual_seed(0)
    X, C = (
        torch.randn(50, 7, generator=g, dtype=torch.float64),
        torch.randn(9, 7, generator=g, dtype=torch.float64),
    )
    torch.testing.assert_close(K.pairwise_sq_distances(X, C), torch.cdist(X, C) ** 2)


def test_patches_normalize_whiten():
    x = torch.rand(3, 2, 8, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    P = K.extract_patches(x, 3, 1)
    assert P.shape == (3, 6 * 7, 2 * 9)
    torch.testing.assert_close(P[1, 7 + 2], x[1, :, 1:4, 2:5].reshape(-1))  # row 1, col 2
    Pn = K.normalize_patches(P.reshape(-1, 18), 0.0)
    torch.testing.assert_close(
        Pn.mean(1), torch.zeros(len(Pn), dtype=torch.float64), atol=1e-12, rtol=0
    )
    torch.testing.assert_close(Pn.var(1), torch.ones(len(Pn), dtype=torch.float64))
    g = torch.Generator().manual_seed(1)
    A = torch.randn(4, 4, generator=g, dtype=torch.float64)
    Z = torch.randn(20000, 4, generator=g, dtype=torch.float64) @ A
    mu, W = K.zca_whitening(Z, 0.0)
    torch.testing.assert_close(
        torch.cov(((Z - mu) @ W).T), torch.eye(4, dtype=torch.float64), atol=1e-8, rtol=0
    )
    torch.testing.assert_close(W, W.T)


def test_triangle_and_pool_exact():
    X = torch.tensor([[0.0, 0.0], [3.0, 0.0]], dtype=torch.float64)
    C = torch.tensor([[0.0, 0.0], [0.0, 4.0], [3.0, 0.0]], dtype=torch.float64)
    # row 0: z = (0, 4, 3), mean 7/3 -> (7/3, 0, 0); row 1: z = (3, 5, 0), mean 8/3 -> (0, 0, 8/3)
    expected = torch.tensor([[7 / 3, 0, 0], [0, 0, 8 / 3]], dtype=torch.float64)
    torch.testing.assert_close(K.triangle_activation(X, C), expected)
    maps = torch.arange(2 * 3 * 5 * 5, dtype=torch.float64).view(2, 3, 5, 5)
    pooled = K.quadrant_pool(maps)
    assert pooled.shape == (2, 12)
    torch.testing.assert_close(pooled[:, :3], maps[..., :2, :2].sum((-2, -1)))
    torch.testing.assert_close(pooled[:, 9:], maps[..., 2:, 2:].sum((-2, -1)))
    torch.testing.assert_close(pooled.sum(1), maps.sum((1, 2, 3)))


def test_kmeans_features_end_to_end():
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(30, 1, 14, 14, generator=g)
    km = K.KMeansFeatures(n_clusters=10, patch_size=5, n_patches=2000, iters=10)
    F1 = km.fit_transform(imgs, generator=torch.Generator().manual_seed(1))
    assert F1.shape == (30, 40) and (F1 >= 0).all()
    km2 = K.KMeansFeatures(n_clusters=10, patch_size=5, n_patches=2000, iters=10, batch_size=7)
    F2 = km2.fit_transform(imgs, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(F1, F2)  # same seed, different batching: same features
    assert km.transform(imgs[:3, 0]).shape == (3, 40)


def test_bad_arguments():
    with pytest.raises(ValueError, match="'k'"):
        K.kmeans_plusplus(torch.zeros(3, 2), 4)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        K.kmeans(torch.zeros(5), 2)
    with pytest.raises(RuntimeError, match="fit"):
        K.KMeansFeatures().transform(torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match="n_clusters"):
        K.KMeansFeatures(n_clusters=0)
    with pytest.raises(ValueError, match="images"):
        K.KMeansFeatures(n_clusters=2, patch_size=3, n_patches=10).fit(torch.zeros(8, 8))
    with pytest.raises(ValueError, match="patch_size"):
        K.KMeansFeatures(n_clusters=2, patch_size=9, n_patches=10).fit(torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match="eps"):
        K.normalize_patches(torch.zeros(2, 3), -1.0)
