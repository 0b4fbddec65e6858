"""
Sentence polarity on MR: the rows of the chapter, trained live
==============================================================

Trains rows of :doc:`/part6/sentence_classification` on fold 0 of the
stratified 10-fold split of MR (Pang and Lee 2005) at the current budget,
with :func:`dlbook.experiments.mr.run_fold`: NBSVM-bi, Kim's CNN-rand, an
LSTM with max pooling and a QRNN (the ``full`` budget adds the
bidirectional LSTM). Each neural row keeps the epoch with the best accuracy
on the held-out 10% of the training folds. At the ``default`` budget the
live rows train for at most five epochs
(:data:`dlbook.experiments.mr.LIVE_DEFAULT`), fewer than the study's
fifteen, so that the whole book builds in about 30 minutes. The 10-fold means come from
``python -m dlbook.experiments mr`` and are shown on the chapter page.
"""

# %%
# Train the rows on fold 0
# ------------------------
import time

import matplotlib.pyplot as plt
import torch

from dlbook.budget import get_budget
from dlbook.data import load_mr, stratified_kfold
from dlbook.experiments import mr
from dlbook.plotting import PALETTE, use_style
from dlbook.text import kim_tokenize

use_style()
budget = get_budget()
settings = mr.budget_settings(budget, live=True)
sentences, labels = load_mr()
tokens = [kim_tokenize(s) for s in sentences]
data = mr.build_fold(tokens, labels, stratified_kfold(labels, 10, seed=mr.FOLD_SEED), 0,
                     max_train=settings["max_train"])
rows = ["nbsvm", "cnn-rand", "lstm-max", "qrnn"] + (["bilstm"] if budget == "full" else [])
results = {}
for row in rows:
    start = time.perf_counter()
    results[row] = mr.run_fold(row, 0, budget, data=data, progress=False, live=True)
    results[row]["seconds"] = time.perf_counter() - start

print(f"budget {budget!r}: {len(data['train']['labels'])} training, {len(data['val']['labels'])} validation, "
      f"{len(data['test']['labels'])} test sentences; vocabulary {len(data['vocab'])}")
print(f"{'row':<10} {'val':>7} {'test':>7} {'epoch':>6} {'epochs':>7} {'time':>7}")
for row, r in results.items():
    print(f"{row:<10} {100 * r['val_accuracy']:6.2f}% {100 * r['test_accuracy']:6.2f}% {r['best_epoch']:>6} "
          f"{r['epochs_run']:>7} {r['seconds']:6.0f}s")
for row, r in results.items():
    assert r["test_accuracy"] > 0.55, (row, r["test_accuracy"])  # chance is 50 %

# %%
# Learning curves
# ---------------
# Training loss (left) and accuracy on the held-out part of the training
# folds and on the test fold (right), epoch by epoch. The marked point is the
# epoch each row keeps: the best validation accuracy.
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
for color, (row, r) in zip(PALETTE, ((k, v) for k, v in results.items() if v["history"])):
    h = r["history"]
    epochs = range(1, len(h["train_loss"]) + 1)
    ax_loss.plot(epochs, h["train_loss"], color=color, label=row)
    ax_acc.plot(epochs, [100 * a for a in h["val_accuracy"]], color=color, label=f"{row} validation")
    ax_acc.plot(epochs, [100 * a for a in h["test_accuracy"]], color=color, ls="--", label=f"{row} test")
    ax_acc.plot(r["best_epoch"], 100 * r["test_accuracy"], "o", color=color)
ax_acc.axhline(100 * results["nbsvm"]["test_accuracy"], color="gray", ls=":", label="NBSVM-bi test")
ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="training loss")
ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="validation (solid) and test (dashed)")
ax_loss.legend()
ax_acc.legend(fontsize=7, ncol=2)
fig.tight_layout()
plt.show()

# %%
# The most confident mistakes
# ---------------------------
# For the best neural row and for NBSVM-bi, the test sentences whose
# predicted class is wrong and whose probability is farthest from 1/2 (for
# NBSVM, the logistic function of its score, which ranks the same way but is
# not calibrated).
# Many are sarcastic, hinge on a contrast ("but"), or carry a label that a
# reader could dispute.
best = max((r for r in results if r != "nbsvm"), key=lambda r: results[r]["test_accuracy"])
for row in (best, "nbsvm"):
    p = results[row]["test_probabilities"]
    y = data["test"]["labels"]
    wrong = torch.nonzero((p > 0.5).long() != y).flatten()
    worst = wrong[torch.argsort((p[wrong] - 0.5).abs(), descending=True)[:6]]
    print(f"\n{row}: {len(wrong)} errors of {len(y)}; the most confident ones")
    for i in worst.tolist():
        text = sentences[int(data["test"]["index"][i])]
        print(f"  label {'pos' if y[i] else 'neg'}, P(pos) = {float(p[i]):.3f}: {text}")
