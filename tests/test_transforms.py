"""Tests of dlbook.data.transforms: shapes, ranges, seeds, identity at zero strength, exact maps.
"""

import pytest
import torch

from dlbook.data import transforms as T


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


def _images(shape=(6, 28, 28), dtype=torch.float32):
    return torch.rand(shape, generator=_g(42), dtype=dtype)


STRONG = [
    T.RandomAffine(rotation=15, translation=3, zoom=0.15, shear=10, stretch=0.2),
    T.ElasticDistortion(alpha=34, sigma=4),
    T.RandomHorizontalFlip(0.5),
    T.Compose([T.RandomAffine(rotation=10), T.ElasticDistortion(alpha=10, sigma=3)]),
]


@pytest.mark.parametrize("aug", STRONG, ids=repr)
@pytest.mark.parametrize("shape", [(6, 28, 28), (4, 3, 16, 20)])
def test_shape_range_and_seed(aug, shape):
    x = _images(shape)
    y = aug(x, generator=_g(0))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert y.min() >= 0.0 and y.max() <= 1.0 + 1e-6
    assert torch.equal(y, aug(x, generator=_g(0)))
    if not isinstance(aug, T.RandomHorizontalFlip):
        assert not torch.equal(y, aug(x, generator=_g(1)))


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_identity_at_zero_strength(dtype, atol):
    x = _images(dtype=dtype)
    for aug in (T.RandomAffine(), T.ElasticDistortion(alpha=0.0), T.RandomHorizontalFlip(0.0)):
        torch.testing.assert_close(aug(x, generator=_g()), x, atol=atol, rtol=0)


def test_exact_rotation_and_translation():
    x = _images((3, 1, 8, 8), torch.float64)
    theta = T.affine_matrix(3, (8, 8), rotation=90.0, dtype=torch.float64)
    torch.testing.assert_close(
        T.warp_affine(x, theta), torch.rot90(x, -1, (-2, -1)), atol=1e-12, rtol=0
    )
    shifted = T.warp_affine(
        x, T.affine_matrix(3, (8, 8), translation=(2.0, -1.0), dtype=torch.float64)
    )
    expected = torch.zeros_like(x)
    expected[..., :7, 2:] = x[..., 1:, :6]  # right by 2, up by 1, zeros enter
    torch.testing.assert_close(shifted, expected, atol=1e-12, rtol=0)


def test_zoom_and_stretch_preserve_centre_and_move_mass():
    x = torch.zeros(1, 29, 29, dtype=torch.float64)
    x[0, 10:19, 10:19] = 1.0
    big = T.warp_affine(x, T.affine_matrix(1, (29, 29), zoom=1.5, dtype=torch.float64))
    assert big.sum() > 1.5**2 * x.sum() * 0.9
    wide = T.warp_affine(x, T.affine_matrix(1, (29, 29), stretch=0.5, dtype=torch.float64))
    cols, rows = (wide[0].sum(0) > 0).sum(), (wide[0].sum(1) > 0).sum()
    assert cols > rows


def test_flip():
    x = _images((2, 1, 4, 5))
    torch.testing.assert_close(T.horizontal_flip(T.horizontal_flip(x)), x)
    torch.testing.assert_close(T.RandomHorizontalFlip(1.0)(x), torch.flip(x, (-1,)))


def test_elastic_field_smoothness():
    rough = T.elastic_field(8, (28, 28), alpha=1.0, sigma=1.0, generator=_g())
    smooth = T.elastic_field(8, (28, 28), alpha=1.0, sigma=6.0, generator=_g())

    def roughness(d):
        return (d[:, 1:] - d[:, :-1]).abs().mean() / d.abs().mean()

    assert roughness(smooth) < roughness(rough)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, C, H, W\)"):
        T.RandomAffine(rotation=5)(torch.rand(28, 28))
    with pytest.raises(TypeError, match="floating"):
        T.ElasticDistortion()(torch.zeros(2, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="rotation"):
        T.RandomAffine(rotation=-1)
    with pytest.raises(ValueError, match="zoom"):
        T.RandomAffine(zoom=1.0)
    with pytest.raises(ValueError, match="sigma"):
        T.ElasticDistortion(sigma=0.0)
    with pytest.raises(ValueError, match="theta"):
        T.warp_affine(torch.rand(2, 8, 8), torch.zeros(3, 2, 3))
    with pytest.raises(ValueError, match="zoom"):
        T.affine_matrix(1, (8, 8), zoom=0.0)
    with pytest.raises(TypeError, match="callable"):
        T.Compose([1])
