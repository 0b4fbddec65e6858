"""Batch normalization: gradients, agreement with torch, running statistics."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.autograd import gradcheck

import dlbook.nn as dnn
from dlbook.functional import batch_norm
from dlbook.functional.batchnorm import BatchNormFunction

TF = torch.nn.functional


def _rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 3), (3, 2, 4, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck(shape, affine):
    x = _rand(*shape).requires_grad_()
    c = shape[1]
    w = (_rand(c, seed=1) + 2).requires_grad_() if affine else None
    b = _rand(c, seed=2).requires_grad_() if affine else None
    assert gradcheck(lambda *a: BatchNormFunction.apply(*a, 1e-5)[0], (x, w, b))


def test_gradcheck_eval_mode():
    x = _rand(4, 3, 2, 2).requires_grad_()
    w, b = _rand(3, seed=1).requires_grad_(), _rand(3, seed=2).requires_grad_()
    rm, rv = _rand(3, seed=3), _rand(3, seed=4).abs() + 0.5
    assert gradcheck(lambda x, w, b: batch_norm(x, rm, rv, w, b, training=False), (x, w, b))


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 5),
    c=st.integers(1, 4),
    spatial=st.lists(st.integers(1, 4), max_size=2),
    training=st.booleans(),
    momentum=st.floats(0.0, 1.0),
    eps=st.floats(1e-5, 1e-1),
    seed=st.integers(0, 1000),
)
def test_matches_torch(n, c, spatial, training, momentum, eps, seed):
    shape = (n, c, *spatial)
    x = _rand(*shape, seed=seed)
    w, b = _rand(c, seed=seed + 1), _rand(c, seed=seed + 2)
    g = _rand(*shape, seed=seed + 3)
    outs, grads, stats = [], [], []
    for f in (batch_norm, TF.batch_norm):
        xx, ww, bb = (t.clone().requires_grad_() for t in (x, w, b))
        rm, rv = _rand(c, seed=seed + 4), _rand(c, seed=seed + 5).abs() + 0.1
        y = f(xx, rm, rv, ww, bb, training, momentum, eps)
        y.backward(g)
        outs.append(y.detach())
        grads.append((xx.grad, ww.grad, bb.grad))
        stats.append((rm, rv))
    torch.testing.assert_close(outs[0], outs[1])
    for a, b_ in zip(*grads):
        torch.testing.assert_close(a, b_)
    for a, b_ in zip(*stats):
        torch.testing.assert_close(a, b_)


def test_normalized_output_has_mean_zero_variance_one():
    x = _rand(64, 3, 5, 5) * 4 + 7
    y = batch_norm(x, None, None, training=True, eps=0.0)
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(3, dtype=x.dtype))
    torch.testing.assert_close(y.var(dim=(0, 2, 3), unbiased=False), torch.ones(3, dtype=x.dtype))


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("affine", [True, False])
def test_module_running_stats_match_torch_over_steps(momentum, affine):
    ours = dnn.BatchNorm2d(3, momentum=momentum, affine=affine).double()
    ref = torch.nn.BatchNorm2d(3, momentum=momentum, affine=affine).double()
    assert ours.state_dict().keys() == ref.state_dict().keys()
    for step in range(5):
        x = _rand(4, 3, 5, 5, seed=step) * (step + 1) + step
        torch.testing.assert_close(ours(x), ref(x))
    for key, value in ref.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value)
    ours.eval()
    ref.eval()
    x = _rand(2, 3, 5, 5, seed=99)
    torch.testing.assert_close(ours(x), ref(x))


def test_module_without_running_stats_uses_batch_stats_in_eval():
    ours = dnn.BatchNorm1d(4, track_running_stats=False).double().eval()
    ref = torch.nn.BatchNorm1d(4, track_running_stats=False).double().eval()
    x = _rand(6, 4, 3)
    torch.testing.assert_close(ours(x), ref(x))
    assert ours.running_mean is None


def test_module_loads_torch_state_dict():
    ref = torch.nn.BatchNorm1d(4)
    ref(torch.randn(8, 4))
    ours = dnn.BatchNorm1d(4)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 4)
    torch.testing.assert_close(ours.eval()(x), ref.eval()(x))


def test_errors():
    with pytest.raises(ValueError, match="more than one value per channel"):
        batch_norm(torch.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"'weight' must have shape \(C,\)"):
        batch_norm(torch.randn(4, 3), None, None, torch.ones(2), training=True)
    with pytest.raises(ValueError, match="running_mean"):
        batch_norm(torch.randn(4, 3), None, None, training=False)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        dnn.BatchNorm2d(3)(torch.randn(4, 3))
    with pytest.raises(TypeError, match="floating-point"):
        batch_norm(torch.ones(4, 3, dtype=torch.long), None, None, training=True)
