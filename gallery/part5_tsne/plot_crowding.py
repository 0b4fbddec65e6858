"""
The crowding problem in numbers
===============================

Points spread uniformly in a high-dimensional cube have pairwise distances
that concentrate around their mean: almost every other point is a
"moderately distant" neighbour. A two-dimensional map cannot give all of
them the same distance, because the area of a ring of radius :math:`r` grows
only like :math:`r`, while in :math:`D` dimensions the volume of a shell
grows like :math:`r^{D-1}`. This example measures both effects and then
shows how the heavy tail of the Student-t kernel lets a moderate input
distance map to a larger map distance. See :doc:`/part5/tsne`.
"""

# %%
# Distances concentrate as the dimension grows
# --------------------------------------------
# For each dimension we draw points uniformly in the unit cube and look at
# all pairwise distances divided by their mean. The relative spread
# (standard deviation over mean) shrinks roughly like :math:`1/\sqrt{D}`.
import math

import matplotlib.pyplot as plt
import torch

from dlbook.budget import by_budget
from dlbook.manifold import squared_distances
from dlbook.plotting import PALETTE, use_style
from dlbook.runs import seed_everything

use_style()
g = seed_everything(0)
n = by_budget(smoke=200, ci=800, default=2000)
dims = [1, 2, 10, 50, 200]
fig, ax = plt.subplots(figsize=(6, 3.8))
print(f"{'D':>4} {'mean dist':>10} {'std/mean':>9}  {'near (<0.5 mean)':>17}")
for D, colour in zip(dims, PALETTE):
    X = torch.rand(n, D, generator=g, dtype=torch.float64)
    iu = torch.triu_indices(n, n, 1)
    d = squared_distances(X)[iu[0], iu[1]].sqrt()
    rel = d / d.mean()
    near = float((rel < 0.5).double().mean())
    print(f"{D:>4} {float(d.mean()):>10.3f} {float(rel.std()):>9.3f}  {near:>17.4f}")
    ax.hist(
        rel.numpy(), bins=80, density=True, histtype="step", color=colour, label=f"D = {D}"
    )
ax.set_xlabel("pairwise distance / mean distance")
ax.set_ylabel("density")
ax.set_title("uniform points in $[0, 1]^D$")
ax.legend()

# %%
# How much room a map has
# -----------------------
# Around a point in :math:`D` dimensions, the number of neighbours within
# radius :math:`r` grows like :math:`r^D`. If ten neighbours fit within
# radius 1, a ball of radius 2 holds :math:`10 \cdot 2^D` of them. A 2-D
# map has room for only :math:`10 \cdot 2^2 = 40` at the same relative
# distances: the rest must be pushed outwards, or crushed inwards.
r = torch.linspace(1, 3, 50, dtype=torch.float64)
fig, ax = plt.subplots(figsize=(6, 3.8))
for D, colour in zip([2, 10, 50], PALETTE):
    ax.semilogy(r.numpy(), (10 * r**D).numpy(), color=colour, label=f"D = {D}")
ax.set_xlabel("radius (neighbours of rank 10 at radius 1)")
ax.set_ylabel("points that fit within the radius")
ax.set_title("room for neighbours grows like $r^D$")
ax.legend()
for D in [2, 10, 50]:
    print(f"D = {D:>2}: room at radius 2 for {10 * 2**D:.3g} points (2-D map: 40)")

# %%
# Heavy tails move moderate distances outwards
# --------------------------------------------
# Take an input similarity given by a unit Gaussian at distance :math:`d`.
# The map distance that gives the same (unnormalised) similarity is
# :math:`d` itself under a Gaussian map kernel, and
# :math:`\sqrt{e^{d^2/2} - 1}` under the Student-t kernel
# :math:`(1 + y^2)^{-1}`. Near points stay near; moderately distant ones are
# pushed much further away, which leaves room for the clusters.
d = torch.linspace(0, 3.5, 200, dtype=torch.float64)
fig, ax = plt.subplots(figsize=(6, 3.8))
y_t = torch.sqrt(torch.exp(d**2 / 2) - 1)
ax.plot(d.numpy(), d.numpy(), color=PALETTE[0], label="Gaussian map kernel")
ax.plot(d.numpy(), y_t.numpy(), color=PALETTE[1], label="Student-t map kernel")
ax.set_xlabel("input distance $d$")
ax.set_ylabel("map distance with equal similarity")
ax.set_ylim(0, 12)
ax.set_title("matching similarities")
ax.legend()
for di in [0.5, 1.0, 2.0, 3.0]:
    y_di = math.sqrt(math.exp(di**2 / 2) - 1)
    print(f"input distance {di}: Student-t map distance {y_di:.2f}")
fig.tight_layout()
plt.show()
