"""Gated linear unit, causal convolution, highway layer, windowed attention, adaptive softmax, sampling."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

from dlbook import functional as F
from dlbook.nn import AdaptiveLogSoftmaxWithLoss, GatedConv1d, Highway

D64 = {"dtype": torch.float64}


def _highway_args(n=4, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g, **D64).requires_grad_(),
            torch.randn(d, d, generator=g, **D64).requires_grad_(),
            torch.randn(d, generator=g, **D64).requires_grad_(),
            torch.randn(d, d, generator=g, **D64).requires_grad_(),
            torch.randn(d, generator=g, **D64).requires_grad_()]


def _highway_autograd(x, wh, bh, wt, bt):
    t = torch.sigmoid(x @ wt.t() + bt)
    return t * torch.relu(x @ wh.t() + bh) + (1 - t) * x


# ---------------------------------------------------------------- gradient checks
def test_glu_gradcheck_and_torch():
    x = torch.randn(3, 6, 5, **D64, requires_grad=True)
    assert gradcheck(lambda t: F.glu(t, dim=1), (x,))
    assert gradgradcheck(lambda t: F.glu(t, dim=1), (x,))
    torch.testing.assert_close(F.glu(x, 1), torch.nn.functional.glu(x, 1))


def test_highway_gradcheck_and_autograd():
    args = _highway_args()
    assert gradcheck(F.highway, args)
    assert gradgradcheck(F.highway, args)
    torch.testing.assert_close(F.highway(*args), _highway_autograd(*args))


def test_causal_conv1d_is_causal_and_matches_torch():
    x = torch.randn(2, 3, 9, **D64, requires_grad=True)
    w = torch.randn(4, 3, 3, **D64, requires_grad=True)
    b = torch.randn(4, **D64, requires_grad=True)
    y = F.causal_conv1d(x, w, b)
    ref = torch.nn.functional.conv1d(torch.nn.functional.pad(x, (2, 0)), w, b)
    torch.testing.assert_close(y, ref)
    # changing a future input leaves earlier outputs unchanged
    x2 = x.detach().clone()
    x2[:, :, 5] += 1
    torch.testing.assert_close(F.causal_conv1d(x2, w, b)[:, :, :5], y[:, :, :5])
    assert gradcheck(F.causal_conv1d, (x[:, :, :5].detach().requires_grad_(), w, b))


def _attention_autograd(h, mem, wk, wq, v):
    k = mem.shape[0]
    u = torch.cat((mem, h))
    out, weights = [], []
    for t in range(h.shape[0]):
        win = u[t:t + k]                                     # (k, B, D)
        e = (torch.tanh(win @ wk.t() + (h[t] @ wq.t())) @ v)  # (k, B)
        a = torch.softmax(e, 0)
        out.append((a.unsqueeze(-1) * win).sum(0))
        weights.append(a.t())
    return torch.stack(out), torch.stack(weights)


def test_window_attention_gradcheck_and_loop():
    g = torch.Generator().manual_seed(1)
    h = torch.randn(5, 2, 3, generator=g, **D64, requires_grad=True)
    mem = torch.randn(3, 2, 3, generator=g, **D64, requires_grad=True)
    wk = torch.randn(4, 3, generator=g, **D64, requires_grad=True)
    wq = torch.randn(4, 3, generator=g, **D64, requires_grad=True)
    v = torch.randn(4, generator=g, **D64, requires_grad=True)
    r, a = F.window_attention(h, mem, wk, wq, v)
    r2, a2 = _attention_autograd(h, mem, wk, wq, v)
    torch.testing.assert_close(r, r2)
    torch.testing.assert_close(a, a2)
    assert gradcheck(lambda *t: F.window_attention(*t)[0], (h, mem, wk, wq, v))


def test_window_attention_spans_batches():
    """Two windows with the memory carried equal one window over the concatenation."""
    g = torch.Generator().manual_seed(2)
    h = torch.randn(8, 1, 3, generator=g, **D64)
    wk, wq, v = torch.randn(4, 3, **D64), torch.randn(4, 3, **D64), torch.randn(4, **D64)
    mem = torch.zeros(3, 1, 3, **D64)
    whole, _ = F.window_attention(h, mem, wk, wq, v)
    first, _ = F.window_attention(h[:5], mem, wk, wq, v)
    second, _ = F.window_attention(h[5:], h[2:5], wk, wq, v)
    torch.testing.assert_close(torch.cat((first, second)), whole)


# ---------------------------------------------------------------- adaptive softmax
def _same_weights(ours, ref):
    ref.load_state_dict(ours.state_dict())


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_softmax_matches_torch(head_bias):
    torch.manual_seed(0)
    ours = AdaptiveLogSoftmaxWithLoss(16, 50, cutoffs=[10, 30], div_value=2.0, head_bias=head_bias).double()
    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 50, cutoffs=[10, 30], div_value=2.0, head_bias=head_bias).double()
    _same_weights(ours, ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = torch.randn(40, 16, **D64, requires_grad=True)
    target = torch.randint(0, 50, (40,))
    out, loss = ours(x, target)
    out_r, loss_r = ref(x, target)
    torch.testing.assert_close(out, out_r)
    torch.testing.assert_close(loss, loss_r)
    torch.testing.assert_close(ours.log_prob(x), ref.log_prob(x))
    assert torch.equal(ours.predict(x), ref.predict(x))
    g1 = torch.autograd.grad(loss, [x, *ours.parameters()])
    g2 = torch.autograd.grad(loss_r, [x, *ref.parameters()])
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)


def test_adaptive_softmax_gradcheck():
    torch.manual_seed(0)
    asm = AdaptiveLogSoftmaxWithLoss(6, 12, cutoffs=[4, 8], div_value=2.0).double()
    x = torch.randn(7, 6, **D64, requires_grad=True)
    target = torch.tensor([0, 3, 4, 7, 8, 11, 5])
    assert gradcheck(lambda t: asm(t, target).output, (x,))
    w = asm.tail[0][1].weight
    assert gradcheck(lambda t: torch.func.functional_call(asm, {"tail.0.1.weight": t}, (x, target)).loss, (w,))


def test_adaptive_softmax_bad_input():
    asm = AdaptiveLogSoftmaxWithLoss(4, 10, cutoffs=[5])
    with pytest.raises(ValueError, match="cutoffs"):
        AdaptiveLogSoftmaxWithLoss(4, 10, cutoffs=[5, 3])
    with pytest.raises(ValueError, match="in_features"):
        asm(torch.randn(2, 3), torch.tensor([0, 1]))
    with pytest.raises(IndexError, match="target"):
        asm(torch.randn(2, 4), torch.tensor([0, 10]))


# ---------------------------------------------------------------- edge cases
FUNCS = {
    "glu": (lambda x: F.glu(x, dim=1), lambda x: torch.nn.functional.glu(x, dim=1), (4, 6)),
    "highway": (lambda x: F.highway(x, *[a.detach() for a in _highway_args(d=6)[1:]]),
                lambda x: _highway_autograd(x, *[a.detach() for a in _highway_args(d=6)[1:]]), (4, 6)),
    "causal_conv1d": (lambda x: F.causal_conv1d(x.view(x.shape[0], 2, 3), torch.ones(2, 2, 2, **D64)),
                      lambda x: torch.nn.functional.conv1d(torch.nn.functional.pad(x.view(x.shape[0], 2, 3), (1, 0)),
                                                           torch.ones(2, 2, 2, **D64)), (4, 6)),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_edge_empty_batch(name):
    ours, ref, shape = FUNCS[name]
    x = torch.zeros(0, shape[1], **D64, requires_grad=True)
    y = ours(x)
    assert y.shape == ref(x).shape
    y.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_edge_nan_inf_like_torch(name):
    ours, ref, shape = FUNCS[name]
    x = torch.randn(*shape, **D64)
    x[0, 0], x[1, 1], x[2, 2] = math.nan, math.inf, -math.inf
    torch.testing.assert_close(ours(x), ref(x), equal_nan=True)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_edge_non_contiguous(name):
    ours, ref, shape = FUNCS[name]
    base = torch.randn(shape[1], shape[0], **D64)
    x = base.t().requires_grad_()  # a transposed view
    assert not x.is_contiguous()
    torch.testing.assert_close(ours(x), ref(x))
    g1 = torch.autograd.grad(ours(x).sum(), x)[0]
    g2 = torch.autograd.grad(ref(x).sum(), x)[0]
    torch.testing.assert_close(g1, g2)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_edge_double_backward(name):
    ours, _, shape = FUNCS[name]
    x = torch.randn(*shape, **D64, requires_grad=True)
    assert gradgradcheck(ours, (x,))


def test_bad_arguments_named():
    with pytest.raises(ValueError, match="even"):
        F.glu(torch.randn(2, 3))
    with pytest.raises(ValueError, match="weight_t"):
        F.highway(torch.randn(2, 3), torch.eye(3), torch.zeros(3), torch.eye(2), torch.zeros(3))
    with pytest.raises(ValueError, match="C_in"):
        F.causal_conv1d(torch.randn(1, 2, 5), torch.randn(3, 4, 2))
    with pytest.raises(ValueError, match="memory"):
        F.window_attention(torch.randn(2, 1, 3), torch.randn(2, 2, 3), torch.randn(4, 3), torch.randn(4, 3),
                           torch.randn(4))


# ---------------------------------------------------------------- sampling and modules
def test_sample_tokens_beta():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]]))
    g = torch.Generator().manual_seed(0)
    n = 4000
    draws = torch.stack([F.sample_tokens(logits, 1.0, g) for _ in range(n)]).flatten()
    freq = torch.bincount(draws, minlength=3).double() / n
    torch.testing.assert_close(freq, torch.tensor([0.7, 0.2, 0.1], **D64), atol=0.03, rtol=0)
    uniform = torch.stack([F.sample_tokens(logits, 0.0, g) for _ in range(n)]).flatten()
    assert torch.bincount(uniform, minlength=3).min() > n / 3 - 150
    assert F.sample_tokens(logits, math.inf).item() == 0
    sharp = torch.stack([F.sample_tokens(logits, 10.0, g) for _ in range(200)]).flatten()
    assert (sharp == 0).float().mean() > 0.99
    with pytest.raises(ValueError, match="beta"):
        F.sample_tokens(logits, -1.0)


def test_modules_shapes_and_grads():
    conv = GatedConv1d(3, 4, kernel_size=3).double()
    x = torch.randn(2, 3, 6, **D64, requires_grad=True)
    assert gradcheck(conv, (x,))
    hw = Highway(5).double()
    assert gradcheck(hw, (torch.randn(2, 3, 5, **D64, requires_grad=True),))
