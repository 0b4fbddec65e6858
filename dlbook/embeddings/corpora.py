"""Text corpora for the embedding chapter: PTB, the Gutenberg books, Tiny Shakespeare.

A corpus is a list of sentences, each a list of lowercase tokens; both
dlbook's models and gensim's are given exactly these lists.

The files come from the data sets of :data:`dlbook.data.REGISTRY`
(``ptb``, ``gutenberg``, ``tinyshakespeare``) through
:func:`dlbook.data.fetch`; the Project Gutenberg header and licence are
removed by :func:`dlbook.data.corpora.strip_gutenberg_boilerplate`. This module only
turns the text into sentences of word tokens, the form skip-gram and
fastText (dlbook's and gensim's) read.
"""

from __future__ import annotations

import re
from pathlib import Path

from dlbook.data.corpora import GUTENBERG_BOOKS, strip_gutenberg_boilerplate
from dlbook.data.download import fetch

__all__ = ["CORPORA", "load_corpus", "tokenize", "strip_gutenberg", "GUTENBERG_BOOKS"]

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_MAX_SENTENCE = 1000  # word2vec.c's limit; longer paragraphs are cut into pieces


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens: runs of letters, with one inner apostrophe kept.

    Examples
    --------
    >>> tokenize("Mr. Knightley's horse -- 1816, Émile!")
    ['mr', "knightley's", 'horse', 'émile']
    """
    return _WORD.findall(text.lower())


#: Project Gutenberg's header and licence removed (one implementation, in :mod:`dlbook.data.corpora`).
strip_gutenberg = strip_gutenberg_boilerplate


def _paragraph_sentences(text: str) -> list[list[str]]:
    out = []
    for para in re.split(r"\n\s*\n", text):
        tokens = tokenize(para)
        for i in range(0, len(tokens), _MAX_SENTENCE):
            out.append(tokens[i:i + _MAX_SENTENCE])
    return [s for s in out if s]


def _read_ptb(split: str, root, download) -> list[list[str]]:
    path = fetch("ptb", f"ptb.{split}.txt", root=root, download=download)
    return [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _read_gutenberg(root, download) -> list[list[str]]:
    sentences = []
    for name in GUTENBERG_BOOKS:
        raw = fetch("gutenberg", name, root=root, download=download).read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:  # shakespeare-caesar.txt is Latin-1
            text = raw.decode("latin-1")
        sentences += _paragraph_sentences(strip_gutenberg(text))
    return sentences


def _read_shakespeare(root, download) -> list[list[str]]:
    text = fetch("tinyshakespeare", "input.txt", root=root, download=download).read_text(encoding="utf-8")
    return _paragraph_sentences(text)


#: Corpus names accepted by :func:`load_corpus`.
CORPORA = ("ptb", "gutenberg", "tinyshakespeare", "all")


def load_corpus(name: str, *, root: Path | str | None = None, download: bool = True) -> list[list[str]]:
    """Load a training corpus as a list of token lists.

    Parameters
    ----------
    name : {"ptb", "gutenberg", "tinyshakespeare", "all"}
        ``"ptb"``: the PTB training split, one sentence a line, tokens as in
        the file (lowercase, numbers as ``N``, rare words as ``<unk>``; no
        ``<eos>`` added). ``"gutenberg"``: all fourteen books, War and
        Peace without its Project Gutenberg header and licence, one
        paragraph a sentence, :func:`tokenize`. ``"tinyshakespeare"``: one
        speech a sentence. ``"all"``: Gutenberg, then Tiny Shakespeare, then
        PTB.
    root : path, optional
        Data root (:func:`dlbook.data.data_root` when omitted).
    download : bool
        Fetch missing files from their canonical source.

    Returns
    -------
    list of list of str
    """
    if name == "ptb":
        return _read_ptb("train", root, download)
    if name == "gutenberg":
        return _read_gutenberg(root, download)
    if name == "tinyshakespeare":
        return _read_shakespeare(root, download)
    if name == "all":
        return _read_gutenberg(root, download) + _read_shakespeare(root, download) + _read_ptb("train", root,
                                                                                               download)
    raise ValueError(f"load_corpus: argument 'name' must be one of {list(CORPORA)}, got {name!r}")
