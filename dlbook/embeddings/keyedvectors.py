"""Word vectors with look-up: similarity, nearest neighbours, analogies, word2vec text files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch

__all__ = ["KeyedVectors"]


class KeyedVectors:
    """A table of word vectors, looked up by word.

    Parameters
    ----------
    words : sequence of str
        The vocabulary, row order of ``vectors``; most frequent first by convention.
    vectors : torch.Tensor
        Shape ``(V, d)``.
    oov : callable, optional
        ``oov(word) -> tensor (d,) or None``: a vector for a word outside
        ``words`` (fastText builds one from character n-grams). Without it,
        unknown words have no vector.

    Examples
    --------
    >>> import torch
    >>> kv = KeyedVectors(["king", "queen", "man", "woman"],
    ...                   torch.tensor([[1.0, 1.0], [1.0, -1.0], [0.5, 1.0], [0.5, -1.0]]))
    >>> round(kv.similarity("king", "man"), 4)
    0.9487
    >>> kv.analogy("man", "king", "woman")[0][0]
    'queen'
    """

    def __init__(self, words: Sequence[str], vectors: torch.Tensor, oov: Callable | None = None):
        if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2:
            raise ValueError(f"KeyedVectors: argument 'vectors' must be a 2-D tensor (V, d), got "
                             f"{getattr(vectors, 'shape', type(vectors))}")
        if len(words) != vectors.shape[0]:
            raise ValueError(f"KeyedVectors: {len(words)} words but 'vectors' has shape (V, d) = "
                             f"{tuple(vectors.shape)}")
        self.index_to_key = list(words)
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            raise ValueError("KeyedVectors: argument 'words' has repeated words")
        self.vectors = vectors.detach().float().contiguous()
        self.oov = oov
        self._unit = None

    def __len__(self) -> int:
        return len(self.index_to_key)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __contains__(self, word: str) -> bool:
        """Whether ``word`` is in the vocabulary (not whether an OOV vector can be built)."""
        return word in self.key_to_index

    def has_vector(self, word: str) -> bool:
        """Whether ``word`` has a vector: in the vocabulary, or built by ``oov``."""
        return word in self.key_to_index or (self.oov is not None and self.oov(word) is not None)

    def __getitem__(self, word: str) -> torch.Tensor:
        """The vector of ``word``, shape ``(d,)``; a KeyError when it has none."""
        i = self.key_to_index.get(word)
        if i is not None:
            return self.vectors[i]
        v = self.oov(word) if self.oov is not None else None
        if v is None:
            raise KeyError(f"KeyedVectors: word {word!r} is not in the vocabulary and has no vector")
        return v

    @property
    def unit_vectors(self) -> torch.Tensor:
        """Rows scaled to unit length (cached), shape ``(V, d)``."""
        if self._unit is None:
            self._unit = self.vectors / self.vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return self._unit

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words' vectors."""
        a, b = self[w1], self[w2]
        return float(a @ b / (a.norm() * b.norm()).clamp_min(1e-12))

    def _ranked(self, query: torch.Tensor, exclude: Sequence[int], topn: int, restrict: int | None):
        unit = self.unit_vectors if restrict is None else self.unit_vectors[:restrict]
        sims = unit @ (query / query.norm().clamp_min(1e-12))
        for i in exclude:
            if i < sims.shape[0]:
                sims[i] = -float("inf")
        top = sims.topk(min(topn, sims.shape[0]))
        return [(self.index_to_key[i], float(s)) for s, i in zip(top.values.tolist(), top.indices.tolist())]

    def most_similar(self, word: str | torch.Tensor, topn: int = 10, restrict: int | None = None):
        """The ``topn`` vocabulary words nearest by cosine to ``word`` (a word or a vector).

        The word itself is left out. ``restrict`` searches the first
        ``restrict`` (most frequent) words only. Returns ``[(word, cosine), ...]``.
        """
        if isinstance(word, torch.Tensor):
            return self._ranked(word.float(), [], topn, restrict)
        exclude = [self.key_to_index[word]] if word in self.key_to_index else []
        return self._ranked(self[word], exclude, topn, restrict)

    def analogy(self, a: str, b: str, c: str, topn: int = 1, restrict: int | None = None):
        """3CosAdd: the words nearest to :math:`\\hat b - \\hat a + \\hat c` ("a is to b as c is to ?").

        The three question words are left out and only vocabulary words are
        candidates (the first ``restrict`` of them when given). Unit vectors are
        used, as in Mikolov et al. (2013) and gensim.
        """
        unit = [self[w] / self[w].norm().clamp_min(1e-12) for w in (a, b, c)]
        query = unit[1] - unit[0] + unit[2]
        exclude = [self.key_to_index[w] for w in (a, b, c) if w in self.key_to_index]
        return self._ranked(query, exclude, topn, restrict)

    def save_word2vec_format(self, path: str | Path) -> None:
        """Write the word2vec text format: a ``V d`` header, then ``word x1 ... xd`` a line.

        gensim (``KeyedVectors.load_word2vec_format``), fastText and most
        tools read this. Words must not contain whitespace.
        """
        lines = [f"{len(self)} {self.dim}"]
        for w, row in zip(self.index_to_key, self.vectors.tolist()):
            if not w or any(ch.isspace() for ch in w):
                raise ValueError(f"save_word2vec_format: word {w!r} is empty or contains whitespace")
            lines.append(w + " " + " ".join(repr(x) for x in row))
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load_word2vec_format(cls, path: str | Path) -> KeyedVectors:
        """Read a file written by :meth:`save_word2vec_format` (or by word2vec, gensim, fastText)."""
        text = Path(path).read_text(encoding="utf-8").splitlines()
        try:
            n, d = (int(x) for x in text[0].split())
        except (ValueError, IndexError):
            raise ValueError(f"load_word2vec_format: {path} does not start with a 'V d' header line") from None
        words, rows = [], []
        for line in text[1:1 + n]:
            parts = line.rstrip().split(" ")
            if len(parts) != d + 1:
                raise ValueError(f"load_word2vec_format: line for {parts[0]!r} has {len(parts) - 1} numbers, "
                                 f"expected d = {d}")
            words.append(parts[0])
            rows.append([float(x) for x in parts[1:]])
        if len(words) != n:
            raise ValueError(f"load_word2vec_format: header says {n} words, file has {len(words)}")
        return cls(words, torch.tensor(rows, dtype=torch.float32).reshape(n, d))

    def __repr__(self) -> str:
        return f"KeyedVectors(words={len(self)}, dim={self.dim}, oov={'yes' if self.oov else 'no'})"
