"""Adaptive softmax (Grave et al. 2017) with torch.nn's arguments and state-dict keys.

The vocabulary, sorted by decreasing frequency, is cut at ``cutoffs``
into a shortlist :math:`V_0` (the frequent words) and tail clusters
:math:`V_1, \\dots, V_C`. The head is a softmax over :math:`V_0` plus one
token per cluster; cluster :math:`c` has its own softmax over
:math:`V_c`, computed from a projection of the hidden vector to
``in_features // div_value**c`` dimensions. For a word :math:`w \\in V_c`,

.. math::

    \\log p(w \\mid h) = \\log p_{\\text{head}}(c \\mid h) + \\log p_c(w \\mid h),

and for :math:`w \\in V_0` only the head term. Since most tokens are in
the shortlist, most examples never touch the large tail matrices, which is
where the speed comes from.
"""

from __future__ import annotations

from collections import namedtuple

import torch

from dlbook.functional.softmax import log_softmax

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(torch.nn.Module):
    """Adaptive log-softmax with the loss, as :class:`torch.nn.AdaptiveLogSoftmaxWithLoss`.

    Parameters
    ----------
    in_features : int
        Size :math:`D` of the hidden vectors.
    n_classes : int
        Vocabulary size :math:`V`; class indices must be sorted by
        decreasing frequency.
    cutoffs : sequence of int
        Increasing cut points in :math:`(0, V)`.
    div_value : float
        Each cluster's projection is ``div_value`` times smaller than the last.
    head_bias : bool
        Whether the head has a bias.

    Notes
    -----
    ``forward(input, target)`` takes ``input`` of shape ``(N, D)`` and
    ``target`` of shape ``(N,)``, and returns ``output``, the target
    log-probabilities of shape ``(N,)``, and ``loss``, their negative mean.
    ``log_prob(input)`` returns shape ``(N, V)``.

    Examples
    --------
    >>> import torch
    >>> asm = AdaptiveLogSoftmaxWithLoss(16, 10, cutoffs=[4, 7])
    >>> out, loss = asm(torch.randn(3, 16), torch.tensor([0, 5, 9]))
    >>> out.shape, asm.log_prob(torch.randn(3, 16)).exp().sum(1).allclose(torch.ones(3))
    (torch.Size([3]), True)
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0, head_bias: bool = False,
                 device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if (not cutoffs or cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss: argument 'cutoffs' must be a sorted sequence of unique "
                             f"integers in (0, n_classes - 1 = {n_classes - 1}], got {cutoffs}")
        kw = {"device": device, "dtype": dtype}
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        # torch.nn.Linear only holds the parameters (same keys as torch); the products are written below.
        self.head = torch.nn.Linear(in_features, self.head_size, bias=head_bias, **kw)
        self.tail = torch.nn.ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(torch.nn.Sequential(torch.nn.Linear(in_features, hsz, bias=False, **kw),
                                                 torch.nn.Linear(hsz, osz, bias=False, **kw)))

    def _head(self, x):
        out = x @ self.head.weight.t()
        return out + self.head.bias if self.head_bias else out

    def _tail(self, i, x):
        proj, out = self.tail[i]
        return (x @ proj.weight.t()) @ out.weight.t()

    def _check(self, input, target=None):
        if input.dim() != 2 or input.shape[1] != self.in_features:
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss: 'input' must have shape (N, in_features = "
                             f"{self.in_features}), got {tuple(input.shape)}")
        if target is not None:
            if target.shape != (input.shape[0],) or target.is_floating_point():
                raise ValueError(f"AdaptiveLogSoftmaxWithLoss: 'target' must be integer classes of shape (N,) = "
                                 f"({input.shape[0]},), got {target.dtype} {tuple(target.shape)}")
            if target.numel() and (int(target.min()) < 0 or int(target.max()) >= self.n_classes):
                raise IndexError(f"AdaptiveLogSoftmaxWithLoss: 'target' values must be in [0, {self.n_classes})")

    def forward(self, input: torch.Tensor, target: torch.Tensor):
        """Target log-probabilities ``(N,)`` and the loss, as a named tuple ``(output, loss)``."""
        self._check(input, target)
        head_logp = log_softmax(self._head(input), dim=1)
        output = input.new_zeros(input.shape[0])
        short = target < self.shortlist_size
        idx = short.nonzero().squeeze(1)
        output = output.index_copy(0, idx, head_logp[idx, target[idx]])
        for i in range(self.n_clusters):
            lo, hi = self.cutoffs[i], self.cutoffs[i + 1]
            idx = ((target >= lo) & (target < hi)).nonzero().squeeze(1)
            if idx.numel() == 0:
                continue
            cluster_logp = log_softmax(self._tail(i, input[idx]), dim=1)
            rel = target[idx] - lo
            value = head_logp[idx, self.shortlist_size + i] + cluster_logp.gather(1, rel.unsqueeze(1)).squeeze(1)
            output = output.index_copy(0, idx, value)
        loss = -output.mean() if output.numel() else output.sum()
        return _ASMoutput(output, loss)

    def log_prob(self, input: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of every class, shape ``(N, n_classes)``."""
        self._check(input)
        head_logp = log_softmax(self._head(input), dim=1)
        parts = [head_logp[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            parts.append(log_softmax(self._tail(i, input), dim=1) + head_logp[:, self.shortlist_size + i:
                                                                                 self.shortlist_size + i + 1])
        return torch.cat(parts, dim=1)

    def predict(self, input: torch.Tensor) -> torch.Tensor:
        """The most likely class per row, shape ``(N,)``."""
        return self.log_prob(input).argmax(dim=1)
