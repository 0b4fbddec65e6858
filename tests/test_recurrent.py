"""Recurrent cells, whole-sequence layers and modules against autograd and torch.nn."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

import dlbook.functional as F
import dlbook.nn as dnn

F64 = {"dtype": torch.float64}
GATES = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "lstm_cell": 4, "gru_cell": 3}
N, I, H = 3, 2, 4


def _cell_args(name, n=N, seed=0, requires_grad=True):
    g = torch.Generator().manual_seed(seed)
    k = GATES[name] * H

    def t(*shape):
        return torch.randn(*shape, generator=g, **F64).requires_grad_(requires_grad)

    x, h = t(n, I), t(n, H)
    params = (t(k, I), t(k, H) * 0.5, t(k), t(k))
    if name == "lstm_cell":
        return (x, h, t(n, H)), params
    return (x, h), params


def _call(name, inputs, params, module=F):
    fn = getattr(module, name)
    if name == "lstm_cell":
        x, h, c = inputs
        return fn(x, (h, c), *params)
    return fn(*inputs, *params)


@pytest.mark.parametrize("name", sorted(GATES))
def test_cell_matches_torch(name):
    inputs, params = _cell_args(name)
    ours, ref = _call(name, inputs, params), _call(name, inputs, params, module=torch)
    for a, b in zip(ours if isinstance(ours, tuple) else (ours,), ref if isinstance(ref, tuple) else (ref,)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(GATES))
@pytest.mark.parametrize("bias", [True, False])
def test_cell_gradcheck_and_double_backward(name, bias):
    inputs, params = _cell_args(name)
    if not bias:
        params = params[:2]
    nin = len(inputs)

    def f(*args):
        return _call(name, args[:nin], args[nin:])

    assert gradcheck(f, (*inputs, *params))
    assert gradgradcheck(f, (*inputs, *params))


@pytest.mark.parametrize("name", sorted(GATES))
def test_cell_edge_cases(name):
    # empty batch
    inputs, params = _cell_args(name, n=0)
    out = _call(name, inputs, params)
    outs = out if isinstance(out, tuple) else (out,)
    assert all(o.shape == (0, H) for o in outs)
    sum(o.sum() for o in outs).backward()
    assert params[0].grad.abs().sum() == 0
    # non-contiguous input: the same result as the contiguous copy
    inputs, params = _cell_args(name, requires_grad=False)
    x_nc = torch.cat([inputs[0], inputs[0]], dim=1)[:, ::2]
    assert not x_nc.is_contiguous()
    a = _call(name, (x_nc, *inputs[1:]), params)
    b = _call(name, (x_nc.contiguous(), *inputs[1:]), params)
    for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        torch.testing.assert_close(u, v, rtol=0, atol=0)
    # NaN and inf propagate as in torch
    x_bad = inputs[0].clone()
    x_bad[0, 0], x_bad[1, 0] = float("nan"), float("inf")
    ours = _call(name, (x_bad, *inputs[1:]), params)
    ref = _call(name, (x_bad, *inputs[1:]), params, module=torch)
    for u, v in zip(ours if isinstance(ours, tuple) else (ours,), ref if isinstance(ref, tuple) else (ref,)):
        torch.testing.assert_close(u, v, rtol=0, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", sorted(GATES))
def test_cell_errors(name):
    inputs, params = _cell_args(name, requires_grad=False)
    with pytest.raises(ValueError, match=r"'input' must have shape \(N, I\)"):
        _call(name, (inputs[0][0], *inputs[1:]), params)
    with pytest.raises(ValueError, match=r"'weight_ih' must have shape .*\(N, I\)"):
        _call(name, (torch.randn(N, I + 1, **F64), *inputs[1:]), params)
    with pytest.raises(ValueError, match=r"'hx(\[0\])?' must have shape \(N, H\) = \(3, 4\)"):
        _call(name, (inputs[0], torch.randn(N + 1, H, **F64), *inputs[2:]), params)
    with pytest.raises(ValueError, match=r"'bias_hh' must have shape"):
        _call(name, inputs, (*params[:3], params[3][:-1]))
    with pytest.raises(TypeError, match="floating-point"):
        _call(name, (inputs[0].long(), *inputs[1:]), params)


# --------------------------------------------------------------------------
# whole sequences
# --------------------------------------------------------------------------


def _pair(mode, layers, bidirectional, batch_first, bias=True, nonlinearity="tanh", seed=0):
    torch.manual_seed(seed)
    kw = {"num_layers": layers, "bias": bias, "batch_first": batch_first, "bidirectional": bidirectional}
    if mode == "RNN":
        kw["nonlinearity"] = nonlinearity
    ref = getattr(torch.nn, mode)(I, H, **kw).double()
    ours = getattr(dnn, mode)(I, H, **kw).double()
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def _forward_backward(model, x, hx):
    out, h = model(x, hx)
    states = h if isinstance(h, tuple) else (h,)
    w = torch.linspace(-1, 1, out.numel(), **F64).view_as(out)
    loss = (out * w).sum() + sum((s * s).sum() for s in states)
    leaves = [x, *model.parameters()]
    if hx is not None:
        leaves += list(hx) if isinstance(hx, tuple) else [hx]
    return (out, *states, *torch.autograd.grad(loss, leaves))


CASES = list(itertools.product(["RNN", "LSTM", "GRU"], [1, 2, 3], [False, True], [False, True], [False, True], [1, 5]))


@pytest.mark.parametrize("mode,layers,bidirectional,with_state,batch_first,steps", CASES)
def test_module_matches_torch(mode, layers, bidirectional, with_state, batch_first, steps):
    ours, ref = _pair(mode, layers, bidirectional, batch_first)
    g = torch.Generator().manual_seed(1)
    n = 2
    x = torch.randn(*((n, steps) if batch_first else (steps, n)), I, generator=g, **F64).requires_grad_()
    hx = None
    if with_state:
        shape = ((2 if bidirectional else 1) * layers, n, H)
        hx = torch.randn(shape, generator=g, **F64).requires_grad_()
        if mode == "LSTM":
            hx = (hx, torch.randn(shape, generator=g, **F64).requires_grad_())
    for a, b in zip(_forward_backward(ours, x, hx), _forward_backward(ref, x, hx)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_module_variants_match_torch(mode):
    """No bias, the ReLU RNN, unbatched input, a non-contiguous input and an empty batch."""
    variants = [{"bias": False}, {"nonlinearity": "relu"} if mode == "RNN" else {}]
    for kw in variants:
        ours, ref = _pair(mode, 2, True, False, **kw)
        x = torch.randn(6, 3, I, **F64).requires_grad_()
        for a, b in zip(_forward_backward(ours, x, None), _forward_backward(ref, x, None)):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    ours, ref = _pair(mode, 2, True, False)
    x = torch.randn(6, I, **F64).requires_grad_()  # unbatched (T, I)
    for a, b in zip(_forward_backward(ours, x, None), _forward_backward(ref, x, None)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    x_nc = torch.randn(3, 6, I, **F64).transpose(0, 1).requires_grad_()
    assert not x_nc.is_contiguous()
    for a, b in zip(_forward_backward(ours, x_nc, None), _forward_backward(ref, x_nc, None)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    out, _ = ours(torch.randn(5, 0, I, **F64))
    assert out.shape == (5, 0, 2 * H)


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("reverse", [False, True])
def test_layer_function_gradcheck(mode, reverse):
    g = torch.Generator().manual_seed(2)
    k = {"LSTM": 4, "GRU": 3}.get(mode, 1) * H

    def t(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, **F64) * scale).requires_grad_()

    x, h0, c0 = t(4, 2, I), t(2, H), t(2, H)
    params = (t(k, I), t(k, H, scale=0.5), t(k), t(k))
    if mode == "LSTM":
        assert gradcheck(
            lambda x, h, c, *p: F.recurrent_layer(mode, x, (h, c), *p, reverse=reverse), (x, h0, c0, *params)
        )
    else:
        assert gradcheck(lambda x, h, *p: F.recurrent_layer(mode, x, h, *p, reverse=reverse), (x, h0, *params))


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_double_backward_raises_clear_error(mode):
    model = getattr(dnn, mode)(I, H).double()
    x = torch.randn(3, 2, I, **F64).requires_grad_()
    out, _ = model(x)
    with pytest.raises(RuntimeError, match="first derivatives only.*create_graph=True"):
        torch.autograd.grad(out.sum(), x, create_graph=True)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_nan_and_inf_propagate_like_torch(mode):
    ours, ref = _pair(mode, 1, False, False)
    x = torch.randn(4, 2, I, **F64)
    x[1, 0, 0] = float("nan")
    x[2, 1, 1] = float("inf")
    torch.testing.assert_close(ours(x)[0], ref(x)[0], rtol=0, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_state_dict_loads_both_ways(mode):
    kw = {"num_layers": 2, "bidirectional": True}
    ref, ours = getattr(torch.nn, mode)(I, H, **kw), getattr(dnn, mode)(I, H, **kw)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [(k, v.shape) for k, v in ref.state_dict().items()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    x = torch.randn(5, 3, I)
    ours.load_state_dict(ref.state_dict())
    torch.testing.assert_close(ours(x)[0], ref(x)[0])
    ours.reset_parameters()
    ref.load_state_dict(ours.state_dict())
    torch.testing.assert_close(ours(x)[0], ref(x)[0])


def test_default_init_bounds_and_dropout():
    torch.manual_seed(0)
    lstm = dnn.LSTM(3, 16, num_layers=2, dropout=0.5)
    for p in lstm.parameters():
        assert p.abs().max() <= 0.25 + 1e-7
    x = torch.randn(4, 2, 3)
    lstm.eval()
    a, b = lstm(x)[0], lstm(x)[0]
    torch.testing.assert_close(a, b)  # no dropout in evaluation
    lstm.train()
    torch.manual_seed(1)
    c = lstm(x)[0]
    assert not torch.allclose(a, c)  # dropout between the layers in training


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_module_errors_name_argument_and_shape(mode):
    model = getattr(dnn, mode)(I, H, num_layers=2)
    with pytest.raises(ValueError, match=r"'input' must have last dimension I = input_size = 2"):
        model(torch.randn(5, 3, I + 1))
    with pytest.raises(ValueError, match=r"'input' must have shape \(T, N, I\) \(3-D\)"):
        model(torch.randn(5, 3, 1, I))
    bad = torch.zeros(1, 3, H)
    arg = "hx\\[0\\]" if mode == "LSTM" else "hx"
    with pytest.raises(ValueError, match=rf"'{arg}' must have shape \(D \* num_layers, N, H\) = \(2, 3, 4\)"):
        model(torch.randn(5, 3, I), (bad, bad) if mode == "LSTM" else bad)
    with pytest.raises(ValueError, match="'hidden_size' must be an int >= 1"):
        getattr(dnn, mode)(I, 0)
    with pytest.raises(ValueError, match="'dropout' must be a number in"):
        getattr(dnn, mode)(I, H, dropout=1.5)


# --------------------------------------------------------------------------
# embedding
# --------------------------------------------------------------------------


def test_embedding_gradcheck_and_double_backward():
    idx = torch.tensor([[1, 2, 1], [0, 4, 1]])
    w = torch.randn(5, 3, **F64).requires_grad_()
    assert gradcheck(lambda w: F.embedding(idx, w), (w,))
    assert gradgradcheck(lambda w: F.embedding(idx, w), (w,))


@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_embedding_matches_torch(padding_idx):
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, 6, (4, 7), generator=g)
    w = torch.randn(6, 3, generator=g, **F64)
    w1, w2 = w.clone().requires_grad_(), w.clone().requires_grad_()
    y1 = F.embedding(idx, w1, padding_idx)
    y2 = torch.nn.functional.embedding(idx, w2, padding_idx)
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)
    up = torch.randn(y1.shape, generator=g, **F64)
    (y1 * up).sum().backward()
    (y2 * up).sum().backward()
    torch.testing.assert_close(w1.grad, w2.grad, rtol=0, atol=1e-12)


def test_embedding_is_one_hot_product():
    idx = torch.tensor([3, 0, 3, 2])
    w = torch.randn(5, 2, **F64)
    s = torch.nn.functional.one_hot(idx, 5).to(w.dtype)
    torch.testing.assert_close(F.embedding(idx, w), s @ w)
    w = w.requires_grad_()
    up = torch.randn(4, 2, **F64)
    (F.embedding(idx, w) * up).sum().backward()
    torch.testing.assert_close(w.grad, s.t() @ up)


def test_embedding_edge_cases():
    w = torch.randn(5, 3, **F64).requires_grad_()
    y = F.embedding(torch.zeros(0, 4, dtype=torch.long), w)  # empty batch
    assert y.shape == (0, 4, 3)
    y.sum().backward()
    assert w.grad.abs().sum() == 0
    idx = torch.tensor([[0, 1, 2], [3, 4, 0]]).t()  # non-contiguous indices
    assert not idx.is_contiguous()
    torch.testing.assert_close(F.embedding(idx, w), torch.nn.functional.embedding(idx, w))
    w_bad = w.detach().clone()
    w_bad[1, 0], w_bad[2, 1] = float("nan"), float("inf")
    torch.testing.assert_close(F.embedding(idx, w_bad), w_bad[idx], equal_nan=True)


def test_embedding_errors_and_module():
    w = torch.randn(5, 3)
    with pytest.raises(IndexError, match=r"index 5, outside \[0, V\) = \[0, 5\)"):
        F.embedding(torch.tensor([0, 5]), w)
    with pytest.raises(TypeError, match="integer indices"):
        F.embedding(torch.tensor([0.0]), w)
    with pytest.raises(ValueError, match=r"'weight' must have shape \(V, D\)"):
        F.embedding(torch.tensor([0]), torch.randn(5))
    with pytest.raises(ValueError, match="'padding_idx' must lie in"):
        F.embedding(torch.tensor([0]), w, padding_idx=5)
    torch.manual_seed(0)
    ref = torch.nn.Embedding(7, 3, padding_idx=2)
    ours = dnn.Embedding(7, 3, padding_idx=2)
    assert ours.weight[2].abs().sum() == 0
    ours.load_state_dict(ref.state_dict())
    idx = torch.tensor([[2, 6, 1]])
    torch.testing.assert_close(ours(idx), ref(idx))
    ref.load_state_dict(ours.state_dict())


# --------------------------------------------------------------------------
# gradient clipping
# --------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    from dlbook.optim import clip_grad_norm_

    g = torch.Generator().manual_seed(0)
    grads = [torch.randn(s, generator=g, **F64) for s in [(3, 4), (5,), (2, 2, 2)]]
    ours = [torch.zeros_like(t, requires_grad=True) for t in grads]
    ref = [torch.zeros_like(t, requires_grad=True) for t in grads]
    for a, b, t in zip(ours, ref, grads):
        a.grad, b.grad = t.clone(), t.clone()
    ref.append(torch.zeros(2, requires_grad=True))  # no gradient: skipped by both
    n1 = clip_grad_norm_(ours, max_norm, norm_type)
    n2 = torch.nn.utils.clip_grad_norm_(ref, max_norm, norm_type)
    torch.testing.assert_close(n1, n2)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a.grad, b.grad)
    if max_norm < 1:
        total = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in ours]), norm_type)
        assert total == pytest.approx(max_norm, rel=1e-4)


def test_clip_grad_norm_nonfinite():
    from dlbook.optim import clip_grad_norm_

    p = torch.zeros(2, requires_grad=True)
    p.grad = torch.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert torch.isinf(clip_grad_norm_(p, 1.0))


# --------------------------------------------------------------------------
# dlbook.sequences
# --------------------------------------------------------------------------


def test_adding_problem_targets_and_markers():
    from dlbook.sequences import adding_problem

    x, y = adding_problem(50, 20, torch.Generator().manual_seed(0))
    marks = x[:, :, 1]
    assert torch.equal(marks.sum(0), torch.full((50,), 2.0))
    assert torch.equal(marks[:10].sum(0), torch.ones(50))  # one marker in each half
    torch.testing.assert_close((x[:, :, 0] * marks).sum(0), y)
    with pytest.raises(ValueError, match="'steps' must be at least 2"):
        adding_problem(3, 1)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_unroll_and_state_gradient_norms(mode):
    from dlbook.sequences import state_gradient_norms, unroll

    model = getattr(dnn, mode)(I, H).double()
    x = torch.randn(6, 3, I, **F64)
    hs = unroll(model, x)
    torch.testing.assert_close(torch.stack(hs[1:]), model(x)[0], rtol=0, atol=1e-12)
    norms = state_gradient_norms(model, x)
    assert norms.shape == (7,)
    torch.testing.assert_close(norms[0], torch.tensor(1.0, **F64))
    if mode != "LSTM":  # distance 1 by autograd on the module (one state, no cell to carry)
        prev, _ = model(x[:-1])
        last = prev[-1].detach().requires_grad_()
        out, _ = model(x[-1:], last[None])
        (out[-1] @ torch.full((H,), H**-0.5, **F64)).sum().backward()
        torch.testing.assert_close(norms[1], last.grad.norm(dim=1).mean())
    with pytest.raises(ValueError, match="one-directional"):
        unroll(getattr(dnn, mode)(I, H, bidirectional=True), x)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_unbatched_input_with_initial_state_and_no_grad(mode):
    ours, ref = _pair(mode, 2, True, False)
    x = torch.randn(5, I, **F64)
    h = torch.randn(4, H, **F64)
    hx = (h, torch.randn(4, H, **F64)) if mode == "LSTM" else h
    a, b = ours(x, hx), ref(x, hx)
    torch.testing.assert_close(a[0], b[0], rtol=0, atol=1e-12)
    for u, v in zip(a[1] if mode == "LSTM" else (a[1],), b[1] if mode == "LSTM" else (b[1],)):
        torch.testing.assert_close(u, v, rtol=0, atol=1e-12)
    with torch.no_grad():
        torch.testing.assert_close(ours(x, hx)[0], b[0], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"must have shape \(D \* num_layers, H\) = \(4, 4\)"):
        ours(x, (h[:2], h[:2]) if mode == "LSTM" else h[:2])


def test_embedding_from_pretrained_matches_torch():
    w = torch.randn(5, 3, **F64)
    for freeze in (True, False):
        ours = dnn.Embedding.from_pretrained(w, freeze=freeze, padding_idx=1)
        ref = torch.nn.Embedding.from_pretrained(w, freeze=freeze, padding_idx=1)
        assert ours.weight.requires_grad == ref.weight.requires_grad == (not freeze)
        idx = torch.tensor([1, 4, 1])
        torch.testing.assert_close(ours(idx), ref(idx), rtol=0, atol=0)
    assert ours.weight.data_ptr() != w.data_ptr()
    with pytest.raises(ValueError, match=r"'embeddings' must have shape \(V, D\)"):
        dnn.Embedding.from_pretrained(torch.randn(5))
