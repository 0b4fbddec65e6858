"""Budgets, seeding, the training loop and the plotting style."""

from __future__ import annotations

import pytest
import torch

from dlbook.budget import BUDGETS, by_budget, get_budget
from dlbook.runs import evaluate, fit, get_device, iterate_minibatches, seed_everything


def test_budget_reads_environment(monkeypatch):
    monkeypatch.delenv("DLBOOK_BUDGET", raising=False)
    assert get_budget() == "default"
    for b in BUDGETS:
        monkeypatch.setenv("DLBOOK_BUDGET", b)
        assert get_budget() == b
    assert by_budget(smoke=1, ci=2, default=3) == 3  # full falls back to default
    monkeypatch.setenv("DLBOOK_BUDGET", "quick")
    with pytest.raises(ValueError, match="DLBOOK_BUDGET must be one of"):
        get_budget()


def test_device_choice_prefers_override(monkeypatch):
    monkeypatch.setenv("DLBOOK_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")


def test_minibatches_cover_every_row_once():
    x = torch.arange(10)
    g = torch.Generator().manual_seed(0)
    seen = torch.cat([b for (b,) in iterate_minibatches(x, batch_size=3, generator=g)])
    assert sorted(seen.tolist()) == list(range(10))
    with pytest.raises(ValueError, match="same first dimension"):
        next(iterate_minibatches(torch.zeros(3), torch.zeros(4), batch_size=2))


def _run(seed):
    g = seed_everything(seed)
    X = torch.randn(200, 5)
    y = (X[:, 0] + X[:, 1] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    from dlbook.metrics import accuracy

    h = fit(model, torch.nn.functional.cross_entropy, opt, (X[:150], y[:150]), epochs=5,
            batch_size=25, val=(X[150:], y[150:]), metrics={"accuracy": accuracy}, generator=g,
            device=torch.device("cpu"), progress=False)
    return h, model, X, y


def test_fit_is_reproducible_and_learns():
    h1, model, X, y = _run(3)
    h2, _, _, _ = _run(3)
    assert h1.metrics == h2.metrics
    assert set(h1.metrics) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    assert h1["train_loss"][-1] < h1["train_loss"][0]
    assert h1.last("val_accuracy") > 0.8
    res = evaluate(model, X[150:], y[150:], loss_fn=torch.nn.functional.cross_entropy)
    assert res["loss"] == pytest.approx(h1.last("val_loss"))


def test_seed_everything_rejects_bad_seed():
    with pytest.raises(ValueError, match="'seed' must be a non-negative int"):
        seed_everything(-1)


def test_style_is_transparent_and_grey():
    import matplotlib as mpl

    from dlbook.plotting import FOREGROUND, use_style

    use_style()
    assert mpl.rcParams["savefig.transparent"] is True
    assert mpl.rcParams["text.color"] == FOREGROUND


def test_provenance_names_commit_date_and_machine():
    from datetime import datetime

    from dlbook.runs import provenance

    info = provenance()
    assert set(info) == {"commit", "uncommitted_changes", "date", "cpu", "cpu_count", "torch_threads",
                         "platform", "torch_version", "python_version"}
    if info["commit"] is not None:  # a git checkout (CI clones one); an sdist install has none
        assert len(info["commit"]) == 40 and int(info["commit"], 16) >= 0
        assert isinstance(info["uncommitted_changes"], bool)
    assert datetime.fromisoformat(info["date"]).tzinfo is not None
    assert info["torch_threads"] == torch.get_num_threads() and info["torch_version"] == torch.__version__
