"""Data sets: a registry, verified downloads into one data root, and loaders.

The data root is ``DLBOOK_DATA`` when it is set, otherwise a per-user cache
directory (see :func:`data_root`). Each data set lives in a sub-folder named
after it, laid out as its canonical source lays it out.
"""

from dlbook.data import transforms
from dlbook.data.corpora import (
    GUTENBERG_BOOKS,
    Corpus,
    batchify,
    bptt_batches,
    load_gutenberg,
    load_ptb,
)
from dlbook.data.download import DataNotAvailableError, data_root, fetch, verify
from dlbook.data.idx import read_idx
from dlbook.data.mnist import load_fashion_mnist, load_mnist
from dlbook.data.mr import load_mr
from dlbook.data.registry import REGISTRY, DataFile, DataSet, get_dataset
from dlbook.data.splits import balanced_split, kfold_train_test, stratified_kfold

__all__ = [
    "Corpus",
    "GUTENBERG_BOOKS",
    "batchify",
    "bptt_batches",
    "load_gutenberg",
    "load_ptb",
    "REGISTRY",
    "balanced_split",
    "DataFile",
    "DataSet",
    "DataNotAvailableError",
    "data_root",
    "fetch",
    "get_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "load_mr",
    "kfold_train_test",
    "stratified_kfold",
    "read_idx",
    "transforms",
    "verify",
]
