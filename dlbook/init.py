r"""Weight initialization from variance propagation, and warm starts.

For a weight tensor with fan-in :math:`n_{\text{in}}` and fan-out
:math:`n_{\text{out}}` (see :func:`fans`):

=================  ==========================================  ==============================
scheme             :math:`\Var(w)`                             keeps constant
=================  ==========================================  ==============================
LeCun              :math:`1/n_{\text{in}}`                     forward variance, linear/tanh
Glorot (Xavier)    :math:`2/(n_{\text{in}} + n_{\text{out}})`  compromise forward/backward
He                 :math:`2/n_{\text{in}}`                     forward variance, ReLU
=================  ==========================================  ==============================

A uniform distribution on :math:`[-a, a]` has variance :math:`a^2/3`, so the
uniform variants use :math:`a = \sqrt{3\Var(w)}`. Every initializer works in
place, returns its argument, and takes an optional ``generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dlbook._checks import check_floating, check_real, check_tensor

__all__ = [
    "fans",
    "lecun_normal_",
    "xavier_uniform_",
    "xavier_normal_",
    "he_normal_",
    "he_uniform_",
    "initialize_",
    "warm_start",
]


def fans(tensor: torch.Tensor) -> tuple[int, int]:
    r"""Fan-in and fan-out of a weight tensor.

    A linear weight has shape ``(out_features, in_features)``; a convolution
    weight ``(out_channels, in_channels / groups, k_1, ..., k_d)``. With the
    receptive-field size :math:`r = k_1 \cdots k_d` (1 for a linear layer),
    :math:`n_{\text{in}} = \text{in} \cdot r` and :math:`n_{\text{out}} = \text{out} \cdot r`:
    each output unit sums over :math:`n_{\text{in}}` inputs, and each input
    pixel feeds :math:`n_{\text{out}}` output values (away from the borders,
    stride 1).

    Examples
    --------
    >>> import torch
    >>> fans(torch.empty(10, 784))
    (784, 10)
    >>> fans(torch.empty(64, 32, 3, 3))
    (288, 576)
    """
    check_tensor("fans", "tensor", tensor)
    if tensor.ndim < 2:
        raise ValueError(
            "fans: argument 'tensor' must have shape (out, in) or (out, in, k_1, ..., k_d) "
            f"(2-D or more), got shape {tuple(tensor.shape)}"
        )
    r = math.prod(tensor.shape[2:])
    return tensor.shape[1] * r, tensor.shape[0] * r


def _normal_(fn: str, tensor, std, generator):
    check_floating(fn, "tensor", tensor)
    with torch.no_grad():
        return tensor.normal_(0.0, std, generator=generator)


def _uniform_(fn: str, tensor, bound, generator):
    check_floating(fn, "tensor", tensor)
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


def lecun_normal_(tensor: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill with :math:`\mathcal{N}(0, 1/n_{\text{in}})` (LeCun et al., 1998).

    Examples
    --------
    >>> import torch
    >>> w = lecun_normal_(torch.empty(500, 400), generator=torch.Generator().manual_seed(0))
    >>> round(w.var().item() * 400, 2)
    1.0
    """
    fan_in, _ = fans(tensor)
    return _normal_("lecun_normal_", tensor, math.sqrt(1.0 / fan_in), generator)


def xavier_normal_(
    tensor: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Fill with :math:`\mathcal{N}(0, g^2 \cdot 2/(n_{\text{in}} + n_{\text{out}}))`.

    Glorot (Xavier) initialization (Glorot and Bengio, 2010) with gain :math:`g`.

    Examples
    --------
    >>> import torch
    >>> w = xavier_normal_(torch.empty(300, 500), generator=torch.Generator().manual_seed(0))
    >>> round(w.var().item() * (300 + 500) / 2, 2)
    1.0
    """
    gain = check_real("xavier_normal_", "gain", gain, low=0.0, low_open=True)
    fan_in, fan_out = fans(tensor)
    return _normal_(
        "xavier_normal_", tensor, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator
    )


def xavier_uniform_(
    tensor: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Fill with :math:`U(-a, a)`, :math:`a = g\sqrt{6/(n_{\text{in}} + n_{\text{out}})}`.

    Glorot (Xavier) initialization (Glorot and Bengio, 2010) with gain :math:`g`.

    The variance is :math:`a^2/3 = g^2 \cdot 2/(n_{\text{in}} + n_{\text{out}})`.

    Examples
    --------
    >>> import torch
    >>> w = xavier_uniform_(torch.empty(300, 500), generator=torch.Generator().manual_seed(0))
    >>> bool(w.abs().max() <= (6 / 800) ** 0.5)
    True
    """
    gain = check_real("xavier_uniform_", "gain", gain, low=0.0, low_open=True)
    fan_in, fan_out = fans(tensor)
    return _uniform_(
        "xavier_uniform_", tensor, gain * math.sqrt(6.0 / (fan_in + fan_out)), generator
    )


def _fan(fn: str, tensor, mode: str) -> int:
    fan_in, fan_out = fans(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: argument 'mode' must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def he_normal_(
    tensor: torch.Tensor, mode: str = "fan_in", generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Fill with :math:`\mathcal{N}(0, 2/n)` for ReLU networks (He et al., 2015).

    ``mode="fan_in"`` (:math:`n = n_{\text{in}}`) keeps the forward variance;
    ``"fan_out"`` keeps the backward variance.

    Examples
    --------
    >>> import torch
    >>> w = he_normal_(torch.empty(500, 400), generator=torch.Generator().manual_seed(0))
    >>> round(w.var().item() * 400 / 2, 2)
    1.0
    """
    n = _fan("he_normal_", tensor, mode)
    return _normal_("he_normal_", tensor, math.sqrt(2.0 / n), generator)


def he_uniform_(
    tensor: torch.Tensor, mode: str = "fan_in", generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Fill with :math:`U(-a, a)`, :math:`a = \sqrt{6/n}`, variance :math:`2/n` (He et al., 2015).

    Examples
    --------
    >>> import torch
    >>> w = he_uniform_(torch.empty(500, 400), generator=torch.Generator().manual_seed(0))
    >>> bool(w.abs().max() <= (6 / 400) ** 0.5)
    True
    """
    n = _fan("he_uniform_", tensor, mode)
    return _uniform_("he_uniform_", tensor, math.sqrt(6.0 / n), generator)


_SCHEMES = {
    "lecun_normal": lecun_normal_,
    "xavier_normal": xavier_normal_,
    "xavier_uniform": xavier_uniform_,
    "he_normal": he_normal_,
    "he_uniform": he_uniform_,
}


def initialize_(
    model: torch.nn.Module, scheme: str | Callable, generator: torch.Generator | None = None
) -> torch.nn.Module:
    """Initialize every ``Linear`` and ``Conv*d`` weight of ``model`` in place; zero their biases.

    Parameters
    ----------
    model : torch.nn.Module
        Any module; only linear and convolution layers are touched.
    scheme : str or callable
        One of ``"lecun_normal"``, ``"xavier_normal"``, ``"xavier_uniform"``,
        ``"he_normal"``, ``"he_uniform"``, or a function ``init_(tensor, generator=...)``.
    generator : torch.Generator, optional
        Source of the random numbers.

    Returns
    -------
    torch.nn.Module
        ``model``.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    >>> net = initialize_(net, "he_normal", generator=torch.Generator().manual_seed(0))
    >>> float(net[0].bias.detach().abs().sum())
    0.0
    """
    if isinstance(scheme, str):
        if scheme not in _SCHEMES:
            raise ValueError(
                f"initialize_: argument 'scheme' must be one of {sorted(_SCHEMES)}, got {scheme!r}"
            )
        fn = _SCHEMES[scheme]
    elif callable(scheme):
        fn = scheme
    else:
        raise TypeError(
            "initialize_: argument 'scheme' must be a str or callable, "
            f"got {type(scheme).__name__}"
        )
    layers = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
    for module in model.modules():
        if isinstance(module, layers):
            fn(module.weight, generator=generator)
            if module.bias is not None:
                with torch.no_grad():
                    module.bias.zero_()
    return model


def _param_layers(model: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    return [
        (name, m)
        for name, m in model.named_modules()
        if len(list(m.children())) == 0 and any(True for _ in m.parameters(recurse=False))
    ]


def warm_start(
    target: torch.nn.Module, source: torch.nn.Module, pairs: list[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """Copy the parameters of layers of a trained (shallower) network into a deeper one.

    In the style of Simonyan and Zisserman (2015): the deeper network's first
    layers and its last layer start from the shallow network's, and the
    layers in between keep their own initialization.

    Parameters
    ----------
    target : torch.nn.Module
        The network to initialise (modified in place).
    source : torch.nn.Module
        The trained network.
    pairs : list of (str, str), optional
        ``(target_layer_name, source_layer_name)`` pairs, names as in
        ``named_modules()``. By default, with :math:`k` parameterised layers in
        ``source``, its first :math:`k-1` go to the first :math:`k-1` of
        ``target`` and its last to the last of ``target``.

    Returns
    -------
    list of (str, str)
        The pairs copied.

    Raises
    ------
    ValueError
        If a pair's parameters differ in name or shape, or ``target`` has fewer layers.

    Examples
    --------
    >>> import torch
    >>> from torch.nn import Linear, ReLU, Sequential
    >>> shallow = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
    >>> deep = Sequential(Linear(4, 8), ReLU(), Linear(8, 8), ReLU(), Linear(8, 2))
    >>> warm_start(deep, shallow)
    [('0', '0'), ('4', '2')]
    >>> torch.equal(deep[4].weight, shallow[2].weight)
    True
    """
    src_layers = dict(_param_layers(source))
    tgt_layers = dict(_param_layers(target))
    if pairs is None:
        s_names, t_names = list(src_layers), list(tgt_layers)
        if len(t_names) < len(s_names):
            raise ValueError(
                f"warm_start: 'target' has {len(t_names)} parameterised layers, fewer than "
                f"the {len(s_names)} of 'source'"
            )
        k = len(s_names)
        pairs = list(zip(t_names[: k - 1], s_names[: k - 1])) + [(t_names[-1], s_names[-1])]
    for t_name, s_name in pairs:
        if t_name not in tgt_layers or s_name not in src_layers:
            raise ValueError(
                f"warm_start: no parameterised layer {t_name!r} in target or {s_name!r} in source"
            )
        t_params = dict(tgt_layers[t_name].named_parameters(recurse=False))
        s_params = dict(src_layers[s_name].named_parameters(recurse=False))
        if t_params.keys() != s_params.keys() or any(
            t_params[n].shape != s_params[n].shape for n in t_params
        ):
            shapes = lambda ps: {n: tuple(p.shape) for n, p in ps.items()}  # noqa: E731
            raise ValueError(
                f"warm_start: layer {t_name!r} of target {shapes(t_params)} does not match "
                f"layer {s_name!r} of source {shapes(s_params)}"
            )
        with torch.no_grad():
            for n in t_params:
                t_params[n].copy_(s_params[n])
    return list(pairs)
