"""
Weight scaling against Monte-Carlo dropout on a trained MLP
===========================================================

:doc:`/part3/dropout` shows that the weight-scaled network matches the
ensemble of thinned networks only in expectation of each pre-activation.
Here an MLP is trained on MNIST with :class:`dlbook.nn.Dropout` and
:class:`dlbook.optim.Nesterov`, and its test predictions from weight
scaling (evaluation mode) are compared with Monte-Carlo averages of the
softmax outputs of :math:`K` random thinned networks
(:func:`dlbook.regularization.mc_dropout_predict`).
"""

# %%
# Training
# --------
import matplotlib.pyplot as plt
import torch

from dlbook.budget import by_budget, get_budget
from dlbook.data import load_mnist
from dlbook.functional import cross_entropy
from dlbook.metrics import accuracy
from dlbook.nn import Dropout
from dlbook.optim import Nesterov
from dlbook.plotting import use_style
from dlbook.regularization import mc_dropout_predict
from dlbook.runs import fit, seed_everything

use_style()
generator = seed_everything(0)
n_train = by_budget(smoke=2_000, ci=10_000, default=20_000, full=60_000)
epochs = by_budget(smoke=1, ci=5, default=6, full=50)
hidden = by_budget(smoke=128, ci=512, default=800, full=1024)
Ks = by_budget(
    smoke=[1, 4],
    ci=[1, 2, 5, 10, 20, 50],
    default=[1, 2, 5, 10, 20, 50],
    full=[1, 2, 5, 10, 20, 50, 100],
)
n_test = by_budget(smoke=1_000, ci=2_000, default=3_000, full=10_000)
seeds = by_budget(smoke=1, ci=2, default=2, full=3)

train_images, train_labels = load_mnist("train")
test_images, test_labels = load_mnist("test")
X = train_images[:n_train].reshape(n_train, -1).float() / 255.0
y = train_labels[:n_train]
X_test = test_images[:n_test].reshape(n_test, -1).float() / 255.0
test_labels = test_labels[:n_test]

model = torch.nn.Sequential(
    Dropout(0.2),
    torch.nn.Linear(784, hidden),
    torch.nn.ReLU(),
    Dropout(0.5),
    torch.nn.Linear(hidden, hidden),
    torch.nn.ReLU(),
    Dropout(0.5),
    torch.nn.Linear(hidden, 10),
)
opt = Nesterov(model.parameters(), lr=0.05, momentum=0.9)
history = fit(
    model,
    cross_entropy,
    opt,
    (X, y),
    epochs=epochs,
    batch_size=100,
    val=(X_test, test_labels),
    metrics={"accuracy": accuracy},
    generator=generator,
    device=torch.device("cpu"),
)
print(
    f"budget={get_budget()}: {n_train} images, {epochs} epochs, hidden width {hidden}, "
    f"{history.seconds:.1f} s"
)

# %%
# Weight scaling and Monte-Carlo averages
# ---------------------------------------
# Weight scaling is one deterministic pass (inverted dropout: evaluation
# mode). The Monte-Carlo estimate averages the *probabilities* of :math:`K`
# thinned networks, the arithmetic ensemble mean; its accuracy and
# negative log-likelihood approach those of the full ensemble as
# :math:`K` grows. Each :math:`K` is repeated with a few seeds (two at the
# ``ci`` and ``default`` budgets, three at ``full``), on the first ``n_test`` test images.
model.eval()
with torch.no_grad():
    p_scaled = torch.softmax(model(X_test), dim=1)
acc_scaled = accuracy(p_scaled, test_labels)
nll_scaled = torch.nn.functional.nll_loss(p_scaled.clamp_min(1e-12).log(), test_labels).item()
print(f"weight scaling: test accuracy {acc_scaled:.4f}, NLL {nll_scaled:.4f}")

rows = []
for K in Ks:
    accs, nlls, gaps = [], [], []
    for seed in range(seeds):
        p_mc = mc_dropout_predict(model, X_test, K, generator=torch.Generator().manual_seed(seed))
        accs.append(accuracy(p_mc, test_labels))
        nlls.append(torch.nn.functional.nll_loss(p_mc.clamp_min(1e-12).log(), test_labels).item())
        gaps.append((p_mc - p_scaled).abs().sum(1).mean().item() / 2)
    rows.append((K, sum(accs) / seeds, sum(nlls) / seeds, sum(gaps) / seeds))
    print(
        f"K = {K:3d}: MC accuracy {rows[-1][1]:.4f}, NLL {rows[-1][2]:.4f}, "
        f"mean total-variation distance to weight scaling {rows[-1][3]:.4f}"
    )

# %%
# The figure plots the three quantities against :math:`K`, with weight
# scaling as a horizontal line. A single thinned network (:math:`K = 1`) is
# a poor predictor; averaging more of them improves accuracy and NLL, with
# diminishing returns. Whether the converged Monte-Carlo average ends up
# above or below weight scaling depends on the model and on how long it
# was trained; the printed numbers above are this build's answer. The
# total-variation distance levels off above zero: the arithmetic ensemble
# mean and the weight-scaled network are different predictors, as the
# chapter argues.
Kt = [r[0] for r in rows]
fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
axes[0].semilogx(Kt, [100 * r[1] for r in rows], "o-", label="Monte-Carlo average")
axes[0].axhline(100 * acc_scaled, ls="--", color="#808080", label="weight scaling")
axes[0].set_ylabel("test accuracy (%)")
axes[1].semilogx(Kt, [r[2] for r in rows], "o-")
axes[1].axhline(nll_scaled, ls="--", color="#808080")
axes[1].set_ylabel("test NLL")
axes[2].semilogx(Kt, [r[3] for r in rows], "o-")
axes[2].set_ylabel("TV distance to weight scaling")
for ax in axes:
    ax.set_xlabel("thinned networks averaged, $K$")
axes[0].legend()
fig.suptitle("Dropout MLP on MNIST: weight scaling vs Monte-Carlo averaging")
fig.tight_layout()
plt.show()

assert rows[0][1] < rows[-1][1], "averaging more thinned networks must help"
