"""Run the Part II and Part III gallery scripts end to end at the ``smoke`` budget.

Scripts that read MNIST or Fashion-MNIST are skipped, with the reason, when
``DLBOOK_DATA`` does not hold them; nothing here touches the network.
"""

import runpy
from pathlib import Path

import matplotlib
import pytest

from dlbook.data import DataNotAvailableError, load_fashion_mnist, load_mnist

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GALLERY = Path(__file__).resolve().parents[1] / "gallery"
SCRIPTS = {
    "part2_optimization/plot_momentum_trajectories.py": (),
    "part2_optimization/plot_lasso_ista_fista.py": (),
    "part3_regularization/plot_init_variance.py": (),
    "part3_regularization/plot_dropout_mc.py": ("mnist",),
    "part3_regularization/plot_augmentation_grid.py": ("mnist", "fashion-mnist"),
    "part3_regularization/plot_kmeans_features.py": ("mnist",),
}
LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}


def _missing(datasets):
    for name in datasets:
        try:
            for split in ("train", "test"):
                LOADERS[name](split, download=False)
        except DataNotAvailableError as err:
            return f"{name} is not under DLBOOK_DATA ({str(err).splitlines()[0]})"
    return None


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_gallery_script_runs_at_smoke_budget(script, monkeypatch):
    reason = _missing(SCRIPTS[script])
    if reason:
        pytest.skip(reason)
    monkeypatch.setenv("DLBOOK_BUDGET", "smoke")
    try:
        runpy.run_path(str(GALLERY / script), run_name="__main__")
    finally:
        plt.close("all")
