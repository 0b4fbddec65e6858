"""
Gradient norm against the distance to the loss
==============================================

How much of the error signal of a loss on the last state :math:`h_T` reaches
the state :math:`h_{T-d}`, ``d`` steps earlier? For each cell the script
measures :math:`\\lVert \\partial L / \\partial h_{T-d} \\rVert` with
:func:`dlbook.sequences.state_gradient_norms` (the loss
:math:`L = \\sum_n u^\\top h_T^{(n)}` with :math:`\\lVert u \\rVert = 1`), for
networks of the same size (8 inputs, 64 hidden units) on random input
sequences, averaged over several random initialisations. The derivation is
in :doc:`/part6/recurrent`: the tanh RNN multiplies the signal by
:math:`\\operatorname{diag}(1 - h_k^2) W_{hh}` at every step, while the LSTM
cell path multiplies it by the forget gate only.
"""

# %%
# Measurement
# -----------
import matplotlib.pyplot as plt
import torch

import dlbook.nn as dnn
from dlbook.budget import by_budget, get_budget
from dlbook.plotting import PALETTE, use_style
from dlbook.sequences import state_gradient_norms

use_style()
budget = get_budget()
T = by_budget(smoke=20, ci=150, default=300)
seeds = by_budget(smoke=2, ci=5, default=20)
D, H, batch = 8, 64, 16
print(f"budget={budget}: T={T} steps, {seeds} initialisations, D={D}, H={H}, batch {batch}")


def tanh_rnn(seed, scale=None):
    torch.manual_seed(seed)
    m = dnn.RNN(D, H).double()
    if scale is not None:  # orthogonal W_hh times scale: every singular value equals scale
        with torch.no_grad():
            q, _ = torch.linalg.qr(torch.randn(H, H, dtype=torch.float64))
            m.weight_hh_l0.copy_(scale * q)
    return m


def gated(cls, seed, bias=None, block=1):
    """An LSTM (block 1 = forget gate) or GRU (block 1 = update gate) with a set total gate bias."""
    torch.manual_seed(seed)
    m = cls(D, H).double()
    if bias is not None:
        with torch.no_grad():
            m.bias_ih_l0[block * H : (block + 1) * H] = bias
            m.bias_hh_l0[block * H : (block + 1) * H] = 0.0
    return m


configs = {
    "tanh RNN, PyTorch init": lambda s: tanh_rnn(s),
    "tanh RNN, orthogonal W_hh": lambda s: tanh_rnn(s, 1.0),
    "tanh RNN, orthogonal W_hh x 1.5": lambda s: tanh_rnn(s, 1.5),
    "LSTM, PyTorch init": lambda s: gated(dnn.LSTM, s),
    "LSTM, forget bias 1": lambda s: gated(dnn.LSTM, s, 1.0),
    "LSTM, forget bias 3": lambda s: gated(dnn.LSTM, s, 3.0),
    "GRU, PyTorch init": lambda s: gated(dnn.GRU, s),
}
curves = {}
for name, make in configs.items():
    runs = []
    for seed in range(seeds):
        x = torch.randn(T, batch, D, generator=torch.Generator().manual_seed(1000 + seed), dtype=torch.float64)
        runs.append(state_gradient_norms(make(seed), x))
    # geometric mean over the initialisations (the norms span many orders of magnitude)
    curves[name] = torch.stack(runs).clamp_min(1e-300).log().mean(0).exp()
    print(f"{name:<34} d=T/2: {curves[name][T // 2]:.1e}   d=T: {curves[name][T]:.1e}")

# %%
# The figure
# ----------
# Solid lines are tanh RNNs, dashed lines LSTMs, the dotted line a GRU.
fig, ax = plt.subplots(figsize=(7.0, 4.4))
styles = ["-", "-", "-", "--", "--", "--", ":"]
for color, style, (name, curve) in zip(PALETTE, styles, curves.items()):
    ax.plot(range(T + 1), curve.numpy(), style, color=color, label=name)
ax.set_yscale("log")
ax.set_xlabel("distance d to the loss (steps)")
ax.set_ylabel(r"$\Vert \partial L / \partial h_{T-d} \Vert$")
ax.set_title(f"Backpropagated gradient norm, H = {H}, geometric mean of {seeds} initialisations")
ax.legend(fontsize=8, loc="lower left", ncol=2)
plt.show()

# %%
# At PyTorch's initialisation the spectral radius of :math:`W_{hh}` is about
# :math:`1/\sqrt 3` and the tanh RNN's gradient falls geometrically. With an
# orthogonal :math:`W_{hh}` the only loss comes from the :math:`\tanh`
# derivatives; with all singular values 1.5 the product can grow until the
# states saturate. The LSTM's forget gate at :math:`\sigma(0) = 1/2` loses a
# factor 2 per step on the cell path, much like the RNN; a forget bias of 1
# or 3 makes the cell path, the constant-error carousel, carry the
# gradient over the whole sequence. These are networks at initialisation;
# training can open or close the gates (see the adding problem).
