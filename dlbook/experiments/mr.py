"""Sentence polarity on MR: NBSVM, Kim's CNN, LSTMs, a QRNN and an ensemble, by 10-fold cross-validation.

Protocol (Kim 2014): the 10,662 sentences are split into stratified folds
with a fixed seed; for each fold, the other folds are the training data,
of which a stratified 10% is held out for early stopping. The vocabulary
and every other statistic (NB ratios) come from the training folds only.
The reported number is the test accuracy of the epoch with the best
validation accuracy, averaged over the folds. The neural rows train on
:func:`dlbook.runs.get_device` (CUDA, then MPS, then CPU; ``DLBOOK_DEVICE``
overrides), and each fold records its device. The networks of fold ``k``
are seeded with ``k``; ``--seed S`` repeats the study on the same folds with
the seeds ``10 S + k`` (:func:`train_seed`) and writes ``mr-seedS.json``.

The rows:

``nbsvm``
    NBSVM-bi (Wang and Manning 2012), :class:`dlbook.nbsvm.NBSVM`, fitted on
    all the training folds (it has no epochs to choose); its reported
    validation accuracy is therefore a training accuracy. Its SVM has no
    intercept, as in Wang and Manning's code.
``nbsvm-intercept``
    the same with an intercept fitted beside the SVM's weights and kept
    through the interpolation (``NBSVM(bias=True)``), the common mistake
    the chapter measures.
``nbsvm-neg``
    NBSVM-bi on the tokens after :func:`dlbook.text.mark_negation`: each
    word between a negation and the next ``,``, ``!``, ``?`` or "but" is a
    feature of its own (``NOT_good``), as in Pang et al. (2002).
``cnn-rand``
    Kim's CNN with randomly initialised word vectors: windows 3, 4, 5 with
    100 maps each, ReLU, max over time, dropout 0.5, Adadelta
    (ρ = 0.95, ε = 1e-6), mini-batches of 50, max-norm 3 on the output
    weights.
``cnn-rand-kim-init``
    the same network and training, started as Kim's released code starts
    it (``KimCNN(init="kim")``) rather than with PyTorch's default
    initialisation.
``lstm-last``, ``lstm-mean``, ``lstm-max``, ``lstm-meanmax``
    a one-layer :class:`dlbook.nn.LSTM`; the sentence vector is the state
    at the last word, the mean or the max of the states over time, or
    mean and max side by side.
``bilstm``
    a forward and a backward LSTM, each sequence reversed within its own
    length, with max pooling.
``qrnn``
    a :class:`dlbook.nn.QRNN` layer (window 2) with max pooling.
``cnn-static``, ``cnn-non-static``
    Kim's CNN whose embedding starts from the book's own skip-gram vectors
    (:class:`dlbook.embeddings.SkipGram`, the embedding study's settings),
    trained for each fold on the book's corpora (PTB, the Gutenberg books
    and Tiny Shakespeare) and that fold's training sentences, never its
    test fold (:func:`fold_vectors`), scaled to the variance of CNN-rand's
    random vectors; kept fixed, or fine-tuned.
``beyond``
    three NBSVMs (:data:`LINEAR_MEMBERS`: word 1- and 2-grams, the same on
    negation-marked tokens, character 2- to 5-grams), each with its C chosen on the validation part from
    :data:`NBSVM_C_GRID`, and the networks of :data:`BEYOND_MEMBERS`
    (CNN-rand, BiLSTM, QRNN) combined in log-odds: each model's score mapped by its own
    logistic fit, then a weighted sum with non-negative weights, all
    fitted on the validation part (:func:`stack_log_odds`); each NBSVM is
    then fitted again on the whole training folds for the test
    predictions. The networks are those of the members' own rows, taken
    from the ``--cache`` folder when it holds them.

Sequences are batched by length (buckets of similar length, padded to the
longest in the batch), which is what makes the runs fit on a CPU.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import time
from collections import Counter

import torch
import torch.nn.functional as F

from dlbook.budget import get_budget
from dlbook.data import kfold_train_test, load_mr, stratified_kfold
from dlbook.experiments.runner import WorkerPool, check_jobs, study_record, summarise
from dlbook.functional import dropout as dl_dropout
from dlbook.nbsvm import NBSVM, char_ngrams
from dlbook.nn import LSTM, QRNN, ConvOverTime, Embedding
from dlbook.optim import Adadelta, clip_grad_norm_, max_norm_
from dlbook.runs import device_name, get_device, progress_bar, provenance, seed_everything
from dlbook.text import Vocab, kim_tokenize, mark_negation

__all__ = ["ROWS", "FOLD_SEED", "LIVE_DEFAULT", "VECTOR_CORPUS", "KimCNN", "RNNClassifier", "budget_settings",
           "BEYOND_MEMBERS", "LINEAR_MEMBERS", "NBSVM_C_GRID", "NBSVM_ROWS", "apply_stack", "build_fold",
           "fold_vectors", "kept_epoch", "make_batches", "member_budget", "run_fold", "run_study",
           "stack_ablation", "stack_log_odds", "train_seed", "vector_settings", "weights_tuned_on_test"]

#: Row name -> one-line description.
ROWS = {
    "nbsvm": "NBSVM-bi (Wang & Manning 2012)",
    "nbsvm-intercept": "NBSVM-bi with an SVM intercept kept through the interpolation (a common mistake)",
    "nbsvm-neg": "NBSVM-bi on negation-marked tokens (NOT_ from a negation to the next , ! ? or 'but')",
    "cnn-rand": "CNN-rand (Kim 2014): windows 3,4,5 x 100 maps, Adadelta, max-norm 3",
    "cnn-rand-kim-init": "CNN-rand started as Kim's released code starts it: filters U(-0.01, 0.01), output "
                         "weights and all biases zero",
    "lstm-last": "LSTM, last state",
    "lstm-mean": "LSTM, mean over time",
    "lstm-max": "LSTM, max over time",
    "lstm-meanmax": "LSTM, mean and max concatenated",
    "bilstm": "BiLSTM, max over time",
    "qrnn": "QRNN (window 2, fo-pooling), max over time",
    "cnn-static": "CNN-static: Kim's CNN on the book's skip-gram vectors (book corpora + training folds), fixed",
    "cnn-nonstatic": "CNN-non-static: the same vectors, fine-tuned",
    "beyond": "ensemble: word, negation-marked word and character NBSVMs, CNN-rand, BiLSTM and QRNN log-odds, "
              "weighted on the validation part",
}
#: The rows that are one NBSVM fitted on all the training folds.
NBSVM_ROWS = ("nbsvm", "nbsvm-intercept", "nbsvm-neg")
FOLD_SEED = 0  # the folds; each fold's validation part uses FOLD_SEED + 1 + fold
#: The rows whose log-odds ``beyond`` combines with its linear models': one convolutional, one bidirectional
#: recurrent and one hybrid network, chosen for their different architectures (not by test accuracy).
BEYOND_MEMBERS = ("cnn-rand", "bilstm", "qrnn")
#: The linear models of ``beyond``: NBSVM on word 1- and 2-grams, on the same after :func:`dlbook.text.mark_negation`,
#: and on character 2- to 5-grams.
LINEAR_MEMBERS = ("nbsvm", "nbsvm-neg", "nbsvm-char")
#: The NBSVMs of ``beyond`` take the C of this grid with the best validation accuracy (the ``nbsvm`` row keeps
#: Wang and Manning's C = 1).
NBSVM_C_GRID = (0.01, 0.03, 0.1, 0.3)


def _nbsvm_tokens(row: str, docs: list[list[str]]) -> list[list[str]]:
    """The token lists an NBSVM row fits on: negation-marked for ``nbsvm-neg``, as they are otherwise."""
    return [mark_negation(d) for d in docs] if row == "nbsvm-neg" else docs


def _linear_member(name: str, data: dict) -> dict:
    """An NBSVM of ``beyond``: C chosen on the validation part, then refitted on all the training folds.

    Returns its validation scores (from the fit without the validation
    part), test scores (from the refit), the chosen ``C`` and the
    validation accuracy of every ``C`` of :data:`NBSVM_C_GRID`.
    """
    def feats(part):
        docs = data[part]["tokens"]
        return [char_ngrams(d) for d in docs] if name == "nbsvm-char" else _nbsvm_tokens(name, docs)

    n = 1 if name == "nbsvm-char" else 2
    train, val, test = feats("train"), feats("val"), feats("test")
    y_train, y_val = data["train"]["labels"], data["val"]["labels"]
    scores = {C: NBSVM(n=n, C=C).fit(train, y_train).decision_function(val) for C in NBSVM_C_GRID}
    val_acc = {C: _score_accuracy(v, y_val) for C, v in scores.items()}
    C = max(NBSVM_C_GRID, key=lambda c: (val_acc[c], c))  # ties: the larger C
    refit = NBSVM(n=n, C=C).fit(train + val, torch.cat([y_train, y_val]))
    return {"val_scores": scores[C], "test_scores": refit.decision_function(test), "C": C,
            "val_accuracy": {str(c): a for c, a in val_acc.items()}}


def member_budget(row: str, budget: str | None = None) -> str:
    """The budget a member of ``beyond`` trains at when ``beyond`` runs at ``budget``.

    Under ``full``, CNN-rand follows Kim's 25 epochs and the recurrent rows
    keep the ``default`` budget's early stopping (their validation accuracy
    peaks after 2 to 6 epochs), as their own rows of the study do; under
    every other budget, the members train at ``budget``.

    Examples
    --------
    >>> member_budget("cnn-rand", "full"), member_budget("bilstm", "full"), member_budget("bilstm", "ci")
    ('full', 'default', 'ci')
    """
    if row not in BEYOND_MEMBERS:
        raise ValueError(f"member_budget: argument 'row' must be one of {list(BEYOND_MEMBERS)}, got {row!r}")
    budget = get_budget(budget)
    return "default" if budget == "full" and not row.startswith("cnn") else budget


#: The docs build's live run at the ``default`` budget (see :func:`budget_settings`): a few
#: epochs, so that the whole book builds in about 30 minutes on 2 cores.
LIVE_DEFAULT = {"epochs": 5, "patience": 2}


def budget_settings(budget: str | None = None, *, live: bool = False) -> dict:
    """Sizes and schedule of the neural rows for a run budget.

    ``full`` is Kim's protocol (25 epochs, every epoch run); ``default``
    stops when the validation accuracy has not improved for ``patience``
    epochs; ``ci`` and ``smoke`` are short, the latter on a subset. With
    ``live``, the ``default`` budget takes :data:`LIVE_DEFAULT`, the
    gallery's shorter schedule; the study command keeps its own.

    Examples
    --------
    >>> budget_settings("default")["epochs"], budget_settings("default", live=True)["epochs"]
    (15, 5)
    """
    budget = get_budget(budget)
    if live and budget == "default":
        return budget_settings(budget) | LIVE_DEFAULT
    common = {"batch": 50, "emb": 300, "maps": 100, "hidden": 150, "max_train": None, "patience": None,
              "epochs": 25, "adam_lr": 1e-3}
    return {
        "smoke": {**common, "emb": 32, "maps": 16, "hidden": 24, "max_train": 2000, "epochs": 6, "adam_lr": 3e-3},
        "ci": {**common, "epochs": 3},
        "default": {**common, "epochs": 15, "patience": 3},
        "full": common,
    }[budget]


def build_fold(sentences: list[list[str]], labels: torch.Tensor, folds: list[torch.Tensor], k: int, *,
               max_train: int | None = None, min_freq: int = 1) -> dict:
    """The data of fold ``k``: train / validation / test token lists and labels, and the vocabulary.

    The validation part is a stratified 10% of the training folds (seeded by
    the fold). The :class:`~dlbook.text.Vocab` is built from the training
    and validation parts, i.e. from the training folds only: a word that
    occurs only in the test fold maps to ``<unk>``.
    """
    train_idx, test_idx = kfold_train_test(folds, k)
    inner = stratified_kfold(labels[train_idx], 10, seed=FOLD_SEED + 1 + k)
    val_idx = train_idx[inner[0]]
    fit_idx = train_idx[torch.cat(inner[1:]).sort().values]
    if max_train is not None:
        g = torch.Generator().manual_seed(k)
        fit_idx = fit_idx[torch.randperm(len(fit_idx), generator=g)[:max_train]].sort().values
    vocab = Vocab(Counter(t for i in train_idx.tolist() for t in sentences[i]), min_freq=min_freq)

    def part(idx):
        return {"index": idx, "tokens": [sentences[i] for i in idx.tolist()], "labels": labels[idx],
                "ids": [vocab.encode(sentences[i] or ["<unk>"]) for i in idx.tolist()]}

    return {"vocab": vocab, "train": part(fit_idx), "val": part(val_idx), "test": part(test_idx), "fold": k}


def make_batches(ids: list[torch.Tensor], labels: torch.Tensor, batch_size: int, *, generator=None,
                 pad: int = 0, bucket: int = 20) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Mini-batches of similar-length sequences, each padded to its own longest sequence.

    With a ``generator`` the order is shuffled, then cut into chunks of
    ``bucket`` batches; each chunk is sorted by length and cut into batches,
    and the batches are shuffled. Without one, the order is by length.
    Index 0 (``<pad>``) fills the tail; ``pad`` more zero steps go on both ends.

    Returns
    -------
    list of (tokens, lengths, labels)
        ``tokens`` ``(B, T)`` int64 with the words at ``pad .. pad + length - 1``,
        ``lengths`` ``(B,)`` and ``labels`` ``(B,)``.
    """
    n = len(ids)
    lengths = torch.tensor([len(s) for s in ids])
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    chunks = [order] if generator is None else list(order.split(batch_size * bucket))
    groups = []
    for chunk in chunks:
        chunk = chunk[torch.sort(lengths[chunk], stable=True).indices]
        groups += list(chunk.split(batch_size))
    if generator is not None:
        groups = [groups[i] for i in torch.randperm(len(groups), generator=generator).tolist()]
    out = []
    for g in groups:
        lens = lengths[g]
        x = torch.zeros(len(g), int(lens.max()) + 2 * pad, dtype=torch.long)
        for row, i in enumerate(g.tolist()):
            x[row, pad:pad + len(ids[i])] = ids[i]
        out.append((x, lens, labels[g]))
    return out


class KimCNN(torch.nn.Module):
    """Kim's (2014) CNN: embedding, a ConvOverTime per window, ReLU, max over time, dropout, linear.

    The call ``model(tokens)`` takes int64 indices of shape ``(N, T)``, already
    padded with ``max(windows) - 1`` zeros at both ends, and returns logits of
    shape ``(N, classes)``.

    ``init="torch"`` keeps the layers' own initialisation
    (:class:`~dlbook.nn.ConvOverTime` and :class:`torch.nn.Linear`: uniform,
    bound ``1 / sqrt(fan_in)``); ``init="kim"`` starts as Kim's released
    code does for ReLU filters: filters uniform on ``[-0.01, 0.01]``, and
    the output weights and every bias zero. Either way the word vectors
    start uniform on ``[-0.25, 0.25]``, with the ``<pad>`` row zero.

    Examples
    --------
    >>> model = KimCNN(50, emb=8, maps=4, init="kim")
    >>> w_out, w_conv = model.out.weight.detach(), model.convs[0].weight.detach()
    >>> float(w_out.abs().max()), float(w_conv.abs().max()) <= 0.01
    (0.0, True)
    """

    def __init__(self, vocab_size: int, emb: int = 300, windows=(3, 4, 5), maps: int = 100, p: float = 0.5,
                 classes: int = 2, init: str = "torch"):
        super().__init__()
        if init not in ("torch", "kim"):
            raise ValueError(f"KimCNN: argument 'init' must be 'torch' or 'kim', got {init!r}")
        self.embedding = Embedding(vocab_size, emb, padding_idx=0)
        with torch.no_grad():  # Kim's initialisation of random vectors: U(-0.25, 0.25)
            self.embedding.weight.uniform_(-0.25, 0.25)
            self.embedding.weight[0] = 0
        self.convs = torch.nn.ModuleList(ConvOverTime(emb, maps, k) for k in windows)
        self.p = p
        self.out = torch.nn.Linear(maps * len(windows), classes)
        if init == "kim":
            with torch.no_grad():
                for conv in self.convs:
                    conv.weight.uniform_(-0.01, 0.01)
                    conv.bias.zero_()
                self.out.weight.zero_()
                self.out.bias.zero_()

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens)
        return torch.cat([torch.relu(conv(x)).amax(dim=1) for conv in self.convs], dim=1)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(dl_dropout(self.features(tokens), self.p, self.training))


class RNNClassifier(torch.nn.Module):
    """Embedding, a recurrent layer, a sentence vector pooled over the real (unpadded) steps, dropout, linear.

    Parameters
    ----------
    cell : {"lstm", "bilstm", "qrnn"}
    pooling : {"last", "mean", "max", "meanmax"}
        The state at the last word, the mean or max over time, or both concatenated.

    Notes
    -----
    The call ``model(tokens, lengths)`` takes int64 indices of shape ``(N, T)``,
    padded at the end, and the lengths of shape ``(N,)``, and returns logits
    of shape ``(N, classes)``.
    """

    def __init__(self, vocab_size: int, emb: int = 300, hidden: int = 150, cell: str = "lstm",
                 pooling: str = "max", p: float = 0.5, classes: int = 2):
        super().__init__()
        if cell not in ("lstm", "bilstm", "qrnn"):
            raise ValueError(f"RNNClassifier: argument 'cell' must be 'lstm', 'bilstm' or 'qrnn', got {cell!r}")
        if pooling not in ("last", "mean", "max", "meanmax"):
            raise ValueError(f"RNNClassifier: argument 'pooling' must be last, mean, max or meanmax, got {pooling!r}")
        self.cell, self.pooling, self.p = cell, pooling, p
        self.embedding = Embedding(vocab_size, emb, padding_idx=0)
        with torch.no_grad():
            self.embedding.weight.uniform_(-0.25, 0.25)
            self.embedding.weight[0] = 0
        if cell == "qrnn":
            self.rnn = QRNN(emb, hidden, window=2, batch_first=True)
        else:
            self.rnn = LSTM(emb, hidden, batch_first=True)
            self.rnn_reverse = LSTM(emb, hidden, batch_first=True) if cell == "bilstm" else None
        width = hidden * (2 if cell == "bilstm" else 1) * (2 if pooling == "meanmax" else 1)
        self.out = torch.nn.Linear(width, classes)

    @staticmethod
    def _reverse_index(lengths: torch.Tensor, T: int) -> torch.Tensor:
        """``(N, T)`` index reversing each sequence within its own length (padding stays at the end)."""
        t = torch.arange(T, device=lengths.device).unsqueeze(0)
        last = lengths.unsqueeze(1) - 1
        return torch.where(t <= last, last - t, t)

    def states(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = dl_dropout(self.embedding(tokens), 0.2 * self.p / 0.5, self.training)
        h = self.rnn(x)[0]
        if self.cell == "bilstm":
            rev = self._reverse_index(lengths, tokens.shape[1])
            xr = x.gather(1, rev.unsqueeze(2).expand_as(x))
            hr = self.rnn_reverse(xr)[0]
            h = torch.cat([h, hr.gather(1, rev.unsqueeze(2).expand_as(hr))], dim=2)
        return h

    def features(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.states(tokens, lengths)
        mask = (torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2)
        vecs = []
        if self.pooling == "last":
            vecs.append(h[torch.arange(len(lengths), device=h.device), lengths - 1])
        if self.pooling in ("mean", "meanmax"):
            vecs.append((h * mask).sum(1) / lengths.unsqueeze(1).to(h.dtype))
        if self.pooling in ("max", "meanmax"):
            vecs.append(h.masked_fill(~mask, float("-inf")).amax(dim=1))
        return torch.cat(vecs, dim=1)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.out(dl_dropout(self.features(tokens, lengths), self.p, self.training))


#: The book's corpus (:func:`dlbook.embeddings.corpora.load_corpus`) the cnn-static rows' vectors are trained on.
VECTOR_CORPUS = "all"


def vector_settings(budget: str | None = None) -> dict:
    """Size and schedule of the cnn-static rows' skip-gram vectors for a run budget.

    ``corpus_sentences`` is how many sentences of :data:`VECTOR_CORPUS` join
    the fold's training sentences (0: none, ``None``: all of them).

    Examples
    --------
    >>> vector_settings("full")["dim"], vector_settings("smoke")["corpus_sentences"]
    (100, 0)
    """
    return {"smoke": {"dim": 32, "epochs": 5, "corpus_sentences": 0},
            "ci": {"dim": 100, "epochs": 2, "corpus_sentences": 20_000},
            "default": {"dim": 100, "epochs": 5, "corpus_sentences": None},
            "full": {"dim": 100, "epochs": 5, "corpus_sentences": None}}[get_budget(budget)]


def fold_vectors(data: dict, budget: str | None = None, *, path=None) -> dict:
    """The book's skip-gram vectors for fold ``data["fold"]``'s vocabulary.

    Trains :class:`dlbook.embeddings.SkipGram` (the embedding study's
    settings: window 5, 5 noise words, ``min_count`` 5, 5 epochs; the size
    from :func:`vector_settings`) on the sentences of :data:`VECTOR_CORPUS`
    and the fold's training sentences (training and validation parts, never
    the test fold), shuffled together with the fold's seed. The trained
    vectors are centred (skip-gram's vectors of frequent words share a
    common direction, which would make the sentences look alike to the
    CNN) and multiplied by one factor that gives them the variance of
    CNN-rand's :math:`U(-0.25, 0.25)` initialisation (the CNN then starts
    at the scale it was tuned for), and a word
    of the fold's vocabulary without a trained vector gets one drawn from
    :math:`U(-0.25, 0.25)`, the same variance, as Kim (2014) does for
    words missing from word2vec; ``<pad>`` is zero. With ``path``, the result is
    stored there and read back on the next call.

    Returns
    -------
    dict
        ``vectors`` ``(V, d)`` in the order of ``data["vocab"]``, ``found``
        (how many words had a trained vector) and ``seconds`` (training time).
    """
    from pathlib import Path

    from dlbook.embeddings import SkipGram
    from dlbook.embeddings.corpora import load_corpus

    if path is not None and Path(path).is_file():
        return torch.load(path, weights_only=True)
    cfg = vector_settings(budget)
    k = data["fold"]
    sentences = [t for part in ("train", "val") for t in data[part]["tokens"] if t]
    if cfg["corpus_sentences"] != 0:
        corpus = load_corpus(VECTOR_CORPUS)
        sentences += corpus if cfg["corpus_sentences"] is None else corpus[:cfg["corpus_sentences"]]
    g = torch.Generator().manual_seed(1000 + k)
    sentences = [sentences[i] for i in torch.randperm(len(sentences), generator=g).tolist()]
    sg = SkipGram(dim=cfg["dim"], epochs=cfg["epochs"], min_count=5, seed=k).fit(sentences, progress=False)
    kv = sg.wv
    itos = data["vocab"].itos
    found = torch.tensor([w in kv.key_to_index for w in itos])
    found[0] = False
    trained = kv.vectors[[kv.key_to_index[w] for w, f in zip(itos, found.tolist()) if f]]
    # centred (skip-gram's frequent words share one direction) and scaled by one factor
    # to the variance of CNN-rand's U(-0.25, 0.25), 0.25^2 / 3
    trained = trained - trained.mean(0)
    trained = trained * (0.25 ** 2 / 3 / trained.var()).sqrt()
    vectors = (torch.rand(len(itos), cfg["dim"], generator=g) * 2 - 1) * 0.25
    vectors[found] = trained
    vectors[0] = 0
    out = {"vectors": vectors, "found": int(found.sum()), "seconds": sg.train_time}
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(str(path) + ".part")
        torch.save(out, tmp)
        tmp.replace(path)
    return out


def _model_for(row: str, vocab_size: int, settings: dict, vectors: torch.Tensor | None = None
               ) -> tuple[torch.nn.Module, int]:
    """The network of a neural row and the padding it needs at both ends."""
    if row in ("cnn-rand", "cnn-rand-kim-init"):
        init = "kim" if row == "cnn-rand-kim-init" else "torch"
        return KimCNN(vocab_size, settings["emb"], maps=settings["maps"], init=init), 4
    if row in ("cnn-static", "cnn-nonstatic"):
        model = KimCNN(vocab_size, vectors.shape[1], maps=settings["maps"])
        with torch.no_grad():
            model.embedding.weight.copy_(vectors)
        model.embedding.weight.requires_grad_(row == "cnn-nonstatic")
        return model, 4
    cell = {"bilstm": "bilstm", "qrnn": "qrnn"}.get(row, "lstm")
    pooling = row.split("-")[1] if row.startswith("lstm-") else "max"
    return RNNClassifier(vocab_size, settings["emb"], settings["hidden"], cell=cell, pooling=pooling), 0


@torch.no_grad()
def _predict(model, batches) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-1 probabilities and labels over ``batches``, in batch order (on the CPU, wherever ``model`` is)."""
    model.eval()
    device = next(model.parameters()).device
    probs, ys = [], []
    for x, lens, y in batches:
        probs.append(torch.softmax(model(x.to(device), lens.to(device)), dim=1)[:, 1].cpu())
        ys.append(y)
    return torch.cat(probs), torch.cat(ys)


def _accuracy(probs, y) -> float:
    return float(((probs > 0.5).long() == y).double().mean())


def _score_accuracy(scores, y) -> float:
    """Accuracy of the rule "class 1 when the score (a margin or log-odds) is positive"."""
    return float(((scores > 0).long() == y).double().mean())


def _train_network(row: str, data: dict, settings: dict, seed: int, progress, vectors=None) -> dict:
    """Train a neural row on :func:`dlbook.runs.get_device`; the returned model is back on the CPU."""
    g = seed_everything(seed)
    model, pad = _model_for(row, len(data["vocab"]), settings, vectors)
    device = get_device()
    model.to(device)  # built on the CPU, so a seed gives the same start on every device
    kim = isinstance(model, KimCNN)
    if kim:  # Kim's Adadelta; only the rows of a batch's words move, so update just those (same result)
        emb = model.embedding.weight
        groups = [{"params": [p for p in model.parameters() if p is not emb]}]
        if emb.requires_grad:  # cnn-static keeps its vectors fixed
            groups.insert(0, {"params": [emb], "lazy_rows": True})
        opt = Adadelta(groups, lr=1.0, rho=0.95, eps=1e-6)
    else:  # recurrent rows: Adam, with the gradient norm clipped at 5
        opt = torch.optim.Adam(model.parameters(), lr=settings["adam_lr"])
    val = make_batches(data["val"]["ids"], data["val"]["labels"], 200, pad=pad)
    test = make_batches(data["test"]["ids"], data["test"]["labels"], 200, pad=pad)
    history = {k: [] for k in ("train_loss", "train_accuracy", "val_accuracy", "test_accuracy", "seconds")}
    best, best_state, best_epoch, since = -1.0, None, 0, 0
    start = time.perf_counter()
    for epoch in progress_bar(range(1, settings["epochs"] + 1), desc=f"{row} fold {data['fold']}", enable=progress):
        model.train()
        tot = correct = seen = 0.0
        for x, lens, y in make_batches(data["train"]["ids"], data["train"]["labels"], settings["batch"],
                                       generator=g, pad=pad):
            x, lens, y = x.to(device), lens.to(device), y.to(device)
            logits = model(x, lens)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if not kim:
                clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            if kim:
                max_norm_(model.out.weight, 3.0)  # after each step: a projection of the weights
            with torch.no_grad():
                model.embedding.weight[0] = 0  # the padding vector stays zero
            tot += float(loss.detach()) * len(y)
            correct += float((logits.argmax(1) == y).sum())
            seen += len(y)
        val_p, val_y = _predict(model, val)
        test_p, test_y = _predict(model, test)
        va, ta = _accuracy(val_p, val_y), _accuracy(test_p, test_y)
        for key, v in (("train_loss", tot / seen), ("train_accuracy", correct / seen), ("val_accuracy", va),
                       ("test_accuracy", ta), ("seconds", time.perf_counter() - start)):
            history[key].append(v)
        if va > best:
            best, best_state, best_epoch, since = va, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            since += 1
            if settings["patience"] is not None and since >= settings["patience"]:
                break
    model.load_state_dict(best_state)
    model.cpu()
    return {"model": model, "pad": pad, "history": history, "best_epoch": best_epoch,
            "val_accuracy": best, "test_accuracy": history["test_accuracy"][best_epoch - 1]}


def _probabilities_in_index_order(model, part, pad) -> torch.Tensor:
    """Class-1 probabilities of every sentence of ``part``, in the part's own order."""
    batches = make_batches(part["ids"], part["labels"], 200, pad=pad)
    probs, _ = _predict(model, batches)
    order = torch.sort(torch.tensor([len(s) for s in part["ids"]]), stable=True).indices
    out = torch.empty(len(order))
    out[order] = probs
    return out


def _platt(scores: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """``a, b`` of ``sigmoid(a s + b)`` fitted to labels ``y`` by Newton's method on the logistic loss.

    The scores are standardised first and every Newton step is halved until
    the loss goes down, so that scores of any scale converge.
    """
    scale = float(scores.double().std()) or 1.0
    s, t = scores.double() / scale, y.double()
    theta = torch.zeros(2, dtype=torch.float64)
    X = torch.stack([s, torch.ones_like(s)], 1)

    def loss(th):
        return float(F.binary_cross_entropy_with_logits(X @ th, t, reduction="sum"))

    current = loss(theta)
    for _ in range(100):
        p = torch.sigmoid(X @ theta)
        g = X.T @ (p - t)
        H = (X * (p * (1 - p) + 1e-12).unsqueeze(1)).T @ X
        step = torch.linalg.solve(H + 1e-9 * torch.eye(2, dtype=torch.float64), g)
        for _ in range(30):  # backtracking: halve the step until the loss does not increase
            if loss(theta - step) <= current:
                break
            step = step / 2
        theta = theta - step
        current = loss(theta)
        if float(step.abs().max()) < 1e-10:
            break
    return float(theta[0]) / scale, float(theta[1])


def _logit(p: torch.Tensor) -> torch.Tensor:
    p = p.double().clamp(1e-6, 1 - 1e-6)
    return torch.log(p) - torch.log1p(-p)


def stack_log_odds(scores: torch.Tensor, y: torch.Tensor) -> dict:
    """Fit the ensemble of ``beyond`` on the validation part.

    With raw scores :math:`s_{im}` of :math:`M` models (NBSVM margins,
    networks' log-odds) and labels :math:`y_i` of the validation
    sentences, it fits in turn

    * for each model, :math:`a_m, b_m` of the logistic map
      :math:`z_{im} = a_m s_{im} + b_m` (Platt scaling, Newton's method);
    * non-negative weights :math:`w_m = e^{v_m}` of
      :math:`z_i = \\sum_m w_m z_{im}` (L-BFGS on :math:`v`),

    each minimising the mean negative log-likelihood of the validation
    labels. A sentence is positive when :math:`z_i > 0`.

    Parameters
    ----------
    scores : torch.Tensor
        Shape ``(N, M)``: column ``m`` holds model ``m``'s scores.
    y : torch.Tensor
        Shape ``(N,)``: labels in {0, 1}.

    Returns
    -------
    dict
        ``a``, ``b``, ``weights``: lists of length ``M``.

    Examples
    --------
    >>> y = torch.tensor([0, 1, 0, 1, 1, 0])
    >>> s = torch.tensor([[-2., -1.], [1., 3.], [-1., 0.2], [2., 1.], [0.5, -1.], [-0.5, -3.]])
    >>> fit = stack_log_odds(s, y)
    >>> sorted(fit), len(fit["weights"]), min(fit["weights"]) >= 0
    (['a', 'b', 'weights'], 2, True)
    """
    y = torch.as_tensor(y)
    if scores.dim() != 2 or scores.shape[0] != y.shape[0] or y.dim() != 1:
        raise ValueError(f"stack_log_odds: argument 'scores' must have shape (N, M) with N = len(y) = "
                         f"{y.shape[0] if y.dim() == 1 else '?'}, got {tuple(scores.shape)} (y: {tuple(y.shape)})")
    s, t = scores.double(), y.double()
    ab = [_platt(s[:, m], y) for m in range(s.shape[1])]
    a = torch.tensor([p[0] for p in ab], dtype=torch.float64)
    b = torch.tensor([p[1] for p in ab], dtype=torch.float64)
    z = s * a + b
    v = torch.full((s.shape[1],), -math.log(s.shape[1]), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([v], lr=1, max_iter=200, tolerance_grad=1e-10, tolerance_change=1e-14,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(z @ v.exp(), t)
        loss.backward()
        return loss

    opt.step(closure)
    return {"a": a.tolist(), "b": b.tolist(), "weights": v.detach().exp().tolist()}


def _member_log_odds(scores: torch.Tensor, fit: dict) -> torch.Tensor:
    """Each member's log-odds :math:`a_m s_{im} + b_m` through the fitted maps, shape ``(N, M)`` (float64)."""
    a, b = (torch.tensor(fit[key], dtype=torch.float64) for key in ("a", "b"))
    return scores.double() * a + b


def apply_stack(scores: torch.Tensor, fit: dict) -> torch.Tensor:
    """The ensemble's log-odds :math:`z_i = \\sum_m w_m (a_m s_{im} + b_m)`, shape ``(N,)``, for scores ``(N, M)``."""
    w = torch.tensor(fit["weights"], dtype=torch.float64)
    if scores.dim() != 2 or scores.shape[1] != len(w):
        raise ValueError(f"apply_stack: argument 'scores' must have shape (N, {len(w)}), got {tuple(scores.shape)}")
    return _member_log_odds(scores, fit) @ w


def stack_ablation(val_scores: torch.Tensor, val_y: torch.Tensor, test_scores: torch.Tensor,
                   test_y: torch.Tensor, names: list[str], groups: dict | None = None) -> dict:
    """Test accuracy of the ensemble refitted without each member, and without each group of members.

    For every subset (all members; all but one, for each member; all but
    each group of ``groups``), :func:`stack_log_odds` is fitted again on the
    validation scores of that subset alone and applied to its test scores,
    so each entry is the accuracy the ensemble would have had if it had
    never seen the members left out.

    Parameters
    ----------
    val_scores, test_scores : torch.Tensor
        Shapes ``(N_val, M)`` and ``(N_test, M)``: column ``m`` holds model ``m``'s raw scores.
    val_y, test_y : torch.Tensor
        Labels in {0, 1}, shapes ``(N_val,)`` and ``(N_test,)``.
    names : list of str
        The ``M`` members' names.
    groups : dict, optional
        Group name -> list of member names, each group left out at once.

    Returns
    -------
    dict
        ``"all"``, ``"without <member>"`` and ``"without <group>"`` -> test accuracy.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> y = (torch.rand(400, generator=g) < 0.5).long()
    >>> signal = (2 * y - 1).double() + torch.randn(400, generator=g, dtype=torch.float64)
    >>> s = torch.stack([signal, torch.randn(400, generator=g, dtype=torch.float64)], 1)
    >>> out = stack_ablation(s[:200], y[:200], s[200:], y[200:], ["good", "noise"])
    >>> sorted(out), out["without noise"] > out["without good"]
    (['all', 'without good', 'without noise'], True)
    """
    names = list(names)
    M = len(names)
    if val_scores.dim() != 2 or test_scores.dim() != 2 or val_scores.shape[1] != M or test_scores.shape[1] != M:
        raise ValueError(f"stack_ablation: arguments 'val_scores' and 'test_scores' must have shapes (N_val, {M}) "
                         f"and (N_test, {M}) for {M} names, got {tuple(val_scores.shape)} and "
                         f"{tuple(test_scores.shape)}")
    subsets = {"all": names, **{f"without {n}": [m for m in names if m != n] for n in names}}
    for group, members in (groups or {}).items():
        unknown = sorted(set(members) - set(names))
        if unknown:
            raise ValueError(f"stack_ablation: argument 'groups' names members not in 'names': {unknown}")
        subsets[f"without {group}"] = [m for m in names if m not in members]
    out = {}
    for key, keep in subsets.items():
        if not keep:
            raise ValueError(f"stack_ablation: leaving out {key[len('without '):]!r} leaves no member")
        cols = [names.index(m) for m in keep]
        fit = stack_log_odds(val_scores[:, cols], val_y)
        out[key] = _score_accuracy(apply_stack(test_scores[:, cols], fit), test_y)
    return out


def weights_tuned_on_test(test_scores: torch.Tensor, test_y: torch.Tensor, fit: dict, draws: int = 20000,
                          seed: int = 0) -> dict:
    """The test accuracy of the ensemble when its weights are chosen on the test fold (a common mistake).

    The members' logistic maps :math:`a_m, b_m` stay those fitted on the
    validation part (``fit``, from :func:`stack_log_odds`); only the weights
    :math:`w` of :math:`z_i = \\sum_m w_m (a_m s_{im} + b_m)` are chosen again, as the ones with the
    best accuracy on the test fold itself among ``fit``'s own weights and
    ``draws`` weight vectors drawn uniformly from the simplex
    :math:`\\{w \\ge 0, \\sum_m w_m = 1\\}` (the sign of :math:`z_i` does
    not depend on the scale of :math:`w`). The result is never used to
    choose anything: it measures how far such a choice inflates the
    reported accuracy.

    Parameters
    ----------
    test_scores : torch.Tensor
        Shape ``(N, M)``: column ``m`` holds model ``m``'s raw scores on the test fold.
    test_y : torch.Tensor
        Shape ``(N,)``: the test labels in {0, 1}.
    fit : dict
        The ensemble fitted on the validation part (``a``, ``b``, ``weights``, each of length ``M``).
    draws : int
        How many weight vectors to try besides ``fit``'s.
    seed : int
        Seed of the draws.

    Returns
    -------
    dict
        ``accuracy`` (the best test accuracy found), ``weights`` (the weights that reach it, summing
        to 1) and ``fitted_accuracy`` (the test accuracy with ``fit``'s own weights).

    Examples
    --------
    >>> y = torch.tensor([1, 1, 0, 0])
    >>> s = torch.tensor([[1., -1.], [-1., 1.], [-1., -2.], [-2., -1.]])
    >>> out = weights_tuned_on_test(s, y, {"a": [1., 1.], "b": [0.5, 0.5], "weights": [1., 0.]}, draws=100)
    >>> out["fitted_accuracy"], out["accuracy"]
    (0.75, 1.0)
    """
    test_y = torch.as_tensor(test_y)
    M = len(fit["weights"])
    if test_scores.dim() != 2 or test_scores.shape[1] != M or test_y.dim() != 1 or len(test_y) != len(test_scores):
        raise ValueError(f"weights_tuned_on_test: argument 'test_scores' must have shape (N, {M}) with N = "
                         f"len(test_y), got {tuple(test_scores.shape)} (test_y: {tuple(test_y.shape)})")
    if draws < 0:
        raise ValueError(f"weights_tuned_on_test: argument 'draws' must be >= 0, got {draws}")
    w = torch.tensor(fit["weights"], dtype=torch.float64)
    z = _member_log_odds(test_scores, fit)  # the maps fitted on the validation part, kept
    g = torch.Generator().manual_seed(seed)
    uniform = -torch.log1p(-torch.rand(draws, M, generator=g, dtype=torch.float64))  # Exp(1) draws ...
    candidates = torch.cat([(w / w.sum()).unsqueeze(0), uniform / uniform.sum(1, keepdim=True)])  # ... normalised
    correct = torch.cat([((z @ chunk.T > 0).long() == test_y.unsqueeze(1)).double().sum(0)
                         for chunk in candidates.split(4096)])
    best = int(correct.argmax())
    return {"accuracy": float(correct[best]) / len(test_y), "weights": candidates[best].tolist(),
            "fitted_accuracy": float(correct[0]) / len(test_y)}


@functools.lru_cache(maxsize=1)
def _corpus():
    """MR tokenized, its labels and the 10 folds, loaded once per process."""
    sentences, labels = load_mr()
    return [kim_tokenize(s) for s in sentences], labels, stratified_kfold(labels, 10, seed=FOLD_SEED)


def run_fold(row: str, k: int, budget: str | None = None, *, data: dict | None = None, progress=None,
             keep_model: bool = False, live: bool = False, members: dict | None = None,
             vectors_path=None, seed: int = 0) -> dict:
    """Train and evaluate one row on fold ``k``.

    The networks of fold ``k`` are seeded with :func:`train_seed` ``(k, seed)``;
    ``seed`` repeats the study with other initialisations and batch orders on
    the same folds.

    The cnn-static rows train their fold's vectors first (:func:`fold_vectors`,
    stored at and read back from ``vectors_path`` when it is given; their
    ``wall_time`` includes that training, or the stored training time).

    With ``live``, the gallery's live settings apply (see :func:`budget_settings`).
    For ``beyond``, ``members`` maps each row of :data:`BEYOND_MEMBERS` to
    its result on the same fold, at the budget :func:`member_budget` gives
    (with ``val_probabilities`` and ``test_probabilities``): the ensemble
    then combines those networks instead of training the same ones again
    (same seed, data and settings); members not given are trained here.

    Returns
    -------
    dict
        ``fold``, ``test_accuracy`` (at the epoch with the best validation accuracy), ``val_accuracy``,
        ``best_epoch``, ``epochs_run``, ``wall_time`` (s), ``vocab_size``, ``history`` (per epoch:
        train loss and accuracy, validation and test accuracy, cumulative seconds; empty for NBSVM),
        ``test_probabilities`` and, for the neural rows, ``val_probabilities`` (class 1, in the
        part's index order) and, with ``keep_model``, ``model`` and ``data``.
    """
    if row not in ROWS:
        raise ValueError(f"run_fold: argument 'row' must be one of {list(ROWS)}, got {row!r}")
    train_seed(k, seed)  # checks seed
    if members is not None and (row != "beyond" or keep_model):
        raise ValueError("run_fold: argument 'members' is only for row 'beyond' without keep_model")
    settings = budget_settings(budget, live=live)
    if data is None:
        sentences, labels, folds = _corpus()
        data = build_fold(sentences, labels, folds, k, max_train=settings["max_train"])
    start = time.perf_counter()
    result = {"fold": k, "vocab_size": len(data["vocab"]), "history": {}, "best_epoch": 0, "epochs_run": 0}
    test_y, val_y = data["test"]["labels"], data["val"]["labels"]
    nb = None
    if row in NBSVM_ROWS:  # nothing to stop early: it fits on all the training folds (the validation part too)
        fit_docs = _nbsvm_tokens(row, data["train"]["tokens"] + data["val"]["tokens"])
        nb = NBSVM(n=2, bias=row == "nbsvm-intercept").fit(fit_docs, torch.cat([data["train"]["labels"], val_y]))
        nb_val, nb_test = (nb.decision_function(_nbsvm_tokens(row, data[p]["tokens"])) for p in ("val", "test"))
        result.update(val_accuracy=_score_accuracy(nb_val, val_y), test_accuracy=_score_accuracy(nb_test, test_y),
                      test_probabilities=torch.sigmoid(nb_test).float())
    if row == "beyond":
        linear = {name: _linear_member(name, data) for name in LINEAR_MEMBERS}
        result.update(nbsvm_C={n: m["C"] for n, m in linear.items()},
                      nbsvm_val_accuracy={n: m["val_accuracy"] for n, m in linear.items()})
        given = dict(members or {})
        unknown = sorted(set(given) - set(BEYOND_MEMBERS))
        if unknown:
            raise ValueError(f"run_fold: argument 'members' may only hold rows of {list(BEYOND_MEMBERS)}, "
                             f"got {unknown}")
        val_scores = [linear[n]["val_scores"] for n in LINEAR_MEMBERS]
        test_scores = [linear[n]["test_scores"] for n in LINEAR_MEMBERS]
        member_time = 0.0
        result["member_test_accuracy"], result["members_reused"] = {}, sorted(given)
        for m in BEYOND_MEMBERS:
            r = given.get(m)
            if r is None:
                r = run_fold(m, k, member_budget(m, budget), progress=progress, live=live, seed=seed)
            m_val, m_test = (torch.as_tensor(r.get(key, []), dtype=torch.float32)
                             for key in ("val_probabilities", "test_probabilities"))
            if r.get("fold") != k or m_val.shape != val_y.shape or m_test.shape != test_y.shape:
                raise ValueError(f"run_fold: argument 'members' must hold {m}'s result of fold {k} with "
                                 f"val_probabilities ({len(val_y)},) and test_probabilities ({len(test_y)},)")
            val_scores.append(_logit(m_val))
            test_scores.append(_logit(m_test))
            result["member_test_accuracy"][m] = r["test_accuracy"]
            member_time += r["wall_time"]
        val_scores, test_scores = torch.stack(val_scores, 1), torch.stack(test_scores, 1)
        names = [*LINEAR_MEMBERS, *BEYOND_MEMBERS]
        fit = stack_log_odds(val_scores, val_y)
        z_val, z_test = apply_stack(val_scores, fit), apply_stack(test_scores, fit)
        result["ablation"] = stack_ablation(val_scores, val_y, test_scores, test_y, names,
                                            {"the NBSVMs": list(LINEAR_MEMBERS), "the networks": list(BEYOND_MEMBERS)})
        result["tuned_on_test"] = weights_tuned_on_test(test_scores, test_y, fit)  # reported, never used
        result.update(val_accuracy=_score_accuracy(z_val, val_y), test_accuracy=_score_accuracy(z_test, test_y),
                      val_probabilities=torch.sigmoid(z_val).float(), test_probabilities=torch.sigmoid(z_test).float(),
                      ensemble={"members": names, **fit})
    elif row not in NBSVM_ROWS:
        vectors = None
        if row in ("cnn-static", "cnn-nonstatic"):
            stored = vectors_path is not None and os.path.isfile(vectors_path)
            fv = fold_vectors(data, budget, path=vectors_path)
            vectors = fv["vectors"]
            result.update(vectors_found=fv["found"], vectors_seconds=fv["seconds"])
            if stored:  # the row's time includes training its vectors, also when another row trained them
                start -= fv["seconds"]
        net = _train_network(row, data, settings, train_seed(k, seed), progress, vectors)
        result.update({key: net[key] for key in ("history", "best_epoch", "val_accuracy", "test_accuracy")})
        result["epochs_run"] = len(net["history"]["val_accuracy"])
        result["test_probabilities"] = _probabilities_in_index_order(net["model"], data["test"], net["pad"])
        result["val_probabilities"] = _probabilities_in_index_order(net["model"], data["val"], net["pad"])
        if keep_model:
            result["model"] = net["model"]
    if keep_model:
        result["data"] = data
        result["nbsvm"] = nb
    result["wall_time"] = time.perf_counter() - start
    if row == "beyond":  # the ensemble's time includes the training of its members
        result["wall_time"] += member_time
    return result


def train_seed(k: int, seed: int = 0) -> int:
    """The seed of fold ``k``'s networks in the study's repeat ``seed``: ``10 seed + k``.

    Repeat 0 seeds fold ``k`` with ``k``, as the study always has; each
    repeat has ten seeds of its own.

    Examples
    --------
    >>> train_seed(3), train_seed(3, seed=2)
    (3, 23)
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"mr: argument 'seed' must be an int >= 0, got {seed!r}")
    return 10 * seed + k


def kept_epoch(val_accuracy: list[float], ties: str = "first") -> int:
    """The epoch (from 1) that early stopping keeps: the best validation accuracy.

    ``ties="first"`` keeps the first epoch that reached the best value, as
    the study does (an epoch must beat the best so far); ``ties="last"``
    keeps the last one, as Kim's released code does (``val_perf >=
    best_val_perf``).

    Examples
    --------
    >>> kept_epoch([0.70, 0.75, 0.74, 0.75]), kept_epoch([0.70, 0.75, 0.74, 0.75], ties="last")
    (2, 4)
    """
    if ties not in ("first", "last"):
        raise ValueError(f"kept_epoch: argument 'ties' must be 'first' or 'last', got {ties!r}")
    if len(val_accuracy) == 0:
        raise ValueError("kept_epoch: argument 'val_accuracy' must hold at least one epoch, got an empty list")
    best = max(val_accuracy)
    epochs = [e for e, v in enumerate(val_accuracy, 1) if v == best]
    return epochs[0] if ties == "first" else epochs[-1]


def _run_task(row, k, budget, cache=None, seed=0):
    """One fold of one row; with a ``cache`` folder, reuse or store its result there (resumable runs)."""
    import json
    from pathlib import Path

    repeat = f"-seed{seed}" if seed else ""
    path = None if cache is None else Path(cache) / f"mr-{row}-{budget}{repeat}-fold{k}.json"
    if path is not None and path.is_file():
        return json.loads(path.read_text())
    commit = provenance()["commit"]  # read before the run: the code that runs
    members = None
    if row == "beyond":  # each member's fold comes from (or goes into) the cache like the member row's own
        members = {m: _run_task(m, k, member_budget(m, budget), cache, seed) for m in BEYOND_MEMBERS}
    vectors_path = None if cache is None else Path(cache) / f"mr-vectors-{budget}-fold{k}.pt"
    r = run_fold(row, k, budget, progress=False, members=members, vectors_path=vectors_path, seed=seed)
    for key in ("test_probabilities", "val_probabilities"):
        if key in r:
            r[key] = [round(float(p), 5) for p in r[key]]
    r["commit"] = commit
    r["device"] = "cpu" if row in NBSVM_ROWS else device_name(get_device())  # NBSVM fits on the CPU
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_text(json.dumps(r))
        tmp.replace(path)
    return r


def run_study(rows: list[str] | None = None, folds: int = 10, budget: str | None = None, jobs: int = 1,
              progress=None, cache: str | None = None, seed: int = 0) -> dict:
    """Run ``rows`` on the first ``folds`` of the 10 folds and summarise them (per fold, mean, sample std).

    ``seed`` picks the networks' seeds (:func:`train_seed`); the folds stay the same.

    With ``cache``, each finished fold is stored in that folder and reused
    when the same row, budget and fold are asked for again, so an
    interrupted study resumes where it stopped.
    """
    budget = get_budget(budget)
    check_jobs(jobs)
    train_seed(0, seed)  # checks seed
    rows = list(ROWS) if rows is None else [r for r in ROWS if r in rows]
    if not 1 <= folds <= 10:
        raise ValueError(f"mr: argument 'folds' must be in [1, 10], got {folds}")
    info = provenance()
    started = time.perf_counter()
    out = []
    for row in rows:
        row_start = time.perf_counter()
        with WorkerPool(jobs) as pool:
            futures = [pool.submit(_run_task, row, k, budget, cache, seed) if jobs > 1 else None
                       for k in range(folds)]
            runs = [f.result() if f is not None else _run_task(row, k, budget, cache, seed)
                    for k, f in enumerate(futures)]
        entry = {"name": row, "description": ROWS[row],
                 **summarise(runs, ("test_accuracy", "val_accuracy", "wall_time"), over="fold"),
                 "best_epoch_per_fold": [r["best_epoch"] for r in runs],
                 "epochs_run_per_fold": [r["epochs_run"] for r in runs],
                 "vocab_size_per_fold": [r["vocab_size"] for r in runs],
                 "history_per_fold": [r["history"] for r in runs],
                 "row_wall_time": time.perf_counter() - row_start,
                 "fold_wall_time_sum": sum(r["wall_time"] for r in runs),
                 "commit_per_fold": [r["commit"] for r in runs],
                 "device_per_fold": [r.get("device", "cpu") for r in runs],  # folds cached before: the CPU
                 "budget": budget, "jobs": jobs}
        if row in ("cnn-static", "cnn-nonstatic"):
            entry["vectors_found_per_fold"] = [r["vectors_found"] for r in runs]
            entry["vectors_seconds_per_fold"] = [r["vectors_seconds"] for r in runs]
        if row == "beyond":
            entry["member_test_accuracy_per_fold"] = [r["member_test_accuracy"] for r in runs]
            entry["member_budgets"] = {m: member_budget(m, budget) for m in BEYOND_MEMBERS}
            entry["ensemble_per_fold"] = [r.get("ensemble") for r in runs]
            entry["nbsvm_C_per_fold"] = [r["nbsvm_C"] for r in runs]
            entry["nbsvm_val_accuracy_per_fold"] = [r["nbsvm_val_accuracy"] for r in runs]
            entry["ablation_per_fold"] = [r.get("ablation") for r in runs]  # folds cached before: None
            entry["tuned_on_test_per_fold"] = [r.get("tuned_on_test") for r in runs]  # likewise
        out.append(entry)
        if progress is not False:
            print(f"{row}: {100 * entry['test_accuracy_mean']:.2f} +- {100 * entry['test_accuracy_std']:.2f} % "
                  f"in {entry['row_wall_time']:.0f} s", flush=True)
    settings = budget_settings(budget)
    return study_record("mr", budget, out, info=info, started=started, jobs=jobs, device=device_name(get_device()),
                        protocol={"folds": folds, "of": 10, "fold_seed": FOLD_SEED, "seed": seed,
                                  "train_seeds": [train_seed(k, seed) for k in range(folds)],
                                  "validation": "10% of the training folds, stratified",
                                  "selection": "best validation epoch",
                                  "tokenizer": "dlbook.text.kim_tokenize", "settings": settings})


# -- command line (``python -m dlbook.experiments mr``; see dlbook.experiments.runner) -----------------------------

def add_arguments(parser) -> None:
    """The study's options on its sub-parser."""
    parser.add_argument("--folds", type=int, default=10, help="run folds 0 .. n-1 of the 10 (default 10)")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=None, help="run only these rows")
    parser.add_argument("--seed", type=int, default=0,
                        help="repeat of the study: fold k's networks are seeded with 10 * seed + k (default 0)")
    parser.add_argument("--cache", default=None,
                        help="folder for per-fold results: finished folds are reused, so a stopped run resumes")


def run(args) -> dict:
    """Run the study the parsed ``args`` describe."""
    return run_study(rows=args.rows, folds=args.folds, budget=args.budget, jobs=args.jobs, cache=args.cache,
                     seed=args.seed)


def results_name(args) -> str:
    """``mr.json``, or ``mr-seedS.json`` for the repeat ``--seed S``."""
    seed = getattr(args, "seed", 0)
    return f"mr-seed{seed}.json" if seed else "mr.json"


def summary_lines(result: dict) -> list[str]:
    """One line per row for the terminal."""
    return [f"{row['name']:<14} test {100 * row['test_accuracy_mean']:.2f} +- {100 * row['test_accuracy_std']:.2f} %"
            f"  ({len(row['folds'])} folds, {row['row_wall_time']:.0f} s)" for row in result["rows"]]
