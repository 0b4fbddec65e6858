"""conv2d: syllabus worked examples, gradients, agreement with torch, errors."""

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.autograd import gradcheck

import dlbook.nn as dnn
from dlbook.functional import conv2d, conv_output_size
from dlbook.functional.conv import col2im, im2col

TF = torch.nn.functional


def _rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


# The two filters of the syllabus and the input gradients it gives for a
# 5x5 input and an all-ones upstream gradient (stride 1, no padding).
SYLLABUS = [
    (
        [[3, 8, 3], [2, 7, 9], [5, 0, 2]],
        [
            [3, 11, 14, 11, 3],
            [5, 20, 32, 27, 12],
            [10, 25, 39, 29, 14],
            [7, 14, 25, 18, 11],
            [5, 5, 7, 2, 2],
        ],
    ),
    (
        [[4, 3, 3], [5, 5, 5], [2, 4, 3]],
        [
            [4, 7, 10, 6, 3],
            [9, 17, 25, 16, 8],
            [11, 23, 34, 23, 11],
            [7, 16, 24, 17, 8],
            [2, 6, 9, 7, 3],
        ],
    ),
]


@pytest.mark.parametrize("kernel, expected", SYLLABUS)
def test_syllabus_input_gradient(kernel, expected):
    w = torch.tensor(kernel, dtype=torch.float64).reshape(1, 1, 3, 3)
    x = torch.zeros(1, 1, 5, 5, dtype=torch.float64, requires_grad=True)
    conv2d(x, w).sum().backward()
    expected = torch.tensor(expected, dtype=torch.float64)
    assert torch.equal(x.grad[0, 0], expected)
    # the same matrix is the full correlation of the ones with the flipped filter
    full = TF.conv2d(torch.ones(1, 1, 3, 3, dtype=torch.float64), w.flip(-1, -2), padding=2)
    assert torch.equal(full[0, 0], expected)


def test_output_size_formula():
    for n, k, s, p, d in [(28, 5, 1, 0, 1), (7, 3, 2, 1, 1), (10, 3, 3, 2, 2), (5, 5, 1, 0, 1)]:
        x = torch.zeros(1, 1, n, n)
        y = TF.conv2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
        assert y.shape[-1] == conv_output_size(n, k, s, p, d)


def test_im2col_matches_unfold_and_col2im_matches_fold():
    x = _rand(2, 3, 7, 6)
    k, s, d, p = (3, 2), (2, 1), (1, 2), (1, 2)
    xp = TF.pad(x, (p[1], p[1], p[0], p[0]))
    oh, ow = conv_output_size(7, 3, 2, 1, 1), conv_output_size(6, 2, 1, 2, 2)
    cols = im2col(xp, k, s, d, (oh, ow)).reshape(2, 3 * 6, oh * ow)
    ref = TF.unfold(x, k, dilation=d, padding=p, stride=s)
    torch.testing.assert_close(cols, ref)
    back = col2im(cols.reshape(2, 3, 3, 2, oh, ow), tuple(xp.shape[2:]), s, d)
    ref_back = TF.fold(ref, (7, 6), k, dilation=d, padding=p, stride=s)
    torch.testing.assert_close(back[:, :, 1:8, 2:8], ref_back)


@pytest.mark.parametrize(
    "stride, padding, dilation, groups",
    [(1, 0, 1, 1), (2, 1, 1, 1), ((1, 2), (2, 0), (2, 1), 2), (3, 2, 2, 4)],
)
def test_gradcheck(stride, padding, dilation, groups):
    x = _rand(2, 4, 7, 8).requires_grad_()
    w = _rand(4, 4 // groups, 3, 2, seed=1).requires_grad_()
    b = _rand(4, seed=2).requires_grad_()
    assert gradcheck(lambda x, w, b: conv2d(x, w, b, stride, padding, dilation, groups), (x, w, b))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    groups=st.integers(1, 3),
    cg=st.integers(1, 2),
    og=st.integers(1, 2),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    ph=st.integers(0, 2),
    pw=st.integers(0, 2),
    dh=st.integers(1, 3),
    dw=st.integers(1, 3),
    bias=st.booleans(),
    seed=st.integers(0, 999),
)
def test_matches_torch(n, groups, cg, og, h, w, kh, kw, sh, sw, ph, pw, dh, dw, bias, seed):
    assume(dh * (kh - 1) + 1 <= h + 2 * ph and dw * (kw - 1) + 1 <= w + 2 * pw)
    x = _rand(n, groups * cg, h, w, seed=seed)
    wt = _rand(groups * og, cg, kh, kw, seed=seed + 1)
    b = _rand(groups * og, seed=seed + 2) if bias else None
    args = ((sh, sw), (ph, pw), (dh, dw), groups)
    results = []
    for f in (conv2d, TF.conv2d):
        leaves = [t.clone().requires_grad_() for t in (x, wt, b) if t is not None]
        y = f(leaves[0], leaves[1], leaves[2] if bias else None, *args)
        y.backward(_rand(*y.shape, seed=seed + 3))
        results.append([y.detach(), *(t.grad for t in leaves)])
    for a, b_ in zip(*results):
        torch.testing.assert_close(a, b_)


@pytest.mark.parametrize("small_columns", [0, 1 << 22])
def test_weight_gradient_both_paths_match_torch(monkeypatch, small_columns):
    # 0: one product per example (large batches); 1 << 22: the batch's columns side by side in one product
    import dlbook.functional.conv as conv

    monkeypatch.setattr(conv, "_SMALL_COLUMNS", small_columns)
    # both have more output positions (35 and 36) than _FEW_POSITIONS, the first with two groups
    x, w = _rand(7, 4, 5, 9), _rand(6, 2, 1, 3, seed=1)
    x2 = _rand(3, 2, 8, 8, seed=4)
    w2 = _rand(5, 2, 3, 3, seed=5)
    for inp, wt, groups in ((x, w, 2), (x2, w2, 1)):
        grads = []
        for f in (conv2d, TF.conv2d):
            wl = wt.clone().requires_grad_()
            y = f(inp, wl, None, 1, 0, 1, groups)
            y.backward(_rand(*y.shape, seed=6))
            grads.append(wl.grad)
        torch.testing.assert_close(*grads)


def test_input_gradient_is_transposed_convolution():
    x = _rand(2, 4, 9, 8).requires_grad_()
    w = _rand(6, 2, 3, 3, seed=1)
    y = conv2d(x, w, stride=2, padding=1, groups=2)
    g = _rand(*y.shape, seed=2)
    y.backward(g)
    out_pad = [(n + 2 - 3) - (o - 1) * 2 for n, o in zip(x.shape[2:], y.shape[2:])]
    ref = TF.conv_transpose2d(g, w, stride=2, padding=1, output_padding=out_pad, groups=2)
    torch.testing.assert_close(x.grad, ref)


def test_module_matches_torch_module():
    torch.manual_seed(0)
    ref = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    ours = dnn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    assert ours.weight.shape == ref.weight.shape
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 4, 9, 9)
    torch.testing.assert_close(ours(x), ref(x))


def test_errors():
    x = torch.randn(1, 4, 5, 5)
    with pytest.raises(ValueError, match="larger than the padded .* of .input."):
        conv2d(x, torch.randn(2, 4, 6, 3))
    with pytest.raises(ValueError, match="larger than the padded .* of .input."):
        conv2d(x, torch.randn(2, 4, 3, 3), dilation=3)
    with pytest.raises(ValueError, match="not divisible by groups=3"):
        conv2d(x, torch.randn(3, 1, 3, 3), groups=3)
    with pytest.raises(ValueError, match="expects C = 2"):
        conv2d(x, torch.randn(2, 2, 3, 3))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        conv2d(torch.randn(4, 5, 5), torch.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="'stride' must be >= 1"):
        conv2d(x, torch.randn(2, 4, 3, 3), stride=0)
    with pytest.raises(ValueError, match="divisible by groups"):
        dnn.Conv2d(3, 4, 3, groups=2)
