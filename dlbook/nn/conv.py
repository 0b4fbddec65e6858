"""Convolution and pooling modules built on :mod:`dlbook.functional`."""

from __future__ import annotations

import math

import torch

from dlbook import functional as F
from dlbook._checks import check_groups
from dlbook.functional.conv import _pair

__all__ = [
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "LPPool2d",
    "AdaptiveMaxPool2d",
    "AdaptiveAvgPool2d",
]


class Conv2d(torch.nn.Module):
    """2-D convolution layer, :func:`dlbook.functional.conv2d` with learned filters.

    Same arguments, parameter shapes, state-dict keys and initialization as
    :class:`torch.nn.Conv2d` (zero padding only): ``weight`` has shape
    ``(out_channels, in_channels / groups, kh, kw)`` and, like ``bias``, is
    drawn uniformly from :math:`\\pm 1/\\sqrt{\\text{fan-in}}` with
    fan-in :math:`= (C/\\text{groups})\\, k_h k_w`.
    Shape ``(N, C, H, W)`` to ``(N, O, oh, ow)``.

    Examples
    --------
    >>> import torch
    >>> conv = Conv2d(3, 8, kernel_size=3, padding=1)
    >>> conv(torch.randn(2, 3, 16, 16)).shape
    torch.Size([2, 8, 16, 16])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        groups = check_groups("Conv2d", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels={in_channels} and out_channels={out_channels} must both "
                f"be divisible by groups={groups}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = _pair("Conv2d", "stride", stride, 1)
        self.padding = _pair("Conv2d", "padding", padding, 0)
        self.dilation = _pair("Conv2d", "dilation", dilation, 1)
        self.groups = groups
        kw = {"device": device, "dtype": dtype}
        self.weight = torch.nn.Parameter(
            torch.empty(out_channels, in_channels // groups, *self.kernel_size, **kw)
        )
        self.bias = torch.nn.Parameter(torch.empty(out_channels, **kw)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw weights and bias as :class:`torch.nn.Conv2d` does."""
        # kaiming_uniform_ with a = sqrt(5) is U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        torch.nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.conv2d(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"groups={self.groups}, bias={self.bias is not None}"
        )


class MaxPool2d(torch.nn.Module):
    """:func:`dlbook.functional.max_pool2d` as a module (arguments of :class:`torch.nn.MaxPool2d`).

    Examples
    --------
    >>> import torch
    >>> MaxPool2d(2)(torch.randn(1, 3, 8, 8)).shape
    torch.Size([1, 3, 4, 4])
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input: torch.Tensor):
        return F.max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(torch.nn.Module):
    """:func:`dlbook.functional.avg_pool2d` as a module (arguments of :class:`torch.nn.AvgPool2d`).

    Examples
    --------
    >>> import torch
    >>> AvgPool2d(2, stride=1)(torch.ones(1, 1, 3, 3))
    tensor([[[[1., 1.],
              [1., 1.]]]])
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class LPPool2d(torch.nn.Module):
    """:func:`dlbook.functional.lp_pool2d` as a module (arguments of :class:`torch.nn.LPPool2d`).

    Examples
    --------
    >>> import torch
    >>> LPPool2d(2, 2)(torch.full((1, 1, 2, 2), 3.0))
    tensor([[[[6.]]]])
    """

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride = norm_type, kernel_size, stride
        self.ceil_mode = ceil_mode

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.lp_pool2d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}"


class AdaptiveMaxPool2d(torch.nn.Module):
    """:func:`dlbook.functional.adaptive_max_pool2d` as a module.

    Examples
    --------
    >>> import torch
    >>> AdaptiveMaxPool2d((2, 3))(torch.randn(1, 4, 7, 9)).shape
    torch.Size([1, 4, 2, 3])
    """

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: torch.Tensor):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(torch.nn.Module):
    """:func:`dlbook.functional.adaptive_avg_pool2d` as a module.

    Examples
    --------
    >>> import torch
    >>> AdaptiveAvgPool2d(1)(torch.ones(2, 3, 5, 5)).shape
    torch.Size([2, 3, 1, 1])
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
