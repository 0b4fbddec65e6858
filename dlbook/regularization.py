r"""Dropout as an ensemble: exact enumeration for small layers, Monte-Carlo for networks.

A network with :math:`n` droppable units defines :math:`2^n` thinned
networks that share weights; mask :math:`\mathbf{m}` has probability
:math:`\prod_i q^{m_i}(1-q)^{1-m_i}` with keep probability :math:`q = 1 - p`.
"""

from __future__ import annotations

import itertools

import torch

from dlbook._checks import check_floating, check_ndim, check_real

__all__ = ["dropout_masks", "softmax_dropout_ensemble", "mc_dropout_predict"]


def dropout_masks(n: int, p: float, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    r"""All :math:`2^n` keep-masks of ``n`` units and their probabilities.

    Parameters
    ----------
    n : int
        Number of units, at most 20.
    p : float
        Drop probability in :math:`[0, 1)`.

    Returns
    -------
    masks : torch.Tensor
        Shape ``(2**n, n)``, entries 0 (dropped) or 1 (kept).
    probs : torch.Tensor
        Shape ``(2**n,)``, :math:`\prod_i q^{m_i}(1-q)^{1-m_i}`; sums to 1.

    Examples
    --------
    >>> masks, probs = dropout_masks(2, 0.25)
    >>> masks
    tensor([[0., 0.],
            [0., 1.],
            [1., 0.],
            [1., 1.]], dtype=torch.float64)
    >>> probs
    tensor([0.0625, 0.1875, 0.1875, 0.5625], dtype=torch.float64)
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 20:
        raise ValueError(f"dropout_masks: argument 'n' must be an int in [1, 20], got {n!r}")
    p = check_real("dropout_masks", "p", p, low=0.0, high=1.0, high_open=True)
    masks = torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)), dtype=dtype)
    q = 1.0 - p
    probs = (q**masks * p ** (1 - masks)).prod(1)
    return masks, probs


def softmax_dropout_ensemble(W: torch.Tensor, b: torch.Tensor, x: torch.Tensor, p: float):
    r"""Exact ensemble averages of a softmax layer with dropout on its input.

    For :math:`\vs(\mathbf{m}) = \softmax(\mW(\mathbf{m} \odot \vx) + \vb)` over
    all masks, returns the arithmetic mean :math:`\E_{\mathbf{m}}[\vs(\mathbf{m})]`
    and the renormalised weighted geometric mean
    :math:`\propto \exp \E_{\mathbf{m}}[\log \vs(\mathbf{m})]`.

    Parameters
    ----------
    W : torch.Tensor
        Shape ``(C, D)`` with ``D <= 20``.
    b : torch.Tensor
        Shape ``(C,)``.
    x : torch.Tensor
        Shape ``(D,)``.
    p : float
        Drop probability.

    Returns
    -------
    arithmetic, geometric : torch.Tensor
        Each of shape ``(C,)``, summing to 1.

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[1.0, -1.0], [0.0, 2.0]], dtype=torch.float64)
    >>> b = torch.zeros(2, dtype=torch.float64); x = torch.tensor([1.0, 1.0], dtype=torch.float64)
    >>> arith, geo = softmax_dropout_ensemble(W, b, x, 0.5)
    >>> torch.allclose(geo, torch.softmax(0.5 * W @ x + b, 0))   # weight scaling, exactly
    True
    """
    for name, t in (("W", W), ("b", b), ("x", x)):
        check_floating("softmax_dropout_ensemble", name, t)
    check_ndim("softmax_dropout_ensemble", "W", W, 2, "(C, D)")
    check_ndim("softmax_dropout_ensemble", "x", x, 1, "(D,)")
    if x.shape[0] != W.shape[1] or b.shape != (W.shape[0],):
        raise ValueError(
            "softmax_dropout_ensemble: need W (C, D), b (C,), x (D,); "
            f"got {tuple(W.shape)}, {tuple(b.shape)}, {tuple(x.shape)}"
        )
    masks, probs = dropout_masks(x.shape[0], p, dtype=W.dtype)
    log_s = torch.log_softmax((masks * x) @ W.T + b, dim=1)  # (2^D, C)
    arithmetic = (probs[:, None] * log_s.exp()).sum(0)
    geometric = torch.softmax((probs[:, None] * log_s).sum(0), dim=0)
    return arithmetic, geometric


@torch.no_grad()
def mc_dropout_predict(
    model: torch.nn.Module,
    X: torch.Tensor,
    n_samples: int,
    generator: torch.Generator | None = None,
    batch_size: int = 2000,
) -> torch.Tensor:
    r"""Average the softmax outputs of ``n_samples`` random thinned networks.

    Only the dropout layers (:class:`dlbook.nn.Dropout` and
    :class:`torch.nn.Dropout`) are put in training mode; the rest of the model
    stays in evaluation mode. Layers of type :class:`dlbook.nn.Dropout` draw
    from ``generator`` when it is given.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, ...)`` to logits ``(N, C)``.
    X : torch.Tensor
        Inputs, shape ``(N, ...)``.
    n_samples : int
        Number of masks per input, at least 1.

    Returns
    -------
    torch.Tensor
        Shape ``(N, C)``: the Monte-Carlo estimate of the ensemble's mean prediction.

    Examples
    --------
    >>> import torch
    >>> from dlbook.nn import Dropout
    >>> model = torch.nn.Sequential(Dropout(0.5), torch.nn.Linear(4, 3))
    >>> probs = mc_dropout_predict(model, torch.randn(5, 4), n_samples=10)
    >>> probs.shape, torch.allclose(probs.sum(1), torch.ones(5))
    (torch.Size([5, 3]), True)
    """
    from dlbook.nn import Dropout

    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(
            f"mc_dropout_predict: argument 'n_samples' must be an int >= 1, got {n_samples!r}"
        )
    was_training = model.training
    model.eval()
    saved = []
    for module in model.modules():
        if isinstance(module, (Dropout, torch.nn.Dropout)):
            module.train()
            if isinstance(module, Dropout) and generator is not None:
                saved.append((module, module.generator))
                module.generator = generator
    try:
        params = list(model.parameters())
        device = params[0].device if params else X.device
        out = []
        for start in range(0, X.shape[0], batch_size):
            xb = X[start : start + batch_size].to(device)
            acc = 0.0
            for _ in range(n_samples):
                acc = acc + torch.softmax(model(xb), dim=1)
            out.append((acc / n_samples).to(X.device))
    finally:
        for module, gen in saved:
            module.generator = gen
        model.train(was_training)
    return torch.cat(out)
