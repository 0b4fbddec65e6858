"""Loaders for MNIST and Fashion-MNIST."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from dlbook.data.download import DataNotAvailableError, fetch, read_content
from dlbook.data.idx import parse_idx
from dlbook.data.registry import get_dataset

__all__ = ["load_mnist", "load_fashion_mnist", "FASHION_MNIST_CLASSES"]

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

_PREFIX = {"train": "train", "test": "t10k"}


def _load(dataset: str, split: str, root, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if split not in _PREFIX:
        raise ValueError(f"load_{dataset.replace('-', '_')}: argument 'split' must be 'train' or 'test', got {split!r}")
    spec = get_dataset(dataset)
    out = []
    for kind in ("images-idx3", "labels-idx1"):
        name = f"{_PREFIX[split]}-{kind}-ubyte.gz"
        path = fetch(dataset, name, root=root, download=download)
        content = read_content(path)
        # fetch verified the file; check again in case it changed since.
        if hashlib.sha256(content).hexdigest() != spec.file(name).sha256:
            raise DataNotAvailableError(f"{path} changed while it was being read; run again")
        out.append(parse_idx(content))
    images, labels = out
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{dataset} {split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels.long()


def load_mnist(split: str = "train", *, root: str | Path | None = None,
               download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Load MNIST.

    Parameters
    ----------
    split : {"train", "test"}
        The 60,000 training images or the 10,000 test images.
    root : path, optional
        Data root; ``DLBOOK_DATA`` or the user cache when omitted.
    download : bool
        Download missing files from the canonical source.

    Returns
    -------
    images : torch.Tensor
        ``uint8`` tensor of shape ``(N, 28, 28)``, values 0–255.
    labels : torch.Tensor
        ``int64`` tensor of shape ``(N,)``, values 0–9.

    Examples
    --------
    >>> images, labels = load_mnist("test")  # doctest: +SKIP
    >>> images.shape, labels[:5]  # doctest: +SKIP
    (torch.Size([10000, 28, 28]), tensor([7, 2, 1, 0, 4]))
    """
    return _load("mnist", split, root, download)


def load_fashion_mnist(split: str = "train", *, root: str | Path | None = None,
                       download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Load Fashion-MNIST; same conventions as :func:`load_mnist`.

    The class names are in ``FASHION_MNIST_CLASSES``.
    """
    return _load("fashion-mnist", split, root, download)
