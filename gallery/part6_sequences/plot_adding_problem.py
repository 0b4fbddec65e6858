"""
The adding problem: what only a gated cell learns
=================================================

The adding problem of Hochreiter and Schmidhuber (1997) tests whether a
recurrent network can carry information over many steps. Each input is a
sequence of ``T`` pairs: a number drawn uniformly from :math:`[0, 1]`, and a
marker that is 1 at exactly two positions (one in the first half of the
sequence, one in the second) and 0 elsewhere. The target is the sum of the
two marked numbers, read from the last hidden state by a linear layer.
Predicting the mean of the target, 1, whatever the input gives a mean
squared error of :math:`\\operatorname{Var}(u_1 + u_2) = 2/12 \\approx 0.167`;
a network that beats it has carried at least one number across the gap
between its marker and the end of the sequence, at least ``T/2`` steps.

Three models of the same hidden size are trained the same way, with Adam and
gradient-norm clipping (:func:`dlbook.optim.clip_grad_norm_`): a tanh RNN,
an LSTM and a GRU, all from :mod:`dlbook.nn` (derived in
:doc:`/part6/recurrent`).
"""

# %%
# Task and models
# ---------------
import time

import matplotlib.pyplot as plt
import torch

import dlbook.nn as dnn
from dlbook.budget import by_budget, get_budget
from dlbook.optim import clip_grad_norm_
from dlbook.plotting import PALETTE, use_style
from dlbook.runs import progress_bar, seed_everything
from dlbook.sequences import adding_problem

use_style()
budget = get_budget()
T = by_budget(smoke=20, ci=50, default=60, full=200)
steps = by_budget(smoke=30, ci=1200, default=1500, full=10000)
hidden, batch, lr = 64, 64, 3e-3
eval_every = max(steps // 30, 1)
print(f"budget={budget}: sequences of T={T} steps, {steps} updates of batch {batch}, hidden size {hidden}")


class Regressor(torch.nn.Module):
    """A recurrent layer read out by a linear layer at the last step."""

    def __init__(self, cell):
        super().__init__()
        self.rnn = getattr(dnn, cell)(2, hidden)
        self.out = torch.nn.Linear(hidden, 1)
        if cell == "LSTM":  # forget-gate bias 1 (see the chapter); bias_ih + bias_hh = 1
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden : 2 * hidden] = 1.0
                self.rnn.bias_hh_l0[hidden : 2 * hidden] = 0.0

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.out(out[-1]).squeeze(1)


# %%
# Training
# --------
# Every model sees the same batches (the data generator is re-seeded) and
# is evaluated on the same 1000 held-out sequences.
test_x, test_y = adding_problem(1000, T, torch.Generator().manual_seed(123))
baseline = ((test_y - 1.0) ** 2).mean().item()
curves, seconds = {}, {}
for cell in ("RNN", "LSTM", "GRU"):
    seed_everything(0)
    model = Regressor(cell)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(1)
    curve = []
    start = time.perf_counter()
    for step in progress_bar(range(1, steps + 1), desc=cell):
        x, y = adding_problem(batch, T, gen)
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % eval_every == 0 or step == steps:
            with torch.no_grad():
                curve.append((step, ((model(test_x) - test_y) ** 2).mean().item()))
    seconds[cell] = time.perf_counter() - start
    curves[cell] = curve
    print(f"{cell:>4}: test MSE {curve[-1][1]:.4f} after {steps} updates ({seconds[cell]:.0f} s)")
print(f"predicting 1 for every sequence: test MSE {baseline:.4f}")

# %%
# Learning curves
# ---------------
# The dashed line is the error of the constant prediction 1. A curve that
# stays on it has learned nothing about the marked numbers.
fig, ax = plt.subplots()
for color, (cell, curve) in zip(PALETTE, curves.items()):
    s, mse = zip(*curve)
    ax.plot(s, mse, color=color, label=f"{cell} ({seconds[cell]:.0f} s)")
ax.axhline(baseline, color="#808080", linestyle="--", linewidth=1.2, label="predict 1")
ax.set_yscale("log")
ax.set_xlabel("update")
ax.set_ylabel("test mean squared error")
ax.set_title(f"Adding problem, T = {T}, hidden size {hidden}")
ax.legend()
plt.show()

# %%
# All three models start at the error of the constant prediction. The
# gradient that tells the tanh RNN to keep the first marked number passes
# through a product of at least ``T/2`` Jacobians
# :math:`\operatorname{diag}(1 - h_k^2) W_{hh}` and is far smaller than the
# gradient from the nearby steps (the figure of :doc:`plot_gradient_norms`
# shows how much smaller); in the printed runs it stays at the error of the
# constant prediction. The LSTM and GRU carry the numbers along the additive
# path of their cell or hidden state, where the gradient is multiplied only
# by the forget or update gate, and their error falls far below it.
