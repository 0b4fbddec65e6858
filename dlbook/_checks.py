"""Argument checks shared by the public functions.

Every check raises an error that names the function, the argument and what
was expected, so that bad input never produces a silently wrong result.
"""

from __future__ import annotations

import numbers

import torch


def check_tensor(fn: str, name: str, value) -> None:
    """Raise ``TypeError`` unless ``value`` is a tensor."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{fn}: argument '{name}' must be a torch.Tensor, got {type(value).__name__}")


def check_floating(fn: str, name: str, value) -> None:
    """Raise ``TypeError`` unless ``value`` is a floating-point tensor."""
    check_tensor(fn, name, value)
    if not value.is_floating_point():
        raise TypeError(
            f"{fn}: argument '{name}' must be a floating-point tensor, got dtype {value.dtype}; "
            f"convert it first, e.g. {name}.float() or {name}.double()"
        )


def check_ndim(fn: str, name: str, value: torch.Tensor, ndim, layout: str) -> None:
    """Raise ``ValueError`` unless ``value.ndim`` is ``ndim`` (an int or a tuple of ints)."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if value.ndim not in allowed:
        raise ValueError(
            f"{fn}: argument '{name}' must have shape {layout} "
            f"({' or '.join(map(str, allowed))}-D), got shape {tuple(value.shape)}"
        )


def check_dim(fn: str, name: str, value: torch.Tensor, dim) -> int:
    """Return ``dim`` normalised to ``[0, ndim)``, or raise ``IndexError``."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{fn}: argument 'dim' must be an int, got {type(dim).__name__}")
    n = max(value.ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{fn}: dim={dim} is out of range for argument '{name}' with shape "
            f"{tuple(value.shape)} (expected {-n} <= dim < {n})"
        )
    return int(dim) % n


def check_real(fn: str, name: str, value, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a float, or raise if it is not a real number in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: argument '{name}' must be a real number, got {type(value).__name__}")
    value = float(value)
    if value != value:
        raise ValueError(f"{fn}: argument '{name}' must not be NaN")
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and (value >= high if high_open else value > high)
    if bad_low or bad_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{fn}: argument '{name}' must lie in {left}{lo}, {hi}{right}, got {value}")
    return value


def check_same_dtype(fn: str, name: str, value: torch.Tensor, other_name: str, other) -> None:
    """Raise ``TypeError`` unless tensor ``value`` has the dtype of tensor ``other``."""
    if value.dtype != other.dtype:
        raise TypeError(
            f"{fn}: argument '{name}' has dtype {value.dtype} but '{other_name}' has dtype "
            f"{other.dtype}; convert one of them, e.g. {name}.to({other_name}.dtype)"
        )


def check_groups(fn: str, groups) -> int:
    """Return ``groups`` as an int, or raise ``ValueError`` unless it is a positive int."""
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{fn}: argument 'groups' must be a positive int, got {groups!r}")
    return int(groups)
