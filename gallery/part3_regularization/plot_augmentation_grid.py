"""
A grid of augmented digits
==========================

The transformations of :doc:`/part3/augmentation`, applied to MNIST test
digits with :mod:`dlbook.data.transforms`: each row applies one kind of
transformation to the same eight digits, with one random draw per image
from a seeded generator. The last rows show Fashion-MNIST images and their
horizontal mirror images, a transformation that preserves clothing labels
but not digit labels.
"""

# %%
# Digits under each transformation
# --------------------------------
import time

import matplotlib.pyplot as plt
import torch

from dlbook.budget import by_budget
from dlbook.data import load_fashion_mnist, load_mnist
from dlbook.data import transforms as T
from dlbook.plotting import use_style

use_style()
generator = torch.Generator().manual_seed(0)
images, labels = load_mnist("test")
x = images[:8].float() / 255

rows = {
    "original": lambda b, g: b,
    "rotation ±15°": T.RandomAffine(rotation=15),
    "translation ±3 px": T.RandomAffine(translation=3),
    "zoom ±15%": T.RandomAffine(zoom=0.15),
    "shear ±15°": T.RandomAffine(shear=15),
    "stretch ±0.3": T.RandomAffine(stretch=0.3),
    "elastic α=34, σ=4": T.ElasticDistortion(alpha=34, sigma=4),
    "elastic α=8, σ=1": T.ElasticDistortion(alpha=8, sigma=1),
    "all combined": T.Compose(
        [
            T.RandomAffine(rotation=10, translation=2, zoom=0.1, shear=10, stretch=0.2),
            T.ElasticDistortion(alpha=20, sigma=4),
        ]
    ),
}
fig, axes = plt.subplots(len(rows), 8, figsize=(8, 1.05 * len(rows)))
for r, (name, aug) in enumerate(rows.items()):
    out = aug(x, generator)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1 + 1e-6
    for c in range(8):
        ax = axes[r, c]
        ax.imshow(out[c].numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
fig.suptitle("MNIST test digits " + " ".join(str(v) for v in labels[:8].tolist()))
plt.show()

# %%
# Fashion-MNIST and horizontal flips
# ----------------------------------
f_images, f_labels = load_fashion_mnist("test")
fx = f_images[:8].float() / 255
fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
for r, imgs in enumerate((fx, T.RandomHorizontalFlip(1.0)(fx))):
    for c in range(8):
        axes[r, c].imshow(imgs[c].numpy(), cmap="gray_r", vmin=0, vmax=1)
        axes[r, c].set_xticks([])
        axes[r, c].set_yticks([])
axes[0, 0].set_ylabel("original", rotation=0, ha="right", va="center", fontsize=8)
axes[1, 0].set_ylabel("flipped", rotation=0, ha="right", va="center", fontsize=8)
fig.suptitle("Fashion-MNIST test images, original and flipped left to right")
plt.show()

# %%
# Throughput
# ----------
# The transforms work on whole batches, so augmenting an epoch is cheap next
# to training on it.
n = by_budget(smoke=1_000, ci=10_000, default=20_000, full=60_000)
train, _ = load_mnist("train")
batch = train[:n].float() / 255
aug = rows["all combined"]
start = time.perf_counter()
out = aug(batch, torch.Generator().manual_seed(1))
seconds = time.perf_counter() - start
print(
    f"affine + elastic on {n} images: {seconds:.2f} s ({n / seconds:,.0f} images/s, "
    f"{torch.get_num_threads()} threads)"
)
