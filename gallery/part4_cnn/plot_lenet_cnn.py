"""
A LeNet-style CNN made only of dlbook layers
============================================

The network below is built twice from the same recipe: once from
:mod:`dlbook.nn` layers, whose backward passes are the ones derived in
:doc:`/part4/convolution`, :doc:`/part4/pooling` and
:doc:`/part4/batch_norm`, and once from the :mod:`torch.nn` built-ins. Both
start from the same weights and see the same mini-batches. The script reports their
test accuracy, their wall time and the speed ratio, then shows the learned
filters and the feature maps of one digit.

The architecture follows LeNet-5 (LeCun et al., 1998) with batch
normalization after each convolution and max pooling instead of
subsampling. Its two "fully connected" layers are convolutions: a
:math:`5 \\times 5` filter over a :math:`5 \\times 5` map, then a
:math:`1 \\times 1` filter (see the exercises of :doc:`/part4/convolution`).
Dropout (:class:`dlbook.nn.Dropout`, derived in :doc:`/part3/dropout`)
acts on the 256 features before the last layer. The two dropout layers draw
different masks, so after the first step the two runs differ by more than
rounding; the exact comparison below is made before training, with dropout
switched off.
"""

# %%
# The two networks
# ----------------
import copy
import time

import matplotlib.pyplot as plt
import torch

import dlbook.nn as dnn
from dlbook.budget import by_budget, get_budget
from dlbook.data import load_mnist
from dlbook.functional import cross_entropy
from dlbook.metrics import accuracy
from dlbook.plotting import use_style
from dlbook.runs import evaluate, fit, get_device, provenance, seed_everything

use_style()
budget = get_budget()
device = get_device()
# the live run of the docs build; ``full`` is the recorded run (docs/results/lenet_full.txt)
n_train = by_budget(smoke=500, ci=6_000, default=10_000, full=60_000)
epochs = by_budget(smoke=1, ci=2, default=3, full=12)
c1, c2, c3 = 20, 50, 256
p_drop = 0.3


class LeNet(torch.nn.Module):
    """conv5-BN-ReLU-pool, conv5-BN-ReLU-pool, conv5 (dense)-BN-ReLU-dropout, conv1 (dense)."""

    def __init__(self, nn):
        super().__init__()
        self.features = torch.nn.Sequential(
            nn.Conv2d(1, c1, 5, padding=2),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 5),
            nn.BatchNorm2d(c3),
            nn.ReLU(),
            nn.Dropout(p_drop),
            nn.Conv2d(c3, 10, 1),
        )

    def forward(self, x):
        return self.features(x).flatten(1)


seed_everything(0)
ours = LeNet(dnn)
reference = LeNet(torch.nn)
reference.load_state_dict(ours.state_dict())  # same parameter names, same start
print(ours)
print(
    f"{sum(p.numel() for p in ours.parameters())} parameters; budget={budget}, "
    f"{n_train} training images, {epochs} epochs, device {device}"
)
print("run:", provenance())

# %%
# Before training, the two networks agree on a batch to rounding error, in
# the outputs and in every parameter gradient.
train_images, train_labels = load_mnist("train")
test_images, test_labels = load_mnist("test")
mean, std = 0.1307, 0.3081
X = ((train_images[:n_train].float() / 255.0 - mean) / std).unsqueeze(1)
y = train_labels[:n_train]
X_test = ((test_images.float() / 255.0 - mean) / std).unsqueeze(1)
# The check runs on float64 copies, so that rounding does not hide a wrong
# gradient. (The biases of the convolutions followed by batch normalization
# have gradient zero up to rounding: the mean subtraction removes them.)
xb, yb = X[:64].double(), y[:64]
pair = [copy.deepcopy(m).double() for m in (ours, reference)]
for model in pair:
    for layer in model.modules():
        if isinstance(layer, (dnn.Dropout, torch.nn.Dropout)):
            layer.eval()  # batch norm stays in training mode
    cross_entropy(model(xb), yb).backward()
out_diff = (pair[0](xb) - pair[1](xb)).abs().max().item()
params = zip(pair[0].parameters(), pair[1].parameters())
grad_diff = max((a.grad - b.grad).abs().max().item() for a, b in params)
print(f"float64, largest difference: outputs {out_diff:.1e}, gradients {grad_diff:.1e}")
assert out_diff < 1e-10 and grad_diff < 1e-10

# %%
# Training
# --------
# SGD with Nesterov momentum and a cosine learning-rate schedule, batches of
# 64, the same shuffling for both networks.
histories, seconds = {}, {}
for name, model in (("dlbook.nn", ours), ("torch.nn", reference)):
    generator = seed_everything(1)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    start = time.perf_counter()
    histories[name] = fit(
        model,
        cross_entropy,
        optimizer,
        (X, y),
        epochs=epochs,
        batch_size=64,
        generator=generator,
        device=device,
        scheduler=scheduler,
        desc=name,
    )
    seconds[name] = time.perf_counter() - start

print(f"{'layers':<10} {'test accuracy':>13} {'train loss':>10} {'wall time':>10}")
for name, model in (("dlbook.nn", ours), ("torch.nn", reference)):
    acc = evaluate(model, X_test, test_labels, metrics={"accuracy": accuracy}, device=device)
    histories[name].test_accuracy = acc["accuracy"]
    print(
        f"{name:<10} {acc['accuracy']:13.4f} {histories[name].last('train_loss'):10.4f} "
        f"{seconds[name]:9.1f}s"
    )
ratio = seconds["dlbook.nn"] / seconds["torch.nn"]
print(f"speed ratio (dlbook / torch wall time): {ratio:.2f}")

# %%
# Training curves
# ---------------
fig, ax = plt.subplots(figsize=(6, 3.4))
for name, marker in (("dlbook.nn", "o"), ("torch.nn", "x")):
    h = histories[name]
    ax.plot(h.epochs, h["train_loss"], marker=marker, label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("training loss (running mean)")
ax.set_title("The same LeNet from two sets of layers")
ax.legend()
plt.show()

# %%
# Learned filters and feature maps
# --------------------------------
# The first layer's filters of the dlbook network, and what the first two
# stages (after batch normalization and ReLU) compute for one test digit.
ours.cpu().eval()
filters = ours.features[0].weight.detach()[:, 0]
fig, axes = plt.subplots(2, 10, figsize=(9, 2.2))
for ax, f in zip(axes.flat, filters):
    ax.imshow(f, cmap="RdBu_r", vmin=-filters.abs().max(), vmax=filters.abs().max())
    ax.axis("off")
fig.suptitle(f"The {c1} first-layer filters (5 x 5), red positive, blue negative")
plt.show()

digit = X_test[:1]
with torch.no_grad():
    stage1 = ours.features[:3](digit)[0]
    stage2 = ours.features[:7](digit)[0]
fig = plt.figure(figsize=(9, 4.2))
grid = fig.add_gridspec(3, 11)
ax = fig.add_subplot(grid[:, :3])
ax.imshow(digit[0, 0], cmap="gray_r")
ax.set_title(f"input (label {test_labels[0].item()})")
ax.axis("off")
for i in range(8):
    a = fig.add_subplot(grid[i // 4, 3 + 2 * (i % 4) : 5 + 2 * (i % 4)])
    a.imshow(stage1[i], cmap="viridis")
    a.axis("off")
for i in range(8):
    a = fig.add_subplot(grid[2, 3 + i])
    a.imshow(stage2[i], cmap="viridis")
    a.axis("off")
fig.suptitle("feature maps: 8 of the first stage (28 x 28), 8 of the second (10 x 10)")
plt.show()
