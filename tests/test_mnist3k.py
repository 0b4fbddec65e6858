"""The MNIST-with-3,000-labels case study at the ``smoke`` budget.

Split properties and the pseudo-label loss are tested in
``test_semisupervised_splits.py``; here every row runs once, a run is
repeated to check determinism, and the command line writes its JSON.
All tests skip with the reason when ``DLBOOK_DATA`` lacks MNIST.
"""

import json

import pytest
import torch

from dlbook.experiments import CONFIGS, load_split, run_config
from dlbook.experiments.__main__ import main


@pytest.fixture
def smoke_data(mnist_available):
    return load_split("mnist", "smoke")


def test_split_sizes_and_disjoint_from_unlabeled_labels(smoke_data):
    X, y = smoke_data["labeled"]
    assert smoke_data["protocol"] == "realistic"
    assert X.shape == (2700, 1, 28, 28) and X.dtype == torch.float32
    assert torch.bincount(y, minlength=10).tolist() == [270] * 10
    assert torch.bincount(smoke_data["val"][1], minlength=10).tolist() == [30] * 10
    assert 0.0 <= float(X.min()) and float(X.max()) <= 1.0


def _rows(X):
    return {bytes(x.numpy().tobytes()) for x in X}


def test_realistic_protocol_validates_on_the_3000_labelled_images_only(smoke_data):
    large = load_split("mnist", "smoke", protocol="large-val")
    assert large["labeled"][0].shape[0] == 3000 and large["protocol"] == "large-val"
    train, val = _rows(smoke_data["labeled"][0]), _rows(smoke_data["val"][0])
    assert not train & val  # disjoint
    assert train | val == _rows(large["labeled"][0])  # together exactly the 3,000 labelled images
    assert not (train | val) & _rows(large["val"][0])  # none of the 10,000 other labelled images
    with pytest.raises(ValueError, match="'protocol'"):
        load_split("mnist", "smoke", protocol="test-set")


def test_split_costs_trains_like_realistic_and_validates_like_large_val(smoke_data):
    large = load_split("mnist", "smoke", protocol="large-val")
    mixed = load_split("mnist", "smoke", protocol="split-costs")
    assert torch.equal(mixed["labeled"][0], smoke_data["labeled"][0])
    assert torch.equal(mixed["val"][0], large["val"][0])
    assert mixed["protocol"] == "split-costs"


def test_results_file_names_carry_the_protocol():
    from argparse import Namespace

    from dlbook.experiments.mnist3k import results_name

    assert results_name(Namespace(dataset="mnist", protocol="large-val")) == "mnist3k.json"
    assert results_name(Namespace(dataset="mnist", protocol="realistic")) == "mnist3k-realistic.json"
    assert results_name(Namespace(dataset="fashion-mnist", protocol="split-costs")) == \
        "mnist3k-fashion-mnist-split-costs.json"


@pytest.mark.parametrize("name", list(CONFIGS))
def test_each_row_runs_and_beats_chance(smoke_data, name):
    r = run_config(name, seed=0, budget="smoke", data=smoke_data, progress=False)
    assert r["test_accuracy"] > 0.2, r["test_accuracy"]
    assert r["val_accuracy"] > 0.2
    assert len(r["history"]["val_accuracy"]) == r["epochs"]
    # the reported validation accuracy is the best epoch's (model selection on validation)
    assert r["val_accuracy"] == max(r["history"]["val_accuracy"])
    assert r["test_logits"].shape == (len(smoke_data["test"][1]), 10)


def test_smoke_run_is_deterministic(smoke_data):
    a = run_config("augment", seed=3, budget="smoke", data=smoke_data, progress=False)
    b = run_config("augment", seed=3, budget="smoke", data=smoke_data, progress=False)
    assert a["history"] == b["history"]
    assert torch.equal(a["test_logits"], b["test_logits"])
    c = run_config("augment", seed=4, budget="smoke", data=smoke_data, progress=False)
    assert not torch.equal(a["test_logits"], c["test_logits"])


def test_beyond_stage_zero_is_the_pseudo_row(smoke_data):
    p = run_config("pseudo", seed=1, budget="smoke", data=smoke_data, progress=False)
    b = run_config("beyond", seed=1, budget="smoke", data=smoke_data, progress=False)
    n = p["epochs"]
    assert b["history"]["val_accuracy"][:n] == p["history"]["val_accuracy"]  # the teacher is the pseudo row
    assert b["history"]["stage"] == [0.0] * n + [1.0] * (b["epochs"] - n) and b["epochs"] > n
    (labelling,) = b["pseudo_labels"]
    assert 0.0 < labelling["kept"] <= 1.0 and 0.0 <= labelling["precision"] <= 1.0
    assert b["val_accuracy"] >= p["val_accuracy"]  # selection runs over the teacher's epochs too


def test_cli_writes_json(mnist_available, tmp_path, capsys):
    assert main(["mnist3k", "--seeds", "2", "--budget", "smoke", "--out", str(tmp_path),
                 "--configs", "init", "kmeans", "--protocol", "large-val"]) == 0
    result = json.loads((tmp_path / "mnist3k.json").read_text())  # the large-val files keep the first name
    assert result["protocol"] == "large-val" and result["split"]["labeled"] == 3000
    assert result["budget"] == "smoke" and result["torch_version"] == torch.__version__
    assert result["command"].startswith("python -m dlbook.experiments mnist3k")
    assert {"date", "hardware", "commit"} <= set(result)
    assert [r["name"] for r in result["rows"]] == ["init", "kmeans"]
    for row in result["rows"]:
        accs = row["test_accuracy_per_seed"]
        assert len(accs) == 2 and row["test_accuracy_mean"] == pytest.approx(sum(accs) / 2)
        assert row["test_accuracy_std"] >= 0 and row["wall_time_mean"] > 0
    assert "wrote" in capsys.readouterr().out


def test_bad_arguments(smoke_data):
    with pytest.raises(ValueError, match="'name'"):
        run_config("resnet", data=smoke_data)
    with pytest.raises(ValueError, match="'base'"):
        run_config("pseudo", base="beyond", data=smoke_data)
    with pytest.raises(ValueError, match="'dataset'"):
        load_split("cifar")


def test_study_with_two_jobs_matches_single_thread_runs(smoke_data, monkeypatch):
    from dlbook.experiments import run_study

    monkeypatch.setattr("os.cpu_count", lambda: 2)  # two workers, one thread each
    study = run_study(seeds=1, budget="smoke", configs=["init", "pseudo"], jobs=2)
    assert [r["name"] for r in study["rows"]] == ["init", "pseudo"]
    assert study["hardware"]["jobs"] == 2 and study["hardware"]["torch_threads"] == 1
    assert "(on 'init')" in study["rows"][1]["description"]  # the only supervised row run is the base
    assert study["rows"][1]["base"] == "init" and study["rows"][0]["base"] is None
    assert study["protocol"] == "realistic" and study["split"]["val"] == 300
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        direct = run_config("init", seed=0, budget="smoke", data=smoke_data, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert study["rows"][0]["history_seed0"] == direct["history"]
    assert study["rows"][0]["test_accuracy_per_seed"] == [direct["test_accuracy"]]
    with pytest.raises(ValueError, match="'jobs'"):
        run_study(seeds=1, budget="smoke", configs=["init"], jobs=0)


def test_live_settings_shorten_only_the_default_budget():
    """The gallery's live run is shorter at ``default``; the study command's settings do not change."""
    from dlbook.experiments.mnist3k import LIVE_DEFAULT, budget_settings

    study, live = budget_settings("default"), budget_settings("default", live=True)
    assert live == study | LIVE_DEFAULT and live["epochs"] < study["epochs"]
    assert set(LIVE_DEFAULT) <= set(study)  # no misspelt key slips through unused
    for budget in ("smoke", "ci", "full"):
        assert budget_settings(budget, live=True) == budget_settings(budget)
