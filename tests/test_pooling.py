"""Pooling: gradients, ties, agreement with torch, errors."""

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.autograd import gradcheck

import dlbook.nn as dnn
from dlbook.functional import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    lp_pool2d,
    max_pool2d,
)

TF = torch.nn.functional


def _rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _compare(ours, ref, x, seed=0):
    results = []
    for f in (ours, ref):
        xx = x.clone().requires_grad_()
        y = f(xx)
        y.backward(_rand(*y.shape, seed=seed + 1))
        results.append((y.detach(), xx.grad))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])


def test_gradchecks():
    x = _rand(2, 3, 7, 6).requires_grad_()
    assert gradcheck(lambda t: max_pool2d(t, 3, 2, 1, 1, True), (x,))
    assert gradcheck(lambda t: avg_pool2d(t, 3, 2, 1, True, False), (x,))
    assert gradcheck(lambda t: adaptive_max_pool2d(t, (3, 4)), (x,))
    assert gradcheck(lambda t: adaptive_avg_pool2d(t, (4, 5)), (x,))
    xp = (x.detach().abs() + 0.5).requires_grad_()
    assert gradcheck(lambda t: lp_pool2d(t, 3.0, 3, 2, True), (xp,))


pool_args = dict(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    k=st.integers(1, 4),
    s=st.integers(1, 4),
    p=st.integers(0, 2),
    d=st.integers(1, 3),
    ceil=st.booleans(),
    seed=st.integers(0, 999),
)


@settings(max_examples=60, deadline=None)
@given(**pool_args, indices=st.booleans())
def test_max_pool_matches_torch(n, c, h, w, k, s, p, d, ceil, seed, indices):
    assume(p <= k // 2 and d * (k - 1) + 1 <= min(h, w) + 2 * p)
    x = _rand(n, c, h, w, seed=seed)
    if TF.max_pool2d(x, k, s, p, d, ceil).isinf().any():
        # torch returns -inf for a window that lies wholly in the padding; we refuse
        with pytest.raises(ValueError, match="holds no input element"):
            max_pool2d(x, k, s, p, d, ceil)
        return
    _compare(
        lambda t: max_pool2d(t, k, s, p, d, ceil), lambda t: TF.max_pool2d(t, k, s, p, d, ceil), x
    )
    if indices:
        _, i1 = max_pool2d(x, k, s, p, d, ceil, return_indices=True)
        _, i2 = TF.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
        assert torch.equal(i1, i2)


@settings(max_examples=60, deadline=None)
@given(**pool_args, include=st.booleans(), divisor=st.sampled_from([None, 3]))
def test_avg_pool_matches_torch(n, c, h, w, k, s, p, d, ceil, seed, include, divisor):
    assume(p <= k // 2 and k <= min(h, w) + 2 * p)
    x = _rand(n, c, h, w, seed=seed)
    _compare(
        lambda t: avg_pool2d(t, k, s, p, ceil, include, divisor),
        lambda t: TF.avg_pool2d(t, k, s, p, ceil, include, divisor),
        x,
    )


@settings(max_examples=40, deadline=None)
@given(**pool_args, norm=st.sampled_from([1.0, 2.0, 3.0, 1.5]))
def test_lp_pool_matches_torch(n, c, h, w, k, s, p, d, ceil, seed, norm):
    assume(k <= min(h, w))
    x = _rand(n, c, h, w, seed=seed).abs() + 0.1
    _compare(
        lambda t: lp_pool2d(t, norm, k, s, ceil), lambda t: TF.lp_pool2d(t, norm, k, s, ceil), x
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    h=st.integers(1, 10),
    w=st.integers(1, 10),
    oh=st.integers(1, 10),
    ow=st.integers(1, 10),
    seed=st.integers(0, 999),
)
def test_adaptive_match_torch(n, c, h, w, oh, ow, seed):
    x = _rand(n, c, h, w, seed=seed)
    _compare(
        lambda t: adaptive_avg_pool2d(t, (oh, ow)),
        lambda t: TF.adaptive_avg_pool2d(t, (oh, ow)),
        x,
    )
    _compare(
        lambda t: adaptive_max_pool2d(t, (oh, ow)),
        lambda t: TF.adaptive_max_pool2d(t, (oh, ow)),
        x,
    )
    assert torch.equal(
        adaptive_max_pool2d(x, (oh, ow), True)[1], TF.adaptive_max_pool2d(x, (oh, ow), True)[1]
    )


def test_ties_go_to_the_first_maximum_like_torch():
    x = torch.tensor([[[[1.0, 5.0, 5.0], [5.0, 2.0, 5.0], [0.0, 5.0, 1.0]]]], dtype=torch.float64)
    for k, s in [(2, 1), (3, 1), (2, 2)]:
        _compare(
            lambda t, k=k, s=s: max_pool2d(t, k, s, ceil_mode=True),
            lambda t, k=k, s=s: TF.max_pool2d(t, k, s, ceil_mode=True),
            x,
        )
    xx = x.clone().requires_grad_()
    max_pool2d(xx, 2, 1).sum().backward()
    # all four windows hold a 5; each sends its gradient to its first 5
    assert xx.grad[0, 0].tolist() == [[0, 2, 0], [1, 0, 1], [0, 0, 0]]
    ones = torch.ones(1, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    adaptive_max_pool2d(ones, 1).sum().backward()
    assert ones.grad[0, 0].tolist() == [[1, 0], [0, 0]]
    # unequal, overlapping adaptive bins full of ties
    tied = torch.randint(0, 2, (2, 3, 7, 5), generator=torch.Generator().manual_seed(0)).double()
    for size in [(3, 2), (4, 3), (5, 4)]:
        _compare(lambda t, s=size: adaptive_max_pool2d(t, s),
                 lambda t, s=size: TF.adaptive_max_pool2d(t, s), tied)
        assert torch.equal(adaptive_max_pool2d(tied, size, True)[1],
                           TF.adaptive_max_pool2d(tied, size, True)[1])


def test_adaptive_max_nan_propagates_like_torch():
    # NaN is the maximum of its bin, as in torch.max; the index points at the first NaN
    x = _rand(2, 3, 7, 9)
    x[0, 1, 2, 3] = float("nan")
    x[1, 2, 5, 5] = x[1, 2, 6, 8] = float("nan")
    ours, ours_index = adaptive_max_pool2d(x, (3, 4), True)
    ref, ref_index = TF.adaptive_max_pool2d(x, (3, 4), True)
    assert ours.isnan().any()
    torch.testing.assert_close(ours, ref, equal_nan=True)
    assert torch.equal(ours_index, ref_index)


def test_lp_pool_limits():
    x = _rand(1, 2, 6, 6).abs()
    torch.testing.assert_close(lp_pool2d(x, 1.0, 2), 4 * avg_pool2d(x, 2))
    torch.testing.assert_close(lp_pool2d(x, 200.0, 2), max_pool2d(x, 2), rtol=0.01, atol=0.0)


def test_modules_match_torch():
    x = _rand(2, 3, 9, 9)
    pairs = [
        (dnn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
        (dnn.AvgPool2d(2, ceil_mode=True), torch.nn.AvgPool2d(2, ceil_mode=True)),
        (dnn.LPPool2d(2, 3), torch.nn.LPPool2d(2, 3)),
        (dnn.AdaptiveMaxPool2d((2, 4)), torch.nn.AdaptiveMaxPool2d((2, 4))),
        (dnn.AdaptiveAvgPool2d((None, 4)), torch.nn.AdaptiveAvgPool2d((None, 4))),
    ]
    for ours, ref in pairs:
        torch.testing.assert_close(ours(x.abs()), ref(x.abs()))


def test_errors():
    x = torch.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="larger than the padded .* of .input."):
        max_pool2d(x, 5)
    with pytest.raises(ValueError, match="at most half the kernel"):
        avg_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        max_pool2d(torch.randn(4, 4), 2)
    with pytest.raises(ValueError, match="norm_type"):
        lp_pool2d(x, -1.0, 2)
    with pytest.raises(ValueError, match="output_size"):
        adaptive_avg_pool2d(x, 0)
