"""Batch-normalization modules with the semantics of :mod:`torch.nn`."""

from __future__ import annotations

import torch

from dlbook import functional as F

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(torch.nn.Module):
    _layout = "(N, C, *)"
    _ndims: tuple = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = torch.nn.Parameter(torch.ones(num_features, **kw))
            self.bias = torch.nn.Parameter(torch.zeros(num_features, **kw))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **kw))
            self.register_buffer("running_var", torch.ones(num_features, **kw))
            self.register_buffer(
                "num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device)
            )
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Set the running mean to 0, the running variance to 1 and the counter to 0."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if input.ndim not in self._ndims:
            raise ValueError(
                f"{type(self).__name__}: expected input of shape {self._layout}, "
                f"got shape {tuple(input.shape)}"
            )
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}: the layer was built with num_features="
                f"{self.num_features}, but 'input' of shape {tuple(input.shape)} has "
                f"{input.shape[1]} channels (dimension 1)"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked)
        # without running statistics, evaluation also uses the batch statistics
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of ``(N, C)`` or ``(N, C, L)`` input, per feature ``C``.

    Same arguments, buffers (``running_mean``, ``running_var``,
    ``num_batches_tracked``) and state-dict keys as
    :class:`torch.nn.BatchNorm1d`, so the two load each other's weights.
    ``momentum=None`` averages all batches seen with equal weight.

    Examples
    --------
    >>> import torch
    >>> bn = BatchNorm1d(3)
    >>> y = bn(torch.randn(8, 3))
    >>> y.mean(0).abs().max() < 1e-6
    tensor(True)
    >>> int(bn.num_batches_tracked)
    1
    """

    _layout = "(N, C) or (N, C, L)"
    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of ``(N, C, H, W)`` input, per channel over ``N, H, W``.

    Same arguments, buffers and state-dict keys as :class:`torch.nn.BatchNorm2d`.

    Examples
    --------
    >>> import torch
    >>> bn = BatchNorm2d(4, momentum=None)
    >>> _ = bn(torch.randn(2, 4, 5, 5))
    >>> bn.eval()(torch.randn(2, 4, 5, 5)).shape
    torch.Size([2, 4, 5, 5])
    """

    _layout = "(N, C, H, W)"
    _ndims = (4,)
