"""Word-similarity and analogy test sets: WordSim-353, SimLex-999, Google analogies.

Each similarity set is a list of ``(word1, word2, score)`` triples, the
score being the mean of people's judgements (0-10). The analogy set is a
list of ``(section, a, b, c, d)`` questions "a is to b as c is to d".
All words are lowercased, as the corpora of the embedding chapter are.
"""

from __future__ import annotations

from pathlib import Path

from dlbook.data.download import fetch

__all__ = ["SIMILARITY_SETS", "load_word_similarity", "load_analogies"]

#: Name accepted by :func:`load_word_similarity` -> file in the ``word-similarity`` data set.
SIMILARITY_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}


def load_word_similarity(name: str = "wordsim353", *, root: Path | str | None = None,
                         download: bool = True) -> list[tuple[str, str, float]]:
    """Load a word-similarity test set as ``(word1, word2, score)`` triples.

    Parameters
    ----------
    name : {"wordsim353", "simlex999"}
        WordSim-353 (Finkelstein et al. 2002; 353 pairs, relatedness and
        similarity mixed) or SimLex-999 (Hill et al. 2015; 999 pairs,
        similarity only).
    root : path, optional
        Data root (:func:`dlbook.data.data_root` when omitted).
    download : bool
        Fetch the file from its canonical source when it is missing.

    Returns
    -------
    list of tuple
        ``(word1, word2, score)``, words lowercased, in file order.

    Raises
    ------
    DataNotAvailableError
        When the file is missing and cannot be downloaded; the message says
        where to put it.
    """
    if name not in SIMILARITY_SETS:
        raise ValueError(f"load_word_similarity: argument 'name' must be one of {sorted(SIMILARITY_SETS)}, "
                         f"got {name!r}")
    path = fetch("word-similarity", SIMILARITY_SETS[name], root=root, download=download)
    return parse_similarity(path.read_text(encoding="utf-8"))


def parse_similarity(text: str) -> list[tuple[str, str, float]]:
    """Parse ``word1 word2 score`` lines (tab or space separated, ``#`` comments).

    Examples
    --------
    >>> parse_similarity("# comment\\nTiger\\tcat\\t7.35\\nbook paper 7.46\\n")
    [('tiger', 'cat', 7.35), ('book', 'paper', 7.46)]
    """
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        a, b, score = line.split()[:3]
        pairs.append((a.lower(), b.lower(), float(score)))
    return pairs


def load_analogies(*, root: Path | str | None = None, download: bool = True) -> list[tuple[str, str, str, str, str]]:
    """Load the Google analogy questions (Mikolov et al. 2013), 19,544 of them.

    Returns
    -------
    list of tuple
        ``(section, a, b, c, d)``: "a is to b as c is to d", lowercased;
        ``section`` is the heading such as ``"capital-common-countries"``.
        The first five sections are semantic, those starting with ``gram``
        syntactic.
    """
    path = fetch("word-similarity", "questions-words.txt", root=root, download=download)
    return parse_analogies(path.read_text(encoding="utf-8"))


def parse_analogies(text: str) -> list[tuple[str, str, str, str, str]]:
    """Parse the ``questions-words.txt`` format (``: section`` headings, four words a line).

    Examples
    --------
    >>> parse_analogies(": capitals\\nAthens Greece Oslo Norway\\n")
    [('capitals', 'athens', 'greece', 'oslo', 'norway')]
    """
    out, section = [], ""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.lower().split()
        if len(words) != 4:
            raise ValueError(f"parse_analogies: expected four words a line, got {line!r}")
        out.append((section, *words))
    return out
