"""Skip-gram with negative sampling and fastText, trained with a hand-derived sparse update.

Both models predict the words around a centre word. The centre word's
*input* vector :math:`h` (skip-gram: one row of :math:`W_\\text{in}`;
fastText: the mean of the rows of its character n-grams) is scored against
the *output* vector :math:`u_o` of each context word and of :math:`K` noise
words drawn from the unigram distribution raised to the power 3/4. The loss
of one (centre, context) pair is

.. math::

    \\ell = -\\log\\sigma(u_o^\\top h) - \\sum_{k=1}^K \\log\\sigma(-u_{n_k}^\\top h),

whose gradients are :math:`(\\sigma(s_j) - y_j)\\,h` for each scored output
row :math:`j` (label :math:`y_j = 1` for the context word, 0 for noise) and
:math:`\\sum_j (\\sigma(s_j) - y_j)\\,u_j` for :math:`h`
(:func:`sgns_loss_and_grad`). Training applies these with ``index_add_``
to the rows that a batch uses, never forming a gradient over the vocabulary.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from dlbook.embeddings.keyedvectors import KeyedVectors
from dlbook.runs import progress_bar
from dlbook.text import Vocab

__all__ = ["SkipGram", "FastText", "sgns_loss_and_grad", "sgns_shared_loss_and_grad", "noise_distribution",
           "keep_probability", "char_ngrams", "fnv1a_32"]


def sgns_loss_and_grad(h: torch.Tensor, u: torch.Tensor, mask: torch.Tensor | None = None,
                       grad_u_scale: torch.Tensor | None = None):
    """Skip-gram negative-sampling loss of pairs and its gradients.

    Parameters
    ----------
    h : torch.Tensor
        Input (centre) vectors, shape ``(P, d)``.
    u : torch.Tensor
        Output vectors, shape ``(P, 1 + K, d)``: column 0 the context word,
        columns ``1..K`` the noise words.
    mask : torch.Tensor, optional
        Bool, shape ``(P, 1 + K)``; ``False`` leaves a term out (a noise
        word that is the context word itself, as word2vec skips it).
    grad_u_scale : torch.Tensor, optional
        Shape ``(P, 1 + K)``: ``grad_u`` comes back multiplied by it row by
        row (training passes the step sizes, saving a pass over ``grad_u``).

    Returns
    -------
    loss : torch.Tensor
        Shape ``(P,)``: :math:`-\\log\\sigma(s_0) - \\sum_{k\\ge1}\\log\\sigma(-s_k)`,
        :math:`s_j = u_j^\\top h`.
    grad_h : torch.Tensor
        :math:`\\partial\\ell/\\partial h = \\sum_j g_j u_j`, shape ``(P, d)``.
    grad_u : torch.Tensor
        :math:`\\partial\\ell/\\partial u_j = g_j h`, shape ``(P, 1 + K, d)``;
        :math:`g_j = \\sigma(s_j) - y_j`.

    Examples
    --------
    >>> import torch
    >>> loss, gh, gu = sgns_loss_and_grad(torch.zeros(1, 2), torch.ones(1, 3, 2))
    >>> round(loss.item(), 4)  # three times log 2
    2.0794
    """
    if h.dim() != 2 or u.dim() != 3 or u.shape[0] != h.shape[0] or u.shape[2] != h.shape[1]:
        raise ValueError(f"sgns_loss_and_grad: expected h (P, d) and u (P, 1 + K, d), got "
                         f"{tuple(h.shape)} and {tuple(u.shape)}")
    s = (u * h.unsqueeze(1)).sum(2)                             # (P, 1+K); faster than bmm here (bench_embeddings)
    sign = torch.ones_like(s)
    sign[:, 0] = -1.0
    # -log sigma(s0) = softplus(-s0);  -log sigma(-sk) = softplus(sk)
    terms = F.softplus(sign * s)
    g = torch.sigmoid(s)
    g[:, 0] -= 1.0
    if mask is not None:
        terms = terms * mask
        g = g * mask
    grad_h = torch.bmm(g.unsqueeze(1), u).squeeze(1)            # (P, d)
    g_u = g if grad_u_scale is None else g * grad_u_scale
    grad_u = g_u.unsqueeze(2) * h.unsqueeze(1)                  # (P, 1+K, d)
    return terms.sum(1), grad_h, grad_u


def sgns_shared_loss_and_grad(h: torch.Tensor, u_pos: torch.Tensor, pair_rows: torch.Tensor,
                              u_neg: torch.Tensor, weight: torch.Tensor):
    """Negative-sampling loss of all pairs of ``B`` centre words whose pairs share one set of noise words.

    Centre word :math:`b` has input vector :math:`h_b`, contexts
    :math:`o \\in C_b` and noise words :math:`n_{b1}, \\dots, n_{bK}` that all of
    its :math:`|C_b|` pairs use. Its loss is the sum of the pair losses,

    .. math::

        \\ell_b = \\sum_{o \\in C_b} -\\log\\sigma(u_o^\\top h_b)
                 + \\sum_{k=1}^K m_{bk} \\bigl(-\\log\\sigma(-u_{n_{bk}}^\\top h_b)\\bigr),

    with :math:`m_{bk}` the number of pairs that score noise word
    :math:`k` (:math:`|C_b|`, less the pairs whose context word it is).
    The gradients are :math:`(\\sigma(s) - 1) h_b` for a context row,
    :math:`m_{bk}\\sigma(s_{bk}) h_b` for a noise row, and their matching
    sums of output rows for :math:`h_b`.

    Parameters
    ----------
    h : torch.Tensor
        Centre vectors, shape ``(B, d)``.
    u_pos : torch.Tensor
        Output vectors of the context words, shape ``(P, d)``.
    pair_rows : torch.Tensor
        Long, shape ``(P,)``: the centre (row of ``h``) of each pair.
    u_neg : torch.Tensor
        Output vectors of the noise words, shape ``(B, K, d)``.
    weight : torch.Tensor
        :math:`m_{bk}`, shape ``(B, K)``.

    Returns
    -------
    loss : torch.Tensor
        Shape ``(B,)``.
    grad_h : torch.Tensor
        Shape ``(B, d)``.
    grad_u_pos, grad_u_neg : torch.Tensor
        Shapes ``(P, d)`` and ``(B, K, d)``.

    Examples
    --------
    >>> import torch
    >>> out = sgns_shared_loss_and_grad(torch.zeros(1, 2), torch.ones(2, 2), torch.tensor([0, 0]),
    ...                                 torch.ones(1, 1, 2), torch.tensor([[2.0]]))
    >>> round(out[0].item(), 4)  # two pairs, each with one noise word: four times log 2
    2.7726
    """
    B, d = h.shape if h.dim() == 2 else (None, None)
    if (h.dim() != 2 or u_pos.dim() != 2 or u_pos.shape[1] != d or pair_rows.shape != (u_pos.shape[0],)
            or u_neg.dim() != 3 or u_neg.shape[0] != B or u_neg.shape[2] != d or weight.shape != u_neg.shape[:2]):
        raise ValueError(f"sgns_shared_loss_and_grad: expected h (B, d), u_pos (P, d), pair_rows (P,), "
                         f"u_neg (B, K, d) and weight (B, K), got {tuple(h.shape)}, {tuple(u_pos.shape)}, "
                         f"{tuple(pair_rows.shape)}, {tuple(u_neg.shape)} and {tuple(weight.shape)}")
    h_pairs = h.index_select(0, pair_rows)
    s_pos = (u_pos * h_pairs).sum(1)                                   # (P,)
    s_neg = torch.bmm(u_neg, h.unsqueeze(2)).squeeze(2)                # (B, K)
    loss = torch.zeros(B, dtype=h.dtype).index_add_(0, pair_rows, F.softplus(-s_pos))
    loss = loss + (weight * F.softplus(s_neg)).sum(1)
    g_pos = torch.sigmoid(s_pos) - 1.0
    g_neg = weight * torch.sigmoid(s_neg)
    grad_h = torch.bmm(g_neg.unsqueeze(1), u_neg).squeeze(1).index_add_(0, pair_rows, g_pos.unsqueeze(1) * u_pos)
    return loss, grad_h, g_pos.unsqueeze(1) * h_pairs, g_neg.unsqueeze(2) * h.unsqueeze(1)


def noise_distribution(counts: torch.Tensor, power: float = 0.75) -> torch.Tensor:
    """Noise distribution :math:`P_n(w) = c_w^{\\alpha} / \\sum_v c_v^{\\alpha}` (``power`` :math:`\\alpha`).

    Examples
    --------
    >>> noise_distribution(torch.tensor([16.0, 1.0]), power=0.5).tolist()
    [0.800000011920929, 0.20000000298023224]
    """
    p = counts.double() ** power
    return (p / p.sum()).float()


def keep_probability(counts: torch.Tensor, sample: float) -> torch.Tensor:
    """Probability of keeping each occurrence of a word when subsampling frequent words.

    word2vec's and gensim's rule: with frequency :math:`f_w = c_w / N` and
    threshold :math:`t` (``sample``),

    .. math::

        p_\\text{keep}(w) = \\min\\Bigl(1,\\ \\sqrt{t / f_w} + t / f_w\\Bigr).

    (The paper's :math:`1 - \\sqrt{t/f_w}` is the *discard* probability of
    a slightly different rule.) ``sample = 0`` keeps everything.

    Examples
    --------
    >>> [round(p, 4) for p in keep_probability(torch.tensor([1000.0, 1.0]), sample=1e-3).tolist()]
    [0.0326, 1.0]
    """
    if sample <= 0:
        return torch.ones(counts.shape, dtype=torch.float32)
    ratio = sample * counts.sum().double() / counts.double()       # t / f_w
    return (ratio.sqrt() + ratio).clamp(max=1.0).float()


def fnv1a_32(data: bytes) -> int:
    """32-bit FNV-1a hash, as fastText hashes n-grams (bytes taken as signed, like its ``int8``).

    Examples
    --------
    >>> fnv1a_32(b"<wh")
    1048167652
    """
    h = 2166136261
    for byte in data:
        h ^= (byte - 256 if byte > 127 else byte) & 0xFFFFFFFF
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def char_ngrams(word: str, min_n: int = 3, max_n: int = 6) -> list[str]:
    """Character n-grams of ``<word>`` (``<`` and ``>`` mark the word's boundaries).

    All n-grams of lengths ``min_n..max_n`` of the marked word, by length
    then position; the whole marked word is one of them when it is short
    enough, as in fastText and gensim.

    Examples
    --------
    >>> char_ngrams("where", 3, 3)
    ['<wh', 'whe', 'her', 'ere', 're>']
    >>> char_ngrams("a", 3, 6)
    ['<a>']
    """
    marked = f"<{word}>"
    return [marked[i:i + n] for n in range(min_n, min(max_n, len(marked)) + 1)
            for i in range(len(marked) - n + 1)]


def _share(rows: torch.Tensor, size: int, cap: float) -> torch.Tensor:
    """``min(1, cap / n)`` for each entry, ``n`` the number of times its row occurs in ``rows``.

    Summing n gradients computed at the same old values is n sequential SGD steps
    without the correction each step makes to the next; for a frequent word or
    n-gram (hundreds of uses per batch) that overshoots and the vectors diverge.
    A row used at most ``cap`` times gets the plain sum; one used more often moves
    by ``cap`` times the mean of its gradients (``cap = 1``: the mean).
    """
    counts = torch.bincount(rows, minlength=size).index_select(0, rows).float()
    return (cap / counts).clamp_(max=1.0)


class SkipGram:
    """Skip-gram with negative sampling (Mikolov et al. 2013), trained from scratch.

    Parameters
    ----------
    dim : int
        Vector size :math:`d`.
    window : int
        Largest distance to a context word; each centre word draws its own
        window :math:`b \\sim U\\{1..\\text{window}\\}` (the dynamic window).
    negative : int
        Noise words :math:`K` per (centre, context) pair.
    min_count : int
        Words seen fewer times are dropped from the text.
    sample : float
        Subsampling threshold :math:`t` (:func:`keep_probability`); 0 for none.
    alpha, min_alpha : float
        Learning rate, decayed linearly from ``alpha`` to ``min_alpha`` over all epochs.
    epochs : int
        Passes over the corpus.
    ns_exponent : float
        Power of the noise distribution (:func:`noise_distribution`).
    batch_words : int
        Centre words per update; their pairs are scored in one vectorised step.
    update_cap : float
        A row used ``n`` times in a batch gets the sum of its gradients when
        ``n <= update_cap``, else ``update_cap`` times their mean (bounds the
        step of frequent words and n-grams; 1 gives the mean). 64 matched
        gensim on PTB and Gutenberg; 16 under-trained the frequent noise
        words' output rows and fastText's shared n-gram rows (SimLex 0.120
        against gensim's 0.186 on Gutenberg).
    shared_negatives : bool
        Draw the ``negative`` noise words once per centre word, shared by all
        of its pairs (:func:`sgns_shared_loss_and_grad`), instead of once per
        pair as word2vec does. Each pair still scores ``K`` draws from
        :math:`P_n`, so the expected loss is the same; a batch reads and
        writes about three times fewer output rows.
    threads : int, optional
        Worker threads while training. One (or ``None``: torch's current
        thread count for the ops) trains batch after batch and is
        reproducible. Several train Hogwild-style (Recht et al. 2011), as
        word2vec and gensim do: each takes every ``threads``-th chunk of batches, runs
        its ops on one torch thread and updates the shared rows without
        locks, so two runs with the same seed differ slightly.
    seed : int
        Seeds the initial vectors, subsampling, windows and noise.

    Attributes
    ----------
    vocab : dlbook.text.Vocab
        Training vocabulary (no special tokens).
    w_in, w_out : torch.Tensor
        Input and output vectors, ``(V, d)`` each (fastText: ``w_in`` has
        ``V + buckets`` rows).
    losses : list of float
        Mean loss per pair of each update.
    wv : KeyedVectors
        The input vectors, for look-up.
    train_time : float
        Seconds spent in :meth:`fit`.

    Examples
    --------
    >>> text = [["the", "cat", "sat", "on", "the", "mat"]] * 50
    >>> model = SkipGram(dim=8, window=2, min_count=1, epochs=2, sample=0, seed=0).fit(text, progress=False)
    >>> len(model.wv), model.wv.dim
    (5, 8)
    """

    #: Slots of the unigram table the noise words are drawn from.
    table_size = 10_000_000

    def __init__(self, dim: int = 100, window: int = 5, negative: int = 5, min_count: int = 5,
                 sample: float = 1e-3, alpha: float = 0.025, min_alpha: float = 1e-4, epochs: int = 5,
                 ns_exponent: float = 0.75, batch_words: int = 128, update_cap: float = 64.0,
                 shared_negatives: bool = False, threads: int | None = None, seed: int = 0):
        for name, value in [("dim", dim), ("window", window), ("negative", negative), ("min_count", min_count),
                            ("epochs", epochs), ("batch_words", batch_words)]:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{type(self).__name__}: argument '{name}' must be an int >= 1, got {value!r}")
        if sample < 0 or alpha <= 0 or min_alpha < 0:
            raise ValueError(f"{type(self).__name__}: 'sample', 'alpha', 'min_alpha' must be >= 0 (alpha > 0)")
        self.dim, self.window, self.negative, self.min_count = dim, window, negative, min_count
        self.sample, self.alpha, self.min_alpha, self.epochs = sample, alpha, min_alpha, epochs
        self.ns_exponent, self.batch_words, self.threads, self.seed = ns_exponent, batch_words, threads, seed
        self.update_cap = float(update_cap)
        self.shared_negatives = bool(shared_negatives)
        self.losses: list[float] = []
        self.train_time = 0.0

    # ----- vocabulary and input rows -------------------------------------------------------
    def build_vocab(self, sentences: Sequence[Sequence[str]]) -> None:
        """Count the words, keep those seen ``min_count`` times, and set the noise and keep tables."""
        counts = Counter(w for s in sentences for w in s)
        self.vocab = Vocab(counts, min_freq=self.min_count, specials=(), unk=None)
        if len(self.vocab) < 2:
            raise ValueError(f"{type(self).__name__}: fewer than 2 words occur min_count = {self.min_count} times")
        self.counts = torch.tensor([counts[w] for w in self.vocab.itos], dtype=torch.float64)
        self.noise = noise_distribution(self.counts, self.ns_exponent)
        # word2vec's unigram table: word w fills a share P_n(w) of the slots, so that a
        # uniform slot is a draw from P_n (one gather per noise word instead of a search)
        # (slot boundaries at round(T * cumulative P_n), so each share is exact to 1/T)
        ends = torch.round(torch.cumsum(self.noise.double(), 0) * self.table_size).long()
        sizes = torch.diff(ends, prepend=torch.zeros(1, dtype=torch.long))
        self._noise_table = torch.repeat_interleave(torch.arange(len(self.vocab), dtype=torch.int32), sizes)
        self.keep = keep_probability(self.counts, self.sample)

    def _init_weights(self, gen: torch.Generator) -> None:
        v, d = len(self.vocab), self.dim
        self.w_in = (torch.rand(v, d, generator=gen) - 0.5) / d
        self.w_out = torch.zeros(v, d)

    def _input(self, centres: torch.Tensor) -> torch.Tensor:
        return self._gather(centres)[0]

    def _gather(self, centres: torch.Tensor):
        """Input vectors ``(B, d)`` of ``centres`` and what :meth:`_update_input` needs to update them."""
        return F.embedding(centres, self.w_in), None

    def _update_input(self, centres: torch.Tensor, grad_h: torch.Tensor, lr: float, state=None) -> None:
        grad_h = grad_h * (-lr * _share(centres, len(self.vocab), self.update_cap)).unsqueeze(1)
        self.w_in.index_add_(0, centres, grad_h)

    # ----- training ----------------------------------------------------------------------
    def _encode(self, sentences):
        ids, sid = [], []
        stoi = self.vocab.stoi
        for k, s in enumerate(sentences):
            row = [stoi[w] for w in s if w in stoi]
            ids += row
            sid += [k] * len(row)
        return torch.tensor(ids, dtype=torch.long), torch.tensor(sid, dtype=torch.long)

    def fit(self, sentences: Sequence[Sequence[str]], progress: bool | None = None) -> SkipGram:
        """Build the vocabulary and train on ``sentences`` (lists of tokens); returns ``self``."""
        start = time.perf_counter()
        old_threads = torch.get_num_threads()
        workers = self.threads or 1
        # several workers: each runs its ops on one thread (torch releases the GIL inside them)
        torch.set_num_threads(1 if workers > 1 else (self.threads or old_threads))
        try:
            gen = torch.Generator().manual_seed(self.seed)
            self.build_vocab(sentences)
            self._init_weights(gen)
            ids, sid = self._encode(sentences)
            self._train(ids, sid, gen, progress, workers)
        finally:
            torch.set_num_threads(old_threads)
        self.train_time = time.perf_counter() - start
        return self

    def _train(self, ids, sid, gen, progress, workers=1):
        n_total = ids.numel()
        expected = float(self.keep[ids].double().sum()) * self.epochs        # centres over all epochs
        done = [0] * workers                                                  # centres trained, per worker
        bar = progress_bar(range(self.epochs), desc=type(self).__name__, enable=progress)
        for epoch in bar:
            kept = torch.rand(n_total, generator=gen) < self.keep[ids]
            e_ids, e_sid = ids[kept], sid[kept]
            # chunks of batches: the pairs and noise words of a chunk are drawn in one go
            chunk = self.batch_words * self._batches_per_chunk
            starts = list(range(0, e_ids.numel(), chunk))
            if workers == 1:
                self._run_chunks(starts, e_ids, e_sid, gen, done, 0, expected)
                continue
            # Hogwild (Recht et al. 2011), as word2vec and gensim train: the workers take
            # alternate chunks and update the shared rows without locks
            gens = [torch.Generator().manual_seed(self.seed * 1_000_003 + epoch * 101 + r + 1)
                    for r in range(workers)]
            errors = []
            pool = [threading.Thread(target=self._worker, args=(errors, starts[r::workers], e_ids, e_sid, gens[r],
                                                                done, r, expected)) for r in range(workers)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            if errors:
                raise errors[0]

    def _worker(self, errors, *args):
        """A Hogwild worker: :meth:`_run_chunks`, its error kept for the calling thread to raise."""
        try:
            self._run_chunks(*args)
        except BaseException as err:
            errors.append(err)

    #: Batches whose (centre, context) pairs and noise words are drawn together.
    _batches_per_chunk = 32

    def _run_chunks(self, starts, e_ids, e_sid, gen, done, r, expected):
        """Train on the chunks of ``batch_words * _batches_per_chunk`` centres that begin at ``starts``."""
        w, k, n, bw = self.window, self.negative, e_ids.numel(), self.batch_words
        offsets = torch.cat([torch.arange(-w, 0), torch.arange(1, w + 1)])     # (2w,)
        table = self._noise_table
        for lo in starts:
            pos = torch.arange(lo, min(lo + bw * self._batches_per_chunk, n))
            b = torch.randint(1, w + 1, (pos.numel(), 1), generator=gen)       # dynamic window
            j = pos.unsqueeze(1) + offsets                                        # (C, 2w)
            jc = j.clamp(0, n - 1)
            valid = (offsets.abs() <= b) & (j >= 0) & (j < n) & (e_sid[jc] == e_sid[pos].unsqueeze(1))
            rows, cols = valid.nonzero(as_tuple=True)                             # sorted by centre
            ctx = e_ids[jc[rows, cols]]                                           # (P,)
            centres = e_ids[pos]
            # noise words: K per pair (word2vec), or K per centre (shared_negatives)
            draws = (centres.numel() if self.shared_negatives else ctx.numel()) * k
            neg = table.index_select(0, torch.randint(0, table.numel(), (draws,), generator=gen)).long().view(-1, k)
            if not self.shared_negatives:
                targets = torch.cat([ctx.unsqueeze(1), neg], 1)                   # (P, 1+K)
                mask = torch.ones(targets.shape, dtype=torch.bool)
                mask[:, 1:] = neg != ctx.unsqueeze(1)
            bounds = torch.searchsorted(rows, torch.arange(0, pos.numel() + bw, bw)).tolist()
            for i in range(len(bounds) - 1):
                c0, c1 = i * bw, min((i + 1) * bw, pos.numel())
                p0, p1 = bounds[i], bounds[i + 1]
                if c0 >= c1:
                    break
                if p1 > p0:
                    lr = max(self.min_alpha, self.alpha - (self.alpha - self.min_alpha) * sum(done) / expected)
                    if self.shared_negatives:
                        self._shared_step(centres[c0:c1], rows[p0:p1] - c0, ctx[p0:p1], neg[c0:c1], lr)
                    else:
                        self._pair_step(centres[c0:c1], rows[p0:p1] - c0, targets[p0:p1], mask[p0:p1], lr)
                done[r] += c1 - c0

    def _pair_step(self, centres, rows, targets, mask, lr):
        """One update: pair ``p`` scores ``targets[p]`` (its context word, then ``negative`` noise words)."""
        h, state = self._gather(centres)                                      # (B, d)
        flat = targets.flatten()
        u = F.embedding(flat, self.w_out).view(*targets.shape, self.dim)
        # each output row's step -lr * share, folded into its gradient (index_add_'s alpha= is ~2x slower)
        step = -lr * _share(flat, len(self.vocab), self.update_cap)
        loss, grad_hp, grad_u = sgns_loss_and_grad(F.embedding(rows, h), u, mask, grad_u_scale=step.view(targets.shape))
        grad_h = torch.zeros_like(h).index_add_(0, rows, grad_hp)
        self.w_out.index_add_(0, flat, grad_u.reshape(-1, self.dim))
        self._update_input(centres, grad_h, lr, state)
        self.losses.append(float(loss.mean()))

    def _shared_step(self, centres, rows, ctx, neg, lr):
        """One update with the noise words ``neg`` ``(B, K)`` drawn once per centre word (``shared_negatives``)."""
        B, k = neg.shape
        pairs = torch.bincount(rows, minlength=B).to(torch.float32)            # |C_b|
        clash = (neg.index_select(0, rows) == ctx.unsqueeze(1)).to(torch.float32)
        weight = pairs.unsqueeze(1) - torch.zeros(B, k).index_add_(0, rows, clash)   # m_bk
        h, state = self._gather(centres)
        u_pos = F.embedding(ctx, self.w_out)
        u_neg = F.embedding(neg.flatten(), self.w_out).view(B, k, self.dim)
        loss, grad_h, grad_pos, grad_neg = sgns_shared_loss_and_grad(h, u_pos, rows, u_neg, weight)
        flat = torch.cat([ctx, neg.flatten()])
        grad_u = torch.cat([grad_pos, grad_neg.reshape(-1, self.dim)])
        grad_u = grad_u * (-lr * _share(flat, len(self.vocab), self.update_cap)).unsqueeze(1)
        self.w_out.index_add_(0, flat, grad_u)
        self._update_input(centres, grad_h, lr, state)
        self.losses.append(float(loss.sum() / rows.numel()))

    # ----- vectors ---------------------------------------------------------------------------
    @property
    def wv(self) -> KeyedVectors:
        return KeyedVectors(self.vocab.itos, self.w_in[:len(self.vocab)].clone())


class FastText(SkipGram):
    """fastText skip-gram (Bojanowski et al. 2017): a word is the mean of its n-gram vectors.

    The input vector of word :math:`w` is
    :math:`h_w = \\frac{1}{|G_w|}\\sum_{g\\in G_w} z_g`, over
    :math:`G_w` = the word itself and its character n-grams
    (:func:`char_ngrams`, lengths ``min_n..max_n``), each n-gram hashed
    (:func:`fnv1a_32`) into one of ``buckets`` rows. The gradient of the
    mean is :math:`\\partial\\ell/\\partial h_w / |G_w|` for every row; like
    fastText and gensim, the update adds :math:`\\partial\\ell/\\partial h_w`
    itself to each row (a per-row learning rate :math:`|G_w|` times larger).
    A word outside the vocabulary gets the mean of its n-gram vectors.

    Parameters
    ----------
    min_n, max_n : int
        N-gram lengths (3 and 6 in the paper).
    buckets : int
        Rows shared by all n-grams through the hash.
    **kwargs
        As :class:`SkipGram`.
    """

    def __init__(self, *args, min_n: int = 3, max_n: int = 6, buckets: int = 2_000_000, **kwargs):
        super().__init__(*args, **kwargs)
        if not 1 <= min_n <= max_n or buckets < 1:
            raise ValueError(f"FastText: need 1 <= min_n <= max_n and buckets >= 1, got {min_n}, {max_n}, {buckets}")
        self.min_n, self.max_n, self.buckets = min_n, max_n, buckets
        self._hash_cache: dict[str, int] = {}

    def ngram_rows(self, word: str) -> list[int]:
        """Rows of ``w_in`` holding the n-grams of ``word`` (``V + bucket``), without the word's own row."""
        v = len(self.vocab)
        out = []
        for g in char_ngrams(word, self.min_n, self.max_n):
            b = self._hash_cache.get(g)
            if b is None:
                b = self._hash_cache[g] = fnv1a_32(g.encode("utf-8")) % self.buckets
            out.append(v + b)
        return out

    def build_vocab(self, sentences):
        super().build_vocab(sentences)
        rows, lengths = [], []
        for i, w in enumerate(self.vocab.itos):
            r = [i] + self.ngram_rows(w)
            rows += r
            lengths.append(len(r))
        self._sub_flat = torch.tensor(rows, dtype=torch.long)
        self._sub_len = torch.tensor(lengths, dtype=torch.long)
        self._sub_start = torch.cumsum(self._sub_len, 0) - self._sub_len

    def _init_weights(self, gen):
        v, d = len(self.vocab), self.dim
        self.w_in = (torch.rand(v + self.buckets, d, generator=gen) * 2 - 1) / d
        self.w_out = torch.zeros(v, d)

    def _rows_of(self, centres):
        lengths = self._sub_len[centres]
        starts = self._sub_start[centres]
        offsets = torch.cumsum(lengths, 0) - lengths
        # flat index of every row of every centre: start of its word + position inside it
        within = torch.arange(int(lengths.sum())) - torch.repeat_interleave(offsets, lengths)
        flat = self._sub_flat[torch.repeat_interleave(starts, lengths) + within]
        return flat, offsets, lengths

    def _gather(self, centres):
        flat, offsets, lengths = self._rows_of(centres)
        return F.embedding_bag(flat, self.w_in, offsets, mode="mean"), (flat, lengths)

    def _update_input(self, centres, grad_h, lr, state=None):
        flat, lengths = state
        step = -lr * _share(flat, self.w_in.shape[0], self.update_cap)
        self.w_in.index_add_(0, flat, torch.repeat_interleave(grad_h, lengths, dim=0) * step.unsqueeze(1))

    def word_vector(self, word: str) -> torch.Tensor | None:
        """Vector of any word: its trained input for vocabulary words, else the mean of its n-gram rows."""
        i = self.vocab.stoi.get(word)
        if i is not None:
            return self._input(torch.tensor([i]))[0]
        rows = self.ngram_rows(word)
        return self.w_in[rows].mean(0) if rows else None

    @property
    def wv(self) -> KeyedVectors:
        vectors = self._input(torch.arange(len(self.vocab)))
        return KeyedVectors(self.vocab.itos, vectors, oov=self.word_vector)


