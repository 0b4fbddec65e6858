"""Loader for the movie-review sentence polarity data set (MR)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from dlbook.data.download import DataNotAvailableError, fetch
from dlbook.data.registry import get_dataset

__all__ = ["load_mr"]


def load_mr(*, root: str | Path | None = None, download: bool = True) -> tuple[list[str], torch.Tensor]:
    """Load MR, the 10,662 movie-review snippets of Pang and Lee (2005).

    The two files, ``rt-polarity.pos`` and ``rt-polarity.neg`` (5,331
    sentences each, one per line), are Latin-1 encoded; they are decoded
    as such, so that every byte maps to one character and nothing is lost.
    The canonical source is the Cornell archive ``rt-polaritydata.tar.gz``;
    with no network, put the two files in ``DLBOOK_DATA/mr/``.

    Parameters
    ----------
    root : path, optional
        Data root; ``DLBOOK_DATA`` or the user cache when omitted.
    download : bool
        Download the archive from the canonical source when a file is missing.

    Returns
    -------
    sentences : list of str
        The lines, stripped of surrounding white space: the positive ones
        first, then the negative ones, each in file order.
    labels : torch.Tensor
        ``int64`` tensor of shape ``(N,)``: 1 for positive, 0 for negative.

    Raises
    ------
    DataNotAvailableError
        Naming the missing file and the path where it is expected.

    Examples
    --------
    >>> sentences, labels = load_mr()  # doctest: +SKIP
    >>> len(sentences), labels.sum().item()  # doctest: +SKIP
    (10662, 5331)
    """
    spec = get_dataset("mr")
    sentences: list[str] = []
    labels: list[int] = []
    for name, label in (("rt-polarity.pos", 1), ("rt-polarity.neg", 0)):
        path = fetch("mr", name, root=root, download=download)
        raw = Path(path).read_bytes()
        if hashlib.sha256(raw).hexdigest() != spec.file(name).sha256:
            raise DataNotAvailableError(f"{path} changed while it was being read; run again")
        lines = [line.strip() for line in raw.decode("latin-1").split("\n")]  # not splitlines(): \x85 is a break
        lines = [line for line in lines if line]
        sentences += lines
        labels += [label] * len(lines)
    return sentences, torch.tensor(labels, dtype=torch.long)
