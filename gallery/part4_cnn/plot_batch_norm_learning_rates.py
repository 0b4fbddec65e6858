"""
Batch normalization across learning rates
=========================================

The same fully connected network, three hidden layers of 100 sigmoid units,
is trained on MNIST with plain SGD at several learning rates, once as it is
and once with :class:`dlbook.nn.BatchNorm1d` (derived in
:doc:`/part4/batch_norm`) between each linear layer and its sigmoid. For one
learning rate the script also follows the distribution of the inputs of one
sigmoid unit of the last hidden layer over training, the quantity plotted by
Ioffe and Szegedy (2015) for their MNIST network.
"""

# %%
# Data and models
# ---------------
import time

import matplotlib.pyplot as plt
import torch

import dlbook.nn as dnn
from dlbook.budget import by_budget, get_budget
from dlbook.data import load_mnist
from dlbook.functional import cross_entropy
from dlbook.metrics import accuracy
from dlbook.plotting import PALETTE, use_style
from dlbook.runs import iterate_minibatches, progress_bar, seed_everything

use_style()
budget = get_budget()
n_train = by_budget(smoke=1_000, ci=10_000, default=20_000, full=60_000)
epochs = by_budget(smoke=1, ci=3, default=4, full=30)
learning_rates = by_budget(
    smoke=[0.1, 2.0], ci=[0.02, 0.1, 0.5, 2.0, 8.0], default=[0.02, 0.1, 0.5, 2.0, 8.0]
)
watch_lr = 0.5 if 0.5 in learning_rates else learning_rates[0]
batch_size = 60

train_images, train_labels = load_mnist("train")
test_images, test_labels = load_mnist("test")
X = train_images[:n_train].reshape(n_train, -1).float() / 255.0
y = train_labels[:n_train]
X_test = test_images.reshape(len(test_images), -1).float() / 255.0
print(
    f"budget={budget}: {n_train} training images, {epochs} epochs, learning rates {learning_rates}"
)


class MLP(torch.nn.Module):
    """784-100-100-100-10 with sigmoids; optionally batch norm before each sigmoid."""

    def __init__(self, bn: bool):
        super().__init__()
        sizes = [784, 100, 100, 100]
        self.linears = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.norms = torch.nn.ModuleList(
            dnn.BatchNorm1d(b) if bn else torch.nn.Identity() for b in sizes[1:]
        )
        self.act = dnn.Sigmoid()
        self.out = torch.nn.Linear(100, 10)

    def forward(self, x, record=None):
        for linear, norm in zip(self.linears, self.norms):
            x = norm(linear(x))
            if record is not None:
                record.append(x.detach())
            x = self.act(x)
        return self.out(x)


# %%
# Training
# --------
# Both variants start from the same weights for each learning rate.
results = {}
watched = {}
probe = X_test[:1000]
for lr in learning_rates:
    for bn in (False, True):
        generator = seed_everything(0)
        model = MLP(bn)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        curve, trace = [], []
        start = time.perf_counter()
        for _ in progress_bar(range(epochs), desc=f"lr={lr} bn={bn}"):
            for step, (xb, yb) in enumerate(
                iterate_minibatches(X, y, batch_size=batch_size, generator=generator)
            ):
                loss = cross_entropy(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if lr == watch_lr and step % 20 == 0:
                    model.eval()
                    with torch.no_grad():
                        record = []
                        model(probe, record)
                        trace.append(
                            torch.quantile(record[-1][:, 0], torch.tensor([0.15, 0.5, 0.85]))
                        )
                    model.train()
            model.eval()
            with torch.no_grad():
                curve.append(accuracy(model(X_test), test_labels))
            model.train()
        results[(lr, bn)] = curve
        if trace:
            watched[bn] = torch.stack(trace)
        print(
            f"lr={lr:<5} {'with' if bn else 'without'} BN: test accuracy {curve[-1]:.4f} "
            f"({time.perf_counter() - start:.1f} s)"
        )

# %%
# Test accuracy against the learning rate
# ---------------------------------------
fig, ax = plt.subplots(figsize=(6, 3.6))
for bn, color, label in ((False, PALETTE[0], "without BN"), (True, PALETTE[1], "with BN")):
    ax.semilogx(
        learning_rates,
        [results[(lr, bn)][-1] for lr in learning_rates],
        marker="o",
        color=color,
        label=label,
    )
ax.set_xlabel("learning rate")
ax.set_ylabel(f"test accuracy after {epochs} epoch(s)")
ax.set_title("Sigmoid MLP on MNIST, plain SGD")
ax.legend()
plt.show()

# %%
# Distribution of one unit's pre-activation during training
# ---------------------------------------------------------
# The 15th, 50th and 85th percentiles, over 1000 test images, of the input
# to the first sigmoid of the last hidden layer (after batch normalization,
# when there is one).
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
for ax, bn in zip(axes, (False, True)):
    steps = torch.arange(len(watched[bn])) * 20
    for q, style in zip(range(3), (":", "-", ":")):
        ax.plot(steps, watched[bn][:, q], ls=style, color=PALETTE[1 if bn else 0])
    ax.set_title(f"{'with' if bn else 'without'} BN, lr = {watch_lr}")
    ax.set_xlabel("training step")
axes[0].set_ylabel("pre-activation (15/50/85 %)")
plt.show()

# %%
# What to look for. In the first figure, compare how much each curve moves
# across the learning rates: a deep sigmoid network without normalization
# starts on a plateau where its outputs barely depend on the input, and
# how fast it leaves it depends strongly on the step size. In the second
# figure, the three percentiles of a unit without batch normalization lie
# almost on top of each other while the network is on that plateau (the unit
# receives nearly the same input for every image), and their level drifts as
# the weights below change; with batch normalization the spread of the
# unit's input is set by :math:`\gamma` and :math:`\beta` and stays put. The
# printed accuracies are those of this run, at the budget shown at the top.
