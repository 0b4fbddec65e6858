"""Whole models assembled from :mod:`dlbook` layers (language models of Part VII)."""

from dlbook.models.lm import (
    RNNLM,
    AttentionLM,
    CharAwareLM,
    ContextLM,
    GatedCNNLM,
    LanguageModel,
    build_model,
    evaluate,
    sample_text,
    train_lm,
)

__all__ = [
    "AttentionLM",
    "CharAwareLM",
    "ContextLM",
    "GatedCNNLM",
    "LanguageModel",
    "RNNLM",
    "build_model",
    "evaluate",
    "sample_text",
    "train_lm",
]
