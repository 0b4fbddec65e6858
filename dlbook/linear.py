"""Softmax regression with the hand-derived gradient.

For inputs :math:`X \\in \\mathbb{R}^{N\\times D}`, weights
:math:`W \\in \\mathbb{R}^{C \\times D}` and bias :math:`b \\in \\mathbb{R}^C`, the
model is :math:`\\hat Y = \\operatorname{softmax}(\\beta (X W^\\top + \\mathbf{1} b^\\top))`
row by row, and the mean cross-entropy loss has gradients

.. math::

    \\nabla_W L = \\frac{\\beta}{N} (\\hat Y - Y)^\\top X, \\qquad
    \\nabla_b L = \\frac{\\beta}{N} (\\hat Y - Y)^\\top \\mathbf{1},

which for one example and :math:`\\beta = 1` is :math:`(\\hat y - y) x^\\top`.
"""

from __future__ import annotations

import torch

from dlbook._checks import check_floating, check_ndim, check_real, check_tensor

__all__ = ["softmax_regression_loss_and_grad", "one_hot"]


def one_hot(target: torch.Tensor, num_classes: int, dtype=torch.float32) -> torch.Tensor:
    """One-hot encode integer labels ``(N,)`` into ``(N, num_classes)``.

    Examples
    --------
    >>> import torch
    >>> one_hot(torch.tensor([2, 0]), 3)
    tensor([[0., 0., 1.],
            [1., 0., 0.]])
    """
    check_tensor("one_hot", "target", target)
    if target.is_floating_point() or target.ndim != 1:
        raise ValueError(f"one_hot: argument 'target' must be integer labels of shape (N,), got "
                         f"dtype {target.dtype} and shape {tuple(target.shape)}")
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes})")
    return torch.zeros(target.shape[0], num_classes, dtype=dtype).scatter_(1, target.long().unsqueeze(1), 1.0)


def softmax_regression_loss_and_grad(W: torch.Tensor, b: torch.Tensor, X: torch.Tensor,
                                     y: torch.Tensor, beta: float = 1.0):
    """Mean cross-entropy of softmax regression and its gradients, without autograd.

    Parameters
    ----------
    W : torch.Tensor
        Weights, shape ``(C, D)``.
    b : torch.Tensor
        Bias, shape ``(C,)``.
    X : torch.Tensor
        Inputs, shape ``(N, D)``.
    y : torch.Tensor
        Integer class labels, shape ``(N,)``.
    beta : float
        Inverse temperature applied to the logits.

    Returns
    -------
    loss : torch.Tensor
        Scalar mean cross-entropy.
    grad_W : torch.Tensor
        :math:`\\frac{\\beta}{N}(\\hat Y - Y)^\\top X`, shape ``(C, D)``.
    grad_b : torch.Tensor
        :math:`\\frac{\\beta}{N}\\sum_n (\\hat y_n - y_n)`, shape ``(C,)``.

    Examples
    --------
    >>> import torch
    >>> W, b = torch.zeros(3, 2), torch.zeros(3)
    >>> X, y = torch.tensor([[1.0, 2.0]]), torch.tensor([0])
    >>> loss, gW, gb = softmax_regression_loss_and_grad(W, b, X, y)
    >>> round(loss.item(), 4)
    1.0986
    >>> gb
    tensor([-0.6667,  0.3333,  0.3333])
    """
    fn = "softmax_regression_loss_and_grad"
    for name, t in (("W", W), ("b", b), ("X", X)):
        check_floating(fn, name, t)
    check_ndim(fn, "W", W, 2, "(C, D)")
    check_ndim(fn, "X", X, 2, "(N, D)")
    C, D = W.shape
    N = X.shape[0]
    if X.shape[1] != D:
        raise ValueError(f"{fn}: 'X' must have shape (N, D) = (N, {D}) to match 'W' (C, D) = {(C, D)}, "
                         f"got {tuple(X.shape)}")
    if b.shape != (C,):
        raise ValueError(f"{fn}: 'b' must have shape (C,) = ({C},), got {tuple(b.shape)}")
    beta = check_real(fn, "beta", beta, low=0.0)
    Y = one_hot(y, C, dtype=X.dtype)
    if y.shape != (N,):
        raise ValueError(f"{fn}: 'y' must have shape (N,) = ({N},), got {tuple(y.shape)}")
    z = beta * (X @ W.T + b)
    z = z - z.amax(dim=1, keepdim=True)
    logp = z - torch.log(torch.exp(z).sum(dim=1, keepdim=True))
    loss = -(Y * logp).sum() / N
    delta = (torch.exp(logp) - Y) * (beta / N)  # (N, C): d loss / d logits
    return loss, delta.T @ X, delta.sum(dim=0)
