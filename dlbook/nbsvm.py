"""NBSVM (Wang and Manning 2012): a linear SVM on naive-Bayes-scaled binary n-gram features.

For binary feature vectors :math:`\\hat x \\in \\{0,1\\}^D` (which n-grams
occur in a text) and labels :math:`y \\in \\{-1, +1\\}`, the log-count ratio

.. math::

    r = \\log \\frac{p / \\lVert p \\rVert_1}{q / \\lVert q \\rVert_1}, \\qquad
    p = \\alpha \\mathbf 1 + \\sum_{i: y_i = +1} \\hat x_i, \\quad
    q = \\alpha \\mathbf 1 + \\sum_{i: y_i = -1} \\hat x_i,

is the weight vector of multinomial naive Bayes on binary features. NBSVM
scales each feature by it, :math:`\\tilde x = r \\odot \\hat x`, and trains
an L2-regularised squared-hinge SVM

.. math::

    \\min_{w}\\; \\tfrac12 \\lVert w \\rVert^2 + C \\sum_i \\max(0, 1 - y_i w^\\top \\tilde x_i)^2,

then interpolates the weights towards their mean magnitude,
:math:`w' = (1 - \\beta) \\bar w + \\beta w` with
:math:`\\bar w = \\lVert w \\rVert_1 / D`: a model between naive Bayes
(:math:`\\beta = 0` gives every scaled feature the same weight, so the
score is proportional to :math:`r^\\top \\hat x`) and the SVM. The counts
:math:`p, q` are statistics of the training set and must come from the
training fold only.

The SVM has no intercept, as in Wang and Manning's code (LIBLINEAR's
``-s 1`` with its default of no bias term). An intercept ``b`` fitted
beside :math:`w` (``bias=True``) suits :math:`w`, not :math:`w'`: the
interpolation scales the SVM's part of the score by :math:`\\beta` and adds
the naive-Bayes part :math:`(1 - \\beta) \\bar w\\, r^\\top \\hat x`, while
:math:`b` stays whole, so it shifts the decision threshold by an amount
the interpolated model never chose.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import torch

from dlbook.text import Vocab

__all__ = ["NBSVM", "char_ngrams", "ngrams"]


def ngrams(tokens: Sequence[str], n: int = 2) -> list[str]:
    """All 1- to ``n``-grams of ``tokens``, each joined by a space.

    Examples
    --------
    >>> ngrams(["not", "good", "at", "all"])
    ['not', 'good', 'at', 'all', 'not good', 'good at', 'at all']
    """
    out = list(tokens)
    for k in range(2, n + 1):
        out += [" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1)]
    return out


def char_ngrams(tokens: Sequence[str], lo: int = 2, hi: int = 5) -> list[str]:
    """All character ``lo``- to ``hi``-grams of the tokens joined by spaces, with a space at both ends.

    The spaces mark word boundaries, so ``" un"`` (a word that starts with
    *un*) and ``"ly "`` (one that ends with *ly*) are features of their own.
    Fed to :class:`NBSVM` with ``n=1``, they give an NBSVM on character
    n-grams.

    Examples
    --------
    >>> char_ngrams(["not", "bad"], 2, 3)[:5]
    [' n', 'no', 'ot', 't ', ' b']
    >>> len(char_ngrams(["ok"], 2, 4))  # " ok ": 3 + 2 + 1
    6
    """
    if not 1 <= lo <= hi:
        raise ValueError(f"char_ngrams: arguments 'lo' and 'hi' must satisfy 1 <= lo <= hi, got {lo}, {hi}")
    text = " " + " ".join(tokens) + " "
    return [text[i:i + n] for n in range(lo, hi + 1) for i in range(len(text) - n + 1)]


class NBSVM:
    """NBSVM with uni- to ``n``-grams, trained full-batch with L-BFGS in float64.

    Parameters
    ----------
    n : int
        Longest n-gram (``2``: NBSVM-bi).
    alpha : float
        Smoothing of the counts :math:`p, q`.
    C : float
        Weight of the squared-hinge loss against :math:`\\tfrac12 \\lVert w \\rVert^2`.
    beta : float
        Interpolation weight; Wang and Manning use 0.25.
    max_iter : int
        L-BFGS iterations.
    bias : bool
        Fit an unregularised intercept ``b`` beside ``w`` and keep it after
        the interpolation. Off by default, as in Wang and Manning's model
        (see the module docstring for why it hurts).

    Attributes
    ----------
    vocab : Vocab
        The n-grams of the training texts (no specials; unknown n-grams are dropped).
    r : torch.Tensor
        Log-count ratios, shape ``(D,)``.
    w, b : torch.Tensor
        Interpolated weights ``(D,)`` and intercept ``()`` (zero unless ``bias``).

    Examples
    --------
    >>> docs = [["good", "film"], ["bad", "film"], ["very", "good"], ["very", "bad"]]
    >>> m = NBSVM().fit(docs, torch.tensor([1, 0, 1, 0]))
    >>> m.predict([["good"], ["bad"]]).tolist()
    [1, 0]
    """

    def __init__(self, n: int = 2, alpha: float = 1.0, C: float = 1.0, beta: float = 0.25, max_iter: int = 200,
                 bias: bool = False):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"NBSVM: argument 'n' must be an int >= 1, got {n!r}")
        for name, v in (("alpha", alpha), ("C", C)):
            if not v > 0:
                raise ValueError(f"NBSVM: argument '{name}' must be > 0, got {v!r}")
        if not 0 <= beta <= 1:
            raise ValueError(f"NBSVM: argument 'beta' must be in [0, 1], got {beta!r}")
        if not isinstance(bias, bool):
            raise ValueError(f"NBSVM: argument 'bias' must be a bool, got {bias!r}")
        self.n, self.alpha, self.C, self.beta, self.max_iter, self.bias = n, alpha, C, beta, max_iter, bias

    def _binary(self, docs: Sequence[Sequence[str]]) -> torch.Tensor:
        """Sparse ``(N, D)`` float64 matrix of which known n-grams occur in each text."""
        rows, cols = [], []
        for i, doc in enumerate(docs):
            feats = {self.vocab.stoi[g] for g in ngrams(list(doc), self.n) if g in self.vocab.stoi}
            rows += [i] * len(feats)
            cols += sorted(feats)
        idx = torch.tensor([rows, cols], dtype=torch.long).reshape(2, -1)
        return torch.sparse_coo_tensor(idx, torch.ones(idx.shape[1], dtype=torch.float64),
                                       (len(docs), len(self.vocab)), check_invariants=False).coalesce()

    def fit(self, docs: Sequence[Sequence[str]], labels: torch.Tensor) -> NBSVM:
        """Fit on tokenised texts ``docs`` and labels in ``{0, 1}`` of shape ``(N,)``; returns ``self``."""
        labels = torch.as_tensor(labels)
        if labels.shape != (len(docs),) or not set(labels.tolist()) <= {0, 1}:
            raise ValueError(f"NBSVM.fit: argument 'labels' must be 0/1 labels of shape ({len(docs)},), "
                             f"got shape {tuple(labels.shape)}")
        counts = Counter(g for doc in docs for g in set(ngrams(list(doc), self.n)))
        self.vocab = Vocab(counts, specials=(), unk=None)
        X = self._binary(docs)
        y = labels.to(torch.float64) * 2 - 1
        pos = torch.sparse.mm(X.t(), (labels == 1).to(torch.float64).unsqueeze(1)).squeeze(1)
        neg = torch.sparse.mm(X.t(), (labels == 0).to(torch.float64).unsqueeze(1)).squeeze(1)
        p, q = pos + self.alpha, neg + self.alpha
        self.r = torch.log(p / p.sum()) - torch.log(q / q.sum())
        Xr = (X * self.r.unsqueeze(0)).coalesce()  # r ⊙ x̂ for every row
        with warnings.catch_warnings():  # "sparse CSR support is in beta"
            warnings.simplefilter("ignore", UserWarning)
            Xr, XrT = Xr.to_sparse_csr(), Xr.t().coalesce().to_sparse_csr()
        w = torch.zeros(len(self.vocab), dtype=torch.float64, requires_grad=True)
        b = torch.zeros((), dtype=torch.float64, requires_grad=self.bias)  # stays 0 without an intercept
        opt = torch.optim.LBFGS([w, b] if self.bias else [w], lr=1, max_iter=self.max_iter, tolerance_grad=1e-9,
                                tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

        @torch.no_grad()
        def closure():  # loss and its gradient by hand: d/dw = w - 2C Xr^T (y ⊙ slack), d/db = -2C y^T slack
            margin = (Xr @ w.unsqueeze(1)).squeeze(1) + b
            slack = torch.clamp(1 - y * margin, min=0)
            w.grad = w - 2 * self.C * (XrT @ (y * slack).unsqueeze(1)).squeeze(1)
            if self.bias:
                b.grad = -2 * self.C * (y * slack).sum()
            return 0.5 * w.dot(w) + self.C * slack.pow(2).sum()

        opt.step(closure)
        w = w.detach()
        self.w = (1 - self.beta) * w.abs().mean() + self.beta * w
        self.b = b.detach()
        return self

    def decision_function(self, docs: Sequence[Sequence[str]]) -> torch.Tensor:
        """Scores :math:`w'^\\top (r \\odot \\hat x) + b`, shape ``(N,)``; positive means class 1."""
        if not hasattr(self, "w"):
            raise RuntimeError("NBSVM: call fit() before decision_function() or predict()")
        X = self._binary(docs)
        return torch.sparse.mm(X, (self.r * self.w).unsqueeze(1)).squeeze(1) + self.b

    def predict(self, docs: Sequence[Sequence[str]]) -> torch.Tensor:
        """Predicted labels in ``{0, 1}``, shape ``(N,)``."""
        return (self.decision_function(docs) > 0).long()
