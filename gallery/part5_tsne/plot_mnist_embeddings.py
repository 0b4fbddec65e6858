"""
t-SNE maps of MNIST and Fashion-MNIST
=====================================

A random subset of training images from each data set is scaled to
:math:`[0, 1]`, reduced to its first 50 principal components, and embedded
in two dimensions with :class:`dlbook.manifold.TSNE` (``method="fft"``,
perplexity 30, PCA initialisation, the automatic learning rate). Colours
show the labels, which t-SNE never sees. See :doc:`/part5/tsne`.
"""

# %%
# Set-up
# ------
# The ``full`` budget uses the 10,000 points of the chapter; ``default``
# uses 5,000 and ``ci`` a smaller subset, so that the book builds quickly.
import time

import matplotlib.pyplot as plt
import numpy as np

from dlbook.budget import by_budget, get_budget
from dlbook.manifold import TSNE
from dlbook.manifold.benchmark import load_points
from dlbook.plotting import use_style

use_style()
n = by_budget(smoke=400, ci=1000, default=5000, full=10000)
n_iter = by_budget(smoke=250, ci=500, default=750)
print(f"budget={get_budget()}: {n} points, {n_iter} iterations")

MNIST_NAMES = [str(k) for k in range(10)]
FASHION_NAMES = [
    "T-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "boot",
]
CMAP = plt.get_cmap("tab10")


def embed(dataset):
    X, labels = load_points(n, dataset, seed=0)
    tsne = TSNE(perplexity=30, n_iter=n_iter, method="fft", random_state=0)
    t0 = time.perf_counter()
    Y = tsne.fit_transform(X)
    seconds = time.perf_counter() - t0
    print(
        f"{dataset}: KL {tsne.kl_divergence_:.3f}, {seconds:.1f} s "
        f"(affinities {tsne.timings_['affinities']:.1f} s)"
    )
    return Y, labels


def draw(ax, Y, labels, names, title):
    for k in range(10):
        m = labels == k
        ax.scatter(Y[m, 0], Y[m, 1], s=2, color=CMAP(k), rasterized=True)
    # each class's name at the median of its points, so that the map reads without a legend
    for k in range(10):
        m = labels == k
        if m.any():
            x, y = float(np.median(np.asarray(Y[m, 0]))), float(np.median(np.asarray(Y[m, 1])))
            ax.text(x, y, names[k], ha="center", va="center", fontsize=12, fontweight="bold", color=CMAP(k),
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": CMAP(k), "alpha": 0.85})
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


# %%
# Embeddings
# ----------
# One map per figure, so that each is shown at the full width of the page.
for dataset, names in zip(["mnist", "fashion-mnist"], [MNIST_NAMES, FASHION_NAMES]):
    Y, labels = embed(dataset)
    fig, ax = plt.subplots(figsize=(7, 6.2))
    draw(ax, Y, labels, names, f"{dataset}, {n} points (PCA-50)")
plt.show()

# %%
# What to look for: whether each class forms its own island, which classes
# touch (in MNIST maps 4, 7 and 9 often do, and 3, 5 and 8), and, in
# Fashion-MNIST, whether the upper-body garments (shirts, T-shirts,
# pullovers, coats) separate at all. The number of points is set by the
# budget; the chapter's 10,000-point runs use the ``full`` budget.
