"""Text utilities shared by the sequence chapters: a tokenizer and a vocabulary.

:func:`kim_tokenize` splits a sentence the way Kim (2014) prepared MR;
:func:`mark_negation` marks the words that follow a negation.
A :class:`Vocab` maps tokens to indices and back. The sentence
classifiers, the language models and the word embeddings all build one,
always from training text only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

__all__ = ["NEGATIONS", "NEGATION_SCOPE_END", "Vocab", "kim_tokenize", "mark_negation"]

_KIM_RULES = (
    (re.compile(r"[^A-Za-z0-9(),!?'`]"), " "),  # anything else becomes a space
    (re.compile(r"'s"), " 's"),
    (re.compile(r"'ve"), " 've"),
    (re.compile(r"n't"), " n't"),
    (re.compile(r"'re"), " 're"),
    (re.compile(r"'d"), " 'd"),
    (re.compile(r"'ll"), " 'll"),
    (re.compile(r","), " , "),
    (re.compile(r"!"), " ! "),
    (re.compile(r"\("), " ( "),
    (re.compile(r"\)"), " ) "),
    (re.compile(r"\?"), " ? "),
)


def kim_tokenize(text: str, lower: bool = True) -> list[str]:
    """Split ``text`` into tokens with the rules of Kim's ``clean_str`` (CNN_sentence, 2014).

    In order: every character other than ASCII letters, digits and
    ``( ) , ! ? ' `` ` is replaced by a space; the clitics ``'s 've n't 're
    'd 'll`` are split off as tokens of their own; ``, ! ( ) ?`` become
    tokens; the text is lower-cased (unless ``lower=False``) and split on
    white space. So accented Latin-1 letters, hyphens, dots, colons and
    quotes ``"`` separate tokens and are dropped. Kim's Python 2 code wrote
    the brackets and the question mark as the two-character tokens ``\\(``,
    ``\\)`` and ``\\?`` (an escaped replacement string); here they are the
    bare characters, which gives the same partition of every sentence.

    Examples
    --------
    >>> kim_tokenize("It's not a bad film -- isn't it?")
    ['it', "'s", 'not', 'a', 'bad', 'film', 'is', "n't", 'it', '?']
    >>> kim_tokenize("Jean-Claude (Van Damme), 1.5 stars!")
    ['jean', 'claude', '(', 'van', 'damme', ')', ',', '1', '5', 'stars', '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"kim_tokenize: argument 'text' must be a str, got {type(text).__name__}")
    for pattern, repl in _KIM_RULES:
        text = pattern.sub(repl, text)
    return (text.lower() if lower else text).split()


#: Words that open a negation scope in :func:`mark_negation` (``n't`` is a token of its own after
#: :func:`kim_tokenize`).
NEGATIONS = ("not", "no", "never", "n't", "nothing", "nobody", "none", "neither", "nor", "cannot", "without",
             "hardly", "barely")
#: Tokens that close a negation scope: the comma, ``!`` and ``?`` that :func:`kim_tokenize` keeps (it drops full
#: stops, colons and semicolons; its brackets do not close a scope), and "but".
NEGATION_SCOPE_END = (",", "!", "?", "but")


def mark_negation(tokens: Sequence[str], negations=NEGATIONS, scope_end=NEGATION_SCOPE_END) -> list[str]:
    """Prefix ``NOT_`` to every token between a negation word and the end of its scope.

    The rule of Das and Chen (2001), used by Pang et al. (2002) for movie
    reviews: after a word of ``negations``, each token up to the next token
    of ``scope_end`` (or the end of the sentence) becomes ``NOT_`` + token,
    so that "good" in "not very good" is a different feature from "good" in
    "very good". The negation word itself and the token that closes the
    scope are kept as they are; a negation inside a scope is marked and
    keeps the scope open. With :func:`kim_tokenize`, which drops dots,
    colons and semicolons, a scope runs to the next ``,``, ``!``, ``?`` or
    "but", or to the end of the sentence.

    Examples
    --------
    >>> mark_negation(["it", "is", "not", "very", "good", ",", "but", "fun"])
    ['it', 'is', 'not', 'NOT_very', 'NOT_good', ',', 'but', 'fun']
    >>> mark_negation(["does", "n't", "work", "but", "never", "bores"])
    ['does', "n't", 'NOT_work', 'but', 'never', 'NOT_bores']
    """
    if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
        raise TypeError(f"mark_negation: argument 'tokens' must be a sequence of str (one sentence's tokens), "
                        f"got {type(tokens).__name__}" + ("" if isinstance(tokens, str) else " with non-str items"))
    negations, scope_end = set(negations), set(scope_end)
    out, negated = [], False
    for token in tokens:
        if token in scope_end:
            negated = False
            out.append(token)
            continue
        out.append("NOT_" + token if negated else token)
        negated = negated or token in negations
    return out


class Vocab:
    """Token ↔ index map with special tokens and a frequency cut-off.

    Special tokens come first, in the order given (so ``<pad>`` is index 0
    by default, which is what ``padding_idx=0`` expects). The other tokens
    follow by decreasing count, ties broken alphabetically, so that the
    same text always gives the same indices.

    Parameters
    ----------
    counts : mapping of str to int, or iterable of str
        Token counts (a :class:`collections.Counter`), or the tokens
        themselves, which are then counted.
    min_freq : int
        Tokens seen fewer times are left out and map to ``unk``.
    max_size : int, optional
        Keep at most this many tokens in all, specials included.
    specials : sequence of str
        Tokens placed first whatever their count. Use ``()`` for none.
    unk : str or None
        The token unknown tokens map to; it must be one of ``specials``.
        With ``None``, looking up an unknown token raises a KeyError.

    Attributes
    ----------
    itos : list of str
        Index to token.
    stoi : dict
        Token to index.
    counts : collections.Counter
        The counts the vocabulary was built from (all tokens, before the cut-off).

    Examples
    --------
    >>> v = Vocab("the cat sat on the mat the end".split(), min_freq=1)
    >>> v.itos[:4]
    ['<pad>', '<unk>', 'the', 'cat']
    >>> v.encode(["the", "dog"]).tolist()
    [2, 1]
    >>> v.decode([2, 3])
    ['the', 'cat']
    >>> len(Vocab("a a b".split(), min_freq=2))
    3
    """

    def __init__(self, counts: Counter | dict | Iterable[str], min_freq: int = 1, max_size: int | None = None,
                 specials: Sequence[str] = ("<pad>", "<unk>"), unk: str | None = "<unk>"):
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"Vocab: argument 'min_freq' must be an int >= 1, got {min_freq!r}")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)
                                     or max_size < len(specials)):
            raise ValueError(f"Vocab: argument 'max_size' must be an int >= len(specials) = {len(specials)}, "
                             f"got {max_size!r}")
        if isinstance(specials, str):
            raise TypeError("Vocab: argument 'specials' must be a sequence of tokens, not one string")
        if len(set(specials)) != len(specials):
            raise ValueError(f"Vocab: argument 'specials' has repeated tokens: {list(specials)}")
        if unk is not None and unk not in specials:
            raise ValueError(f"Vocab: argument 'unk' ({unk!r}) must be one of 'specials' {list(specials)}")
        if isinstance(counts, str):
            raise TypeError("Vocab: argument 'counts' must be a mapping or an iterable of tokens, not one string")
        self.counts = Counter(counts) if not isinstance(counts, dict) else Counter(dict(counts))
        ordered = sorted((t for t, c in self.counts.items() if c >= min_freq and t not in specials),
                         key=lambda t: (-self.counts[t], t))
        self.itos = list(specials) + ordered
        if max_size is not None:
            self.itos = self.itos[:max_size]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.specials = tuple(specials)
        self.unk = unk
        self.unk_index = None if unk is None else self.stoi[unk]

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __iter__(self):
        """The tokens in index order (the same as ``itos``)."""
        return iter(self.itos)

    def __getitem__(self, token: str) -> int:
        """The index of ``token``; ``unk``'s index when it is not in the vocabulary."""
        if not isinstance(token, str):  # an index would otherwise map to unk's without a word
            raise TypeError(f"Vocab: a token must be a str, got {type(token).__name__}; "
                            f"use Vocab.decode or Vocab.itos for indices")
        index = self.stoi.get(token, self.unk_index)
        if index is None:
            raise KeyError(f"Vocab: token {token!r} is not in the vocabulary and there is no 'unk' token")
        return index

    def encode(self, tokens: Iterable[str]) -> torch.Tensor:
        """Indices of ``tokens`` as a 1-D ``torch.long`` tensor."""
        return torch.tensor([self[t] for t in tokens], dtype=torch.long)

    def decode(self, indices: Iterable[int] | torch.Tensor) -> list[str]:
        """Tokens of ``indices`` (a sequence of ints or a 1-D tensor)."""
        if isinstance(indices, torch.Tensor):
            if indices.dim() != 1:
                raise ValueError(f"Vocab.decode: argument 'indices' must be 1-D, got shape {tuple(indices.shape)}")
            indices = indices.tolist()
        out = []
        for i in indices:
            if not 0 <= int(i) < len(self.itos):
                raise IndexError(f"Vocab.decode: index {i} is outside [0, {len(self.itos)})")
            out.append(self.itos[int(i)])
        return out

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, specials={list(self.specials)}, unk={self.unk!r})"
