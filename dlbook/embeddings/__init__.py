"""Word embeddings: skip-gram with negative sampling and fastText, from scratch, and their evaluation.

- :class:`SkipGram`, :class:`FastText`: training with a hand-derived sparse update;
- :class:`KeyedVectors`: look-up, nearest neighbours, analogies, word2vec text files;
- :func:`evaluate_similarity`, :func:`evaluate_analogies`: Spearman's rho against
  people's judgements and 3CosAdd accuracy, each with its coverage;
- :func:`load_corpus`: the chapter's corpora.
"""

from dlbook.embeddings.corpora import CORPORA, load_corpus, strip_gutenberg, tokenize
from dlbook.embeddings.evaluate import evaluate_analogies, evaluate_similarity
from dlbook.embeddings.keyedvectors import KeyedVectors
from dlbook.embeddings.models import (
    FastText,
    SkipGram,
    char_ngrams,
    fnv1a_32,
    keep_probability,
    noise_distribution,
    sgns_loss_and_grad,
    sgns_shared_loss_and_grad,
)

__all__ = ["CORPORA", "FastText", "KeyedVectors", "SkipGram", "char_ngrams", "evaluate_analogies",
           "evaluate_similarity", "fnv1a_32", "keep_probability", "load_corpus", "noise_distribution",
           "sgns_loss_and_grad", "sgns_shared_loss_and_grad", "strip_gutenberg", "tokenize"]
