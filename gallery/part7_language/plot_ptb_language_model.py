"""
A small LSTM language model on Penn Treebank
============================================

A one-layer LSTM language model with tied input and output embeddings
(:class:`dlbook.models.RNNLM`, derived in :doc:`/part7/language_models`) is
trained on the beginning of the Penn Treebank training stream with
truncated backpropagation through time, the hidden state carried from one
window to the next. The script plots the training and validation
perplexity against the number of training tokens and then samples text at
several inverse temperatures :math:`\\beta`.

The budget sets the size of the slice: ``ci`` trains on 100,000 tokens,
``default`` on 300,000 for one epoch, ``full`` on the whole training
stream for two epochs. These are short
runs; the chapter's results table comes from ``python -m dlbook.experiments lm``.
"""

# %%
# Data and model
# --------------
import math
import time

import matplotlib.pyplot as plt
import torch

from dlbook.budget import by_budget, get_budget
from dlbook.data import batchify, load_ptb
from dlbook.models import RNNLM, evaluate, sample_text, train_lm
from dlbook.plotting import PALETTE, use_style

use_style()
budget = get_budget()
torch.manual_seed(0)
corpus = load_ptb()
n_train = by_budget(smoke=10_000, ci=100_000, default=300_000, full=len(corpus.train))
n_valid = by_budget(smoke=4_000, ci=10_000, default=len(corpus.valid))
epochs = by_budget(smoke=1, ci=1, default=1, full=2)
train = batchify(corpus.train[:n_train], 20)
valid = batchify(corpus.valid[:n_valid], 10)
model = RNNLM(len(corpus.vocab), 64, 64, num_layers=1, tie=True)
print(f"budget {budget}: {n_train:,} training tokens, {n_valid:,} validation tokens, "
      f"{sum(p.numel() for p in model.parameters()):,} parameters")

# %%
# Training
# --------
# Plain SGD with learning rate 20, gradient norm clipped at 0.25, windows of
# 35 steps, four validation evaluations per epoch.
start = time.perf_counter()
history = train_lm(model, train, valid, bptt=35, lr=20.0, clip=0.25, epochs=epochs,
                   evals_per_epoch=by_budget(smoke=1, ci=4, default=4), max_steps=by_budget(smoke=8, ci=None,
                                                                                              default=None))
final = evaluate(model, valid, bptt=35)
print(f"trained {history['tokens']:,} tokens in {history['seconds']:.0f} s "
      f"({history['tokens'] / history['seconds']:.0f} tokens/s); validation perplexity {final['ppl']:.1f} "
      f"over {final['tokens']:,} tokens (a uniform guess has {len(corpus.vocab):,})")
assert math.isfinite(final["ppl"]) and final["ppl"] < len(corpus.vocab)

fig, ax = plt.subplots(figsize=(6, 3.6))
tokens = [p["tokens"] for p in history["curve"]]
ax.plot(tokens, [p["train_ppl"] for p in history["curve"]], "o-", color=PALETTE[0], label="training windows")
ax.plot(tokens, [p["valid_ppl"] for p in history["curve"]], "s-", color=PALETTE[1], label="validation")
ax.set_xlabel("training tokens")
ax.set_ylabel("perplexity")
ax.set_yscale("log")
ax.set_title("1 x 64 tied LSTM on a slice of PTB")
ax.legend()
fig.tight_layout()

# %%
# Samples at several inverse temperatures
# ---------------------------------------
# :math:`\beta = 0` draws uniformly from the vocabulary, :math:`\beta = 1`
# from the model's distribution, and large :math:`\beta` approaches greedy
# decoding, which soon repeats itself.
gen = torch.Generator().manual_seed(1)
for beta in (0.0, 0.5, 1.0, 2.0, math.inf):
    words = sample_text(model, corpus.vocab, ["the"], length=20, beta=beta, generator=gen)
    print(f"beta = {beta:>4}: the " + " ".join(words))
