"""Word-level corpora for language modelling, and the batching every LM uses.

A corpus is three token-id streams (train, valid, test) and a
:class:`dlbook.text.Vocab` built on the training stream only. Each line of
text ends with the token ``<eos>``, so a model also predicts where a line
ends, and perplexity counts those predictions.

For training, a stream of :math:`T` tokens is cut into ``B`` equal columns
(:func:`batchify`, shape ``(T // B, B)``); :func:`bptt_batches` then walks
down the rows in windows of ``bptt`` steps, and the target of each input
token is the next token of its column. The hidden state passes from one
window to the next, detached, so each column is read as one long text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from dlbook.data.download import fetch, read_content
from dlbook.data.registry import get_dataset
from dlbook.text import Vocab

__all__ = [
    "Corpus",
    "GUTENBERG_BOOKS",
    "batchify",
    "bptt_batches",
    "load_gutenberg",
    "load_ptb",
    "strip_gutenberg_boilerplate",
    "tokenize_gutenberg",
]

EOS = "<eos>"
UNK = "<unk>"


@dataclass
class Corpus:
    """Three token-id streams and the vocabulary built on ``train``.

    Attributes
    ----------
    train, valid, test : torch.Tensor
        1-D ``int64`` token ids, each line followed by ``<eos>``.
    vocab : dlbook.text.Vocab
        Specials ``<unk>`` (index 0) and ``<eos>`` (index 1), then the
        training words by decreasing count.
    name : str
        ``"ptb"`` or ``"gutenberg"``.
    """

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    vocab: Vocab
    name: str = ""

    def split(self, name: str) -> torch.Tensor:
        if name not in ("train", "valid", "test"):
            raise ValueError(f"Corpus.split: argument 'name' must be 'train', 'valid' or 'test', got {name!r}")
        return getattr(self, name)


def _lines_to_tokens(lines):
    out = []
    for line in lines:
        words = line.split()
        if words:
            out.extend(words)
            out.append(EOS)
    return out


def load_ptb(*, root: str | Path | None = None, download: bool = True) -> Corpus:
    """Load the Penn Treebank in Mikolov's language-modelling version.

    The files already map rare words to ``<unk>`` and numbers to ``N``; each
    line is one sentence, and its end becomes ``<eos>``. The vocabulary is
    the 10,000 distinct tokens of the training file (``<eos>`` included).

    Parameters
    ----------
    root : path, optional
        Data root holding ``ptb/ptb.{train,valid,test}.txt``; ``DLBOOK_DATA``
        or the user cache when omitted.
    download : bool
        Download missing files from the canonical source.

    Returns
    -------
    Corpus
        Streams of 929,589 (train), 73,760 (valid) and 82,430 (test) tokens.

    Raises
    ------
    dlbook.data.DataNotAvailableError
        A file is missing and cannot be downloaded; the message names the
        file and the path where it is expected.

    Examples
    --------
    >>> corpus = load_ptb()  # doctest: +SKIP
    >>> len(corpus.train), len(corpus.vocab)  # doctest: +SKIP
    (929589, 10000)
    """
    tokens = {}
    for split in ("train", "valid", "test"):
        path = fetch("ptb", f"ptb.{split}.txt", root=root, download=download)
        tokens[split] = _lines_to_tokens(read_content(path).decode("utf-8").splitlines())
    vocab = Vocab(tokens["train"], specials=(UNK, EOS), unk=UNK)
    for split in ("valid", "test"):
        missing = {t for t in tokens[split] if t not in vocab}
        if missing:  # the published files are closed over the training vocabulary
            raise ValueError(f"load_ptb: ptb.{split}.txt has words outside the training vocabulary: "
                             f"{sorted(missing)[:5]}; the file is not the standard one")
    return Corpus(*(vocab.encode(tokens[s]) for s in ("train", "valid", "test")), vocab=vocab, name="ptb")


GUTENBERG_BOOKS = tuple(f.name for f in get_dataset("gutenberg").files)

_START = re.compile(r"^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG EBOOK.*$", re.MULTILINE)
_END = re.compile(r"^\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG EBOOK.*$", re.MULTILINE)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*|[^\sa-z0-9]")


def strip_gutenberg_boilerplate(text: str) -> str:
    """Return the book between the ``*** START OF`` and ``*** END OF`` lines.

    Text without those markers (the NLTK copies) is returned unchanged.

    Examples
    --------
    >>> strip_gutenberg_boilerplate("licence\\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\\nbook\\n"
    ...                             "*** END OF THIS PROJECT GUTENBERG EBOOK X ***\\nlicence")
    'book'
    """
    start, end = _START.search(text), _END.search(text)
    if start:
        text = text[start.end():end.start() if end else None]
    elif end:
        text = text[:end.start()]
    return text.strip()


def tokenize_gutenberg(line: str) -> list[str]:
    """Lower-case words (with inner apostrophes) and single punctuation marks.

    Examples
    --------
    >>> tokenize_gutenberg("Emma Woodhouse, handsome, didn't vex her.")
    ['emma', 'woodhouse', ',', 'handsome', ',', "didn't", 'vex', 'her', '.']
    """
    return _WORD.findall(line.lower())


def load_gutenberg(*, block_lines: int = 200, fractions: tuple[float, float] = (0.05, 0.05), seed: int = 0,
                   max_vocab: int = 10_000, root: str | Path | None = None, download: bool = True) -> Corpus:
    """Load the 14 Gutenberg books as one corpus with a seeded block split.

    Each book is read (War and Peace without its Project Gutenberg header
    and licence footer), its non-empty lines tokenised with
    :func:`tokenize_gutenberg`, and each line ends with ``<eos>``. The lines
    of every book are then cut into contiguous blocks of ``block_lines``
    lines (the last block of a book may be shorter; no block spans two
    books). A generator seeded by ``seed`` shuffles the list of all blocks;
    the first ``fractions[0]`` of them (rounded up) form the validation
    split, the next ``fractions[1]`` the test split, the rest the training
    split. Each split keeps its blocks in reading order. A line is in
    exactly one split. The vocabulary is the ``max_vocab - 2`` most frequent
    training tokens plus ``<unk>`` and ``<eos>``; other tokens map to
    ``<unk>``.

    Parameters
    ----------
    block_lines : int
        Lines per block.
    fractions : (float, float)
        Fractions of the blocks for validation and test.
    seed : int
        Seed of the block shuffle.
    max_vocab : int
        Vocabulary size, specials included.
    root, download
        As for :func:`load_ptb`.

    Returns
    -------
    Corpus

    Examples
    --------
    >>> corpus = load_gutenberg()  # doctest: +SKIP
    >>> len(corpus.vocab)  # doctest: +SKIP
    10000
    """
    if isinstance(block_lines, bool) or not isinstance(block_lines, int) or block_lines < 1:
        raise ValueError(f"load_gutenberg: argument 'block_lines' must be an int >= 1, got {block_lines!r}")
    if len(fractions) != 2 or any(not 0 < f < 1 for f in fractions) or sum(fractions) >= 1:
        raise ValueError(f"load_gutenberg: argument 'fractions' must be two numbers in (0, 1) summing below 1, "
                         f"got {fractions!r}")
    blocks = []
    for name in GUTENBERG_BOOKS:
        raw = read_content(fetch("gutenberg", name, root=root, download=download))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # shakespeare-caesar.txt is Latin-1
            text = raw.decode("latin-1")
        text = strip_gutenberg_boilerplate(text.replace("\r\n", "\n"))
        lines = [toks for toks in map(tokenize_gutenberg, text.split("\n")) if toks]
        for i in range(0, len(lines), block_lines):
            blocks.append(lines[i:i + block_lines])
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(blocks), generator=g).tolist()
    n_valid = math.ceil(fractions[0] * len(blocks))
    n_test = math.ceil(fractions[1] * len(blocks))
    chosen = {"valid": sorted(order[:n_valid]), "test": sorted(order[n_valid:n_valid + n_test]),
              "train": sorted(order[n_valid + n_test:])}
    tokens = {s: [t for b in idx for line in blocks[b] for t in (*line, EOS)] for s, idx in chosen.items()}
    vocab = Vocab(tokens["train"], max_size=max_vocab, specials=(UNK, EOS), unk=UNK)
    return Corpus(*(vocab.encode(tokens[s]) for s in ("train", "valid", "test")), vocab=vocab, name="gutenberg")


def batchify(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a token stream into ``batch_size`` contiguous columns.

    Column ``b`` holds tokens ``b * L`` to ``(b + 1) * L - 1`` with
    ``L = len(stream) // batch_size``; the last ``len(stream) % batch_size``
    tokens are dropped.

    Parameters
    ----------
    stream : torch.Tensor
        1-D token ids, shape ``(T,)``.
    batch_size : int
        Number of columns ``B``.

    Returns
    -------
    torch.Tensor
        Shape ``(T // B, B)`` (time first), a contiguous copy.

    Examples
    --------
    >>> batchify(torch.arange(7), 2)
    tensor([[0, 3],
            [1, 4],
            [2, 5]])
    """
    if not isinstance(stream, torch.Tensor) or stream.dim() != 1:
        raise ValueError(f"batchify: argument 'stream' must be a 1-D tensor of shape (T,), got "
                         f"{getattr(stream, 'shape', type(stream).__name__)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= len(stream):
        raise ValueError(f"batchify: argument 'batch_size' must be an int in [1, T={len(stream)}], got {batch_size!r}")
    length = len(stream) // batch_size
    return stream[:length * batch_size].view(batch_size, length).t().contiguous()


def bptt_batches(data: torch.Tensor, bptt: int):
    """Yield ``(input, target)`` windows of at most ``bptt`` steps down a batchified stream.

    Window ``k`` starts at row ``i = k * bptt`` and has ``n = min(bptt,
    R - 1 - i)`` rows: ``input = data[i:i+n]`` and ``target = data[i+1:i+1+n]``.
    Over one pass every row but the last is an input exactly once and every
    row but the first is a target exactly once, so each token of the
    batchified stream is predicted once per epoch (except the first of each
    column, which has no context).

    Parameters
    ----------
    data : torch.Tensor
        Output of :func:`batchify`, shape ``(R, B)``.
    bptt : int
        Steps per window.

    Yields
    ------
    (torch.Tensor, torch.Tensor)
        Both of shape ``(n, B)``.

    Examples
    --------
    >>> data = batchify(torch.arange(10), 2)
    >>> [(x[:, 0].tolist(), y[:, 0].tolist()) for x, y in bptt_batches(data, 3)]
    [([0, 1, 2], [1, 2, 3]), ([3], [4])]
    """
    if not isinstance(data, torch.Tensor) or data.dim() != 2:
        raise ValueError(f"bptt_batches: argument 'data' must be a batchified tensor of shape (R, B), got "
                         f"{getattr(data, 'shape', type(data).__name__)}")
    if isinstance(bptt, bool) or not isinstance(bptt, int) or bptt < 1:
        raise ValueError(f"bptt_batches: argument 'bptt' must be an int >= 1, got {bptt!r}")
    for i in range(0, data.shape[0] - 1, bptt):
        n = min(bptt, data.shape[0] - 1 - i)
        yield data[i:i + n], data[i + 1:i + 1 + n]
