"""Evaluating word vectors against people's judgements, with coverage always reported."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from dlbook.embeddings.keyedvectors import KeyedVectors
from dlbook.metrics import spearman

__all__ = ["evaluate_similarity", "evaluate_analogies"]


def evaluate_similarity(kv: KeyedVectors, pairs: Sequence[tuple[str, str, float]], oov: str = "drop") -> dict:
    """Spearman's rho between cosine similarities and people's scores, with coverage.

    Parameters
    ----------
    kv : KeyedVectors
        The vectors; with an ``oov`` function (fastText) words outside the
        vocabulary still get a vector.
    pairs : sequence of (str, str, float)
        ``(word1, word2, human score)``, e.g. from :func:`dlbook.data.load_word_similarity`.
    oov : {"drop", "zero"}
        What to do with a pair one of whose words has no vector: ``"drop"``
        leaves it out (rho over the covered pairs only), ``"zero"`` keeps it
        with cosine 0 (rho over all pairs).

    Returns
    -------
    dict
        ``spearman``; ``coverage`` (fraction of pairs whose two words have a
        vector); ``in_vocabulary`` (fraction whose two words are in the
        training vocabulary; equal to ``coverage`` without an ``oov``
        function); ``pairs`` and ``pairs_used``; ``oov`` (the rule).

    Examples
    --------
    >>> import torch
    >>> kv = KeyedVectors(["a", "b", "c"], torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]))
    >>> r = evaluate_similarity(kv, [("a", "b", 9.0), ("a", "c", 1.0), ("b", "c", 5.0), ("a", "zzz", 3.0)])
    >>> r["spearman"], r["coverage"], r["pairs_used"]
    (1.0, 0.75, 3)
    """
    if oov not in ("drop", "zero"):
        raise ValueError(f"evaluate_similarity: argument 'oov' must be 'drop' or 'zero', got {oov!r}")
    if not pairs:
        raise ValueError("evaluate_similarity: argument 'pairs' is empty")
    model, human = [], []
    covered = in_vocab = 0
    for a, b, score in pairs:
        in_vocab += (a in kv and b in kv)
        if kv.has_vector(a) and kv.has_vector(b):
            covered += 1
            model.append(kv.similarity(a, b))
            human.append(score)
        elif oov == "zero":
            model.append(0.0)
            human.append(score)
    rho = spearman(model, human) if len(model) >= 2 else float("nan")
    n = len(pairs)
    return {"spearman": rho, "coverage": covered / n, "in_vocabulary": in_vocab / n, "pairs": n,
            "pairs_used": len(model), "oov": oov}


def evaluate_analogies(kv: KeyedVectors, questions: Sequence[tuple[str, str, str, str, str]],
                       restrict: int | None = 30000, batch: int = 512) -> dict:
    """3CosAdd accuracy on analogy questions "a : b :: c : d", restricted to the vocabulary.

    For each question whose four words are among the first ``restrict``
    vocabulary words, the answer is the vocabulary word (of those first
    ``restrict``, a, b and c excluded) whose unit vector is nearest by
    cosine to :math:`\\hat b - \\hat a + \\hat c`. Other questions are not
    answered and count in ``coverage`` only.

    Returns
    -------
    dict
        ``accuracy`` (over the answered questions), ``coverage`` (fraction
        answered), ``questions``, ``answered``, ``semantic_accuracy`` and
        ``syntactic_accuracy`` (sections starting with ``gram`` are
        syntactic), ``restrict``.
    """
    words = kv.index_to_key if restrict is None else kv.index_to_key[:restrict]
    index = {w: i for i, w in enumerate(words)}
    unit = kv.unit_vectors[:len(words)]
    keep = [q for q in questions if all(w in index for w in q[1:])]
    correct = torch.zeros(len(keep), dtype=torch.bool)
    ids = torch.tensor([[index[w] for w in q[1:]] for q in keep], dtype=torch.long).reshape(-1, 4)
    for lo in range(0, len(keep), batch):
        q = ids[lo:lo + batch]
        query = unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]]
        sims = query @ unit.T
        sims.scatter_(1, q[:, :3], -float("inf"))
        correct[lo:lo + batch] = sims.argmax(1) == q[:, 3]
    syntactic = torch.tensor([q[0].startswith("gram") for q in keep], dtype=torch.bool)

    def acc(m):
        return float(correct[m].double().mean()) if m.any() else float("nan")

    return {"accuracy": acc(torch.ones_like(correct)), "coverage": len(keep) / max(1, len(questions)),
            "questions": len(questions), "answered": len(keep), "semantic_accuracy": acc(~syntactic),
            "syntactic_accuracy": acc(syntactic), "restrict": restrict}
