"""
Softmax regression on MNIST with the hand-derived gradient
==========================================================

This example trains softmax regression on MNIST without autograd: every
step uses the gradient derived in :doc:`/part1/softmax`,

.. math::

    \\nabla_{\\mathbf{W}} L = \\tfrac{\\beta}{N} (\\hat{\\mathbf{Y}} - \\mathbf{Y})^\\top \\mathbf{X},
    \\qquad
    \\nabla_{\\mathbf{b}} L = \\tfrac{\\beta}{N} (\\hat{\\mathbf{Y}} - \\mathbf{Y})^\\top \\mathbf{1},

computed by :func:`dlbook.linear.softmax_regression_loss_and_grad`. Before
training, the gradient is compared with autograd's. After training, the
inverse temperature :math:`\\beta` of the trained model is varied to show
what it does and does not change.
"""

# %%
# Data
# ----
import time

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator

from dlbook.budget import by_budget, get_budget
from dlbook.data import load_mnist
from dlbook.functional import cross_entropy, softmax
from dlbook.linear import softmax_regression_loss_and_grad
from dlbook.metrics import accuracy, topk_error
from dlbook.plotting import use_style
from dlbook.runs import iterate_minibatches, progress_bar, seed_everything

use_style()
generator = seed_everything(0)
budget = get_budget()
n_train = by_budget(smoke=2_000, ci=20_000, default=60_000)
epochs = by_budget(smoke=1, ci=3, default=5, full=30)

train_images, train_labels = load_mnist("train")
test_images, test_labels = load_mnist("test")
X = train_images[:n_train].reshape(n_train, -1).float() / 255.0
y = train_labels[:n_train]
X_test = test_images.reshape(len(test_images), -1).float() / 255.0
mean = X.mean(0)
X, X_test = X - mean, X_test - mean
print(f"budget={budget}: {n_train} training images, {epochs} epochs, {len(X_test)} test images")

# %%
# The hand-derived gradient against autograd
# ------------------------------------------
# In float64, on a random model and 100 images, the two gradients agree to
# rounding error.
W = torch.randn(10, 784, dtype=torch.float64, generator=generator) * 0.01
b = torch.zeros(10, dtype=torch.float64)
Xb, yb = X[:100].double(), y[:100]
loss, gW, gb = softmax_regression_loss_and_grad(W, b, Xb, yb, beta=2.0)
Wa, ba = W.clone().requires_grad_(), b.clone().requires_grad_()
torch.nn.functional.cross_entropy(2.0 * (Xb @ Wa.T + ba), yb).backward()
err_W = ((gW - Wa.grad).abs().max() / Wa.grad.abs().max()).item()
err_b = ((gb - ba.grad).abs().max() / ba.grad.abs().max()).item()
print(f"max relative difference: grad W {err_W:.2e}, grad b {err_b:.2e}")
assert err_W < 1e-12 and err_b < 1e-12

# %%
# Training with plain mini-batch SGD
# ----------------------------------
W = torch.zeros(10, 784)
b = torch.zeros(10)
lr, batch_size = 0.5, 100
history = {"epoch": [], "train_loss": [], "test_loss": [], "test_error": []}
start = time.perf_counter()
for epoch in progress_bar(range(1, epochs + 1), desc="softmax regression"):
    total, seen = 0.0, 0
    for xb, yb in iterate_minibatches(X, y, batch_size=batch_size, generator=generator):
        loss, gW, gb = softmax_regression_loss_and_grad(W, b, xb, yb)
        W -= lr * gW
        b -= lr * gb
        total += loss.item() * len(xb)
        seen += len(xb)
    logits = X_test @ W.T + b
    history["epoch"].append(epoch)
    history["train_loss"].append(total / seen)
    history["test_loss"].append(cross_entropy(logits, test_labels).item())
    history["test_error"].append(topk_error(logits, test_labels, k=1))
seconds = time.perf_counter() - start

logits = X_test @ W.T + b
print(f"trained in {seconds:.1f} s")
print(f"test accuracy {accuracy(logits, test_labels):.4f}, "
      f"top-1 error {topk_error(logits, test_labels, 1):.4f}, "
      f"top-2 error {topk_error(logits, test_labels, 2):.4f}, "
      f"top-5 error {topk_error(logits, test_labels, 5):.4f}")

fig, ax = plt.subplots()
ax.plot(history["epoch"], history["train_loss"], marker="o", label="training loss (running mean)")
ax.plot(history["epoch"], history["test_loss"], marker="s", label="test loss")
ax.set_xlabel("epoch")
ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs, not 1.25
ax.set_ylabel("cross-entropy")
ax.set_title("Softmax regression on MNIST, hand-derived gradient")
ax.legend()
plt.show()

# %%
# What the inverse temperature changes
# ------------------------------------
# Scaling the logits by :math:`\beta > 0` does not change their order, so
# the predicted class and every top-k error stay the same. It changes how
# confident the probabilities are: small :math:`\beta` flattens them towards
# uniform, large :math:`\beta` sharpens them towards one-hot. The test
# cross-entropy is smallest near the :math:`\beta` that makes the
# probabilities calibrated, which is the idea behind temperature scaling.
betas = torch.logspace(-1, 1, 21)
nll = [cross_entropy(beta * logits, test_labels).item() for beta in betas]
entropy = []
for beta in betas:
    p = softmax(logits, beta=float(beta))
    entropy.append(-(p * torch.log(p.clamp_min(1e-30))).sum(1).mean().item())
# Checked in float64: rounding beta * logits to float32 can turn two close
# logits into a tie (it never reverses their order), and a tie can change
# the arg max; in float64 two different float32 logits stay apart.
errors = {float(beta): topk_error(beta.double() * logits.double(), test_labels, 1) for beta in betas}
assert len(set(errors.values())) == 1, "top-1 error must not depend on beta > 0"
best = float(betas[torch.tensor(nll).argmin()])
print(f"top-1 error for every beta: {errors[1.0]:.4f}; test NLL is lowest at beta = {best:.2f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
ax1.semilogx(betas, nll, marker="o", ms=3, label="test cross-entropy")
ax1.semilogx(betas, entropy, marker="s", ms=3, label="mean entropy of $\\hat{y}$")
ax1.axvline(1.0, ls=":", color="#808080")
ax1.set_xlabel(r"inverse temperature $\beta$")
ax1.set_ylabel("nats")
ax1.legend(loc="lower left")
digit = 0
for i, beta in enumerate((0.25, 1.0, 4.0)):
    ax2.bar(torch.arange(10) + (i - 1) * 0.27, softmax(logits[digit], beta=beta), width=0.27,
            label=f"$\\beta$ = {beta}")
ax2.set_xticks(range(10))
ax2.set_xlabel(f"class (true class {test_labels[digit].item()})")
ax2.set_ylabel("probability")
ax2.legend()
fig.suptitle("The same trained model at three temperatures")
plt.show()
