"""
MNIST with 3,000 labels: every row of the case study, trained live
==================================================================

Runs the six rows of :doc:`/part3/mnist3k` once (seed 0) at the current
budget with :func:`dlbook.experiments.run_config` under the realistic
protocol: of the 3,000 labelled training images, 2,700 train and 300
validate (model selection), 47,000 other images are the unlabelled pool, and
the 10,000 test images are evaluated once. At the ``default`` budget the
live rows train for fewer epochs than the study
(:data:`dlbook.experiments.mnist3k.LIVE_DEFAULT`), so that the whole book
builds in about 30 minutes. The multi-seed means come from
``python -m dlbook.experiments mnist3k`` and are shown on the chapter page.
"""

# %%
# Train every row
# ---------------
# The pseudo-label row, and the beyond row whose teacher it is, build on
# whichever of the first three rows has the best validation accuracy in this
# run; the test set plays no part in that choice.
import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator

from dlbook.budget import get_budget
from dlbook.experiments import CONFIGS, load_split, run_config
from dlbook.metrics import accuracy
from dlbook.plotting import PALETTE, use_style

use_style()
budget = get_budget()
data = load_split("mnist", budget, protocol="realistic")
results = {}
for name in CONFIGS:
    base = "augment"
    if name in ("pseudo", "beyond"):
        base = max(("baseline", "init", "augment"), key=lambda c: results[c]["val_accuracy"])
    results[name] = run_config(name, seed=0, budget=budget, data=data, base=base, progress=False, live=True)

print(f"budget: {budget!r}; test images: {len(data['test'][1])}; validation images: {len(data['val'][1])}")
print(f"{'row':<10} {'description':<52} {'train':>7} {'val':>7} {'test':>7} {'epochs':>7} {'time':>7}")
for name, r in results.items():
    print(f"{name:<10} {r['description']:<52} {100 * r['train_accuracy']:6.2f}% {100 * r['val_accuracy']:6.2f}% "
          f"{100 * r['test_accuracy']:6.2f}% {r['best_epoch']:3d}/{r['epochs']:<3d} {r['wall_time']:6.0f}s")
for p in results["beyond"]["pseudo_labels"]:
    print(f"beyond, round {p['round']}: {100 * p['kept']:.1f}% of the unlabelled pool kept, "
          f"{100 * p['precision']:.2f}% of the kept pseudo-labels right "
          f"({100 * p['accuracy_all']:.2f}% of all the teacher's labels)")

# %%
# Learning curves
# ---------------
# "train (clean)" is the accuracy on the 3,000 labelled images in evaluation
# mode (no dropout, no augmentation); "train (batches)" is the running
# accuracy on the mini-batches as the optimizer saw them, with dropout and,
# where used, augmentation. The gap between the two is the price the
# regularizers charge on the training set; the validation curve shows what
# they buy.
fig, axes = plt.subplots(3, 2, figsize=(8, 9.5), sharey=True)
for ax, (name, r) in zip(axes.flat, results.items()):
    h = r["history"]
    epochs = range(1, len(h["val_accuracy"]) + 1)
    ax.plot(epochs, [100 * a for a in h["train_accuracy"]], color=PALETTE[0], label="train (clean)")
    ax.plot(epochs, [100 * a for a in h["train_batch_accuracy"]], color=PALETTE[0], ls="--",
            label="train (batches)")
    ax.plot(epochs, [100 * a for a in h["val_accuracy"]], color=PALETTE[1], label="validation")
    ax.axvline(r["best_epoch"], color=PALETTE[2], lw=0.8, ls=":")
    if "stage" in h:  # self-training: a fresh network starts at each stage boundary
        for e in range(1, len(h["stage"])):
            if h["stage"][e] != h["stage"][e - 1]:
                ax.axvline(e + 0.5, color=PALETTE[3], lw=0.8, ls="-.")
    ax.set_title(name)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(70, 100.5)
for ax in axes[:, 0]:
    ax.set_ylabel("accuracy (%)")
fig.suptitle(f"Learning curves, budget {budget!r}\n(dotted: epoch selected on validation; "
             "dash-dotted: a new student starts)")
# one legend for all panels, above them, where it covers no curve
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=3, frameon=False,
           bbox_to_anchor=(0.5, 0.935))
fig.tight_layout(rect=(0, 0, 1, 0.925))
plt.show()

# %%
# Where the best row still fails
# ------------------------------
# The row with the best validation accuracy, its confusion matrix on the test
# set (rows: true digit, columns: prediction, diagonal hidden so that the
# errors stand out) and the misclassified test digits it was most sure about.
best = max(results, key=lambda n: results[n]["val_accuracy"])
r = results[best]
X_test, y_test = data["test"]
pred = r["test_logits"].argmax(1)
assert abs(float(accuracy(r["test_logits"], y_test)) - r["test_accuracy"]) < 1e-6
cm = torch.zeros(10, 10, dtype=torch.long)
cm.index_put_((y_test, pred), torch.ones_like(y_test), accumulate=True)
off = cm.clone()
off.fill_diagonal_(0)
fig, ax = plt.subplots(figsize=(5, 4.4))
im = ax.imshow(off.numpy(), cmap="viridis")
for i in range(10):
    for j in range(10):
        if i != j and off[i, j] > 0:
            ax.text(j, i, int(off[i, j]), ha="center", va="center", fontsize=7, color="white")
ax.set_xticks(range(10))
ax.set_yticks(range(10))
ax.set_xlabel("predicted")
ax.set_ylabel("true")
ax.set_title(f"test errors of row '{best}' ({int(off.sum())} of {len(y_test)})")
fig.colorbar(im, ax=ax, shrink=0.8)
plt.show()

prob = r["test_logits"].softmax(1)
wrong = torch.nonzero(pred != y_test).flatten()
order = wrong[torch.argsort(prob[wrong, pred[wrong]], descending=True)][:24]
fig, axes = plt.subplots(3, 8, figsize=(9, 4))
for ax in axes.flat:
    ax.axis("off")
for ax, i in zip(axes.flat, order.tolist()):
    ax.imshow(X_test[i, 0].numpy(), cmap="gray_r")
    ax.set_title(f"{int(y_test[i])}→{int(pred[i])} ({100 * float(prob[i, pred[i]]):.0f}%)", fontsize=8)
fig.suptitle(f"Most confident test errors of row '{best}' (true→predicted, confidence)")
plt.show()
