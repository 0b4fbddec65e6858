"""Chain-rule example, numerical gradients, metrics and softmax regression."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

from dlbook.autodiff import chain_rule_example, chain_rule_example_backward, numerical_gradient, relative_error
from dlbook.linear import one_hot, softmax_regression_loss_and_grad
from dlbook.metrics import accuracy, topk_error


def test_chain_rule_values():
    f, grads, nodes = chain_rule_example_backward(1.0, 0.0)
    s = 1 / (1 + math.exp(-1))
    assert f == pytest.approx(1.5 / (3 - s), abs=1e-15)
    assert round(grads["x"], 6) == 0.064645
    assert round(grads["y"], 6) == -0.181186
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    chain_rule_example(x, y).backward()
    assert grads["x"] == pytest.approx(x.grad.item(), abs=1e-15)
    assert grads["y"] == pytest.approx(y.grad.item(), abs=1e-15)
    assert nodes["f"] == (f, 1.0)


@given(x=st.floats(-2, 2), y=st.floats(-2, 2))
def test_chain_rule_backward_matches_autograd_everywhere(x, y):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    out = chain_rule_example(xt, yt)
    if abs((3 * xt + yt - torch.sigmoid(xt)).item()) < 1e-3:
        return  # too close to the pole of f
    out.backward()
    _, grads, _ = chain_rule_example_backward(x, y)
    assert grads["x"] == pytest.approx(xt.grad.item(), rel=1e-10, abs=1e-10)
    assert grads["y"] == pytest.approx(yt.grad.item(), rel=1e-10, abs=1e-10)


def test_numerical_gradient_central_difference_accuracy():
    x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    num = numerical_gradient(lambda v: (v.sin() * v).sum(), x)
    exact = x.sin() + x * x.cos()
    assert relative_error(num, exact) < 1e-9


def test_numerical_gradient_rejects_bad_input():
    with pytest.raises(TypeError, match="'x' must be a floating-point tensor"):
        numerical_gradient(lambda v: v.sum(), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="'eps' must lie in"):
        numerical_gradient(lambda v: v.sum(), torch.tensor([1.0]), eps=0.0)


def test_relative_error():
    assert relative_error(torch.zeros(3), torch.zeros(3)) == 0.0
    assert relative_error(torch.tensor([2.0]), torch.tensor([1.0])) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="shapes must match"):
        relative_error(torch.zeros(2), torch.zeros(3))


def test_topk_error_exact_values():
    scores = torch.tensor([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.2, 0.35, 0.45]])
    target = torch.tensor([2, 0, 0, 1])
    assert topk_error(scores, target, 1) == 0.75
    assert topk_error(scores, target, 2) == 0.25
    assert topk_error(scores, target, 3) == 0.0
    assert accuracy(scores, target) == 0.25


def test_metric_errors():
    with pytest.raises(ValueError, match=r"'k' must be an int in \[1, C\] = \[1, 3\]"):
        topk_error(torch.zeros(2, 3), torch.tensor([0, 1]), k=4)
    with pytest.raises(ValueError, match=r"'target' must have shape \(N,\) = \(2,\)"):
        accuracy(torch.zeros(2, 3), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"'scores' must have shape \(N, C\)"):
        accuracy(torch.zeros(3), torch.tensor([0, 1, 2]))


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_softmax_regression_gradient_matches_autograd(beta):
    g = torch.Generator().manual_seed(0)
    W = torch.randn(4, 6, dtype=torch.float64, generator=g)
    b = torch.randn(4, dtype=torch.float64, generator=g)
    X = torch.randn(9, 6, dtype=torch.float64, generator=g)
    y = torch.randint(4, (9,), generator=g)
    loss, gW, gb = softmax_regression_loss_and_grad(W, b, X, y, beta=beta)
    Wa, ba = W.clone().requires_grad_(), b.clone().requires_grad_()
    ref = TF.cross_entropy(beta * (X @ Wa.T + ba), y)
    ref.backward()
    torch.testing.assert_close(loss, ref.detach(), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(gW, Wa.grad, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(gb, ba.grad, rtol=1e-12, atol=1e-13)


def test_softmax_regression_single_example_form():
    """For one example and beta = 1 the gradient is the outer product (y_hat - y) x^T."""
    W = torch.zeros(3, 2, dtype=torch.float64)
    b = torch.zeros(3, dtype=torch.float64)
    x = torch.tensor([[1.0, -2.0]], dtype=torch.float64)
    _, gW, gb = softmax_regression_loss_and_grad(W, b, x, torch.tensor([1]))
    delta = torch.tensor([1 / 3, -2 / 3, 1 / 3], dtype=torch.float64)
    torch.testing.assert_close(gW, torch.outer(delta, x[0]))
    torch.testing.assert_close(gb, delta)


def test_softmax_regression_errors():
    W, b, X = torch.zeros(3, 2), torch.zeros(3), torch.zeros(4, 2)
    with pytest.raises(ValueError, match=r"'X' must have shape \(N, D\) = \(N, 2\)"):
        softmax_regression_loss_and_grad(W, b, torch.zeros(4, 5), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"'b' must have shape \(C,\) = \(3,\)"):
        softmax_regression_loss_and_grad(W, torch.zeros(2), X, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="one_hot: argument 'target'"):
        one_hot(torch.zeros(2, 2, dtype=torch.long), 3)
