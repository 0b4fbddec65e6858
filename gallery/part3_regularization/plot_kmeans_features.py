"""
k-means features on MNIST: the dictionary and the effect of its size
====================================================================

Fits :class:`dlbook.features.KMeansFeatures` (see :doc:`/part3/kmeans_features`)
on unlabeled MNIST images, shows the learned centroids, and measures the
test accuracy of a linear classifier on the :math:`4k` pooled features for
several dictionary sizes :math:`k`, with a fixed, small set of labels.
"""

# %%
# The dictionary
# --------------
# Each centroid is a whitened :math:`6 \times 6` patch. ZCA whitening keeps
# the pixel basis, so the centroids look like pieces of pen strokes: edges,
# bars and corners at various orientations.
import time

import matplotlib.pyplot as plt
import torch
from sklearn.linear_model import LogisticRegression

from dlbook.budget import by_budget
from dlbook.data import load_mnist
from dlbook.features import KMeansFeatures
from dlbook.plotting import use_style

use_style()
ks = by_budget(smoke=[10, 20], ci=[25, 50, 100], default=[25, 50, 100, 200], full=[25, 50, 100, 200, 400])
n_unlabeled = by_budget(smoke=2_000, ci=10_000, default=20_000, full=50_000)
n_labeled = by_budget(smoke=500, ci=2_000, default=3_000)
n_test = by_budget(smoke=500, ci=1_000, default=5_000, full=10_000)

images, labels = load_mnist("train")
test_images, test_labels = load_mnist("test")
X = images.float() / 255
X_unlab = X[:n_unlabeled]
X_lab, y_lab = X[-n_labeled:], labels[-n_labeled:]
X_test, y_test = test_images[:n_test].float() / 255, test_labels[:n_test]

km = KMeansFeatures(n_clusters=max(ks), patch_size=6, n_patches=50_000, iters=20)
km.fit(X_unlab, generator=torch.Generator().manual_seed(0))
C = km.centroids_[:100]
side = 10
fig, axes = plt.subplots(side, side, figsize=(6, 6))
for ax, c in zip(axes.flat, C):
    ax.imshow(c.view(6, 6).numpy(), cmap="gray")
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(f"{len(C)} of the {max(ks)} centroids (whitened 6x6 patches)")
plt.show()

# %%
# Accuracy against the dictionary size
# ------------------------------------
# A logistic-regression classifier on standardised features, trained on
# the same ``n_labeled`` images for every :math:`k`; the dictionary always
# comes from the unlabeled images only.
rows = []
for k in ks:
    start = time.perf_counter()
    km = KMeansFeatures(n_clusters=k, patch_size=6, n_patches=50_000, iters=20)
    km.fit(X_unlab, generator=torch.Generator().manual_seed(0))
    F_lab, F_test = km.transform(X_lab), km.transform(X_test)
    m, s = F_lab.mean(0), F_lab.std(0) + 1e-3
    clf = LogisticRegression(C=0.1, max_iter=1000)
    clf.fit(((F_lab - m) / s).numpy(), y_lab.numpy())
    acc = clf.score(((F_test - m) / s).numpy(), y_test.numpy())
    rows.append((k, acc, time.perf_counter() - start))
    print(
        f"k = {k:4d} ({4 * k:5d} features): test accuracy {acc:.4f} "
        f"({n_labeled} labels, {n_test} test images), {rows[-1][2]:.1f} s"
    )

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.semilogx([r[0] for r in rows], [100 * r[1] for r in rows], "o-")
ax.set_xlabel("number of centroids $k$")
ax.set_ylabel("test accuracy (%)")
ax.set_title(f"k-means features + logistic regression, {n_labeled} labels")
plt.show()
