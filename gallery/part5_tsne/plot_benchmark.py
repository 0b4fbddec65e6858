"""
dlbook, scikit-learn and openTSNE side by side
==============================================

Every method embeds the same MNIST points (a fixed random subset of the
training set, PCA to 50 dimensions) in one run, one after the other, each
offered the same two threads (dlbook's ``TSNE`` uses one, its default
``n_threads``), with perplexity 30 and 750 iterations (250 of them with
early exaggeration 12). The table reports for each method:

* the wall time of the whole fit (nearest neighbours and affinities included);
* the method's own final KL divergence;
* the KL divergence of its map against *one common* P (dlbook's sparse P,
  exact normaliser), which makes the numbers comparable across libraries
  that build P slightly differently;
* the trustworthiness (k = 12, :func:`sklearn.manifold.trustworthiness`) on a
  fixed subsample of the points.

This page runs the comparison live at a size set by the budget. The
chapter's full-size result (10,000 points) comes from the documented
command ``python -m dlbook.manifold.benchmark --n 10000 --out docs/results/``
and is shown below the live table. See :doc:`/part5/tsne`.
"""

# %%
# The live run
# ------------
import json
from pathlib import Path

import matplotlib.pyplot as plt

from dlbook.budget import by_budget, get_budget
from dlbook.manifold.benchmark import run_benchmark
from dlbook.plotting import PALETTE, use_style

use_style()
n = by_budget(smoke=300, ci=400, default=1500, full=10000)
trust_n = min(n, 2000)
print(f"budget={get_budget()}: {n} points")
live = run_benchmark(
    n=n, methods=("dlbook-fft", "dlbook-exact", "sklearn", "openTSNE"), n_jobs=2, trust_n=trust_n
)


def table(result):
    head = f"{'method':<14}{'time (s)':>10}{'KL (own)':>10}{'KL (common P)':>15}{'trust.':>9}"
    lines = [head, "-" * len(head)]
    for r in result["results"]:
        if "skipped" in r:
            lines.append(f"{r['method']:<14}  skipped: {r['skipped']}")
        else:
            lines.append(
                f"{r['method']:<14}{r['seconds']:>10.1f}{r['kl_own']:>10.3f}"
                f"{r['kl_common_P']:>15.3f}{r['trustworthiness']:>9.4f}"
            )
    q = result["ratios"]
    for r in result["results"]:
        name = r["method"]
        if not name.startswith("dlbook-fft") or "seconds" not in r:
            continue
        # "dlbook-fft" (defaults) has no prefix in the ratios, "dlbook-fft-p3" has "p3_"
        prefix = "" if name == "dlbook-fft" else name[len("dlbook-fft-") :] + "_"
        if prefix + "time_dlbook_fft_over_openTSNE" in q:
            lines.append(
                f"{name} vs openTSNE: time x{q[prefix + 'time_dlbook_fft_over_openTSNE']:.2f}, "
                f"KL (own) {100 * q[prefix + 'kl_own_relative_difference']:+.1f}%, "
                f"KL (common P) {100 * q[prefix + 'kl_common_P_relative_difference']:+.1f}%, "
                f"trustworthiness {q[prefix + 'trustworthiness_difference']:+.4f}"
            )
    return "\n".join(lines)


print(table(live))

# %%
# The committed 10,000-point result
# ---------------------------------
# Written by ``python -m dlbook.manifold.benchmark --n 10000 --out docs/results/``;
# the file records the command, commit, hardware and date.
here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
candidates = [
    p / "docs" / "results" / "tsne_benchmark_mnist_10000.json" for p in [here, *here.parents]
]
path = next(p for p in candidates if p.exists())
saved = json.loads(path.read_text())
print(f"command:  {saved['command']}")
print(f"commit:   {saved['commit']}")
print(f"date:     {saved['date_utc']}")
print(f"hardware: {saved['hardware']['cpu']}, {saved['hardware']['threads_used']} threads")
print(table(saved))

# %%
# Time and quality at a glance
# ----------------------------
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
colour = {
    "dlbook-fft": PALETTE[0],
    "dlbook-exact": PALETTE[1],
    "sklearn": PALETTE[2],
    "openTSNE": PALETTE[3],
}
# other node counts of the FFT method ("dlbook-fft-p3", ...) in the remaining colours
extra = PALETTE[4:] if len(PALETTE) > 4 else PALETTE
for result in (live, saved):
    for r in result["results"]:
        if r["method"] not in colour:
            colour[r["method"]] = extra[(len(colour) - 4) % len(extra)]
for ax, result, title in [
    (axes[0], live, f"live run, N = {n}"),
    (axes[1], saved, f"committed run, N = {saved['settings']['n']}"),
]:
    rows = [r for r in result["results"] if "seconds" in r]
    names = [r["method"] for r in rows]
    ax.barh(names, [r["seconds"] for r in rows], color=[colour[m] for m in names])
    for i, r in enumerate(rows):
        ax.text(
            r["seconds"],
            i,
            f"  KL {r['kl_common_P']:.3f}, T {r['trustworthiness']:.3f}",
            va="center",
            fontsize=8,
        )
    ax.set_xlabel("wall time (s)")
    ax.set_title(f"{title}\n(KL on the common P, T = trustworthiness)", fontsize=10)
    ax.set_xlim(0, 1.6 * max(r["seconds"] for r in rows))
fig.tight_layout()
plt.show()
