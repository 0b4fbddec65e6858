"""Part I operations: gradcheck, agreement with torch.nn.functional, properties, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import dlbook.functional as F
from dlbook.nn import ReLU, Sigmoid, Softmax, Tanh

DT = torch.float64


def _rand(shape, seed, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=DT) * scale)


shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)


# -- gradcheck ---------------------------------------------------------------

@pytest.mark.parametrize("fn", [F.sigmoid, F.tanh])
def test_gradcheck_smooth_activations(fn):
    x = _rand((3, 4), 0).requires_grad_()
    assert torch.autograd.gradcheck(fn, (x,))


def test_gradcheck_relu_away_from_kink():
    x = _rand((3, 4), 1)
    x = (x + 0.1 * torch.sign(x)).requires_grad_()  # keep |x| > 0.1 from the kink
    assert torch.autograd.gradcheck(F.relu, (x,))


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gradcheck_softmax_and_log_softmax(beta, dim):
    x = _rand((3, 4, 2), 2).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: F.softmax(t, beta=beta, dim=dim), (x,))
    assert torch.autograd.gradcheck(lambda t: F.log_softmax(t, beta=beta, dim=dim), (x,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_cross_entropy(reduction):
    x = _rand((5, 4), 3).requires_grad_()
    y = torch.tensor([0, 3, 1, 1, 2])
    probs = torch.softmax(_rand((5, 4), 4), dim=1)
    assert torch.autograd.gradcheck(lambda t: F.cross_entropy(t, y, reduction), (x,))
    assert torch.autograd.gradcheck(lambda t: F.cross_entropy(t, probs, reduction), (x,))


# -- agreement with torch.nn.functional ------------------------------------------

def _close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_activations_match_torch(shape, seed):
    x = _rand(shape, seed)
    g = _rand(shape, seed + 1)
    for ours, ref in [(F.sigmoid, torch.sigmoid), (F.tanh, torch.tanh), (F.relu, torch.relu)]:
        a = x.clone().requires_grad_()
        b = x.clone().requires_grad_()
        ya, yb = ours(a), ref(b)
        _close(ya, yb)
        ya.backward(g)
        yb.backward(g)
        _close(a.grad, b.grad)


@given(shape=shapes, seed=st.integers(0, 2**16), data=st.data(),
       beta=st.floats(0.0, 5.0, allow_nan=False))
def test_softmax_family_matches_torch(shape, seed, data, beta):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _rand(shape, seed)
    g = _rand(shape, seed + 1)
    for ours, ref in [(F.softmax, TF.softmax), (F.log_softmax, TF.log_softmax)]:
        a = x.clone().requires_grad_()
        b = x.clone().requires_grad_()
        ya, yb = ours(a, beta=beta, dim=dim), ref(beta * b, dim=dim)
        _close(ya, yb)
        ya.backward(g)
        yb.backward(g)
        _close(a.grad, b.grad)


@given(n=st.integers(1, 6), c=st.integers(1, 6), seed=st.integers(0, 2**16),
       reduction=st.sampled_from(["mean", "sum", "none"]), soft=st.booleans())
def test_cross_entropy_matches_torch(n, c, seed, reduction, soft):
    x = _rand((n, c), seed)
    g = torch.Generator().manual_seed(seed)
    target = torch.softmax(_rand((n, c), seed + 1), 1) if soft else torch.randint(c, (n,), generator=g)
    a = x.clone().requires_grad_()
    b = x.clone().requires_grad_()
    la, lb = F.cross_entropy(a, target, reduction), TF.cross_entropy(b, target, reduction=reduction)
    _close(la, lb)
    upstream = _rand(la.shape, seed + 2)
    la.backward(upstream)
    lb.backward(upstream)
    _close(a.grad, b.grad)


def test_cross_entropy_gradient_is_yhat_minus_y():
    x = _rand((4, 3), 5).requires_grad_()
    y = torch.tensor([2, 0, 1, 1])
    F.cross_entropy(x, y, reduction="sum").backward()
    expected = torch.softmax(x.detach(), 1) - TF.one_hot(y, 3).to(DT)
    _close(x.grad, expected)


def test_softmax_jacobian_closed_form():
    beta = 1.7
    z = _rand((5,), 6)
    J = torch.autograd.functional.jacobian(lambda t: F.softmax(t, beta=beta), z)
    s = F.softmax(z, beta=beta)
    _close(J, beta * (torch.diag(s) - torch.outer(s, s)))


# -- properties -------------------------------------------------------------------

@given(shape=shapes, seed=st.integers(0, 2**16), shift=st.floats(-100, 100),
       beta=st.floats(0.01, 10.0))
def test_softmax_sums_to_one_and_is_shift_invariant(shape, seed, shift, beta):
    x = _rand(shape, seed)
    s = F.softmax(x, beta=beta, dim=-1)
    _close(s.sum(-1), torch.ones(shape[:-1], dtype=DT))
    torch.testing.assert_close(F.softmax(x + shift, beta=beta, dim=-1), s, rtol=1e-9, atol=1e-12)


@given(signs=st.lists(st.sampled_from([-1.0, 1.0]), min_size=2, max_size=6),
       beta=st.floats(0.0, 3.0))
def test_extreme_logits_stay_finite(signs, beta):
    x = torch.tensor(signs, dtype=DT) * 1e4
    for out in (F.softmax(x, beta=beta), F.log_softmax(x, beta=beta)):
        assert torch.isfinite(out).all()
    xr = x.clone().requires_grad_()
    loss = F.cross_entropy(xr.unsqueeze(0), torch.tensor([0]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(xr.grad).all()
    assert xr.grad.abs().max() <= 1.0  # the gradient is bounded even when the loss is huge


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_beta_zero_is_uniform(shape, seed):
    s = F.softmax(_rand(shape, seed), beta=0.0, dim=-1)
    _close(s, torch.full(shape, 1.0 / shape[-1], dtype=DT))


def test_activation_values():
    x = torch.tensor([-800.0, -1.0, 0.0, 1.0, 800.0], dtype=DT)
    _close(F.sigmoid(x), torch.sigmoid(x))
    _close(F.tanh(x), torch.tanh(x))
    assert F.sigmoid(torch.tensor(0.0)).item() == 0.5
    assert F.relu(torch.tensor(0.0)).item() == 0.0


def test_modules_wrap_functions():
    x = _rand((2, 3), 7)
    _close(Sigmoid()(x), F.sigmoid(x))
    _close(Tanh()(x), F.tanh(x))
    _close(ReLU()(x), F.relu(x))
    _close(Softmax(beta=2.0, dim=0)(x), F.softmax(x, beta=2.0, dim=0))


# -- errors ----------------------------------------------------------------------

def test_errors_name_the_argument():
    x = torch.zeros(2, 3)
    with pytest.raises(TypeError, match="'input' must be a floating-point tensor"):
        F.softmax(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(IndexError, match=r"dim=2 is out of range .* shape \(2, 3\)"):
        F.softmax(x, dim=2)
    with pytest.raises(ValueError, match="'beta' must lie in"):
        F.softmax(x, beta=-1.0)
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        F.relu([1.0, 2.0])
    with pytest.raises(ValueError, match=r"'target' must have shape \(N,\) = \(2,\)"):
        F.cross_entropy(x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"'input' must have shape \(N, C\)"):
        F.cross_entropy(torch.zeros(3), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        F.cross_entropy(x, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="probability 'target' must have the shape"):
        F.cross_entropy(x, torch.zeros(2, 4))
    with pytest.raises(TypeError, match="'target' must be int64 class indices"):
        F.cross_entropy(x, torch.tensor([True, False]))
    with pytest.raises(ValueError, match="'reduction'"):
        F.cross_entropy(x, torch.tensor([0, 1]), reduction="avg")
