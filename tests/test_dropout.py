"""Tests of dlbook.functional.dropout, dlbook.nn.Dropout and dlbook.regularization."""

import pytest
import torch

from dlbook.functional import dropout
from dlbook.functional.dropout import DropoutFunction
from dlbook.nn import Dropout
from dlbook.regularization import dropout_masks, mc_dropout_predict, softmax_dropout_ensemble


def test_gradcheck_fixed_mask():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    mask = (torch.rand(4, 5, generator=g) < 0.7).double() / 0.7
    assert torch.autograd.gradcheck(lambda t: DropoutFunction.apply(t, mask), (x,))
    assert torch.autograd.gradgradcheck(lambda t: DropoutFunction.apply(t, mask), (x,))


@pytest.mark.parametrize("inverted", [True, False])
def test_gradcheck_seeded(inverted):
    x = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)

    def f(t):
        return dropout(t, 0.3, inverted=inverted, generator=torch.Generator().manual_seed(1))

    assert torch.autograd.gradcheck(f, (x,))


def test_backward_uses_the_same_mask():
    x = torch.randn(100, dtype=torch.float64, requires_grad=True)
    y = dropout(x, 0.4, generator=torch.Generator().manual_seed(3))
    y.sum().backward()
    expected = torch.where(y != 0, 1 / 0.6, 0.0).double()
    torch.testing.assert_close(x.grad, expected)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("inverted", [True, False])
def test_mean_and_variance(p, inverted):
    """On x = 1: inverted has mean 1, variance p/q; standard has mean q, variance pq."""
    n = 1_000_000
    y = dropout(
        torch.ones(n, dtype=torch.float64),
        p,
        inverted=inverted,
        generator=torch.Generator().manual_seed(0),
    )
    q = 1 - p
    mean, var = (1.0, p / q) if inverted else (q, p * q)
    assert abs(y.mean().item() - mean) < 5 * (var / n) ** 0.5
    assert abs(y.var().item() - var) < 0.01 * var
    # evaluation output equals the training expectation
    assert dropout(
        torch.ones(1, dtype=torch.float64), p, training=False, inverted=inverted
    ).item() == pytest.approx(mean)


def test_p_zero_is_identity_and_seed_reproducible():
    x = torch.randn(50)
    assert torch.equal(dropout(x, 0.0), x)
    a = dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    b = dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_bad_p(p):
    with pytest.raises(ValueError, match="'p'"):
        dropout(torch.ones(3), p)
    with pytest.raises(ValueError, match="'p'"):
        Dropout(p)


def test_bad_input_type():
    with pytest.raises(TypeError, match="floating"):
        dropout(torch.ones(3, dtype=torch.long))


def test_module_modes():
    layer = Dropout(0.5, generator=torch.Generator().manual_seed(0))
    x = torch.ones(1000)
    assert torch.equal(layer.eval()(x), x)
    y = layer.train()(x)
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert "p=0.5" in repr(layer)


def test_masks_and_weight_scaling_is_geometric_mean():
    masks, probs = dropout_masks(3, 0.3)
    assert masks.shape == (8, 3) and probs.sum().item() == pytest.approx(1.0)
    g = torch.Generator().manual_seed(0)
    W = torch.randn(4, 8, dtype=torch.float64, generator=g)
    b = torch.randn(4, dtype=torch.float64, generator=g)
    x = torch.randn(8, dtype=torch.float64, generator=g)
    arith, geo = softmax_dropout_ensemble(W, b, x, 0.3)
    torch.testing.assert_close(geo, torch.softmax(0.7 * W @ x + b, 0), rtol=1e-12, atol=1e-14)
    assert (arith - geo).abs().max() > 1e-3
    with pytest.raises(ValueError, match="W"):
        softmax_dropout_ensemble(W, b, x[:3], 0.3)
    with pytest.raises(ValueError, match="'n'"):
        dropout_masks(0, 0.5)


def test_mc_dropout_converges_to_exact_ensemble():
    g = torch.Generator().manual_seed(0)
    lin = torch.nn.Linear(6, 3).double()
    model = torch.nn.Sequential(Dropout(0.5, inverted=False), lin)  # thinned nets: m * x
    x = torch.randn(6, dtype=torch.float64, generator=g)
    exact, _ = softmax_dropout_ensemble(lin.weight.detach(), lin.bias.detach(), x, 0.5)
    mc = mc_dropout_predict(model, x[None].repeat(4000, 1), n_samples=5, generator=g).mean(0)
    assert (mc - exact).abs().max() < 0.01
    assert model.training  # the mode it had before the call is restored
    model.eval()
    mc_dropout_predict(model, x[None], n_samples=1)
    assert not model.training and not model[0].training
    model.train()
    mc_dropout_predict(model, x[None], n_samples=1)
    assert model.training
    with pytest.raises(ValueError, match="n_samples"):
        mc_dropout_predict(model, x[None], n_samples=0)
