"""
Gradient flow through deep sigmoid, tanh and ReLU stacks
========================================================

The backward pass multiplies the upstream gradient by the local derivative
of every activation on the way down. The sigmoid's derivative is at most
1/4, so in a deep sigmoid stack the gradient shrinks roughly geometrically
with depth. ReLU's derivative is exactly 1 on the active units, so the
gradient keeps its scale when the weights are scaled to preserve variance.

This example builds fully connected stacks of equal width from
:func:`dlbook.functional.sigmoid`, :func:`dlbook.functional.tanh` and
:func:`dlbook.functional.relu`, pushes a batch of MNIST digits through them,
backpropagates a cross-entropy loss, and plots the norm of the gradient
reaching each layer's weights. See :doc:`/part1/activations` for the
derivation.
"""

# %%
# Set-up
# ------
# The depth and width are fixed; the budget only sets how many random
# initialisations are averaged.
import matplotlib.pyplot as plt
import torch

import dlbook.functional as F
from dlbook.budget import by_budget, get_budget
from dlbook.data import load_mnist
from dlbook.plotting import use_style
from dlbook.runs import seed_everything

use_style()
generator = seed_everything(0)
budget = get_budget()
depth, width = 20, 256
repeats = by_budget(smoke=1, ci=3, default=10, full=20)
print(f"budget={budget}: depth {depth}, width {width}, {repeats} initialisations")

images, labels = load_mnist("train")
X = images[:256].reshape(256, -1).double() / 255.0
X = (X - X.mean()) / X.std()
y = labels[:256]

# %%
# One backward pass per activation
# --------------------------------
# Weights are drawn with variance 1/fan_in (LeCun) for sigmoid and tanh and
# 2/fan_in (He) for ReLU, the scales that keep the forward activations from
# exploding or vanishing at initialisation. The gradient still vanishes for
# the sigmoid, because its derivative is at most 1/4.
activations = {"sigmoid": F.sigmoid, "tanh": F.tanh, "relu": F.relu}
gain = {"sigmoid": 1.0, "tanh": 1.0, "relu": 2.0}


def layer_gradient_norms(name):
    sizes = [X.shape[1]] + [width] * depth + [10]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        W = torch.randn(fan_out, fan_in, dtype=torch.float64, generator=generator)
        weights.append((W * (gain[name] / fan_in) ** 0.5).requires_grad_())
    h = X
    for W in weights[:-1]:
        h = activations[name](h @ W.T)
    loss = F.cross_entropy(h @ weights[-1].T, y)
    loss.backward()
    return torch.stack([W.grad.norm() for W in weights[:-1]])


norms = {name: torch.stack([layer_gradient_norms(name) for _ in range(repeats)]).mean(0)
         for name in activations}
for name, n in norms.items():
    print(f"{name:8s} gradient norm  layer 1: {n[0]:.3e}   layer {depth}: {n[-1]:.3e}   "
          f"ratio: {n[0] / n[-1]:.3e}")

# %%
# The figure
# ----------
# Layer 1 is next to the input, the farthest from the loss.
fig, ax = plt.subplots()
for name, n in norms.items():
    ax.semilogy(range(1, depth + 1), n, marker="o", ms=3, label=name)
ax.set_xticks(range(1, depth + 1, 2))
ax.set_xlabel("layer (1 = next to the input)")
ax.set_ylabel(r"$\|\partial L / \partial W^{(l)}\|_F$")
ax.set_title(f"Gradient reaching each layer, {depth} layers of width {width}")
ax.legend()
plt.show()
