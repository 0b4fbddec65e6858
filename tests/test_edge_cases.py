"""Regression tests for issue 12: edge cases that gave NaN, wrong second derivatives or crashes.

One test (or a few) per numbered case of the issue and per "unclear error"
bullet; each failed before its fix. The systematic search over edge cases
is tests/test_parity.py.
"""

from __future__ import annotations

import gzip
import io
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import dlbook.data.download as dl
import dlbook.functional as F
from dlbook.manifold import TSNE, tsne_gradient
from dlbook.nn import BatchNorm2d, Conv2d, Softmax
from dlbook.optim import ProximalGradient, l1_prox

DT = torch.float64
INF = math.inf


def _rand(shape, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=DT) * scale


# -- 1. lp_pool2d: all-zero window ------------------------------------------------

@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_lp_pool_backward_of_all_zero_window_is_zero(p):
    x = torch.tensor([[[[0.0, 0.0, 1.0, 2.0], [0.0, 0.0, 3.0, 4.0]]]], requires_grad=True)
    F.lp_pool2d(x, p, 2).sum().backward()
    xt = x.detach().clone().requires_grad_()
    TF.lp_pool2d(xt, p, 2).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert (x.grad[..., :2] == 0).all()
    torch.testing.assert_close(x.grad, xt.grad)


# -- 2. cross_entropy: -inf among the non-target logits -----------------------------

def test_cross_entropy_with_masked_logit_is_finite():
    x = torch.tensor([[-INF, 0.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, torch.tensor([1]))
    torch.testing.assert_close(loss, torch.tensor(math.log(2.0)))
    loss.backward()
    torch.testing.assert_close(x.grad, torch.tensor([[0.0, -0.5, 0.5]]))


def test_cross_entropy_masked_logit_with_zero_probability_target():
    x = torch.tensor([[-INF, 0.0, 0.0]])
    loss = F.cross_entropy(x, torch.tensor([[0.0, 0.5, 0.5]]))
    torch.testing.assert_close(loss, torch.tensor(math.log(2.0)))


# -- 3. second derivatives ----------------------------------------------------------

def _gradgrad(fn, *inputs):
    return torch.autograd.gradgradcheck(fn, inputs, raise_exception=False)


def test_cross_entropy_second_derivatives():
    x = _rand((3, 4), 0).requires_grad_()
    y = torch.tensor([0, 3, 1])
    probs = torch.softmax(_rand((3, 4), 1), 1).requires_grad_()
    for reduction in ("mean", "sum", "none"):
        assert _gradgrad(lambda t, r=reduction: F.cross_entropy(t, y, r), x)
        assert _gradgrad(lambda t, q, r=reduction: F.cross_entropy(t, q, r), x, probs)


def test_conv2d_second_derivatives():
    for shape, kw in [((2, 2, 4, 4), {}), ((1, 2, 7, 7), dict(stride=2, padding=1, dilation=1))]:
        x = _rand(shape, 2).requires_grad_()
        w = _rand((4, 2, 2, 2), 3).requires_grad_()
        b = _rand((4,), 4).requires_grad_()
        assert _gradgrad(lambda x, w, b, kw=kw: F.conv2d(x, w, b, **kw), x, w, b)
    # grouped, more than 16 output positions (the per-example path)
    x = _rand((2, 4, 6, 6), 5).requires_grad_()
    w = _rand((2, 2, 2, 2), 6).requires_grad_()
    assert _gradgrad(lambda x, w: F.conv2d(x, w, groups=2), x, w)


def test_lp_pool2d_second_derivatives():
    x = (_rand((1, 2, 4, 5), 7).abs() + 0.5).requires_grad_()
    for p in (1.0, 2.0, 3.5):
        assert _gradgrad(lambda t, p=p: F.lp_pool2d(t, p, 2, ceil_mode=True), x)


def test_batch_norm_training_second_derivatives():
    x = _rand((4, 3, 2, 2), 8).requires_grad_()
    w = (_rand((3,), 9) + 2).requires_grad_()
    b = _rand((3,), 10).requires_grad_()
    assert _gradgrad(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b)
    assert _gradgrad(lambda x: F.batch_norm(x, None, None, training=True), x)


# -- 4. softmax: dim is the second positional argument, beta keyword-only ---------

def test_softmax_second_positional_argument_is_dim():
    x = _rand((3, 4), 11)
    torch.testing.assert_close(F.softmax(x, 0), TF.softmax(x, 0))
    torch.testing.assert_close(F.log_softmax(x, 0), TF.log_softmax(x, 0))
    torch.testing.assert_close(Softmax(0)(x), torch.nn.Softmax(0)(x))
    with pytest.raises(TypeError):
        F.softmax(x, 0, 2.0)
    with pytest.raises(TypeError):
        Softmax(0, 2.0)
    torch.testing.assert_close(F.softmax(x, 0, beta=2.0), TF.softmax(2 * x, 0))


# -- 5. cross_entropy: probability targets get a gradient ---------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probability_target_gradient(reduction):
    x = _rand((3, 4), 12)
    p = torch.softmax(_rand((3, 4), 13), 1)
    ours = [x.clone().requires_grad_(), p.clone().requires_grad_()]
    ref = [x.clone().requires_grad_(), p.clone().requires_grad_()]
    la = F.cross_entropy(*ours, reduction=reduction)
    lb = TF.cross_entropy(*ref, reduction=reduction)
    g = _rand(la.shape, 14)
    la.backward(g)
    lb.backward(g)
    assert ours[1].grad is not None
    torch.testing.assert_close(ours[1].grad, ref[1].grad)
    torch.testing.assert_close(ours[0].grad, ref[0].grad)


# -- 6. conv2d: empty kernel ----------------------------------------------------------

def test_conv2d_rejects_empty_kernel():
    with pytest.raises(ValueError, match="'weight'.*kernel"):
        F.conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 0, 0))
    with pytest.raises(ValueError, match="'weight'.*kernel"):
        F.conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 0))


# -- 7. empty batch ------------------------------------------------------------------

@pytest.mark.parametrize("spatial", [(3, 3), (9, 9)])  # 4 and 64 output positions
def test_conv2d_empty_batch_forward_and_backward(spatial):
    x = torch.zeros(0, 2, *spatial, requires_grad=True)
    w = torch.randn(4, 2, 2, 2, requires_grad=True)
    y = F.conv2d(x, w)
    assert y.shape == TF.conv2d(x, w).shape
    y.sum().backward()
    assert x.grad.shape == x.shape and (w.grad == 0).all()


def test_max_pool2d_empty_batch_backward():
    x = torch.zeros(0, 2, 4, 4, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.shape == x.shape


def test_adaptive_max_pool2d_empty_batch():
    x = torch.zeros(0, 2, 5, 5, requires_grad=True)
    y = F.adaptive_max_pool2d(x, 2)
    assert y.shape == (0, 2, 2, 2)
    y.sum().backward()
    assert x.grad.shape == x.shape


def test_softmax_along_empty_dimension():
    x = torch.zeros(2, 0, requires_grad=True)
    for fn in (F.softmax, F.log_softmax):
        y = fn(x, 1)
        assert y.shape == (2, 0)
        y.sum().backward()


def test_batch_norm_training_empty_batch():
    rm, rv = torch.zeros(3), torch.ones(3)
    x = torch.zeros(0, 3, 2, 2, requires_grad=True)
    w = torch.ones(3, requires_grad=True)
    y = F.batch_norm(x, rm, rv, w, None, training=True)
    assert y.shape == x.shape
    y.sum().backward()
    assert (w.grad == 0).all()
    assert (rm == 0).all() and (rv == 1).all()  # as torch: the running statistics stay
    with pytest.raises(ValueError, match="more than one value per channel"):
        F.batch_norm(torch.zeros(1, 3), rm, rv, training=True)


# -- 8. max_pool2d: -inf next to the padding ----------------------------------------

def test_max_pool2d_minus_inf_beside_padding():
    x = torch.tensor([[[[-INF, 1.0], [2.0, 3.0]]]], requires_grad=True)
    y, idx = F.max_pool2d(x, 2, 1, 1, return_indices=True)
    yt, it = TF.max_pool2d(x, 2, 1, 1, return_indices=True)
    torch.testing.assert_close(y, yt)
    assert torch.equal(idx, it)
    y.sum().backward()
    assert torch.isfinite(x.grad).all()
    x = torch.full((1, 1, 2, 2), -INF)
    y, idx = F.max_pool2d(x, 2, 1, 1, return_indices=True)
    yt, it = TF.max_pool2d(x, 2, 1, 1, return_indices=True)
    torch.testing.assert_close(y, yt)
    assert torch.equal(idx, it)


# -- 9. corrupted .gz inside the deflate stream ---------------------------------------

def _damaged_gzip(raw: bytes) -> bytes:
    data = bytearray(gzip.compress(raw))
    for i in range(12, len(data) - 8):  # the deflate stream, after the header
        data[i] ^= 0xFF
    return bytes(data)


def test_gzip_damaged_inside_the_stream_is_corrupt_not_a_crash(tmp_path):
    raw = bytes(range(256)) * 64
    damaged = _damaged_gzip(raw)
    with pytest.raises(Exception) as info:  # what the old code let through
        gzip.decompress(damaged)
    assert not isinstance(info.value, (OSError, EOFError))
    path = tmp_path / "x.gz"
    path.write_bytes(damaged)
    assert dl.verify(path, "0" * 64) is False


def test_gzip_damaged_inside_the_stream_is_downloaded_again(tmp_path, monkeypatch):
    from tests.test_data import _fake_mnist

    contents = _fake_mnist(tmp_path, monkeypatch)
    name = "train-labels-idx1-ubyte.gz"
    target = tmp_path / "mnist" / name
    good = target.read_bytes()
    target.write_bytes(_damaged_gzip(contents[name]))
    with pytest.raises(dl.DataNotAvailableError, match="is corrupt"):
        dl.fetch("mnist", name, root=tmp_path, download=False)

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(good))}

    monkeypatch.setattr(dl.urllib.request, "urlopen", lambda url, timeout: Response(good))
    assert dl.fetch("mnist", name, root=tmp_path) == target.resolve()
    assert target.read_bytes() == good


# -- 10. ProximalGradient checkpoints --------------------------------------------------

@pytest.mark.parametrize("accelerated", [False, True])
def test_proximal_gradient_state_dict_saves_with_weights_only(tmp_path, accelerated):
    def run(opt, x, steps):
        for _ in range(steps):
            opt.zero_grad()
            (0.5 * (x - 3) ** 2).sum().backward()
            opt.step()

    x = torch.zeros(2, requires_grad=True)
    opt = ProximalGradient([x], lr=0.5, prox=l1_prox(0.5), accelerated=accelerated)
    run(opt, x, 2)
    torch.save({"x": x.detach(), "opt": opt.state_dict()}, tmp_path / "ckpt.pt")
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert "prox" not in saved["opt"]["param_groups"][0]
    run(opt, x, 3)
    # resume from the checkpoint in a fresh optimizer: same iterates
    x2 = saved["x"].clone().requires_grad_()
    opt2 = ProximalGradient([x2], lr=0.5, prox=l1_prox(0.5), accelerated=accelerated)
    opt2.load_state_dict(saved["opt"])
    assert callable(opt2.param_groups[0]["prox"])
    run(opt2, x2, 3)
    torch.testing.assert_close(x2, x)


# -- unclear errors -----------------------------------------------------------------

def test_float_stride_and_kernel_size_are_named():
    x = torch.zeros(1, 1, 4, 4)
    w = torch.zeros(1, 1, 2, 2)
    with pytest.raises(TypeError, match="'stride'"):
        F.conv2d(x, w, stride=1.0)
    with pytest.raises(TypeError, match="'kernel_size'"):
        F.max_pool2d(x, 2.0)
    with pytest.raises(TypeError, match="'kernel_size'"):
        F.avg_pool2d(x, 2.0)
    with pytest.raises(TypeError, match="'stride'"):
        F.lp_pool2d(x, 2.0, 2, stride=1.5)
    with pytest.raises(TypeError, match="'kernel_size'"):
        Conv2d(1, 1, 2.0)


def test_mixed_dtypes_are_named():
    with pytest.raises(TypeError, match="'weight'.*float64.*'input'.*float32"):
        F.conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2, dtype=DT))
    with pytest.raises(TypeError, match="'bias'"):
        F.conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2), torch.zeros(1, dtype=DT))
    P = torch.full((3, 3), 1 / 6, dtype=torch.float32).fill_diagonal_(0)
    with pytest.raises(TypeError, match="'P'.*'Y'"):
        tsne_gradient(P, torch.zeros(3, 2, dtype=DT))


def test_groups_zero_is_named():
    with pytest.raises(ValueError, match="'groups'"):
        Conv2d(2, 2, 1, groups=0)
    with pytest.raises(ValueError, match="'groups'"):
        F.conv2d(torch.zeros(1, 2, 3, 3), torch.zeros(2, 2, 1, 1), groups=0)


@pytest.mark.parametrize("method", ["exact", "fft"])
def test_tsne_init_with_nan_is_named(method):
    X = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    init = np.zeros((40, 2))
    init[3, 1] = np.nan
    with pytest.raises(ValueError, match="init"):
        TSNE(perplexity=5, method=method, init=init, n_iter=10).fit(X)


def test_batch_norm_module_names_num_features():
    bn = BatchNorm2d(3)
    for mode in (bn.train(), bn.eval()):
        with pytest.raises(ValueError, match=r"num_features=3.*4 channels"):
            mode(torch.randn(2, 4, 3, 3))


def test_infinite_beta_is_rejected():
    x = torch.zeros(3)
    for fn in (F.softmax, F.log_softmax):
        with pytest.raises(ValueError, match="'beta'"):
            fn(x, beta=INF)


def test_tsne_gradient_rejects_asymmetric_P():
    P = torch.tensor([[0.0, 0.4, 0.1], [0.1, 0.0, 0.1], [0.1, 0.1, 0.0]], dtype=DT)
    with pytest.raises(ValueError, match="'P'.*symmetric"):
        tsne_gradient(P, torch.zeros(3, 2, dtype=DT))


# -- found by tests/test_parity.py beyond the list ------------------------------

def test_adaptive_avg_pool_keeps_inf_in_its_own_bin():
    x = torch.zeros(1, 1, 4, 4, dtype=DT)
    x[0, 0, 0, 0] = INF
    x[0, 0, 3, 3] = math.nan
    y = F.adaptive_avg_pool2d(x, 2)
    torch.testing.assert_close(y, TF.adaptive_avg_pool2d(x, 2), equal_nan=True)
    assert y[0, 0, 0, 1] == 0 and y[0, 0, 1, 0] == 0


def test_cross_entropy_gradient_for_targets_that_do_not_sum_to_one():
    x = _rand((3, 4), 15)
    p = torch.softmax(_rand((3, 4), 16), 1) * 3
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    F.cross_entropy(a, p, "sum").backward()
    TF.cross_entropy(b, p, reduction="sum").backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_relu_passes_the_gradient_of_nan_as_torch():
    x = torch.tensor([-1.0, math.nan, 2.0], requires_grad=True)
    F.relu(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([0.0, 1.0, 1.0]))


def test_adaptive_pool_rejects_float_sizes_by_name():
    x = torch.zeros(1, 1, 5, 5)
    for fn in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
        for size in (2.5, (2.5, 3)):
            with pytest.raises(TypeError, match="'output_size'"):
                fn(x, size)


def test_kernel_larger_than_input_names_the_arguments():
    x = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="'weight'.*'input'"):
        F.conv2d(x, torch.zeros(1, 1, 5, 5))
    with pytest.raises(ValueError, match="'kernel_size'.*'input'"):
        F.max_pool2d(x, 5)
