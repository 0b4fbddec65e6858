"""
What a t-SNE map does not show
==============================

Two synthetic data sets with known geometry, embedded with
:class:`dlbook.manifold.TSNE`:

* two Gaussian clusters in 10 dimensions, one with a standard deviation
  ten times the other's;
* three clusters of equal spread, where the third is ten times further away
  from the first two than they are from each other.

The maps show neither the difference in size nor the difference in
separation faithfully: each point's Gaussian is calibrated to the same
perplexity, so a cluster's spread in the input is normalised away, and the
heavy-tailed kernel only needs gaps large enough to separate clusters. See
:doc:`/part5/tsne`.
"""

# %%
import matplotlib.pyplot as plt
import torch

from dlbook.budget import by_budget
from dlbook.manifold import TSNE
from dlbook.plotting import PALETTE, use_style

use_style()
g = torch.Generator().manual_seed(0)
n_per = by_budget(smoke=50, ci=100, default=250)
n_iter = by_budget(smoke=300, ci=750, default=1000)
D = 10


def spread(Y, mask):
    return float((Y[mask] - Y[mask].mean(0)).norm(dim=1).mean())


# %%
# Cluster sizes
# -------------
X_size = torch.cat(
    [torch.randn(n_per, D, generator=g), 10 * torch.randn(n_per, D, generator=g) + 100]
)
lab_size = torch.arange(2).repeat_interleave(n_per)
Y_size = TSNE(perplexity=30, n_iter=n_iter, method="exact", random_state=0).fit_transform(X_size)
for k in range(2):
    print(
        f"cluster {k}: input spread {spread(X_size, lab_size == k):6.2f}, "
        f"map spread {spread(Y_size, lab_size == k):6.2f}"
    )

# %%
# Distances between clusters
# --------------------------
centres = torch.zeros(3, D)
centres[1, 0] = 20.0
centres[2, 0] = 200.0
X_gap = torch.cat([c + torch.randn(n_per, D, generator=g) for c in centres])
lab_gap = torch.arange(3).repeat_interleave(n_per)
Y_gap = TSNE(perplexity=30, n_iter=n_iter, method="exact", random_state=0).fit_transform(X_gap)
means_in = torch.stack([X_gap[lab_gap == k].mean(0) for k in range(3)])
means_map = torch.stack([Y_gap[lab_gap == k].mean(0) for k in range(3)])
for a, b in [(0, 1), (0, 2), (1, 2)]:
    print(
        f"clusters {a}-{b}: input distance {float((means_in[a] - means_in[b]).norm()):6.1f}, "
        f"map distance {float((means_map[a] - means_map[b]).norm()):6.1f}"
    )

# %%
# The maps
# --------
fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
for k in range(2):
    m = lab_size == k
    axes[0].scatter(
        Y_size[m, 0], Y_size[m, 1], s=4, color=PALETTE[k], label=f"input std {[1, 10][k]}"
    )
axes[0].set_title("clusters with 10x different spreads")
axes[0].legend()
for k in range(3):
    m = lab_gap == k
    axes[1].scatter(
        Y_gap[m, 0],
        Y_gap[m, 1],
        s=4,
        color=PALETTE[k],
        label=f"centre at x = {int(centres[k, 0])}",
    )
axes[1].set_title("gaps of 20 and 180 in the input")
axes[1].legend()
for ax in axes:
    ax.set_aspect("equal", "datalim")
fig.tight_layout()
plt.show()
