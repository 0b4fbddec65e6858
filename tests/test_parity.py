"""Torch parity over edge cases: one table entry per public function of ``dlbook.functional``.

In the spirit of PyTorch's OpInfo, ``REGISTRY`` maps every name in
``dlbook.functional.__all__`` to an :class:`Entry`: the dlbook function,
its ``torch.nn.functional`` reference with the same call signature, and a
generator of sample inputs that covers the edge cases (batch 0 and 1,
non-contiguous and channels_last inputs, negative dims, ±inf, NaN and
±1e30 entries, all-zero and all-equal windows, the smallest legal sizes).
For every sample the tests check

* forward values (NaN-aware: NaN where torch has NaN, and nowhere else),
  and any tensor argument changed in place (running statistics);
* the gradient of every tensor argument that requires one (also inside a
  tuple argument, such as an LSTM state ``(h, c)``), for the same random
  upstream gradient of every floating-point output;
* second derivatives: ``gradgradcheck`` on ``Entry.gradgrad`` samples, or,
  for ``double_backward="once_differentiable"``, that a double backward
  raises torch's clear error, or, for ``double_backward="raises:<regex>"``,
  that ``create_graph=True`` raises a ``RuntimeError`` matching ``<regex>``
  (the recurrent layers, first derivatives only);
* that each invalid argument in ``Entry.invalid`` raises a ``ValueError``
  or ``TypeError`` (``IndexError`` for an out-of-range ``dim``, as torch)
  whose message names the argument.

``test_every_public_function_has_an_entry`` fails when a name in
``dlbook.functional.__all__`` has no entry, so a Function added later must
join the table.

How to add a Function
---------------------
1. Write ``_name_samples(dtype) -> list[Sample]`` (it runs for float64 and
   float32). Build each input with :func:`rand` (and :func:`noncontig`,
   :func:`channels_last`, :func:`specials`, :func:`empty_batch`) in
   ``dtype``; mark the tensors whose gradient is compared with
   ``.requires_grad_()`` (integer inputs, such as indices, simply are not
   marked). ``Sample(args, kwargs, name)``: the call is
   ``fn(*args, **kwargs)`` for both implementations (each gets its own copies
   of the tensors, with the same strides, and of the generators). Cover the bullet list above that applies;
   ``test_every_entry_covers_the_edge_cases`` requires a sample whose name
   contains ``batch0`` and one whose name contains ``specials``.
2. Add ``"name": Entry(ours=F.name, ref=<torch reference>, samples=...,
   gradgrad=<few small float64 samples away from kinks>,
   invalid=[Invalid(call, "argument"), ...])`` to ``REGISTRY``. A
   reference whose signature differs from torch's is a small lambda. Set
   ``double_backward="once_differentiable"`` if the backward is decorated
   so, and list deliberate deviations from torch in ``known`` (sample name
   to reason), which skips the value comparison of that sample only.
   A bug the suite finds in code you may not change yet is marked
   ``xfail(strict=True)`` with its reason: ``Entry.xfail`` (sample name, or
   ``"name-float32"``, or ``"gradgrad-name"``, to reason) and
   ``Invalid(..., xfail=reason)``; the test fails once the bug is fixed, so
   the mark goes with the fix.
3. Keep shapes tiny: the whole module must run in a few seconds per entry.

For a recurrent cell such as ``lstm_cell(input, (h, c), w_ih, w_hh, b_ih,
b_hh)`` the reference is ``torch.lstm_cell`` (what ``torch.nn.LSTMCell``
calls); the samples are the state and weight tensors with batch 0 and 1, a
non-contiguous input, 1e30 and NaN entries, and hidden size 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import torch
import torch.nn.functional as TF

import dlbook.functional as F

DT = torch.float64
INF, NAN = math.inf, math.nan


# -- sample inputs -------------------------------------------------------------------

def rand(*shape, seed=0, dtype=DT, scale=1.0, low=None):
    """Seeded normal entries (``low``: uniform in ``[low, low + scale)`` instead)."""
    g = torch.Generator().manual_seed(seed)
    if low is not None:
        return low + scale * torch.rand(shape, generator=g, dtype=dtype)
    return scale * torch.randn(shape, generator=g, dtype=dtype)


def noncontig(x):
    """The same values in a non-contiguous tensor (every other element of a wider buffer)."""
    out = torch.stack([x, torch.full_like(x, 7.0)], dim=-1)[..., 0]
    assert x.numel() <= 1 or not out.is_contiguous()
    return out


def channels_last(x):
    """The same values stored channels_last (``(N, H, W, C)`` in memory)."""
    return x.contiguous(memory_format=torch.channels_last)


def specials(x, values=(INF, -INF, NAN, 1e30, -1e30), start=0):
    """A copy with ``values`` written at the flat positions ``start, start + 1, ...``."""
    x = x.clone()
    flat = x.view(-1)
    for i, v in enumerate(values):
        flat[(start + i) % flat.numel()] = v
    return x


def empty_batch(*shape, dtype=DT):
    return torch.zeros(0, *shape, dtype=dtype)


@dataclass
class Sample:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    name: str = ""


@dataclass
class Invalid:
    """``call(fn)`` must raise a ValueError or TypeError whose message names ``argument``."""

    call: Callable
    argument: str
    error: tuple = (ValueError, TypeError)
    xfail: str = ""  # a known bug, not yet fixed: why (the test is xfail(strict=True))


@dataclass
class Entry:
    ours: Callable
    ref: Callable
    samples: Callable  # dtype -> list[Sample]
    gradgrad: Callable = lambda: []  # -> list[Sample], float64, finite, away from kinks
    invalid: list = field(default_factory=list)
    double_backward: str = "yes"  # or "once_differentiable"
    differentiable: bool = True
    known: dict = field(default_factory=dict)  # sample name -> why we differ from torch
    rtol: float = 1e-7
    atol: float = 1e-10
    # known bugs, not yet fixed: sample name (or "name-float32") -> why; xfail(strict=True)
    xfail: dict = field(default_factory=dict)


# -- element-wise functions ------------------------------------------------------------

def _elementwise_samples(dtype):
    x = rand(2, 3, 4, seed=1, dtype=dtype, scale=3.0)
    return [
        Sample((x.clone().requires_grad_(),), name="3d"),
        Sample((rand(seed=2, dtype=dtype).requires_grad_(),), name="0d"),
        Sample((rand(1, seed=3, dtype=dtype).requires_grad_(),), name="one"),
        Sample((torch.zeros(0, 3, dtype=dtype).requires_grad_(),), name="batch0"),
        Sample((noncontig(x).requires_grad_(),), name="noncontig"),
        Sample((x.transpose(0, 2).requires_grad_(),), name="transposed"),
        Sample((specials(x).requires_grad_(),), name="specials"),
        Sample((torch.tensor([-800.0, -40.0, 0.0, 40.0, 800.0], dtype=dtype).requires_grad_(),),
               name="saturated"),
        Sample((torch.zeros(2, 2, dtype=dtype).requires_grad_(),), name="zeros"),
    ]


def _elementwise_gradgrad():
    x = rand(2, 3, seed=4)
    return [Sample(((x + 0.2 * torch.sign(x)).requires_grad_(),), name="away-from-0")]


def _elementwise_invalid(fn):
    return [
        Invalid(lambda: fn([1.0, 2.0]), "input"),
        Invalid(lambda: fn(torch.zeros(3, dtype=torch.long)), "input"),
    ]


def _dropout_ref(input, p=0.5, training=True, inverted=True, generator=None):
    """The definition with the same mask: keep where ``rand < 1 - p``, as dlbook draws it."""
    q = 1.0 - p
    if not training:
        return input if inverted else input * q
    keep = (torch.rand(input.shape, generator=generator) < q).to(input.dtype)
    return input * keep / q if inverted else input * keep


def _dropout_samples(dtype):
    out = []
    for s in _elementwise_samples(dtype):
        (x,) = s.args
        out.append(Sample((x, 0.3), dict(generator=torch.Generator().manual_seed(5)),
                          name=s.name))
    x = rand(3, 4, seed=6, dtype=dtype)
    out += [
        Sample((x.clone().requires_grad_(), 0.0), name="p0"),
        Sample((x.clone().requires_grad_(), 0.5, False), name="eval"),
        Sample((x.clone().requires_grad_(), 0.5, False, False), name="eval-standard"),
        Sample((x.clone().requires_grad_(), 0.25, True, False),
               dict(generator=torch.Generator().manual_seed(7)), name="standard"),
    ]
    return out


def _dropout_invalid():
    x = torch.zeros(3)
    return [
        Invalid(lambda: F.dropout(x, 1.0), "p"),
        Invalid(lambda: F.dropout(x, -0.1), "p"),
        Invalid(lambda: F.dropout(x, NAN), "p"),
        Invalid(lambda: F.dropout(x, "0.5"), "p"),
        *_elementwise_invalid(F.dropout),
    ]


# -- softmax family ----------------------------------------------------------------------

def _softmax_ref(fn):
    def ref(input, dim=-1, *, beta=1.0):
        return fn(beta * input, dim)

    return ref


def _softmax_samples(dtype):
    x = rand(2, 3, 4, seed=10, dtype=dtype, scale=3.0)
    masked = x.clone()
    masked[0, 1, :2] = -INF
    masked[1, 2, :] = -INF  # a row of -inf: NaN, as in torch
    rows = torch.tensor([[INF, 0.0, 1.0], [NAN, 0.0, 1.0], [1e30, -1e30, 0.0],
                         [1.0, 1.0, 1.0]], dtype=dtype)
    out = [Sample((x.clone().requires_grad_(), d), name=f"dim{d}") for d in (0, 1, 2, -1, -2, -3)]
    out += [
        Sample((x.clone().requires_grad_(), 1), dict(beta=b), name=f"beta{b}")
        for b in (0.0, 0.5, 3.0)
    ]
    out += [
        Sample((rand(seed=11, dtype=dtype).requires_grad_(),), name="0d"),
        Sample((rand(1, 5, seed=12, dtype=dtype).requires_grad_(), 0), name="one-class"),
        Sample((torch.zeros(0, 4, dtype=dtype).requires_grad_(), -1), name="batch0"),
        Sample((torch.zeros(2, 0, dtype=dtype).requires_grad_(), 1), name="empty-dim"),
        Sample((noncontig(x).requires_grad_(), 1), name="noncontig"),
        Sample((x.permute(2, 0, 1).requires_grad_(), -1), name="permuted"),
        Sample((masked.requires_grad_(), -1), name="minus-inf"),
        Sample((rows.clone().requires_grad_(), 1), name="specials"),
        Sample((rows.clone().requires_grad_(), 0), name="specials-dim0"),
        Sample((torch.full((2, 3), 1e30, dtype=dtype).requires_grad_(), 1), name="huge-equal"),
    ]
    return out


def _softmax_gradgrad():
    return [Sample((rand(2, 3, seed=13).requires_grad_(), d), dict(beta=b), name=f"{d}-{b}")
            for d, b in ((1, 1.0), (0, 2.5))]


def _softmax_invalid(fn):
    x = torch.zeros(2, 3)
    return [
        Invalid(lambda: fn(x, 2), "dim", (IndexError,)),
        Invalid(lambda: fn(x, -3), "dim", (IndexError,)),
        Invalid(lambda: fn(x, 1.0), "dim"),
        Invalid(lambda: fn(x, beta=-1.0), "beta"),
        Invalid(lambda: fn(x, beta=INF), "beta"),
        Invalid(lambda: fn(x, beta=NAN), "beta"),
        *_elementwise_invalid(fn),
    ]


def _ce_ref(input, target, reduction="mean"):
    # dlbook also takes int32 (and smaller) class indices; torch wants int64
    if not target.is_floating_point():
        target = target.long()
    return TF.cross_entropy(input, target, reduction=reduction)


def _ce_samples(dtype):
    x = rand(4, 3, seed=20, dtype=dtype, scale=2.0)
    y = torch.tensor([0, 2, 1, 1])
    prob = torch.softmax(rand(4, 3, seed=21, dtype=dtype), 1)
    out = []
    for red in ("mean", "sum", "none"):
        out += [
            Sample((x.clone().requires_grad_(), y, red), name=f"index-{red}"),
            Sample((x.clone().requires_grad_(), prob.clone().requires_grad_(), red),
                   name=f"prob-{red}"),
            Sample((torch.zeros(0, 3, dtype=dtype).requires_grad_(),
                    torch.zeros(0, dtype=torch.long), red), name=f"batch0-{red}"),
        ]
    masked = x.clone()
    masked[0, 1] = -INF
    masked[2, 0] = -INF
    out += [
        Sample((x[:1].clone().requires_grad_(), y[:1]), name="batch1"),
        Sample((rand(3, 1, seed=22, dtype=dtype).requires_grad_(), torch.zeros(3, dtype=torch.long)),
               name="one-class"),
        Sample((noncontig(x).requires_grad_(), y), name="noncontig"),
        Sample((x.T.contiguous().T.requires_grad_(), y), name="transposed"),
        Sample((x.clone().requires_grad_(), y.int()), name="int32-target"),
        Sample((masked.clone().requires_grad_(), y, "none"), name="masked"),
        Sample((masked.clone().requires_grad_(),
                torch.tensor([[0.0, 0.0, 1.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5]],
                             dtype=dtype), "none"), name="masked-prob"),
        Sample((torch.tensor([[1e30, 0.0, -1e30], [NAN, 0.0, 1.0], [INF, 0.0, 0.0],
                              [1e4, -1e4, 0.0]], dtype=dtype).requires_grad_(), y, "none"),
               name="specials"),
        Sample((x.clone().requires_grad_(), (prob * 3).requires_grad_(), "none"),
               name="unnormalised-prob"),
    ]
    return out


def _ce_gradgrad():
    x = rand(3, 4, seed=23).requires_grad_()
    prob = torch.softmax(rand(3, 4, seed=24), 1).requires_grad_()
    return [Sample((x, torch.tensor([0, 3, 1]), r), name=r) for r in ("mean", "none")] + [
        Sample((x, prob, "sum"), name="prob")
    ]


def _ce_invalid():
    x = torch.zeros(2, 3)
    return [
        Invalid(lambda: F.cross_entropy(x, torch.tensor([0, 3])), "target"),
        Invalid(lambda: F.cross_entropy(x, torch.tensor([0, -1])), "target"),
        Invalid(lambda: F.cross_entropy(x, torch.tensor([0, 1, 2])), "target"),
        Invalid(lambda: F.cross_entropy(x, torch.zeros(2, 4)), "target"),
        Invalid(lambda: F.cross_entropy(x, torch.tensor([True, False])), "target"),
        Invalid(lambda: F.cross_entropy(x, [0, 1]), "target"),
        Invalid(lambda: F.cross_entropy(x, torch.tensor([0, 1]), "avg"), "reduction"),
        Invalid(lambda: F.cross_entropy(torch.zeros(3), torch.tensor([0])), "input"),
        Invalid(lambda: F.cross_entropy(torch.zeros(2, 3, dtype=torch.long), torch.tensor([0, 1])),
                "input"),
    ]


# -- batch normalization -----------------------------------------------------------

def _bn_samples(dtype):
    out = []
    for name, shape in (("2d", (5, 3)), ("3d", (4, 3, 2)), ("4d", (2, 3, 2, 3))):
        x = rand(*shape, seed=30, dtype=dtype, scale=2.0) + 1.0
        w = rand(3, seed=31, dtype=dtype).requires_grad_()
        b = rand(3, seed=32, dtype=dtype).requires_grad_()
        rm, rv = rand(3, seed=33, dtype=dtype), rand(3, seed=34, dtype=dtype, low=0.5)
        for training in (True, False):
            mode = "train" if training else "eval"
            out.append(Sample((x.clone().requires_grad_(), rm.clone(), rv.clone(), w, b, training,
                               0.1, 1e-5), name=f"{name}-{mode}"))
        out.append(Sample((x.clone().requires_grad_(), None, None, None, None, True),
                          name=f"{name}-no-affine"))
    x4 = rand(2, 3, 2, 3, seed=35, dtype=dtype)
    rm, rv = torch.zeros(3, dtype=dtype), torch.ones(3, dtype=dtype)
    w = rand(3, seed=36, dtype=dtype).requires_grad_()
    out += [
        Sample((channels_last(x4).requires_grad_(), rm.clone(), rv.clone(), w, None, True),
               name="channels_last"),
        Sample((noncontig(x4).requires_grad_(), rm.clone(), rv.clone(), None, w, True),
               name="noncontig"),
        Sample((empty_batch(3, 2, 2, dtype=dtype).requires_grad_(), rm.clone(), rv.clone(), w, None, True),
               name="batch0-train"),
        Sample((empty_batch(3, dtype=dtype).requires_grad_(), rm.clone(), rv.clone(), w, None, False),
               name="batch0-eval"),
        Sample((rand(1, 3, 2, 2, seed=37, dtype=dtype).requires_grad_(), rm.clone(), rv.clone(),
                w, None, True), name="batch1-train"),
        Sample((rand(2, 3, seed=38, dtype=dtype).requires_grad_(), rm.clone(), rv.clone(), w, None,
                True), name="two-values"),
        Sample((torch.ones(4, 3, dtype=dtype).requires_grad_(), rm.clone(), rv.clone(), w, None,
                True), name="constant"),
        Sample((torch.ones(4, 3, dtype=dtype).requires_grad_(), rm.clone(), rv.clone(), w, None,
                True, 0.1, 0.0), name="constant-eps0"),
        Sample((specials(rand(4, 3, seed=39, dtype=dtype), (INF, NAN, 1e30)).requires_grad_(),
                rm.clone(), rv.clone(), w, None, True), name="specials-train"),
        Sample((specials(rand(4, 3, seed=39, dtype=dtype)).requires_grad_(), rm.clone(),
                rv.clone(), w, None, False), name="specials-eval"),
        Sample((rand(4, 3, seed=40, dtype=dtype).requires_grad_(), rm.clone(), rv.clone(), w, None,
                True, 0.0), name="momentum0"),
        Sample((rand(4, 3, seed=40, dtype=dtype).requires_grad_(), rm.clone(), rv.clone(), w, None,
                True, 1.0), name="momentum1"),
    ]
    return out


def _bn_gradgrad():
    x = rand(4, 3, 2, seed=41).requires_grad_()
    w = (rand(3, seed=42) + 2).requires_grad_()
    b = rand(3, seed=43).requires_grad_()
    rm, rv = rand(3, seed=44), rand(3, seed=45, low=0.5)
    return [
        Sample((x, None, None, w, b, True), name="train"),
        Sample((x, None, None, None, None, True), name="train-no-affine"),
        Sample((x, rm, rv, w, b, False), name="eval"),
    ]


def _bn_invalid():
    x = torch.zeros(4, 3)
    rm, rv = torch.zeros(3), torch.ones(3)
    return [
        Invalid(lambda: F.batch_norm(torch.zeros(3), rm, rv), "input"),
        Invalid(lambda: F.batch_norm(x.long(), rm, rv), "input"),
        Invalid(lambda: F.batch_norm(x, torch.zeros(4), rv), "running_mean"),
        Invalid(lambda: F.batch_norm(x, rm, torch.ones(2)), "running_var"),
        Invalid(lambda: F.batch_norm(x, rm, rv, torch.ones(4)), "weight"),
        Invalid(lambda: F.batch_norm(x, rm, rv, None, torch.ones(1)), "bias"),
        Invalid(lambda: F.batch_norm(x, rm, rv, training=True, momentum=1.5), "momentum"),
        Invalid(lambda: F.batch_norm(x, rm, rv, eps=-1.0), "eps"),
        Invalid(lambda: F.batch_norm(x, None, None), "running_mean"),
        Invalid(lambda: F.batch_norm(torch.zeros(1, 3), rm, rv, training=True), "input"),
    ]


# -- convolution ------------------------------------------------------------------------------

def _conv_samples(dtype):
    x = rand(2, 4, 5, 6, seed=50, dtype=dtype)
    w = rand(6, 2, 3, 2, seed=51, dtype=dtype).requires_grad_()
    b = rand(6, seed=52, dtype=dtype).requires_grad_()
    w4 = rand(3, 4, 2, 2, seed=53, dtype=dtype).requires_grad_()
    big = rand(2, 4, 9, 9, seed=54, dtype=dtype)
    out = [
        Sample((x.clone().requires_grad_(), w, b, 1, 0, 1, 2), name="groups2"),
        Sample((x.clone().requires_grad_(), w4, None, 2, 1, 1), name="stride2-pad1"),
        Sample((x.clone().requires_grad_(), w4, None, (1, 2), (1, 0), (2, 1)), name="pairs"),
        Sample((big.clone().requires_grad_(), w4, b[:3]), name="many-positions"),
        Sample((empty_batch(4, 3, 3, dtype=dtype).requires_grad_(), w4), name="batch0-few-positions"),
        Sample((empty_batch(4, 5, 6, dtype=dtype).requires_grad_(), w4), name="batch0-20-positions"),
        Sample((empty_batch(4, 9, 9, dtype=dtype).requires_grad_(), w4, b[:3]), name="batch0-many-positions"),
        Sample((x[:1].clone().requires_grad_(), w4), name="batch1"),
        Sample((channels_last(x).requires_grad_(), channels_last(w4.detach()).requires_grad_()),
               name="channels_last"),
        Sample((noncontig(x).requires_grad_(), noncontig(w4.detach()).requires_grad_()),
               name="noncontig"),
        Sample((rand(1, 1, 2, 3, seed=55, dtype=dtype).requires_grad_(),
                rand(1, 1, 2, 3, seed=56, dtype=dtype).requires_grad_()), name="kernel-is-input"),
        Sample((rand(1, 1, 1, 1, seed=57, dtype=dtype).requires_grad_(),
                rand(2, 1, 1, 1, seed=58, dtype=dtype).requires_grad_()), name="1x1"),
        Sample((rand(1, 1, 1, 1, seed=57, dtype=dtype).requires_grad_(),
                rand(1, 1, 3, 3, seed=58, dtype=dtype).requires_grad_(), None, 1, 1), name="pad-only"),
        Sample((x.clone().requires_grad_(), rand(4, 1, 2, 2, seed=59, dtype=dtype).requires_grad_(),
                None, 1, 0, 1, 4), name="depthwise"),
        Sample((specials(x, (INF, NAN, 1e30, -1e30), start=7).requires_grad_(), w4), name="specials"),
        Sample((torch.zeros_like(x).requires_grad_(), w4), name="zeros"),
    ]
    return out


def _conv_gradgrad():
    x = rand(2, 2, 4, 4, seed=60).requires_grad_()
    w = rand(4, 1, 2, 2, seed=61).requires_grad_()
    b = rand(4, seed=62).requires_grad_()
    x2 = rand(1, 2, 7, 6, seed=63).requires_grad_()
    w2 = rand(2, 2, 2, 3, seed=64).requires_grad_()
    return [Sample((x, w, b, 1, 1, 1, 2), name="few-positions"),
            Sample((x2, w2, None, (2, 1), 1, (1, 2)), name="many-positions")]


def _conv_invalid():
    x, w = torch.zeros(1, 2, 5, 5), torch.zeros(3, 2, 2, 2)
    return [
        Invalid(lambda: F.conv2d(torch.zeros(2, 5, 5), w), "input"),
        Invalid(lambda: F.conv2d(x.long(), w), "input"),
        Invalid(lambda: F.conv2d(x, torch.zeros(3, 2, 2)), "weight"),
        Invalid(lambda: F.conv2d(x, w.double()), "weight"),
        Invalid(lambda: F.conv2d(x, torch.zeros(3, 2, 0, 0)), "weight"),
        Invalid(lambda: F.conv2d(x, torch.zeros(3, 2, 6, 6)), "input"),
        Invalid(lambda: F.conv2d(x, w, torch.zeros(2)), "bias"),
        Invalid(lambda: F.conv2d(x, w, torch.zeros(3).double()), "bias"),
        Invalid(lambda: F.conv2d(x, w, stride=0), "stride"),
        Invalid(lambda: F.conv2d(x, w, stride=1.0), "stride"),
        Invalid(lambda: F.conv2d(x, w, stride=(1, 1, 1)), "stride"),
        Invalid(lambda: F.conv2d(x, w, padding=-1), "padding"),
        Invalid(lambda: F.conv2d(x, w, dilation=0), "dilation"),
        Invalid(lambda: F.conv2d(x, w, groups=0), "groups"),
        Invalid(lambda: F.conv2d(x, w, groups=2), "groups"),
        Invalid(lambda: F.conv2d(x, torch.zeros(3, 1, 2, 2)), "weight"),
    ]


def _conv_output_size_ref(n, k, stride=1, padding=0, dilation=1):
    x, w = torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1)
    return TF.conv2d(x, w, stride=(stride, 1), padding=(padding, 0), dilation=(dilation, 1)).shape[2]


def _conv_output_size_samples(dtype):
    cases = [(1, 1), (5, 5), (28, 5), (7, 3, 2, 1), (10, 3, 1, 0, 2), (4, 3, 3, 1, 2), (1, 3, 1, 1)]
    return [Sample(c, name="-".join(map(str, c))) for c in cases]


# -- pooling -----------------------------------------------------------------------------

def _pool_inputs(dtype):
    """Shared pooling inputs (name, tensor), each (N, C, H, W)."""
    x = rand(2, 3, 5, 6, seed=70, dtype=dtype)
    windows = torch.tensor([[[[0.0, 0.0, 1.0, 2.0, 5.0],
                              [0.0, 0.0, 3.0, 4.0, 5.0],
                              [2.0, 2.0, 2.0, 2.0, 5.0],
                              [2.0, 2.0, 2.0, 2.0, 5.0]]]], dtype=dtype)
    return [
        ("random", x),
        ("batch1", x[:1].clone()),
        ("batch0", empty_batch(3, 5, 6, dtype=dtype)),
        ("channels_last", channels_last(x)),
        ("noncontig", noncontig(x)),
        ("windows", windows),  # an all-zero and an all-equal window
        # ±1e30 apart, not in one window: 1e30 + a - 1e30 depends on the order of the sum
        ("specials", specials(specials(specials(x, (INF, -INF, NAN), start=3), (1e30,), start=20),
                              (-1e30,), start=45)),
        ("minus-inf-corner", specials(rand(1, 1, 4, 4, seed=71, dtype=dtype), (-INF,))),
        ("all-minus-inf", torch.full((1, 1, 3, 3), -INF, dtype=dtype)),
        ("smallest", rand(1, 1, 1, 1, seed=72, dtype=dtype)),
    ]


def _max_pool_samples(dtype):
    out = []
    for name, x in _pool_inputs(dtype):
        for conf, args in (("k2", (2,)), ("k3s1p1", (3, 1, 1)), ("k2s1d2-ceil", (2, 1, 0, 2, True)),
                           ("k2s2p1-ceil-idx", (2, 2, 1, 1, True, True))):
            if x.shape[2] < 3 and conf != "k2s2p1-ceil-idx":
                continue
            out.append(Sample((x.clone().requires_grad_(), *args), name=f"{name}-{conf}"))
    out.append(Sample((rand(1, 2, 3, 5, seed=73, dtype=dtype).requires_grad_(), (3, 2), None,
                       (1, 0), 1, False, True), name="rect-idx"))
    return out


def _max_pool_gradgrad():
    x = (torch.randperm(20, generator=torch.Generator().manual_seed(74)).to(DT) / 10)
    return [Sample((x.reshape(1, 1, 4, 5).requires_grad_(), 3, 2, 1), name="distinct")]


def _pool_geometry_invalid(fn, extra=()):
    x = torch.zeros(1, 1, 4, 4)
    return [
        Invalid(lambda: fn(torch.zeros(1, 4, 4), 2), "input"),
        Invalid(lambda: fn(x.long(), 2), "input"),
        Invalid(lambda: fn(x, 2.0), "kernel_size"),
        Invalid(lambda: fn(x, 0), "kernel_size"),
        Invalid(lambda: fn(x, (2, 2, 2)), "kernel_size"),
        Invalid(lambda: fn(x, 2, 0), "stride"),
        Invalid(lambda: fn(x, 2, 1.5), "stride"),
        Invalid(lambda: fn(x, 5), "kernel_size"),
        *extra,
    ]


def _avg_pool_samples(dtype):
    out = []
    for name, x in _pool_inputs(dtype):
        confs = [("k2", (2,)), ("k3s2p1", (3, 2, 1)), ("k3s2p1-nopad", (3, 2, 1, False, False)),
                 ("k2s2p1-ceil", (2, 2, 1, True)), ("k2s2p1-ceil-nopad", (2, 2, 1, True, False)),
                 ("k2-div3", (2, None, 0, False, True, 3)), ("k1", (1,))]
        for conf, args in confs:
            if x.shape[2] < 3 and conf not in ("k2s2p1-ceil", "k1", "k2s2p1-ceil-nopad"):
                continue
            out.append(Sample((x.clone().requires_grad_(), *args), name=f"{name}-{conf}"))
    return out


def _avg_pool_gradgrad():
    x = rand(1, 2, 5, 5, seed=75).requires_grad_()
    return [Sample((x, 3, 2, 1, True, False), name="ceil-nopad")]


def _lp_pool_samples(dtype):
    out = []
    for name, x in _pool_inputs(dtype):
        if name == "all-minus-inf":
            continue
        pos = x.abs() if name != "specials" else x
        for p in (1.0, 2.0, 3.0, 0.5):
            for conf, args in (("k2", (2,)), ("k3s2-ceil", (3, 2, True)), ("k1", (1,))):
                if x.shape[2] < 3 and conf != "k1":
                    continue
                out.append(Sample((pos.clone().requires_grad_(), p, *args), name=f"{name}-p{p}-{conf}"))
    # a negative input with an even power
    out.append(Sample((rand(1, 1, 4, 4, seed=76, dtype=dtype).requires_grad_(), 2.0, 2), name="signed-p2"))
    return out


def _lp_pool_gradgrad():
    x = (rand(1, 2, 4, 5, seed=77).abs() + 0.5).requires_grad_()
    return [Sample((x, p, 2, None, True), name=f"p{p}") for p in (1.0, 2.0, 3.5)]


def _adaptive_samples(dtype):
    out = []
    for name, x in _pool_inputs(dtype):
        for size in (1, (2, 3), (3, None), (4, 4), 7):
            out.append(Sample((x.clone().requires_grad_(), size), name=f"{name}-{size}"))
    return out


def _adaptive_max_samples(dtype):
    out = _adaptive_samples(dtype)
    x = rand(2, 3, 5, 6, seed=78, dtype=dtype)
    out += [Sample((x.clone().requires_grad_(), s, True), name=f"idx-{s}") for s in ((2, 3), (5, 4))]
    return out


def _adaptive_gradgrad():
    x = (torch.randperm(30, generator=torch.Generator().manual_seed(79)).to(DT) / 10)
    return [Sample((x.reshape(1, 1, 5, 6).requires_grad_(), (2, 4)), name="uneven"),
            Sample((x.reshape(1, 1, 5, 6).requires_grad_(), (5, 3)), name="even")]


def _adaptive_invalid(fn):
    x = torch.zeros(1, 1, 4, 4)
    return [
        Invalid(lambda: fn(torch.zeros(1, 4, 4), 2), "input"),
        Invalid(lambda: fn(x.long(), 2), "input"),
        Invalid(lambda: fn(x, 0), "output_size"),
        Invalid(lambda: fn(x, (1, 2, 3)), "output_size"),
        Invalid(lambda: fn(x, 2.5), "output_size"),
        Invalid(lambda: fn(x, (2.5, 3)), "output_size"),
    ]


# -- embedding ------------------------------------------------------------------------------

def _embedding_samples(dtype):
    w = rand(5, 3, seed=80, dtype=dtype)
    idx = torch.tensor([[0, 2, 4, 2], [1, 1, 0, 3]])
    rows = specials(rand(5, 3, seed=81, dtype=dtype), start=3)  # rows 1, 2 hold inf, -inf, NaN, ±1e30
    return [
        Sample((idx, w.clone().requires_grad_()), name="2d-indices"),
        Sample((idx[0], w.clone().requires_grad_()), name="1d-indices"),
        Sample((torch.tensor(3), w.clone().requires_grad_()), name="0d-index"),
        Sample((idx.int(), w.clone().requires_grad_()), name="int32-indices"),
        Sample((idx, w.clone().requires_grad_(), 0), name="padding"),
        Sample((idx, w.clone().requires_grad_(), -1), name="padding-negative"),  # row 4
        Sample((idx[:, :2], w.clone().requires_grad_(), 3), name="padding-unused"),
        Sample((torch.zeros(0, 4, dtype=torch.long), w.clone().requires_grad_()), name="batch0"),
        Sample((torch.zeros(0, dtype=torch.long), w.clone().requires_grad_(), 1), name="batch0-1d"),
        Sample((idx[:1], w.clone().requires_grad_()), name="batch1"),
        Sample((torch.zeros(1, dtype=torch.long), rand(1, 1, seed=82, dtype=dtype).requires_grad_()),
               name="smallest"),
        Sample((noncontig(idx), noncontig(w).requires_grad_()), name="noncontig"),
        Sample((idx.t(), w.t().contiguous().t().requires_grad_()), name="transposed"),
        Sample((torch.full((3, 2), 2), w.clone().requires_grad_()), name="one-row-many-times"),
        Sample((idx, rows.clone().requires_grad_()), name="specials"),
        Sample((idx, rows.clone().requires_grad_(), 2), name="specials-padding"),
    ]


def _embedding_gradgrad():
    idx = torch.tensor([[0, 2, 2], [3, 1, 0]])
    return [Sample((idx, rand(4, 3, seed=83).requires_grad_()), name="plain"),
            Sample((idx, rand(4, 3, seed=84).requires_grad_(), 2), name="padding")]


def _embedding_invalid():
    w, idx = torch.zeros(5, 3), torch.tensor([0, 4])
    return [
        Invalid(lambda: F.embedding(idx.float(), w), "input"),
        Invalid(lambda: F.embedding([0, 1], w), "input"),
        Invalid(lambda: F.embedding(torch.tensor([0, 5]), w), "input", (IndexError,)),
        Invalid(lambda: F.embedding(torch.tensor([-1, 0]), w), "input", (IndexError,)),
        Invalid(lambda: F.embedding(idx, torch.zeros(5)), "weight"),
        Invalid(lambda: F.embedding(idx, torch.zeros(5, 3, 1)), "weight"),
        Invalid(lambda: F.embedding(idx, w.long()), "weight"),
        Invalid(lambda: F.embedding(idx, w, 5), "padding_idx"),
        Invalid(lambda: F.embedding(idx, w, -6), "padding_idx"),
        Invalid(lambda: F.embedding(idx, w, 1.5), "padding_idx"),
        Invalid(lambda: F.embedding(idx, w, "0"), "padding_idx"),
    ]


# -- recurrent cells and layers ------------------------------------------------------------

# torch's own steps (what torch.nn.RNNCell, LSTMCell and GRUCell call), same argument order
_TORCH_CELLS = {"rnn_tanh_cell": (torch.rnn_tanh_cell, 1), "rnn_relu_cell": (torch.rnn_relu_cell, 1),
                "lstm_cell": (torch.lstm_cell, 4), "gru_cell": (torch.gru_cell, 3)}


def _rnn_weights(gates, i, h, seed, dtype, scale=0.6):
    """``(w_ih, w_hh, b_ih, b_hh)`` for ``gates`` blocks, input size ``i``, hidden size ``h``."""
    return (rand(gates * h, i, seed=seed, dtype=dtype, scale=scale),
            rand(gates * h, h, seed=seed + 1, dtype=dtype, scale=scale),
            rand(gates * h, seed=seed + 2, dtype=dtype, scale=scale),
            rand(gates * h, seed=seed + 3, dtype=dtype, scale=scale))


def _grad(*ts):
    """Fresh leaves that require grad (``None`` stays ``None``)."""
    out = tuple(None if t is None else t.clone().requires_grad_() for t in ts)
    return out if len(out) > 1 else out[0]


def _cell_samples(cell):
    gates = _TORCH_CELLS[cell][1]
    lstm = cell == "lstm_cell"

    def state(h, c):
        return (h, c) if lstm else h

    def samples(dtype):
        n, i, hd = 3, 4, 2
        x = rand(n, i, seed=100, dtype=dtype)
        h, c = rand(n, hd, seed=101, dtype=dtype, scale=0.5), rand(n, hd, seed=102, dtype=dtype)
        w = _rnn_weights(gates, i, hd, 103, dtype)
        w_ih, w_hh, b_ih, b_hh = w

        def sample(name, x=x, h=h, c=c, w=w):
            return Sample((_grad(x), state(*_grad(h, c)), *_grad(*w)), name=name)

        huge = specials(x, (1e30, -1e30, 1e30, -1e30, 1e30, -1e30), start=1)
        return [
            sample("basic"),
            sample("no-bias", w=(w_ih, w_hh)),
            sample("bias-ih-only", w=(w_ih, w_hh, b_ih, None)),
            sample("bias-hh-only", w=(w_ih, w_hh, None, b_hh)),
            sample("batch0", x=x[:0], h=h[:0], c=c[:0]),
            sample("batch1", x=x[:1], h=h[:1], c=c[:1]),
            sample("smallest", x=x[:1, :1], h=h[:1, :1], c=c[:1, :1],
                   w=_rnn_weights(gates, 1, 1, 107, dtype)),
            Sample((noncontig(x).requires_grad_(), state(noncontig(h).requires_grad_(),
                                                         noncontig(c).requires_grad_()),
                    w_ih.t().contiguous().t().requires_grad_(), noncontig(w_hh).requires_grad_(),
                    noncontig(b_ih).requires_grad_(), b_hh.clone().requires_grad_()),
                   name="noncontig"),
            Sample((x.t().contiguous().t().requires_grad_(), state(*_grad(h, c)), *_grad(*w)),
                   name="column-major-input"),
            sample("specials-input", x=specials(x, start=2)),
            sample("specials-state", h=specials(h, (INF, NAN, -1e30)), c=specials(c, (-INF, 1e30), 3)),
            sample("specials-weight", w=(specials(w_ih, (NAN,), 5), specials(w_hh, (1e30, -INF), 2),
                                         b_ih, specials(b_hh, (INF,), 1))),
            sample("huge-input", x=huge),
            sample("zeros", x=torch.zeros_like(x), h=torch.zeros_like(h), c=torch.zeros_like(c)),
            Sample((x, state(h, c), *_grad(*w)), name="weights-only-grad"),
            Sample((_grad(x), state(h, c), w_ih, w_hh, b_ih, b_hh), name="input-only-grad"),
        ]

    return samples


def _cell_gradgrad(cell):
    gates = _TORCH_CELLS[cell][1]
    lstm = cell == "lstm_cell"

    def samples():
        x, h, c = rand(2, 3, seed=110), rand(2, 2, seed=111, scale=0.5), rand(2, 2, seed=112)
        w = _rnn_weights(gates, 3, 2, 113, DT)
        hx = _grad(h, c) if lstm else _grad(h)
        return [Sample((_grad(x), hx, *_grad(*w)), name="bias"),
                Sample((_grad(x), hx, *_grad(*w[:2])), name="no-bias")]

    return samples


def _cell_invalid(cell):
    fn = getattr(F, cell)
    gates = _TORCH_CELLS[cell][1]
    lstm = cell == "lstm_cell"
    x, h = torch.zeros(3, 4), torch.zeros(3, 2)
    hx = (h, h) if lstm else h
    w_ih, w_hh, b = torch.zeros(gates * 2, 4), torch.zeros(gates * 2, 2), torch.zeros(gates * 2)
    h_name = "hx[0]" if lstm else "hx"
    out = [
        Invalid(lambda: fn(x.tolist(), hx, w_ih, w_hh), "input"),
        Invalid(lambda: fn(x.long(), hx, w_ih, w_hh), "input"),
        Invalid(lambda: fn(x[0], hx, w_ih, w_hh), "input"),
        Invalid(lambda: fn(x, hx, w_ih[:, :3], w_hh), "weight_ih"),
        Invalid(lambda: fn(x, hx, w_ih, w_hh[:-1]), "weight_hh"),
        Invalid(lambda: fn(x, hx, w_ih, w_hh.long()), "weight_hh"),
        Invalid(lambda: fn(x, hx, w_ih, torch.zeros(gates * 2, 2, 1)), "weight_hh"),
        Invalid(lambda: fn(x, hx, w_ih, w_hh, b[:-1]), "bias_ih"),
        Invalid(lambda: fn(x, hx, w_ih, w_hh, b, b[:-1]), "bias_hh"),
        Invalid(lambda: fn(x, hx, w_ih.double(), w_hh), "weight_ih"),
        Invalid(lambda: fn(x, hx, w_ih, w_hh, b, b.double()), "bias_hh"),
    ]
    if lstm:
        out += [
            Invalid(lambda: fn(x, h, w_ih, w_hh), "hx"),
            Invalid(lambda: fn(x, (h[:2], h), w_ih, w_hh), "hx[0]"),
            Invalid(lambda: fn(x, (h, h[:, :1]), w_ih, w_hh), "hx[1]"),
            Invalid(lambda: fn(x, (h, h.double()), w_ih, w_hh), "hx[1]"),
        ]
    else:
        out += [
            Invalid(lambda: fn(x, h[:2], w_ih, w_hh), "hx"),
            Invalid(lambda: fn(x, (h,), w_ih, w_hh), "hx"),
        ]
    out.append(Invalid(lambda: fn(x, (h.double(), h) if lstm else h.double(), w_ih, w_hh), h_name))
    return out


_TORCH_LAYERS = {"RNN_TANH": (torch.rnn_tanh, 1), "RNN_RELU": (torch.rnn_relu, 1),
                 "LSTM": (torch.lstm, 4), "GRU": (torch.gru, 3)}


def _layer_ref(mode, input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """One layer and direction of torch.nn.RNN / LSTM / GRU (their kernels, time first).

    A missing bias (when the other is given) is zero; ``reverse`` runs the
    forward direction on the sequence flipped in time and flips the output back.
    """
    has_bias = bias_ih is not None or bias_hh is not None
    params = [weight_ih, weight_hh]
    if has_bias:
        zeros = torch.zeros(weight_ih.shape[0], dtype=weight_ih.dtype)
        params += [zeros if bias_ih is None else bias_ih, zeros if bias_hh is None else bias_hh]
    h = tuple(t.unsqueeze(0) for t in hx) if mode == "LSTM" else hx.unsqueeze(0)
    x = input.flip(0) if reverse else input
    out, *states = _TORCH_LAYERS[mode][0](x, h, params, has_bias, 1, 0.0, False, False, False)
    return (out.flip(0) if reverse else out, *(s.squeeze(0) for s in states))


def _layer_samples(dtype):
    t, n, i, hd = 3, 2, 3, 2
    x = rand(t, n, i, seed=120, dtype=dtype)
    h, c = rand(n, hd, seed=121, dtype=dtype, scale=0.5), rand(n, hd, seed=122, dtype=dtype)
    huge = specials(x, (1e30, -1e30, -1e30, 1e30), start=4)
    out = []
    for mode, (_, gates) in _TORCH_LAYERS.items():
        w = _rnn_weights(gates, i, hd, 123, dtype)
        w_ih, w_hh, b_ih, b_hh = w

        def sample(name, x=x, h=h, c=c, w=w, reverse=False, mode=mode):
            hx = _grad(h, c) if mode == "LSTM" else _grad(h)
            return Sample((mode, _grad(x), hx, *_grad(*w)), dict(reverse=reverse), name=f"{mode}-{name}")

        out += [
            sample("basic"),
            sample("reverse", reverse=True),
            sample("no-bias", w=(w_ih, w_hh)),
            sample("bias-hh-only-reverse", w=(w_ih, w_hh, None, b_hh), reverse=True),
            sample("bias-ih-only", w=(w_ih, w_hh, b_ih, None)),
            sample("batch0", x=x[:, :0], h=h[:0], c=c[:0]),
            sample("batch1-T1", x=x[:1, :1], h=h[:1], c=c[:1]),
            sample("smallest", x=x[:1, :1, :1], h=h[:1, :1], c=c[:1, :1],
                   w=_rnn_weights(gates, 1, 1, 127, dtype)),
            Sample((mode, noncontig(x).requires_grad_(),
                    (noncontig(h).requires_grad_(), noncontig(c).requires_grad_()) if mode == "LSTM"
                    else noncontig(h).requires_grad_(),
                    w_ih.t().contiguous().t().requires_grad_(), noncontig(w_hh).requires_grad_(),
                    noncontig(b_ih).requires_grad_(), b_hh.clone().requires_grad_()),
                   dict(reverse=True), name=f"{mode}-noncontig-reverse"),
            Sample((mode, x.transpose(0, 1).contiguous().transpose(0, 1).requires_grad_(),
                    _grad(h, c) if mode == "LSTM" else _grad(h), *_grad(*w)), name=f"{mode}-batch-major"),
            sample("specials", x=specials(x, start=7)),
            sample("specials-state", h=specials(h, (NAN, -INF)), c=specials(c, (INF, -1e30), 2)),
            sample("huge-input", x=huge),
            Sample((mode, x, (h, c) if mode == "LSTM" else h, *_grad(*w)), name=f"{mode}-weights-only-grad"),
            Sample((mode, _grad(x), (h, c) if mode == "LSTM" else h, *w), name=f"{mode}-input-only-grad"),
        ]
    return out


def _layer_gradgrad():
    """The layers refuse create_graph=True (first derivatives only), with a clear error."""
    x, h, c = rand(2, 1, 2, seed=130), rand(1, 2, seed=131), rand(1, 2, seed=132)
    out = []
    for mode, (_, gates) in _TORCH_LAYERS.items():
        hx = _grad(h, c) if mode == "LSTM" else _grad(h)
        out.append(Sample((mode, _grad(x), hx, *_grad(*_rnn_weights(gates, 2, 2, 133, DT))), name=mode))
    return out


def _layer_invalid():
    x, h = torch.zeros(3, 2, 4), torch.zeros(2, 2)
    w_ih, w_hh, b = torch.zeros(2, 4), torch.zeros(2, 2), torch.zeros(2)
    lw_ih, lw_hh = torch.zeros(8, 4), torch.zeros(8, 2)
    fn = F.recurrent_layer
    return [
        Invalid(lambda: fn("rnn_tanh", x, h, w_ih, w_hh), "mode"),
        Invalid(lambda: fn("LSTM_TANH", x, h, w_ih, w_hh), "mode"),
        Invalid(lambda: fn("RNN_TANH", x.tolist(), h, w_ih, w_hh), "input"),
        Invalid(lambda: fn("RNN_TANH", x[0], h, w_ih, w_hh), "input"),
        Invalid(lambda: fn("RNN_TANH", x.long(), h, w_ih, w_hh), "input"),
        Invalid(lambda: fn("RNN_TANH", x[:0], h, w_ih, w_hh), "input"),
        Invalid(lambda: fn("RNN_TANH", x, h[:1], w_ih, w_hh), "hx"),
        Invalid(lambda: fn("RNN_TANH", x, h.tolist(), w_ih, w_hh), "hx"),
        Invalid(lambda: fn("RNN_TANH", x, h.double(), w_ih, w_hh), "hx"),
        Invalid(lambda: fn("RNN_TANH", x, h, w_ih[:, :3], w_hh), "weight_ih"),
        Invalid(lambda: fn("RNN_TANH", x, h, w_ih.double(), w_hh), "weight_ih"),
        Invalid(lambda: fn("GRU", x, h, torch.zeros(6, 4), lw_hh), "weight_hh"),
        Invalid(lambda: fn("RNN_RELU", x, h, w_ih, w_hh, b, b[:1]), "bias_hh"),
        Invalid(lambda: fn("LSTM", x, (h, h[:1]), lw_ih, lw_hh), "hx[1]"),
        Invalid(lambda: fn("LSTM", x, (h, h, h), lw_ih, lw_hh), "hx"),
        Invalid(lambda: fn("LSTM", x, torch.zeros(2, 2, 2), lw_ih, lw_hh), "hx"),
        Invalid(lambda: fn("LSTM", x, h, lw_ih, lw_hh), "hx"),
    ]


# -- fo-pooling (QRNN) ------------------------------------------------------------------------

def _fo_pool_ref(z, f, o=None, c0=None):
    """The definition step by step: ``c_t = f_t c_{t-1} + (1 - f_t) z_t``, ``h_t = o_t c_t``."""
    prev = z.new_zeros(z.shape[1:]) if c0 is None else c0
    cs = []
    for t in range(z.shape[0]):
        prev = f[t] * prev + (1 - f[t]) * z[t]
        cs.append(prev)
    c = torch.stack(cs) if cs else z * f  # no steps: an empty (0, N, H) result in the graph
    return (c.clone() if o is None else o * c), c


def _fo_pool_samples(dtype):
    t, n, hd = 3, 2, 2
    z = torch.tanh(rand(t, n, hd, seed=140, dtype=dtype))
    f = torch.sigmoid(rand(t, n, hd, seed=141, dtype=dtype))
    o = torch.sigmoid(rand(t, n, hd, seed=142, dtype=dtype))
    c0 = rand(n, hd, seed=143, dtype=dtype)
    return [
        Sample(_grad(z, f, o, c0), name="fo"),
        Sample(_grad(z, f), name="f-only"),
        Sample((*_grad(z, f), None, _grad(c0)), name="f-c0"),
        Sample(_grad(z, f, o), name="fo-no-c0"),
        Sample(_grad(z[:, :0], f[:, :0], o[:, :0], c0[:0]), name="batch0"),
        Sample(_grad(z[:0], f[:0], o[:0], c0), name="T0"),
        Sample(_grad(z[:, :1], f[:, :1], o[:, :1], c0[:1]), name="batch1"),
        Sample(_grad(z[:1, :1, :1], f[:1, :1, :1], o[:1, :1, :1], c0[:1, :1]), name="smallest"),
        Sample((noncontig(z).requires_grad_(), z.transpose(0, 2).contiguous().transpose(0, 2)
                .copy_(f).requires_grad_(), noncontig(o).requires_grad_(), noncontig(c0).requires_grad_()),
               name="noncontig"),
        Sample(_grad(specials(z, start=1), f, o, c0), name="specials-z"),
        Sample(_grad(z, f, specials(o, (NAN, -1e30, 1e30), 4), c0), name="specials-o"),
        Sample(_grad(z, f, o, specials(c0, (1e30, -INF))), name="specials-c0"),
        Sample(_grad(z, specials(f, (0.0, 1.0, 1.0, 0.0, NAN), 3), o, c0), name="specials-f"),
        Sample(_grad(z, torch.ones_like(f), o, c0), name="f-ones"),
        Sample((z, f, o, c0.clone().requires_grad_()), name="c0-only-grad"),
    ]


def _fo_pool_gradgrad():
    z, f = torch.tanh(rand(3, 2, 2, seed=144)), torch.sigmoid(rand(3, 2, 2, seed=145))
    o, c0 = torch.sigmoid(rand(3, 2, 2, seed=146)), rand(2, 2, seed=147)
    return [Sample(_grad(z, f, o, c0), name="fo"), Sample(_grad(z, f), name="f")]


def _fo_pool_invalid():
    z = torch.zeros(3, 2, 2)
    fn = F.fo_pool
    return [
        Invalid(lambda: fn(z.tolist(), z), "z"),
        Invalid(lambda: fn(z[0], z[0]), "z"),
        Invalid(lambda: fn(z.long(), z), "z"),
        Invalid(lambda: fn(z, z.long()), "f"),
        Invalid(lambda: fn(z, z[:2]), "f"),
        Invalid(lambda: fn(z, z, z[:, :1]), "o"),
        Invalid(lambda: fn(z, z, [0.0]), "o"),
        Invalid(lambda: fn(z, z, None, z[0, :1]), "c0"),
        Invalid(lambda: fn(z, z, None, z), "c0"),
        Invalid(lambda: fn(z, z.double()), "f"),
        Invalid(lambda: fn(z, z, z.long()), "o"),
        Invalid(lambda: fn(z, z, None, z[0].double()), "c0"),
    ]


# -- language-model pieces: glu, causal_conv1d, highway, window_attention, sample_tokens ----

def _glu_samples(dtype):
    x = rand(2, 4, 3, seed=150, dtype=dtype, scale=2.0)
    return [
        Sample((x.clone().requires_grad_(),), dict(dim=1), name="dim1"),
        Sample((x.clone().requires_grad_(), 0), name="dim0"),
        Sample((x.clone().requires_grad_(), -2), name="dim-2"),
        Sample((rand(6, seed=151, dtype=dtype).requires_grad_(),), name="1d"),
        Sample((rand(1, 2, seed=152, dtype=dtype).requires_grad_(),), name="smallest"),
        Sample((torch.zeros(0, 4, dtype=dtype).requires_grad_(),), name="batch0"),
        Sample((torch.zeros(3, 0, dtype=dtype).requires_grad_(),), name="empty-dim"),
        Sample((x[:1].clone().requires_grad_(), 1), name="batch1"),
        Sample((noncontig(x).requires_grad_(), 1), name="noncontig"),
        Sample((x.transpose(0, 2).requires_grad_(), -1), name="transposed"),
        Sample((specials(x, start=0).requires_grad_(), 1), name="specials-a"),
        Sample((specials(x, start=6).requires_grad_(), 1), name="specials-b"),
        Sample((torch.tensor([[INF, -INF, 1e30, 0.0, -800.0, 800.0, 0.0, 1.0]], dtype=dtype)
                .requires_grad_(),), name="specials-saturated"),
    ]


def _glu_invalid():
    x = torch.zeros(2, 4)
    return [
        Invalid(lambda: F.glu(torch.zeros(3, 3)), "input"),
        Invalid(lambda: F.glu(torch.tensor(1.0)), "input"),
        Invalid(lambda: F.glu(x.long()), "input"),
        Invalid(lambda: F.glu([1.0, 2.0]), "input"),
        Invalid(lambda: F.glu(x, 2), "dim", (ValueError, IndexError)),
        Invalid(lambda: F.glu(x, -3), "dim", (ValueError, IndexError)),
        Invalid(lambda: F.glu(x, 1.0), "dim"),
    ]


def _causal_conv_ref(input, weight, bias=None):
    return TF.conv1d(TF.pad(input, (weight.shape[2] - 1, 0)), weight, bias)


def _causal_conv_samples(dtype):
    x = rand(2, 3, 5, seed=160, dtype=dtype)
    w = rand(4, 3, 2, seed=161, dtype=dtype)
    b = rand(4, seed=162, dtype=dtype)
    return [
        Sample(_grad(x, w, b), name="bias"),
        Sample(_grad(x, w), name="no-bias"),
        Sample(_grad(x, rand(4, 3, 1, seed=163, dtype=dtype)), name="k1"),
        Sample(_grad(x[:, :, :1], rand(4, 3, 3, seed=164, dtype=dtype), b), name="k-longer-than-T"),
        Sample(_grad(x[:0], w, b), name="batch0"),
        Sample(_grad(x[:1], w, b), name="batch1"),
        Sample(_grad(x[:1, :1, :1], w[:1, :1, :1]), name="smallest"),
        Sample((noncontig(x).requires_grad_(), noncontig(w).requires_grad_(), b.clone().requires_grad_()),
               name="noncontig"),
        Sample(_grad(x.transpose(1, 2).contiguous().transpose(1, 2), w, b), name="time-major-layout"),
        Sample(_grad(specials(x, start=3), w, b), name="specials"),
        Sample(_grad(x, specials(w, (NAN, 1e30), 5), b), name="specials-weight"),
        Sample(_grad(x[:0], specials(w, (NAN, INF)), b), name="batch0-specials-weight"),
    ]


def _causal_conv_gradgrad():
    return [Sample(_grad(rand(2, 2, 4, seed=165), rand(3, 2, 2, seed=166), rand(3, seed=167)), name="bias")]


def _causal_conv_invalid():
    x, w = torch.zeros(1, 3, 5), torch.zeros(4, 3, 2)
    fn = F.causal_conv1d
    return [
        Invalid(lambda: fn(x[0], w), "input"),
        Invalid(lambda: fn(x.long(), w), "input"),
        Invalid(lambda: fn(x, w[0]), "weight"),
        Invalid(lambda: fn(x, w[:, :2]), "weight"),
        Invalid(lambda: fn(x, w.long()), "weight"),
        Invalid(lambda: fn(x, w.double()), "weight"),
        Invalid(lambda: fn(x, w[:, :, :0]), "weight"),
        Invalid(lambda: fn(x, w, torch.zeros(3)), "bias"),
        Invalid(lambda: fn(x, w.tolist()), "weight"),
    ]


def _highway_ref(input, weight_h, bias_h, weight_t, bias_t):
    """The definition: ``t * relu(W_H x + b_H) + (1 - t) * x`` with ``t = sigmoid(W_T x + b_T)``."""
    t = torch.sigmoid(TF.linear(input, weight_t, bias_t))
    return t * torch.relu(TF.linear(input, weight_h, bias_h)) + (1 - t) * input


def _highway_samples(dtype):
    n, d = 3, 4
    x = rand(n, d, seed=170, dtype=dtype)
    w = (rand(d, d, seed=171, dtype=dtype, scale=0.6), rand(d, seed=172, dtype=dtype),
         rand(d, d, seed=173, dtype=dtype, scale=0.6), rand(d, seed=174, dtype=dtype) - 1.0)
    return [
        Sample(_grad(x, *w), name="basic"),
        Sample(_grad(x[:0], *w), name="batch0"),
        Sample(_grad(x[:1], *w), name="batch1"),
        Sample(_grad(x[:1, :1], w[0][:1, :1], w[1][:1], w[2][:1, :1], w[3][:1]), name="smallest"),
        Sample((noncontig(x).requires_grad_(), w[0].t().contiguous().t().requires_grad_(),
                noncontig(w[1]).requires_grad_(), noncontig(w[2]).requires_grad_(),
                w[3].clone().requires_grad_()), name="noncontig"),
        Sample(_grad(x, w[0], w[1], w[2], torch.full_like(w[3], -1e30)), name="gate-shut"),
        Sample(_grad(x, w[0], w[1], w[2], torch.full_like(w[3], 1e30)), name="gate-open"),
        Sample(_grad(specials(x, (1e30, -1e30), 1), *w), name="specials-huge"),
        Sample(_grad(specials(x, (NAN,), 5), *w), name="specials-nan"),
        Sample(_grad(specials(x, (INF,), 2), *w), name="specials-inf"),
        Sample(_grad(specials(x, (-INF,), 5), *w), name="specials-minus-inf"),
        # a pre-activation of -inf (relu gives 0) and one of NaN, in one column each
        Sample(_grad(x, w[0], specials(w[1], (-INF,), 1), *w[2:]), name="specials-bias_h-minus-inf"),
        Sample(_grad(x, w[0], specials(w[1], (NAN,), 2), *w[2:]), name="specials-bias_h-nan"),
        Sample(_grad(x, *w[:3], specials(w[3], (NAN,), 1)), name="specials-bias_t"),
        Sample((x.clone().requires_grad_(), *w), name="input-only-grad"),
    ]


def _highway_gradgrad():
    x = rand(3, 3, seed=175)
    w = (rand(3, 3, seed=176), rand(3, seed=177) + 0.5, rand(3, 3, seed=178), rand(3, seed=179))
    return [Sample(_grad(x, *w), name="basic")]


def _highway_invalid():
    x, w, b = torch.zeros(2, 3), torch.zeros(3, 3), torch.zeros(3)
    fn = F.highway
    return [
        Invalid(lambda: fn(x[0], w, b, w, b), "input"),
        Invalid(lambda: fn(x.long(), w, b, w, b), "input"),
        Invalid(lambda: fn(x, w[:2], b, w, b), "weight_h"),
        Invalid(lambda: fn(x, w, b[:2], w, b), "bias_h"),
        Invalid(lambda: fn(x, w, b, w[:, :2], b), "weight_t"),
        Invalid(lambda: fn(x, w, b, w, torch.zeros(1, 3)), "bias_t"),
        Invalid(lambda: fn(x, w.double(), b, w, b), "weight_h"),
        Invalid(lambda: fn(x, w, b, w.long(), b), "weight_t"),
        Invalid(lambda: fn(x, w.tolist(), b, w, b), "weight_h"),
    ]


def _attention_ref(output, memory, weight_key, weight_query, score):
    """The definition with a loop over the window: ``e_tj = v . tanh(W_K u_{t+j} + W_Q h_t)``."""
    k = memory.shape[0]
    u = torch.cat((memory, output), 0)
    q = output @ weight_query.t()
    e = torch.stack([torch.tanh(u[j:j + output.shape[0]] @ weight_key.t() + q) @ score for j in range(k)], -1)
    alpha = torch.softmax(e, -1)
    context = sum(alpha[..., j:j + 1] * u[j:j + output.shape[0]] for j in range(k))
    return context, alpha


def _attention_samples(dtype):
    t, b, d, k, a = 3, 2, 3, 2, 4
    h, mem = rand(t, b, d, seed=180, dtype=dtype), rand(k, b, d, seed=181, dtype=dtype)
    w = (rand(a, d, seed=182, dtype=dtype), rand(a, d, seed=183, dtype=dtype), rand(a, seed=184, dtype=dtype))
    return [
        Sample(_grad(h, mem, *w), name="basic"),
        Sample(_grad(h, mem[:1], *w), name="k1"),
        Sample(_grad(h[:1], rand(4, b, d, seed=185, dtype=dtype), *w), name="k-longer-than-T"),
        Sample(_grad(h[:, :0], mem[:, :0], *w), name="batch0"),
        Sample(_grad(h[:, :1], mem[:, :1], *w), name="batch1"),
        Sample(_grad(h[:1, :1, :1], mem[:1, :1, :1], w[0][:1, :1], w[1][:1, :1], w[2][:1]), name="smallest"),
        Sample((noncontig(h).requires_grad_(), noncontig(mem).requires_grad_(),
                w[0].t().contiguous().t().requires_grad_(), *_grad(*w[1:])), name="noncontig"),
        Sample(_grad(specials(h, (1e30, -1e30), 4), mem, *w), name="specials-huge"),
        Sample(_grad(specials(h, (NAN,), 2), mem, *w), name="specials-nan"),
        Sample(_grad(h, specials(mem, (INF,), 1), *w), name="specials-inf"),
        Sample(_grad(h, mem, *w[:2], torch.zeros_like(w[2])), name="uniform"),
    ]


def _attention_gradgrad():
    return [Sample(_grad(rand(2, 1, 2, seed=186), rand(2, 1, 2, seed=187), rand(3, 2, seed=188),
                         rand(3, 2, seed=189), rand(3, seed=190)), name="basic")]


def _attention_invalid():
    h, mem, w, v = torch.zeros(3, 2, 4), torch.zeros(2, 2, 4), torch.zeros(5, 4), torch.zeros(5)
    fn = F.window_attention
    return [
        Invalid(lambda: fn(h[0], mem, w, w, v), "output"),
        Invalid(lambda: fn(h.long(), mem, w, w, v), "output"),
        Invalid(lambda: fn(h, mem[0], w, w, v), "memory"),
        Invalid(lambda: fn(h, mem[:, :1], w, w, v), "memory"),
        Invalid(lambda: fn(h, mem[:0], w, w, v), "memory"),
        Invalid(lambda: fn(h, mem, w[:, :3], w[:, :3], v), "weight_key"),
        Invalid(lambda: fn(h, mem, w, w[:4], v), "weight_query"),
        Invalid(lambda: fn(h, mem, w, w, v[:4]), "score"),
        Invalid(lambda: fn(h, mem.tolist(), w, w, v), "memory"),
        Invalid(lambda: fn(h, mem.double(), w, w, v), "memory"),
    ]


def _sample_tokens_ref(logits, beta=1.0, generator=None):
    if beta == INF:
        return logits.argmax(1)
    return torch.multinomial(torch.softmax(beta * logits, 1), 1, generator=generator).squeeze(1)


def _sample_tokens_samples(dtype):
    z = rand(6, 5, seed=195, dtype=dtype, scale=2.0)

    def gen():
        return dict(generator=torch.Generator().manual_seed(196))

    return [
        Sample((z, 1.0), gen(), name="beta1"),
        Sample((z, 0.0), gen(), name="uniform"),
        Sample((z, 3.0), gen(), name="sharp"),
        Sample((z, INF), name="greedy"),
        Sample((z[:0], 1.0), gen(), name="batch0"),
        Sample((z[:0], INF), name="batch0-greedy"),
        Sample((z[:1, :1], 1.0), gen(), name="smallest"),
        Sample((noncontig(z), 1.0), gen(), name="noncontig"),
        Sample((torch.tensor([[-INF, 0.0, -INF], [1e30, 0.0, -1e30], [-1e30, -1e30, 1e30]], dtype=dtype), 1.0),
               gen(), name="specials"),
        Sample((torch.tensor([[-INF, 0.0, 2.0], [1e30, 0.0, -1e30]], dtype=dtype), INF), name="specials-greedy"),
    ]


def _sample_tokens_invalid():
    z = torch.zeros(2, 3)
    fn = F.sample_tokens
    return [
        Invalid(lambda: fn(z[0]), "logits"),
        Invalid(lambda: fn(z.long()), "logits"),
        Invalid(lambda: fn(z, -1.0), "beta"),
        Invalid(lambda: fn(z, -INF), "beta"),
        Invalid(lambda: fn(z, NAN), "beta"),
        Invalid(lambda: fn(z, "1"), "beta"),
    ]


# -- the table -------------------------------------------------------------------------

REGISTRY: dict[str, Entry] = {
    "sigmoid": Entry(F.sigmoid, torch.sigmoid, _elementwise_samples, _elementwise_gradgrad,
                     _elementwise_invalid(F.sigmoid)),
    "tanh": Entry(F.tanh, torch.tanh, _elementwise_samples, _elementwise_gradgrad,
                  _elementwise_invalid(F.tanh)),
    "relu": Entry(F.relu, torch.relu, _elementwise_samples, _elementwise_gradgrad,
                  _elementwise_invalid(F.relu)),
    "dropout": Entry(F.dropout, _dropout_ref, _dropout_samples, lambda: [
        Sample((rand(3, 4, seed=8).requires_grad_(), 0.4),
               dict(generator=torch.Generator().manual_seed(9)))], _dropout_invalid()),
    "softmax": Entry(F.softmax, _softmax_ref(TF.softmax), _softmax_samples, _softmax_gradgrad,
                     _softmax_invalid(F.softmax)),
    "log_softmax": Entry(F.log_softmax, _softmax_ref(TF.log_softmax), _softmax_samples,
                         _softmax_gradgrad, _softmax_invalid(F.log_softmax)),
    "cross_entropy": Entry(
        F.cross_entropy, _ce_ref, _ce_samples, _ce_gradgrad, _ce_invalid(),
        known={"masked-prob": "a class with target probability 0 adds 0 to the loss even when "
               "its logit is -inf (masking); torch multiplies 0 * -inf = NaN for probability "
               "targets (but not for class indices)"},
    ),
    "batch_norm": Entry(
        F.batch_norm, TF.batch_norm, _bn_samples, _bn_gradgrad, _bn_invalid(),
        known={"constant-eps0": "dlbook accepts eps=0 in training (its docstring uses it to "
               "show exact values; a constant channel then gives NaN); torch 2.13 refuses it"},
    ),
    "conv2d": Entry(F.conv2d, TF.conv2d, _conv_samples, _conv_gradgrad, _conv_invalid()),
    "conv_output_size": Entry(F.conv_output_size, _conv_output_size_ref,
                              _conv_output_size_samples, differentiable=False,
                              double_backward="not a Function"),
    "max_pool2d": Entry(F.max_pool2d, TF.max_pool2d, _max_pool_samples, _max_pool_gradgrad,
                        _pool_geometry_invalid(F.max_pool2d, [
                            Invalid(lambda: F.max_pool2d(torch.zeros(1, 1, 4, 4), 2, padding=2),
                                    "padding"),
                            Invalid(lambda: F.max_pool2d(torch.zeros(1, 1, 4, 4), 2, dilation=0),
                                    "dilation")])),
    "avg_pool2d": Entry(F.avg_pool2d, TF.avg_pool2d, _avg_pool_samples, _avg_pool_gradgrad,
                        _pool_geometry_invalid(F.avg_pool2d, [
                            Invalid(lambda: F.avg_pool2d(torch.zeros(1, 1, 4, 4), 2,
                                                         divisor_override=0), "divisor_override"),
                            Invalid(lambda: F.avg_pool2d(torch.zeros(1, 1, 4, 4), 2, padding=2),
                                    "padding")])),
    "lp_pool2d": Entry(
        F.lp_pool2d, TF.lp_pool2d, _lp_pool_samples, _lp_pool_gradgrad,
        [Invalid(lambda: F.lp_pool2d(torch.zeros(1, 1, 4, 4), 0.0, 2), "norm_type"),
         Invalid(lambda: F.lp_pool2d(torch.zeros(1, 1, 4, 4), INF, 2), "norm_type"),
         Invalid(lambda: F.lp_pool2d(torch.zeros(1, 1, 4, 4), "2", 2), "norm_type"),
         *_pool_geometry_invalid(lambda x, *a: F.lp_pool2d(x, 2.0, *a))],
    ),
    "adaptive_max_pool2d": Entry(F.adaptive_max_pool2d, TF.adaptive_max_pool2d,
                                 _adaptive_max_samples, _adaptive_gradgrad,
                                 _adaptive_invalid(F.adaptive_max_pool2d)),
    "adaptive_avg_pool2d": Entry(F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, _adaptive_samples,
                                 _adaptive_gradgrad, _adaptive_invalid(F.adaptive_avg_pool2d)),
    "embedding": Entry(F.embedding, TF.embedding, _embedding_samples, _embedding_gradgrad,
                       _embedding_invalid()),
    **{cell: Entry(getattr(F, cell), _TORCH_CELLS[cell][0], _cell_samples(cell), _cell_gradgrad(cell),
                   _cell_invalid(cell))
       for cell in ("rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell")},
    "fo_pool": Entry(F.fo_pool, _fo_pool_ref, _fo_pool_samples, _fo_pool_gradgrad, _fo_pool_invalid()),
    "glu": Entry(F.glu, TF.glu, _glu_samples, lambda: [
        Sample((rand(2, 4, seed=153).requires_grad_(), d), name=f"dim{d}") for d in (0, 1)], _glu_invalid()),
    "causal_conv1d": Entry(F.causal_conv1d, _causal_conv_ref, _causal_conv_samples, _causal_conv_gradgrad,
                           _causal_conv_invalid()),
    "highway": Entry(F.highway, _highway_ref, _highway_samples, _highway_gradgrad, _highway_invalid()),
    "window_attention": Entry(F.window_attention, _attention_ref, _attention_samples, _attention_gradgrad,
                              _attention_invalid()),
    "sample_tokens": Entry(F.sample_tokens, _sample_tokens_ref, _sample_tokens_samples,
                           invalid=_sample_tokens_invalid(), differentiable=False,
                           double_backward="not differentiable (integer indices)"),
    "recurrent_layer": Entry(F.recurrent_layer, _layer_ref, _layer_samples, _layer_gradgrad,
                             _layer_invalid(), double_backward="raises:first derivatives only"),
}


# -- the checks --------------------------------------------------------------------------

def _clone(v):
    """A fresh leaf with the same values, ``requires_grad`` and memory layout (strides) as ``v``.

    ``Tensor.clone`` keeps the strides of dense tensors only; a non-dense view
    (such as :func:`noncontig` returns) would come back contiguous, so it is
    copied into a buffer with the same strides instead.
    """
    if isinstance(v, (tuple, list)):
        return type(v)(_clone(a) for a in v)
    if isinstance(v, torch.Tensor):
        if v.is_contiguous() or 0 in v.stride() or v.numel() == 0:
            out = v.detach().clone(memory_format=torch.preserve_format)
        else:
            out = torch.empty_strided(v.shape, v.stride(), dtype=v.dtype).copy_(v.detach())
        return out.requires_grad_(v.requires_grad)
    if isinstance(v, torch.Generator):
        return torch.Generator().set_state(v.get_state())
    return v


def _leaves(args):
    """The tensors in ``args`` (nested tuples and lists too, e.g. an LSTM state) that require grad."""
    out = []
    for a in args:
        if isinstance(a, (tuple, list)):
            out += _leaves(a)
        elif isinstance(a, torch.Tensor) and a.requires_grad:
            out.append(a)
    return out


def _replace_leaves(args, new):
    """``args`` with its :func:`_leaves` replaced, in order, by the items of iterator ``new``."""
    out = []
    for a in args:
        if isinstance(a, (tuple, list)):
            out.append(type(a)(_replace_leaves(a, new)))
        elif isinstance(a, torch.Tensor) and a.requires_grad:
            out.append(next(new))
        else:
            out.append(a)
    return out


def _float_outputs(out):
    """The floating-point tensors of an output (a tensor or a tuple; indices are left out)."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, torch.Tensor) and o.is_floating_point()]


def _call(fn, sample):
    args = [_clone(a) for a in sample.args]
    kwargs = {k: _clone(v) for k, v in sample.kwargs.items()}
    return fn(*args, **kwargs), args


def _assert_same(ours, ref, tol, what):
    """NaN-aware comparison: values within ``tol = (rtol, atol)``, NaN exactly where torch has NaN."""
    if isinstance(ref, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(ref), what
        for i, (a, b) in enumerate(zip(ours, ref)):
            _assert_same(a, b, tol, f"{what}[{i}]")
        return
    if not isinstance(ref, torch.Tensor):
        assert ours == ref, f"{what}: {ours!r} != {ref!r}"
        return
    torch.testing.assert_close(ours, ref, rtol=tol[0], atol=tol[1], equal_nan=True,
                               msg=lambda m: f"{what}: {m}")


def _xfail(reason):
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


SAMPLES = [
    pytest.param(name, sample, dtype, id=f"{name}-{sample.name or i}-{str(dtype)[6:]}",
                 marks=_xfail(entry.xfail.get(sample.name)
                              or entry.xfail.get(f"{sample.name}-{str(dtype)[6:]}")))
    for name, entry in REGISTRY.items()
    for dtype in (DT, torch.float32)
    for i, sample in enumerate(entry.samples(dtype))
]


def test_every_public_function_has_an_entry():
    missing = sorted(set(F.__all__) - set(REGISTRY))
    assert not missing, f"add an entry to tests/test_parity.py REGISTRY for: {missing}"
    stale = sorted(set(REGISTRY) - set(F.__all__))
    assert not stale, f"entries for names that dlbook.functional no longer exports: {stale}"


def test_every_entry_covers_the_edge_cases():
    """Each Function's samples include an empty batch, a batch of 1 and special values."""
    for name, entry in REGISTRY.items():
        if not entry.differentiable:
            continue
        names = " ".join(s.name for s in entry.samples(DT))
        for kind in ("batch0", "specials"):
            assert kind in names, f"{name}: no sample named '*{kind}*'"
        assert entry.gradgrad(), f"{name}: no second-derivative samples"
        assert entry.invalid, f"{name}: no invalid-argument cases"


@pytest.mark.parametrize("name,sample,dtype", SAMPLES)
def test_forward_and_gradients_match_torch(name, sample, dtype):
    entry = REGISTRY[name]
    if sample.name in entry.known:
        pytest.skip(f"deliberate difference from torch: {entry.known[sample.name]}")
    tol = (entry.rtol, entry.atol) if dtype == DT else (1e-4, 1e-5)
    ours, ours_args = _call(entry.ours, sample)
    ref, ref_args = _call(entry.ref, sample)
    _assert_same(ours, ref, tol, "forward")
    for i, (a, b) in enumerate(zip(ours_args, ref_args)):  # in-place updates (running stats)
        if isinstance(b, torch.Tensor) and not b.requires_grad:
            _assert_same(a, b, tol, f"argument {i} after the call")
    if not entry.differentiable:
        return
    # one random upstream gradient per floating-point output (an LSTM's h and c, a layer's states)
    outs_a, outs_b = _float_outputs(ours), _float_outputs(ref)
    upstream = [rand(*o.shape, seed=99 + k, dtype=o.dtype) for k, o in enumerate(outs_b)]
    inputs_a, inputs_b = _leaves(ours_args), _leaves(ref_args)
    if not inputs_b:
        return
    grads_a = torch.autograd.grad(outs_a, inputs_a, upstream, allow_unused=True)
    grads_b = torch.autograd.grad(outs_b, inputs_b, upstream, allow_unused=True)
    for i, (ga, gb, t) in enumerate(zip(grads_a, grads_b, inputs_b)):
        ga = torch.zeros_like(t) if ga is None else ga
        gb = torch.zeros_like(t) if gb is None else gb
        _assert_same(ga, gb, tol, f"gradient of differentiable input {i}")


def test_samples_reach_the_function_in_their_own_layout():
    """Each implementation gets a copy with the sample's strides (non-contiguous stays so)."""
    x = noncontig(rand(3, 4))
    for v in (x, x.t(), channels_last(rand(2, 3, 4, 5)), (x, x.requires_grad_())):
        c = _clone(v)
        for a, b in zip(v if isinstance(v, tuple) else (v,), c if isinstance(c, tuple) else (c,)):
            assert a.stride() == b.stride() and torch.equal(a, b) and a.requires_grad == b.requires_grad
            assert a.data_ptr() != b.data_ptr()


GRADGRAD = [
    pytest.param(name, sample, id=f"{name}-{sample.name or i}",
                 marks=_xfail(entry.xfail.get(f"gradgrad-{sample.name}")))
    for name, entry in REGISTRY.items()
    for i, sample in enumerate(entry.gradgrad())
]


@pytest.mark.parametrize("name,sample", GRADGRAD)
def test_second_derivatives(name, sample):
    _check_second_derivatives(REGISTRY[name], sample)


class _OnceSquare(torch.autograd.Function):
    """:math:`x^2` with a backward pass marked once_differentiable (a test of the check)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_once_differentiable_entries_are_checked():
    """The check for ``double_backward="once_differentiable"`` passes for such a Function."""
    sample = Sample((rand(3, seed=1).requires_grad_(),))
    once = Entry(_OnceSquare.apply, torch.square, lambda dtype: [sample],
                 double_backward="once_differentiable")
    _check_second_derivatives(once, sample)
    with pytest.raises(AssertionError):  # and a Function claiming "yes" is not excused
        _check_second_derivatives(Entry(_OnceSquare.apply, torch.square, lambda dtype: []), sample)


class _FirstOrderSquare(torch.autograd.Function):
    """:math:`x^2` whose backward pass refuses ``create_graph=True`` (a test of the check)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        if torch.is_grad_enabled():
            raise RuntimeError("first derivatives only")
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_raising_double_backward_entries_are_checked():
    """``double_backward="raises:..."`` passes only for a Function that raises that error."""
    sample = Sample((rand(3, seed=1).requires_grad_(),))
    mode = "raises:first derivatives only"
    _check_second_derivatives(Entry(_FirstOrderSquare.apply, torch.square, lambda dtype: [sample],
                                    double_backward=mode), sample)
    with pytest.raises(pytest.fail.Exception):  # a Function that can be differentiated twice
        _check_second_derivatives(Entry(torch.square, torch.square, lambda dtype: [sample],
                                        double_backward=mode), sample)


def _check_second_derivatives(entry, sample):
    def fn(*diff):
        args = _replace_leaves([_clone(a) for a in sample.args], iter(diff))
        kwargs = {k: _clone(v) for k, v in sample.kwargs.items()}
        return tuple(_float_outputs(entry.ours(*args, **kwargs)))

    diff = _leaves(sample.args)
    if entry.double_backward == "once_differentiable":
        out = fn(*diff)[0]
        # an upstream gradient that requires grad, so that once_differentiable attaches its error
        v = torch.ones_like(out, requires_grad=True)
        (g,) = torch.autograd.grad(out, diff[:1], v, create_graph=True)
        with pytest.raises(RuntimeError, match="once_differentiable"):
            g.sum().backward()
        return
    if entry.double_backward.startswith("raises:"):
        # a backward pass that refuses create_graph=True with a clear error of its own
        out = fn(*diff)[0]
        with pytest.raises(RuntimeError, match=entry.double_backward[len("raises:"):]):
            torch.autograd.grad(out, diff, torch.ones_like(out), create_graph=True)
        return
    assert entry.double_backward == "yes"
    try:
        ok = torch.autograd.gradgradcheck(fn, diff)
    except RuntimeError as exc:  # e.g. a once_differentiable backward not declared so
        raise AssertionError(f"double backward failed: {exc}") from exc
    assert ok


INVALID = [
    pytest.param(name, case, id=f"{name}-{case.argument}-{i}", marks=_xfail(case.xfail))
    for name, entry in REGISTRY.items()
    for i, case in enumerate(entry.invalid)
]


@pytest.mark.parametrize("name,case", INVALID)
def test_invalid_argument_is_named(name, case):
    assert all(issubclass(e, (ValueError, TypeError, IndexError)) for e in case.error)
    with pytest.raises(case.error) as info:
        case.call()
    assert f"'{case.argument}'" in str(info.value) or f"{case.argument}=" in str(info.value), (
        f"{name}: the message does not name '{case.argument}': {info.value}"
    )
