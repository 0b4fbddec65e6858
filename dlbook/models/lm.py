"""Word-level language models of Part VII, chapter 1, built from :mod:`dlbook` layers.

Every model reads token ids of shape ``(T, B)`` (time first, as
:func:`dlbook.data.bptt_batches` yields them) and a state carried from the
previous window, and returns features of shape ``(T, B, F)`` and the new
state. :class:`LanguageModel` adds the decoder (a full softmax with an
optional tied weight, or an adaptive softmax) and the loss.

========================  ============================================================
class                     model
========================  ============================================================
:class:`RNNLM`            embedding, stacked LSTM or GRU, dropout between layers
                          (fresh masks per step, Zaremba et al. 2014, or one mask per
                          sequence, "variational", Gal and Ghahramani 2016), tying
:class:`GatedCNNLM`       embedding, causal gated convolutions with residual
                          connections (Dauphin et al. 2017), optional LSTM on top
:class:`CharAwareLM`      character CNN per word, max over time, highway, LSTM
                          (Kim et al. 2016)
:class:`AttentionLM`      LSTM, attention over its previous ``k`` outputs across
                          window boundaries (Daniluk et al. 2017)
:class:`ContextLM`        LSTM, bag of words of the previous sentence concatenated
                          before the decoder
========================  ============================================================
"""

from __future__ import annotations

import math
import os

import torch

from dlbook import functional as F
from dlbook.nn import GRU, LSTM, AdaptiveLogSoftmaxWithLoss, Embedding, GatedConv1d, Highway

__all__ = [
    "AttentionLM",
    "CharAwareLM",
    "ContextLM",
    "GatedCNNLM",
    "LanguageModel",
    "RNNLM",
    "build_model",
    "detach_state",
    "evaluate",
    "sample_text",
    "train_lm",
]


def detach_state(state):
    """Detach every tensor of a (nested) state, so backpropagation stops at the window boundary."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(detach_state(s) for s in state)


def locked_dropout(x: torch.Tensor, p: float, training: bool, variational: bool) -> torch.Tensor:
    """Dropout on ``(T, B, D)`` activations: a fresh mask per step, or one mask per sequence (``variational``).

    The variational mask is drawn once for shape ``(1, B, D)`` and broadcast
    over the ``T`` steps, so a unit dropped for a sequence stays dropped at
    every step of it.
    """
    if not training or p == 0:
        return x
    if not variational:
        return F.dropout(x, p, True)
    mask = F.dropout(x.new_ones(1, x.shape[1], x.shape[2]), p, True)
    return x * mask


class LanguageModel(torch.nn.Module):
    """Base class: features from :meth:`features`, then a decoder and the summed negative log-likelihood.

    Parameters
    ----------
    vocab_size : int
        :math:`V`.
    feature_size : int
        Size :math:`F` of the features the decoder reads.
    tie_to : dlbook.nn.Embedding, optional
        Share the decoder weight with this embedding (weight tying); its
        dimension must equal ``feature_size``.
    cutoffs : sequence of int, optional
        Use an adaptive softmax with these cut-offs instead of the full softmax.
    """

    def __init__(self, vocab_size: int, feature_size: int, tie_to: Embedding | None = None, cutoffs=None,
                 div_value: float = 4.0):
        super().__init__()
        self.vocab_size, self.feature_size = vocab_size, feature_size
        self.adaptive = None
        self.is_tied = tie_to is not None
        if cutoffs:
            if tie_to is not None:
                raise ValueError("LanguageModel: weight tying needs the full softmax; pass cutoffs=None to tie")
            self.adaptive = AdaptiveLogSoftmaxWithLoss(feature_size, vocab_size, cutoffs, div_value=div_value)
            return
        if tie_to is not None:
            if tie_to.embedding_dim != feature_size:
                raise ValueError(f"LanguageModel: weight tying needs the embedding size ({tie_to.embedding_dim}) to "
                                 f"equal the size of the decoder's input ({feature_size})")
            self.decoder_weight = tie_to.weight
        else:
            bound = 1 / math.sqrt(feature_size)
            self.decoder_weight = torch.nn.Parameter(torch.empty(vocab_size, feature_size).uniform_(-bound, bound))
        self.decoder_bias = torch.nn.Parameter(torch.zeros(vocab_size))

    def features(self, input: torch.Tensor, state):  # pragma: no cover - abstract
        """Features ``(T, B, F)`` of token ids ``(T, B)`` and the new state; each model defines it."""
        raise NotImplementedError

    def init_state(self, batch_size: int):
        """The state at the start of a stream (``None``: each model makes its zeros)."""
        return None

    def _check_input(self, input):
        if not isinstance(input, torch.Tensor) or input.dim() != 2 or input.is_floating_point():
            raise ValueError(f"{type(self).__name__}: argument 'input' must be token ids of shape (T, B), got "
                             f"{getattr(input, 'dtype', type(input).__name__)} "
                             f"{tuple(getattr(input, 'shape', ()))}")

    def logits(self, feats: torch.Tensor) -> torch.Tensor:
        """Decoder scores (full softmax) or log-probabilities (adaptive), shape ``(N, V)`` from ``(N, F)``."""
        if self.adaptive is not None:
            return self.adaptive.log_prob(feats)
        return torch.addmm(self.decoder_bias, feats, self.decoder_weight.t())

    def forward(self, input: torch.Tensor, target: torch.Tensor, state=None):
        """Summed negative log-likelihood of ``target`` ``(T, B)`` given ``input`` ``(T, B)``.

        Returns
        -------
        nll_sum : torch.Tensor
            Scalar, in nats; divide by ``target.numel()`` for the mean.
        state
            The state after the window (not detached).
        """
        self._check_input(input)
        if target.shape != input.shape:
            raise ValueError(f"{type(self).__name__}: 'target' must have the shape of 'input' {tuple(input.shape)}, "
                             f"got {tuple(target.shape)}")
        feats, state = self.features(input, state)
        flat = feats.reshape(-1, feats.shape[-1])
        if self.adaptive is not None:
            out = self.adaptive(flat, target.reshape(-1)).output
            return -out.sum(), state
        return F.cross_entropy(self.logits(flat), target.reshape(-1), reduction="sum"), state


class RNNLM(LanguageModel):
    """Embedding, stacked LSTM or GRU layers, dropout between layers, decoder.

    Dropout with probability ``dropout`` is applied to the embedding output,
    between layers and to the last layer's output, never to the
    hidden-to-hidden connections (Zaremba et al. 2014). With
    ``variational=True`` each of those masks is drawn once per sequence and
    reused at every step.

    Parameters
    ----------
    vocab_size, emb_size, hidden_size, num_layers : int
    cell : {"lstm", "gru"}
    dropout : float
    variational : bool
    tie : bool
        Tie the decoder to the embedding; needs ``emb_size == hidden_size``.
    cutoffs : sequence of int, optional
        Adaptive softmax instead of the full softmax.

    Examples
    --------
    >>> import torch
    >>> m = RNNLM(50, 8, 8, num_layers=2, tie=True)
    >>> nll, state = m(torch.randint(50, (5, 3)), torch.randint(50, (5, 3)))
    >>> nll.shape, len(state)
    (torch.Size([]), 2)
    """

    def __init__(self, vocab_size: int, emb_size: int, hidden_size: int, num_layers: int = 1, cell: str = "lstm",
                 dropout: float = 0.0, variational: bool = False, tie: bool = False, cutoffs=None,
                 init_range: float | None = 0.1):
        if cell not in ("lstm", "gru"):
            raise ValueError(f"RNNLM: argument 'cell' must be 'lstm' or 'gru', got {cell!r}")
        if tie and emb_size != hidden_size:
            raise ValueError(f"RNNLM: weight tying needs emb_size == hidden_size, got {emb_size} and {hidden_size}")
        embedding = Embedding(vocab_size, emb_size)
        super().__init__(vocab_size, hidden_size, tie_to=embedding if tie else None, cutoffs=cutoffs)
        self.embedding = embedding
        layer = LSTM if cell == "lstm" else GRU
        self.cell, self.dropout, self.variational = cell, float(dropout), variational
        self.layers = torch.nn.ModuleList(
            layer(emb_size if i == 0 else hidden_size, hidden_size) for i in range(num_layers))
        if init_range is not None:  # the uniform initialisation of Zaremba et al.
            for p in self.parameters():
                torch.nn.init.uniform_(p, -init_range, init_range)
            if self.adaptive is None:
                torch.nn.init.zeros_(self.decoder_bias)

    def features(self, input, state=None):
        """Features ``(T, B, F)`` of token ids ``(T, B)`` given the carried state, and the new state."""
        x = locked_dropout(self.embedding(input), self.dropout, self.training, self.variational)
        new_state = []
        for i, layer in enumerate(self.layers):
            x, s = layer(x, None if state is None else state[i])
            new_state.append(s)
            x = locked_dropout(x, self.dropout, self.training, self.variational)
        return x, tuple(new_state)


class GatedCNNLM(LanguageModel):
    """Causal gated convolutions over word embeddings, optionally followed by an LSTM.

    Each block is :class:`dlbook.nn.GatedConv1d` (kernel ``kernel_size``)
    with a residual connection, and so is the LSTM (``rnn_layers > 0``):
    its output is added to its input. Without that connection the LSTM on
    top stayed at the unigram perplexity (about 700 on PTB) for 6 epochs of
    Adam: the decoder saw only the LSTM's output, which carried nothing
    until the LSTM had learnt to pass the convolutional features on. The receptive field is ``num_layers *
    (kernel_size - 1) + 1`` words; the state keeps the last
    ``num_layers * (kernel_size - 1)`` tokens of the previous window, so
    the convolutions see across window boundaries.

    Examples
    --------
    >>> import torch
    >>> m = GatedCNNLM(40, 6, num_layers=3, rnn_layers=1)
    >>> nll, state = m(torch.randint(40, (4, 2)), torch.randint(40, (4, 2)))
    >>> state[0].shape
    torch.Size([6, 2])
    """

    def __init__(self, vocab_size: int, size: int, num_layers: int = 4, kernel_size: int = 3, rnn_layers: int = 0,
                 dropout: float = 0.0, cutoffs=None):
        embedding = Embedding(vocab_size, size)
        super().__init__(vocab_size, size, cutoffs=cutoffs)
        self.embedding = embedding
        self.blocks = torch.nn.ModuleList(GatedConv1d(size, size, kernel_size) for _ in range(num_layers))
        self.context = num_layers * (kernel_size - 1)
        self.rnn = LSTM(size, size, num_layers=rnn_layers, dropout=dropout) if rnn_layers else None
        self.dropout = float(dropout)
        with torch.no_grad():
            self.embedding.weight.uniform_(-0.1, 0.1)

    def features(self, input, state=None):
        """Features ``(T, B, F)`` of token ids ``(T, B)`` given the carried state, and the new state."""
        t_len, b = input.shape
        past = state[0] if state is not None else input.new_zeros(self.context, b)
        tokens = torch.cat((past, input), 0)                          # (C + T, B)
        x = self.embedding(tokens).permute(1, 2, 0)                   # (B, D, C + T)
        for block in self.blocks:
            x = x + block(x)
        x = x[:, :, self.context:].permute(2, 0, 1)                   # (T, B, D)
        x = locked_dropout(x, self.dropout, self.training, False)
        rnn_state = None
        if self.rnn is not None:  # residual, as around each block: the decoder sees the convolutions from the start
            y, rnn_state = self.rnn(x, None if state is None else state[1])
            x = x + locked_dropout(y, self.dropout, self.training, False)
        return x, (tokens[-self.context:] if self.context else tokens[:0], rnn_state)


def char_table(words, max_len: int | None = None) -> torch.Tensor:
    """Character ids of each word, with begin (1) and end (2) markers and padding 0.

    Returns an ``int64`` tensor of shape ``(V, L)``; characters are numbered
    from 3 in order of first appearance.

    Examples
    --------
    >>> char_table(["ab", "b"]).tolist()
    [[1, 3, 4, 2], [1, 4, 2, 0]]
    """
    chars = {}
    rows = []
    for w in words:
        rows.append([1] + [chars.setdefault(c, len(chars) + 3) for c in w] + [2])
    length = max_len or max(len(r) for r in rows)
    table = torch.zeros(len(rows), length, dtype=torch.long)
    for i, r in enumerate(rows):
        r = r[:length]
        table[i, :len(r)] = torch.tensor(r)
    return table


class CharAwareLM(LanguageModel):
    """Character-aware LM (Kim et al. 2016): char CNN, max over time, highway, LSTM.

    Each word's characters (with markers) are embedded (``char_size``),
    convolved with filters of widths ``widths`` (``maps_per_width * w``
    feature maps for width ``w``), max-pooled over positions and passed
    through ``tanh``; a highway layer mixes the result, and an LSTM reads
    the sequence of these word vectors. ``dropout`` acts between the LSTM's
    layers and on its output, as in Kim et al.'s model; the highway's
    output enters the LSTM undropped.

    Parameters
    ----------
    words : sequence of str
        The vocabulary's tokens, in index order.

    Examples
    --------
    >>> import torch
    >>> m = CharAwareLM(["<unk>", "<eos>", "the", "cat"], char_size=4, widths=(1, 2), maps_per_width=3,
    ...                 hidden_size=8)
    >>> nll, _ = m(torch.tensor([[2], [3]]), torch.tensor([[3], [1]]))
    >>> bool(nll > 0)
    True
    """

    def __init__(self, words, char_size: int = 15, widths=(1, 2, 3, 4, 5, 6), maps_per_width: int = 25,
                 hidden_size: int = 300, num_layers: int = 2, dropout: float = 0.0, max_word_len: int = 21,
                 cutoffs=None):
        super().__init__(len(words), hidden_size, cutoffs=cutoffs)
        table = char_table(words, max_word_len)
        self.register_buffer("chars", table, persistent=False)
        n_chars = int(table.max()) + 1
        self.char_embedding = Embedding(n_chars, char_size, padding_idx=0)
        self.widths = tuple(widths)
        self.convs = torch.nn.ParameterList()
        self.conv_biases = torch.nn.ParameterList()
        for w in self.widths:
            bound = 1 / math.sqrt(char_size * w)
            self.convs.append(torch.nn.Parameter(torch.empty(maps_per_width * w, char_size, 1, w).uniform_(-bound,
                                                                                                           bound)))
            self.conv_biases.append(torch.nn.Parameter(torch.zeros(maps_per_width * w)))
        word_size = maps_per_width * sum(self.widths)
        self.highway = Highway(word_size)
        self.rnn = LSTM(word_size, hidden_size, num_layers=num_layers, dropout=dropout)
        self.dropout = float(dropout)

    def word_vectors(self, tokens: torch.Tensor) -> torch.Tensor:
        """Character-CNN vectors of the given token ids, shape ``(*tokens.shape, word_size)``.

        A word's vector depends on its characters only, so the CNN and the
        highway run once for each distinct word of ``tokens`` (a window of
        running text repeats many words), and the results are copied to the
        positions; the backward pass of that copy adds up each word's
        gradients over its positions.
        """
        words, position = torch.unique(tokens.reshape(-1), return_inverse=True)
        chars = self.chars[words]                                         # (W, L)
        x = self.char_embedding(chars).transpose(1, 2).unsqueeze(2)      # (W, E, 1, L)
        pooled = [F.tanh(F.conv2d(x, w, b).amax(dim=3).squeeze(2)) for w, b in zip(self.convs, self.conv_biases)]
        y = self.highway(torch.cat(pooled, dim=1))                       # (W, D)
        return y[position].reshape(*tokens.shape, y.shape[-1])

    def features(self, input, state=None):
        """Features ``(T, B, F)`` of token ids ``(T, B)`` given the carried state, and the new state."""
        x, state = self.rnn(self.word_vectors(input), state)  # no dropout on the highway's output (Kim et al.)
        return locked_dropout(x, self.dropout, self.training, False), state


class AttentionLM(LanguageModel):
    """LSTM whose output attends over its previous ``window`` outputs (Daniluk et al. 2017).

    The features are :math:`\\tanh(W_r r_t + W_h h_t)`, with :math:`r_t`
    from :func:`dlbook.functional.window_attention`. The state carries the
    LSTM state and the last ``window`` outputs, so attention crosses window
    boundaries.

    Examples
    --------
    >>> import torch
    >>> m = AttentionLM(30, 8, window=4)
    >>> nll, (rnn_state, memory) = m(torch.randint(30, (5, 2)), torch.randint(30, (5, 2)))
    >>> memory.shape
    torch.Size([4, 2, 8])
    """

    def __init__(self, vocab_size: int, size: int, num_layers: int = 1, window: int = 5, dropout: float = 0.0,
                 tie: bool = True, cutoffs=None):
        embedding = Embedding(vocab_size, size)
        super().__init__(vocab_size, size, tie_to=embedding if tie and not cutoffs else None, cutoffs=cutoffs)
        self.embedding = embedding
        self.rnn = LSTM(size, size, num_layers=num_layers, dropout=dropout)
        self.window, self.dropout = window, float(dropout)
        bound = 1 / math.sqrt(size)
        self.weight_key = torch.nn.Parameter(torch.empty(size, size).uniform_(-bound, bound))
        self.weight_query = torch.nn.Parameter(torch.empty(size, size).uniform_(-bound, bound))
        self.score = torch.nn.Parameter(torch.empty(size).uniform_(-bound, bound))
        self.combine = torch.nn.Parameter(torch.empty(size, 2 * size).uniform_(-bound / 2, bound / 2))
        with torch.no_grad():
            self.embedding.weight.uniform_(-0.1, 0.1)

    def features(self, input, state=None):
        """Features ``(T, B, F)`` of token ids ``(T, B)`` given the carried state, and the new state."""
        rnn_state, memory = state if state is not None else (None, None)
        x = locked_dropout(self.embedding(input), self.dropout, self.training, False)
        h, rnn_state = self.rnn(x, rnn_state)
        if memory is None:
            memory = h.new_zeros(self.window, h.shape[1], h.shape[2])
        r, _ = F.window_attention(h, memory, self.weight_key, self.weight_query, self.score)
        out = F.tanh(torch.matmul(torch.cat((h, r), 2), self.combine.t()))
        new_memory = torch.cat((memory, h), 0)[-self.window:]
        return locked_dropout(out, self.dropout, self.training, False), (rnn_state, new_memory)


class ContextLM(LanguageModel):
    """LSTM LM with the bag of words of the previous sentence concatenated before the decoder.

    At step :math:`t` the context is the mean input embedding of the last
    complete sentence (the one that ended at the latest ``<eos>`` up to and
    including :math:`x_t`); it is zero until a sentence has ended. The state
    carries the running sums across windows.

    Examples
    --------
    >>> import torch
    >>> m = ContextLM(20, 6, eos_index=1)
    >>> nll, state = m(torch.tensor([[3], [1], [4]]), torch.tensor([[1], [4], [5]]))
    >>> len(state)
    4
    """

    def __init__(self, vocab_size: int, size: int, eos_index: int, num_layers: int = 1, dropout: float = 0.0,
                 cutoffs=None):
        super().__init__(vocab_size, 2 * size, cutoffs=cutoffs)
        self.embedding = Embedding(vocab_size, size)
        self.rnn = LSTM(size, size, num_layers=num_layers, dropout=dropout)
        self.eos_index, self.dropout = eos_index, float(dropout)
        with torch.no_grad():
            self.embedding.weight.uniform_(-0.1, 0.1)

    def features(self, input, state=None):
        """Features ``(T, B, F)`` of token ids ``(T, B)`` given the carried state, and the new state."""
        emb = self.embedding(input)                                    # (T, B, D)
        t_len, b, d = emb.shape
        if state is None:
            rnn_state, cur_sum, cur_n, prev = None, emb.new_zeros(b, d), emb.new_zeros(b, 1), emb.new_zeros(b, d)
        else:
            rnn_state, cur_sum, cur_n, prev = state
        x = locked_dropout(emb, self.dropout, self.training, False)
        h, rnn_state = self.rnn(x, rnn_state)
        contexts = []
        for t in range(t_len):
            cur_sum = cur_sum + emb[t]
            cur_n = cur_n + 1
            end = (input[t] == self.eos_index).unsqueeze(1)
            prev = torch.where(end, cur_sum / cur_n, prev)
            cur_sum = torch.where(end, torch.zeros_like(cur_sum), cur_sum)
            cur_n = torch.where(end, torch.zeros_like(cur_n), cur_n)
            contexts.append(prev)
        out = torch.cat((h, torch.stack(contexts)), 2)
        return locked_dropout(out, self.dropout, self.training, False), (rnn_state, cur_sum, cur_n, prev)


@torch.no_grad()
def sample_text(model: LanguageModel, vocab, prompt, length: int = 20, beta: float = 1.0,
                generator: torch.Generator | None = None) -> list[str]:
    """Continue ``prompt`` (a list of tokens) by ``length`` tokens drawn at inverse temperature ``beta``.

    Examples
    --------
    >>> from dlbook.text import Vocab
    >>> v = Vocab("a b c".split(), specials=("<unk>", "<eos>"))
    >>> m = RNNLM(len(v), 4, 4)
    >>> len(sample_text(m, v, ["a"], length=3, generator=torch.Generator().manual_seed(0)))
    3
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    ids = torch.tensor([[vocab[w]] for w in prompt], dtype=torch.long, device=device)
    feats, state = model.features(ids, None)
    out = []
    for _ in range(length):
        logits = model.logits(feats[-1])
        nxt = F.sample_tokens(logits, beta, generator)
        out.append(vocab.itos[int(nxt)])
        feats, state = model.features(nxt.view(1, 1), state)
    model.train(was_training)
    return out


def build_model(spec: dict, vocab) -> LanguageModel:
    """Build a model from a row specification (``{"model": "lstm", "emb": 200, ...}``)."""
    spec = dict(spec)
    kind = spec.pop("model")
    v = len(vocab)
    if kind in ("lstm", "gru"):
        return RNNLM(v, spec.get("emb", spec["hidden"]), spec["hidden"], spec.get("layers", 1), cell=kind,
                     dropout=spec.get("dropout", 0.0), variational=spec.get("variational", False),
                     tie=spec.get("tie", False), cutoffs=spec.get("cutoffs"))
    if kind in ("gcnn", "gcnn_lstm"):
        return GatedCNNLM(v, spec["hidden"], spec.get("layers", 4), spec.get("kernel", 3),
                          rnn_layers=spec.get("rnn_layers", 2 if kind == "gcnn_lstm" else 0),
                          dropout=spec.get("dropout", 0.0), cutoffs=spec.get("cutoffs"))
    if kind == "char":
        return CharAwareLM(vocab.itos, char_size=spec.get("char_size", 15), widths=tuple(spec.get("widths", (1, 2, 3,
                           4, 5, 6))), maps_per_width=spec.get("maps", 25), hidden_size=spec["hidden"],
                           num_layers=spec.get("layers", 2), dropout=spec.get("dropout", 0.0))
    if kind == "attention":
        return AttentionLM(v, spec["hidden"], spec.get("layers", 1), window=spec.get("window", 5),
                           dropout=spec.get("dropout", 0.0), tie=spec.get("tie", True), cutoffs=spec.get("cutoffs"))
    if kind == "context":
        return ContextLM(v, spec["hidden"], eos_index=vocab["<eos>"], num_layers=spec.get("layers", 1),
                         dropout=spec.get("dropout", 0.0), cutoffs=spec.get("cutoffs"))
    raise ValueError(f"build_model: unknown model {kind!r}; known: lstm, gru, gcnn, gcnn_lstm, char, attention, "
                     f"context")


@torch.no_grad()
def evaluate(model: LanguageModel, data: torch.Tensor, bptt: int = 35) -> dict:
    """Perplexity of ``model`` on a batchified stream ``(R, B)``, the state carried over the whole stream.

    The summed negative log-likelihood of every window is added up and
    divided once by the number of predicted tokens (``<eos>`` included).

    Returns
    -------
    dict
        ``nll`` (summed, nats), ``tokens``, ``ppl``.
    """
    from dlbook.data.corpora import bptt_batches
    from dlbook.metrics import perplexity

    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    for x, y in bptt_batches(data, bptt):
        nll, state = model(x, y, state)
        total += float(nll)
        count += y.numel()
    model.train(was_training)
    return {"nll": total, "tokens": count, "ppl": perplexity(total, count)}


def train_lm(model: LanguageModel, train: torch.Tensor, valid: torch.Tensor | None = None, *, bptt: int = 35,
             lr: float = 20.0, clip: float = 0.25, epochs: float = 1.0, decay_start: int | None = None,
             decay: float = 0.5, plateau_decay: float = 0.25, decay_when: float | None = None,
             max_seconds: float | None = None, max_steps: int | None = None, evals_per_epoch: int = 1,
             optimizer: str = "sgd", progress: bool | None = None, step_hook=None,
             checkpoint: str | None = None) -> dict:
    """Train with truncated backpropagation through time, the state carried and detached between windows.

    Plain SGD, :math:`\\theta \\leftarrow \\theta - \\eta\\, \\nabla_\\theta L` with
    :math:`L` the mean negative log-likelihood of a window, after clipping
    the gradient's global norm to ``clip``. The learning rate is multiplied
    by ``decay`` at the end of every epoch from ``decay_start`` on
    (Zaremba et al. 2014), or instead by ``plateau_decay`` when the
    validation perplexity at the end of an epoch is no better than at the
    end of every earlier epoch (the PyTorch example's rule, and the seed's).
    With ``decay_when`` set, the ``plateau_decay`` rule is instead that of
    Kim et al. (2016): from the third epoch's end on, the learning rate is
    multiplied by ``plateau_decay`` whenever the validation perplexity at
    an epoch's end is not at least ``decay_when`` below that at the end of
    the epoch before. Only the epochs' ends count: the evaluations within an epoch
    (``evals_per_epoch > 1``) draw the learning curve and keep the best
    parameters, but do not change the learning rate.

    Parameters
    ----------
    train, valid : torch.Tensor
        Batchified streams ``(R, B)``.
    epochs : float
        Passes over ``train``; a fraction stops part-way.
    max_seconds, max_steps : optional
        Stop earlier when either is reached.
    decay_when : float, optional
        The least fall in validation perplexity from one epoch's end to the
        next that keeps the learning rate (Kim et al.'s rule; see above).
    evals_per_epoch : int
        Validation evaluations (learning-curve points) per epoch.
    optimizer : {"sgd", "adam"}
    step_hook : callable, optional
        Called as ``step_hook(step, loss)`` after every update.
    checkpoint : str or Path, optional
        A file that makes the run resumable. After every evaluation the
        whole training state (parameters, best parameters, optimizer,
        learning rate, position in the epoch, carried hidden state, random
        generator, curve and counters) is written there; a call that finds
        the file continues from it, so a run stopped and started again
        takes the same steps as one uninterrupted run. ``max_seconds``
        counts the training time of all segments together. A call with
        more ``epochs`` continues a finished run: the learning-rate rules
        do not depend on ``epochs``, so the result is that of a run planned
        that long from the start. Under
        ``torch.distributed`` each process keeps its own file
        (``checkpoint.rank{r}of{n}``: its columns' hidden state and its
        random generator differ).

    Returns
    -------
    dict
        ``curve`` (a list of ``{"epoch", "tokens", "seconds", "train_ppl", "valid_ppl", "lr"}``),
        ``tokens`` (training tokens seen), ``seconds`` (training wall time,
        evaluations excluded), ``steps``, ``segments`` (1, plus one per
        resumption), ``best_valid_ppl`` and the best parameters loaded back
        into ``model`` (by validation perplexity).
    """
    import copy
    import time

    from dlbook.data.corpora import bptt_batches
    from dlbook.metrics import perplexity
    from dlbook.optim import clip_grad_norm_
    from dlbook.runs import progress_bar

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else None
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"train_lm: argument 'optimizer' must be 'sgd' or 'adam', got {optimizer!r}")
    windows = math.ceil((train.shape[0] - 1) / bptt)
    total_windows = int(math.ceil(epochs * windows))
    if max_steps is not None:
        total_windows = min(total_windows, max_steps)
    eval_at = {max(1, round(windows * (k + 1) / evals_per_epoch)) for k in range(evals_per_epoch)}
    curve, best, best_state = [], math.inf, None
    best_epoch_end = math.inf  # the best validation perplexity at the end of an epoch so far
    epoch_ends = []  # the validation perplexity at the end of every epoch so far (Kim et al.'s rule)
    tokens = steps = 0
    seconds = 0.0
    window_nll, window_tokens = 0.0, 0
    epoch, skip, saved_state, segments = 0, 0, None, 1
    # the settings a checkpoint must share; ``epochs`` only says where the run stops (no schedule depends
    # on it), so a finished run can be continued for more epochs, as if it had been planned that long
    config = {"train_shape": list(train.shape), "bptt": bptt, "lr": lr, "clip": clip,
              "decay_start": decay_start, "decay": decay, "plateau_decay": plateau_decay,
              "evals_per_epoch": evals_per_epoch, "optimizer": optimizer, "max_steps": max_steps}
    if decay_when is not None:  # absent otherwise, so that checkpoints written before it existed still match
        config["decay_when"] = decay_when
    checkpoint = _process_file(checkpoint) if checkpoint is not None else None
    if checkpoint is not None and os.path.exists(checkpoint):
        ck = torch.load(checkpoint, weights_only=False, map_location="cpu")  # a file this function wrote
        if {k: v for k, v in ck["config"].items() if k != "epochs"} != config:  # older files hold epochs
            raise ValueError(f"train_lm: the checkpoint {checkpoint} was written with settings {ck['config']}, "
                             f"not {config}; delete it or pass another 'checkpoint'")
        model.load_state_dict(ck["model"])
        if opt is not None:
            opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["rng"])
        if ck.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ck["cuda_rng"])
        device = next(model.parameters()).device
        best_state, saved_state = ck["best_state"], _to_device(ck["state"], device)
        (curve, best, best_epoch_end, tokens, steps, seconds, lr, epoch, skip,
         segments) = (ck[k] for k in ("curve", "best", "best_epoch_end", "tokens", "steps", "seconds", "lr",
                                      "epoch", "window", "segments"))
        epoch_ends = ck.get("epoch_ends", [])
        segments += 1
    bar = progress_bar(range(max(total_windows - steps, 0)), desc="train", enable=progress)
    it = iter(bar)
    stop = False
    model.train()
    while not stop:
        state = None
        for w, (x, y) in enumerate(bptt_batches(train, bptt), start=1):
            if w <= skip:  # resuming: these windows of the epoch were trained before the checkpoint
                state = saved_state
                continue
            if steps >= total_windows or (max_seconds is not None and seconds >= max_seconds):
                stop = True
                break
            next(it, None)
            start = time.perf_counter()
            state = detach_state(state)
            nll, state = model(x, y, state)
            loss = nll / y.numel()
            model.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                clip_grad_norm_(params, clip)
            if opt is None:
                with torch.no_grad():
                    for p in params:
                        if p.grad is not None:
                            p.add_(p.grad, alpha=-lr)
            else:
                opt.step()
            seconds += time.perf_counter() - start
            steps += 1
            tokens += y.numel()
            window_nll += float(nll.detach())
            window_tokens += y.numel()
            if step_hook is not None:
                step_hook(steps, float(loss.detach()))
            last = steps >= total_windows or (max_seconds is not None and seconds >= max_seconds)
            if w in eval_at or last:
                point = {"epoch": epoch + w / windows, "tokens": tokens, "seconds": round(seconds, 2),
                         "train_ppl": perplexity(window_nll, window_tokens), "lr": lr}
                window_nll, window_tokens = 0.0, 0
                if valid is not None:
                    v = evaluate(model, valid, bptt)["ppl"]
                    point["valid_ppl"] = v
                    if v < best:
                        best, best_state = v, copy.deepcopy(model.state_dict())
                curve.append(point)
                if checkpoint is not None:
                    _save_checkpoint(checkpoint, {
                        "config": config, "model": model.state_dict(), "best_state": best_state,
                        "optimizer": opt.state_dict() if opt is not None else None, "rng": torch.get_rng_state(),
                        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                        "state": detach_state(state), "curve": curve, "best": best, "best_epoch_end": best_epoch_end,
                        "tokens": tokens, "steps": steps, "seconds": seconds, "lr": lr, "epoch": epoch, "window": w,
                        "segments": segments, "epoch_ends": epoch_ends})
        else:
            skip = 0
            epoch += 1
            end_ppl = curve[-1].get("valid_ppl") if valid is not None and curve else None
            if end_ppl is not None:
                epoch_ends.append(end_ppl)
            if decay_when is not None:  # Kim et al.: from the third epoch's end, a fall of less than decay_when
                stalled = len(epoch_ends) > 2 and epoch_ends[-2] - epoch_ends[-1] < decay_when
            else:  # no better than every earlier epoch's end
                stalled = end_ppl is not None and end_ppl >= best_epoch_end
            if stalled:
                lr *= plateau_decay
                if opt is not None:
                    for group in opt.param_groups:
                        group["lr"] = lr
            elif decay_start is not None and epoch >= decay_start:
                lr *= decay
                if opt is not None:
                    for group in opt.param_groups:
                        group["lr"] = lr
            if end_ppl is not None:
                best_epoch_end = min(best_epoch_end, end_ppl)
            continue
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"curve": curve, "tokens": tokens, "seconds": round(seconds, 2), "steps": steps, "segments": segments,
            "best_valid_ppl": best if valid is not None else None}


def _to_device(state, device):
    """A (nested) hidden state moved to ``device`` (a checkpoint is read onto the CPU)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.to(device)
    return type(state)(_to_device(s, device) for s in state)


def _process_file(path) -> str:
    """``path``, or ``path.rank{r}of{n}`` for process ``r`` of ``n`` under ``torch.distributed``."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return f"{path}.rank{dist.get_rank()}of{dist.get_world_size()}"
    return str(path)


def _save_checkpoint(path: str, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically (a stop during the write leaves the last file whole)."""
    tmp = f"{path}.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)
