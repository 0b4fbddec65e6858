"""
Activations and gradients through 30 layers under each initialization
=====================================================================

:doc:`/part3/initialization` predicts how the variance of activations
(forward) and of gradients (backward) changes from layer to layer for each
initialization scheme. This example measures it: a batch goes through
30-layer fully connected networks with tanh or ReLU activations,
initialised with a small fixed scale, LeCun, Glorot (Xavier) or He
(:mod:`dlbook.init`), and the standard deviations of each layer's
activations and of the loss gradient with respect to them are recorded.
"""

# %%
# Measuring the standard deviations
# ---------------------------------
import math

import matplotlib.pyplot as plt
import torch

from dlbook import init
from dlbook.budget import by_budget
from dlbook.plotting import PALETTE, use_style

use_style()
depth = 30
width = by_budget(smoke=64, ci=256, default=512)
batch = by_budget(smoke=128, ci=512, default=2000)
schemes = {
    "N(0, 0.01²)": lambda w, generator: w.normal_(0.0, 0.01, generator=generator),
    "LeCun 1/n_in": init.lecun_normal_,
    "Glorot 2/(n_in+n_out)": init.xavier_normal_,
    "He 2/n_in": init.he_normal_,
}
activations = {"tanh": torch.tanh, "ReLU": torch.relu}


def measure(act, init_fn, seed=0):
    """Per-layer std of the activations and of dL/d(activation) for a random upstream gradient."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, width, generator=g)
    layers = [torch.empty(width, width) for _ in range(depth)]
    with torch.no_grad():
        for W in layers:
            init_fn(W, generator=g)
    for W in layers:
        W.requires_grad_()
    outs = []
    h = x
    for W in layers:
        h = act(h @ W.T)
        h.retain_grad()
        outs.append(h)
    upstream = torch.randn(batch, width, generator=g)
    (h * upstream).sum().backward()
    fwd = [o.detach().std().item() for o in outs]
    bwd = [o.grad.std().item() for o in outs]
    return fwd, bwd


results = {(a, s): measure(activations[a], fn) for a in activations for s, fn in schemes.items()}

# %%
# The figure: one row per activation, forward on the left and backward on the
# right, log scale. The small fixed scale makes both signals vanish
# geometrically. On ReLU networks LeCun halves the second moment at every
# layer, while He keeps it flat, as derived. On tanh networks LeCun and
# Glorot coincide here (square layers, so
# :math:`1/n_{\text{in}} = 2/(n_{\text{in}}+n_{\text{out}})`; Glorot is dashed),
# and the activations shrink slowly because :math:`\tanh` contracts; He's
# larger scale pushes tanh units towards saturation, and its gradients grow
# on the way back to the input.
fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
layer = range(1, depth + 1)
for row, a in enumerate(activations):
    for (s, _), color in zip(schemes.items(), PALETTE):
        fwd, bwd = results[(a, s)]
        style = dict(
            color=color,
            label=s,
            ls="--" if s.startswith("Glorot") else "-",
            lw=2.5 if s.startswith("LeCun") else 1.5,
        )  # LeCun = Glorot on square layers
        axes[row, 0].semilogy(layer, [max(v, 1e-30) for v in fwd], **style)
        axes[row, 1].semilogy(layer, [max(v, 1e-30) for v in bwd], **style)
    axes[row, 0].set_ylabel(f"{a}: std of activations")
    axes[row, 1].set_ylabel(f"{a}: std of gradient")
for ax in axes[1]:
    ax.set_xlabel("layer")
axes[0, 0].legend(fontsize=8)
fig.suptitle(f"{depth}-layer networks, width {width}")
plt.show()

# %%
# Checks against the derivation
# -----------------------------
# For ReLU with LeCun the per-layer factor of the second moment is 1/2, so the
# std should fall by about :math:`\sqrt 2` per layer; with He it should stay
# within a modest factor of the first layer's value.
fwd_lecun, _ = results[("ReLU", "LeCun 1/n_in")]
fwd_he, bwd_he = results[("ReLU", "He 2/n_in")]
slope = (math.log(fwd_lecun[-1]) - math.log(fwd_lecun[0])) / (depth - 1)
print(f"ReLU + LeCun: std ratio per layer {math.exp(slope):.3f} (theory {1 / math.sqrt(2):.3f})")
print(
    f"ReLU + He: activation std layer 1 {fwd_he[0]:.3f}, layer {depth} {fwd_he[-1]:.3f}; "
    f"gradient std layer 1 {bwd_he[0]:.3f}, layer {depth} {bwd_he[-1]:.3f}"
)
# Table: std of the activations at layer 30 and of the gradient at layer 1.
print(
    f"{'scheme':24s}" + "".join(f"{a + ' act@30':>13s}{a + ' grad@1':>13s}" for a in activations)
)
for s in schemes:
    cells = "".join(
        f"{results[(a, s)][0][-1]:13.2e}{results[(a, s)][1][0]:13.2e}" for a in activations
    )
    print(f"{s:24s}{cells}")
assert abs(math.exp(slope) - 1 / math.sqrt(2)) < 0.05
assert 0.2 < fwd_he[-1] / fwd_he[0] < 5
