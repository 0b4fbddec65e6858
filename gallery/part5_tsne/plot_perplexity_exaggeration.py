"""
Effects of perplexity and early exaggeration
============================================

The same MNIST points (PCA to 50 dimensions) are embedded with perplexity
5, 30 and 100, and then with early exaggeration switched on (factor 12 for
the first 250 iterations) and off. Every run starts from the same PCA
initialisation; only the setting under study changes. The 1-nearest-
neighbour accuracy of the labels in the map and the final KL divergence
are printed for each map; note that KL values are not comparable across
perplexities, since P changes with the perplexity. See :doc:`/part5/tsne`.
"""

# %%
# Set-up
# ------
import matplotlib.pyplot as plt
import torch

from dlbook.budget import by_budget, get_budget
from dlbook.manifold import TSNE
from dlbook.manifold.benchmark import load_points
from dlbook.plotting import use_style

use_style()
n = by_budget(smoke=350, ci=500, default=2500, full=5000)
n_iter = by_budget(smoke=300, ci=400, default=750)
# the exact gradient is the faster one for a few hundred points
method = by_budget(smoke="exact", ci="exact", default="fft")
X, labels = load_points(n, "mnist", seed=1)
print(f"budget={get_budget()}: {n} MNIST points, {n_iter} iterations, method {method!r}")
CMAP = plt.get_cmap("tab10")


def one_nn_accuracy(Y, y):
    D = torch.cdist(Y, Y)
    D.fill_diagonal_(float("inf"))
    return float((y[D.argmin(1)] == y).double().mean())


def run(ax, title, **kwargs):
    tsne = TSNE(n_iter=n_iter, method=method, random_state=0, **kwargs)
    Y = tsne.fit_transform(X)
    acc = one_nn_accuracy(Y, labels)
    ax.scatter(Y[:, 0], Y[:, 1], s=2, c=[CMAP(int(k)) for k in labels], rasterized=True)
    for k in range(10):  # each digit's label at the median of its points, so no legend is needed
        mx, my = Y[labels == k].median(0).values.tolist()
        ax.text(mx, my, str(k), fontsize=11, fontweight="bold", ha="center", va="center",
                bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": CMAP(k), "alpha": 0.85})
    ax.set_title(f"{title}\n1-NN acc. {acc:.3f}, KL {tsne.kl_divergence_:.2f}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    print(f"{title:<28} 1-NN accuracy {acc:.3f}  KL {tsne.kl_divergence_:.3f}")
    return Y


# %%
# Perplexity 5, 30 and 100
# ------------------------
# A small perplexity calibrates each Gaussian to its closest few neighbours:
# the map resolves fine, local structure and tends to break classes into
# several clumps. A large perplexity brings more points into each
# neighbourhood, and the map shows coarser structure with fewer, rounder
# groups. The 1-NN accuracy measures local structure only.
fig, axes = plt.subplots(1, 3, figsize=(9, 3.6))
for ax, perp in zip(axes, [5, 30, 100]):
    run(ax, f"perplexity {perp}", perplexity=perp)
fig.tight_layout()
plt.show()

# %%
# Early exaggeration on and off
# -----------------------------
# Exaggeration multiplies the attraction by 12 while the map is still
# tangled, so that the points of a class can gather before repulsion sets
# in. Its effect is mostly on the global arrangement of the groups, and it
# matters more as the number of points grows; on small data sets both maps
# can look alike. Compare the maps, not only the printed numbers.
fig, axes = plt.subplots(1, 2, figsize=(7, 3.8))
run(axes[0], "exaggeration 12 (250 it.)", perplexity=30)
run(axes[1], "no exaggeration", perplexity=30, early_exaggeration=1.0)
fig.tight_layout()
plt.show()
