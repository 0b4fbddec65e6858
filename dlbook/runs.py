"""Seeding, device choice and a small training loop.

Every gallery script and experiment uses these helpers, so that runs are
reproducible for a given seed and show progress when they take a while.
"""

from __future__ import annotations

import os
import platform
import random
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from tqdm import TqdmWarning

with warnings.catch_warnings():
    # In a notebook without ipywidgets, tqdm.auto warns once and falls back
    # to the text bar; the fallback is what we want, the warning is noise.
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm

__all__ = [
    "seed_everything",
    "device_name",
    "get_device",
    "iterate_minibatches",
    "History",
    "evaluate",
    "fit",
    "progress_bar",
    "provenance",
    "load_average",
]


def progress_bar(iterable, desc: str = "", total: int | None = None, enable: bool | None = None, **kwargs):
    """Wrap an iterable in a tqdm progress bar that shows only on a terminal.

    Parameters
    ----------
    iterable : iterable
        What to iterate over.
    desc : str
        Label of the bar.
    total : int, optional
        Number of items, when ``len(iterable)`` is not defined.
    enable : bool, optional
        Force the bar on or off; by default it shows only when standard
        error is a terminal, so logs and the built docs stay clean.

    Examples
    --------
    >>> sum(progress_bar(range(3), desc="demo"))
    3
    """
    disable = None if enable is None else not enable
    return tqdm(iterable, desc=desc, total=total, disable=disable, leave=False, **kwargs)


def _git(*args: str) -> str | None:
    """Output of ``git args`` in the repository that holds this package, or ``None``."""
    try:
        root = Path(__file__).resolve().parents[1]
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def load_average() -> float | None:
    """The 1-minute load average of the machine (``None`` where the OS does not say).

    Benchmarks record it next to their timings, because a loaded machine slows them.

    Examples
    --------
    >>> load = load_average()
    >>> load is None or load >= 0
    True
    """
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def provenance() -> dict:
    """Where and when a result is being produced, for results files and logs.

    Returns
    -------
    dict
        ``commit`` (``None`` outside a git checkout), ``uncommitted_changes``
        (tracked files modified; ``None`` when unknown), ``date`` (UTC, ISO
        8601), ``cpu`` (model name where the OS says it), ``cpu_count``,
        ``torch_threads``, ``platform``, ``torch_version`` and
        ``python_version``.

    Examples
    --------
    >>> info = provenance()
    >>> sorted(info)[:3]
    ['commit', 'cpu', 'cpu_count']
    """
    status = _git("status", "--porcelain", "--untracked-files=no")
    cpu = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": None if status is None else bool(status),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "torch_version": torch.__version__,
        "python_version": sys.version.split()[0],
    }


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and PyTorch, and return a seeded CPU generator.

    Parameters
    ----------
    seed : int
        The seed. The same seed gives the same run on the same device; where
        CUDA is present this also turns on PyTorch's deterministic kernels
        (``torch.use_deterministic_algorithms(True, warn_only=True)``), since
        atomic additions on a GPU sum in a varying order.

    Returns
    -------
    torch.Generator
        A generator seeded with ``seed``, for shuffling and sampling that
        should not depend on the global random state.

    Examples
    --------
    >>> g = seed_everything(0)
    >>> a = torch.rand(2)
    >>> _ = seed_everything(0)
    >>> torch.equal(a, torch.rand(2))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed_everything: argument 'seed' must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeds code that uses the legacy global state)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if torch.cuda.is_available():  # on a GPU a seed repeats a run only with deterministic kernels (no atomic adds)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def get_device(prefer: str | None = None) -> torch.device:
    """Choose a device: CUDA, then MPS, then CPU.

    Parameters
    ----------
    prefer : str, optional
        Force a device (``"cpu"``, ``"cuda"``, ``"mps"``). ``DLBOOK_DEVICE``
        is read when this is omitted.

    Examples
    --------
    >>> get_device("cpu")
    device(type='cpu')
    """
    prefer = prefer or os.environ.get("DLBOOK_DEVICE") or None
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device | str) -> str:
    """A device as results files record it: ``"cpu"``, or the accelerator's type, index and model name.

    Examples
    --------
    >>> device_name("cpu")
    'cpu'
    """
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)


def iterate_minibatches(
    *tensors: torch.Tensor,
    batch_size: int,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Yield aligned mini-batches from tensors that share their first dimension.

    This is a lighter replacement for ``DataLoader`` when the data already
    sit in memory as tensors.

    Parameters
    ----------
    *tensors : torch.Tensor
        Tensors of shape ``(N, ...)`` with the same ``N``.
    batch_size : int
        Rows per batch.
    shuffle : bool
        Visit the rows in a random order drawn from ``generator``.
    generator : torch.Generator, optional
        Source of the permutation, for reproducible shuffling.
    drop_last : bool
        Drop the last batch when it is smaller than ``batch_size``.

    Examples
    --------
    >>> x, y = torch.arange(5.0), torch.arange(5)
    >>> [len(b[0]) for b in iterate_minibatches(x, y, batch_size=2, shuffle=False)]
    [2, 2, 1]
    """
    if not tensors:
        raise ValueError("iterate_minibatches: give at least one tensor")
    n = tensors[0].shape[0]
    for i, t in enumerate(tensors):
        if t.shape[0] != n:
            raise ValueError(
                "iterate_minibatches: all tensors must have the same first dimension N; "
                f"tensor 0 has shape {tuple(tensors[0].shape)}, tensor {i} has {tuple(t.shape)}"
            )
    if batch_size < 1:
        raise ValueError(f"iterate_minibatches: argument 'batch_size' must be >= 1, got {batch_size}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield tuple(t[idx] for t in tensors)


@dataclass
class History:
    """Per-epoch record of a training run.

    Attributes
    ----------
    epochs : list of int
        Epoch numbers, starting at 1.
    metrics : dict of str to list of float
        ``"train_loss"``, then ``"train_<name>"`` and ``"val_<name>"`` for
        each metric, one value per epoch.
    seconds : float
        Wall time of the whole run.
    """

    epochs: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0

    def log(self, epoch: int, **values: float) -> None:
        """Append one epoch's values."""
        self.epochs.append(epoch)
        for key, value in values.items():
            self.metrics.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list:
        return self.metrics[key]

    def last(self, key: str) -> float:
        """Return the last value logged for ``key``."""
        return self.metrics[key][-1]


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    metrics: Mapping[str, Callable] | None = None,
    loss_fn: Callable | None = None,
    batch_size: int = 1000,
    device: torch.device | None = None,
) -> dict:
    """Evaluate a model in eval mode on ``(X, y)``.

    Each metric is called as ``metric(outputs, y)`` on the outputs of the
    whole data set, so metrics that are not averages (such as top-k error)
    come out right.

    Returns
    -------
    dict
        ``{"loss": ..., name: ...}`` with ``"loss"`` only when ``loss_fn`` is given.
    """
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    outs = [model(xb.to(device)).cpu() for (xb,) in iterate_minibatches(X, batch_size=batch_size, shuffle=False)]
    model.train(was_training)
    out = torch.cat(outs)
    result = {}
    if loss_fn is not None:
        result["loss"] = float(loss_fn(out, y))
    for name, metric in (metrics or {}).items():
        result[name] = float(metric(out, y))
    return result


def fit(
    model: torch.nn.Module,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    train: tuple[torch.Tensor, torch.Tensor],
    *,
    epochs: int,
    batch_size: int = 64,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    metrics: Mapping[str, Callable] | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | None = None,
    scheduler=None,
    on_epoch_end: Callable | None = None,
    progress: bool | None = None,
    desc: str = "train",
) -> History:
    """Train ``model`` with mini-batch gradient steps and record a history.

    Parameters
    ----------
    model : torch.nn.Module
        The model; it is moved to ``device``.
    loss_fn : callable
        ``loss_fn(outputs, targets)`` returning a scalar tensor.
    optimizer : torch.optim.Optimizer
        Any optimizer over ``model``'s parameters.
    train : (X, y)
        Training inputs ``(N, ...)`` and targets ``(N, ...)``.
    epochs : int
        Number of passes over ``train``.
    batch_size : int
        Mini-batch size.
    val : (X, y), optional
        Validation data, evaluated after each epoch.
    metrics : dict of str to callable, optional
        ``metric(outputs, targets)`` functions; each is recorded on the
        training set (averaged over batches) and on ``val``.
    generator : torch.Generator, optional
        Controls the shuffling, for reproducible runs.
    device : torch.device, optional
        Where to train; :func:`get_device` when omitted.
    scheduler : optional
        A learning-rate scheduler, stepped once per epoch.
    on_epoch_end : callable, optional
        Called as ``on_epoch_end(epoch, history)``.
    progress : bool, optional
        Show a tqdm progress bar. ``None`` shows it only on a terminal.
    desc : str
        Label of the progress bar.

    Returns
    -------
    History
        Loss and metrics per epoch.

    Examples
    --------
    >>> g = seed_everything(0)
    >>> X = torch.randn(64, 2); y = (X[:, 0] > 0).long()
    >>> model = torch.nn.Linear(2, 2)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.5)
    >>> h = fit(model, torch.nn.functional.cross_entropy, opt, (X, y), epochs=3,
    ...         batch_size=16, generator=g, device=torch.device("cpu"), progress=False)
    >>> len(h["train_loss"])
    3
    """
    device = device or get_device()
    model.to(device)
    metrics = dict(metrics or {})
    X, y = train
    history = History()
    start = time.perf_counter()
    bar = progress_bar(range(1, epochs + 1), desc=desc, unit="epoch", enable=progress)
    for epoch in bar:
        model.train()
        totals = {"train_loss": 0.0, **{f"train_{k}": 0.0 for k in metrics}}
        seen = 0
        for xb, yb in iterate_minibatches(X, y, batch_size=batch_size, generator=generator):
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            optimizer.step()
            n = xb.shape[0]
            seen += n
            totals["train_loss"] += float(loss.detach()) * n
            with torch.no_grad():
                for k, metric in metrics.items():
                    totals[f"train_{k}"] += float(metric(out.detach(), yb)) * n
        values = {k: v / seen for k, v in totals.items()}
        if val is not None:
            res = evaluate(model, *val, metrics=metrics, loss_fn=loss_fn, device=device)
            values.update({f"val_{k}": v for k, v in res.items()})
        if scheduler is not None:
            scheduler.step()
        history.log(epoch, **values)
        bar.set_postfix({k: f"{v:.4g}" for k, v in values.items()})
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
    history.seconds = time.perf_counter() - start
    return history
