"""Class-balanced splits and the pseudo-label loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

from dlbook.data import balanced_split
from dlbook.semisupervised import pseudo_label_loss, pseudo_label_weight


def _labels(n_per_class=50, classes=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    return labels[torch.randperm(len(labels), generator=g)]


def test_split_is_balanced_disjoint_and_complete():
    labels = _labels()
    labeled, valid, rest = balanced_split(labels, (3, 10), seed=1)
    assert torch.bincount(labels[labeled]).tolist() == [3] * 10
    assert torch.bincount(labels[valid]).tolist() == [10] * 10
    all_idx = torch.cat([labeled, valid, rest])
    assert len(all_idx) == len(labels) and len(torch.unique(all_idx)) == len(labels)


def test_split_is_reproducible_and_depends_on_seed():
    labels = _labels()
    a = balanced_split(labels, (3, 10), seed=1)
    b = balanced_split(labels, (3, 10), seed=1)
    c = balanced_split(labels, (3, 10), seed=2)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_split_errors():
    with pytest.raises(ValueError, match="class 0 has 50 examples but the parts need 60"):
        balanced_split(_labels(), (30, 30))
    with pytest.raises(ValueError, match="'labels' must be integer labels"):
        balanced_split(torch.zeros(4), (1,))


def test_mnist_protocol_split(mnist_available):
    from dlbook.data import load_mnist

    _, labels = load_mnist("train", root=mnist_available, download=False)
    labeled, valid, unlabeled = balanced_split(labels, (300, 1000), seed=0)
    assert (len(labeled), len(valid), len(unlabeled)) == (3000, 10000, 47000)
    assert torch.bincount(labels[labeled]).tolist() == [300] * 10


def test_ramp_schedule_exact_values():
    assert pseudo_label_weight(99.9) == 0.0
    assert pseudo_label_weight(100) == 0.0
    assert pseudo_label_weight(225) == pytest.approx(0.75)
    assert pseudo_label_weight(600) == 3.0
    assert pseudo_label_weight(10, T1=0, T2=20, alpha_f=1.0) == 0.5
    with pytest.raises(ValueError, match="need T1 < T2"):
        pseudo_label_weight(1, T1=5, T2=5)


@given(seed=st.integers(0, 1000), alpha=st.floats(0.0, 5.0))
def test_pseudo_label_gradient(seed, alpha):
    g = torch.Generator().manual_seed(seed)
    zl = torch.randn(4, 3, dtype=torch.float64, generator=g, requires_grad=True)
    zu = torch.randn(5, 3, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.randint(3, (4,), generator=g)
    pseudo_label_loss(zl, y, zu, alpha).backward()
    pseudo = zu.detach().argmax(1)
    expected_u = alpha / 5 * (torch.softmax(zu.detach(), 1) - TF.one_hot(pseudo, 3).double())
    grad_u = torch.zeros_like(zu) if zu.grad is None else zu.grad  # alpha = 0 skips the unlabelled term
    torch.testing.assert_close(grad_u, expected_u, rtol=1e-12, atol=1e-14)
    expected_l = (torch.softmax(zl.detach(), 1) - TF.one_hot(y, 3).double()) / 4
    torch.testing.assert_close(zl.grad, expected_l, rtol=1e-12, atol=1e-14)


def test_pseudo_label_loss_gradcheck():
    g = torch.Generator().manual_seed(0)
    zl = torch.randn(3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    zu = torch.randn(6, 4, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.tensor([0, 2, 3])
    assert torch.autograd.gradcheck(lambda a, b: pseudo_label_loss(a, y, b, 1.3), (zl, zu))


def test_pseudo_label_loss_errors():
    with pytest.raises(ValueError, match="C = 3 columns"):
        pseudo_label_loss(torch.zeros(2, 3), torch.tensor([0, 1]), torch.zeros(2, 4), 1.0)
    with pytest.raises(ValueError, match="'alpha' must lie in"):
        pseudo_label_loss(torch.zeros(2, 3), torch.tensor([0, 1]), torch.zeros(2, 3), -1.0)
