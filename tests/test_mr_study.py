"""The MR study at the smoke budget: every row runs on one fold and beats chance; no test-only token leaks."""

import json

import pytest
import torch

from dlbook.data import stratified_kfold
from dlbook.experiments import mr
from dlbook.experiments.__main__ import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _tiny_corpus():
    g = torch.Generator().manual_seed(0)
    words = [f"w{i}" for i in range(50)]
    sentences = [[words[int(j)] for j in torch.randint(0, 50, (6,), generator=g)] for _ in range(200)]
    labels = torch.tensor([i % 2 for i in range(200)])
    return sentences, labels


def test_vocabulary_comes_from_training_folds_only():
    sentences, labels = _tiny_corpus()
    folds = stratified_kfold(labels, 10, seed=0)
    for i in folds[3].tolist():  # tokens that occur in the test fold only
        sentences[i] = sentences[i] + [f"testonly{i}"]
    data = mr.build_fold(sentences, labels, folds, 3)
    assert not any(t.startswith("testonly") for t in data["vocab"].itos)
    assert all(int(ids[-1]) == data["vocab"].unk_index for ids in data["test"]["ids"])
    test, train, val = (set(data[p]["index"].tolist()) for p in ("test", "train", "val"))
    assert not (test & train or test & val or train & val) and len(test | train | val) == 200
    assert abs(len(val) - 18) <= 1


def test_make_batches_pads_each_batch_to_its_longest():
    ids = [torch.arange(1, n + 1) for n in (3, 1, 7, 2, 5)]
    batches = mr.make_batches(ids, torch.arange(5), 2, pad=1)
    assert [tuple(b[0].shape) for b in batches] == [(2, 4), (2, 7), (1, 9)]  # lengths (1, 2), (3, 5), (7,)
    x, lens, y = batches[1]
    assert lens.tolist() == [3, 5] and y.tolist() == [0, 4] and x[0].tolist() == [0, 1, 2, 3, 0, 0, 0]
    shuffled = mr.make_batches(ids, torch.arange(5), 2, generator=torch.Generator().manual_seed(0))
    assert sorted(int(v) for b in shuffled for v in b[2]) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("row", list(mr.ROWS))
def test_every_row_beats_chance_at_smoke(row, monkeypatch):
    r = mr.run_fold(row, 0, "smoke", progress=False)
    assert r["test_accuracy"] > 0.55, (row, r["test_accuracy"])  # 1,067 test sentences: chance is 0.50 ± 0.015
    assert r["test_probabilities"].shape == (1067,)


def test_command_line_writes_and_merges(tmp_path):
    main(["mr", "--folds", "1", "--rows", "nbsvm", "--budget", "smoke", "--out", str(tmp_path)])
    first = json.loads((tmp_path / "mr.json").read_text())
    assert first["rows"][0]["name"] == "nbsvm" and len(first["rows"][0]["test_accuracy_per_fold"]) == 1
    assert first["command"].startswith("python -m dlbook.experiments mr") and first["commit"]
    from dlbook.runs import device_name, get_device
    assert first["hardware"]["device"] == device_name(get_device())
    main(["mr", "--folds", "1", "--rows", "qrnn", "--budget", "smoke", "--out", str(tmp_path), "--merge"])
    merged = json.loads((tmp_path / "mr.json").read_text())
    assert [r["name"] for r in merged["rows"]] == ["nbsvm", "qrnn"]
    assert merged["rows"][0]["run"]["command"] == first["command"] and "--merge" in merged["rows"][1]["run"]["command"]


def test_live_settings_shorten_only_the_default_budget():
    """The gallery's live run is shorter at ``default``; the study command's settings do not change."""
    study, live = mr.budget_settings("default"), mr.budget_settings("default", live=True)
    assert live == study | mr.LIVE_DEFAULT and live["epochs"] < study["epochs"]
    assert set(mr.LIVE_DEFAULT) <= set(study)  # no misspelt key slips through unused
    for budget in ("smoke", "ci", "full"):
        assert mr.budget_settings(budget, live=True) == mr.budget_settings(budget)


def test_beyond_reuses_its_members_cached_folds(tmp_path):
    """``beyond`` with its members' cached folds gives what training those networks again gives."""
    mr._run_task("cnn-rand", 0, "smoke", str(tmp_path))
    cached = json.loads((tmp_path / "mr-cnn-rand-smoke-fold0.json").read_text())
    assert len(cached["val_probabilities"]) == 960 and len(cached["test_probabilities"]) == 1067
    reused = mr._run_task("beyond", 0, "smoke", str(tmp_path))
    for m in mr.BEYOND_MEMBERS:  # the members missing from the cache were trained and stored there
        assert (tmp_path / f"mr-{m}-smoke-fold0.json").is_file()
    trained = mr.run_fold("beyond", 0, "smoke", progress=False)
    assert reused["members_reused"] == sorted(mr.BEYOND_MEMBERS) and trained["members_reused"] == []
    assert reused["member_test_accuracy"] == trained["member_test_accuracy"]
    assert reused["member_test_accuracy"]["cnn-rand"] == cached["test_accuracy"]
    assert abs(reused["test_accuracy"] - trained["test_accuracy"]) <= 2 / 1067  # probabilities rounded to 1e-5
    assert reused["wall_time"] > cached["wall_time"]
    assert reused["ensemble"]["members"] == [*mr.LINEAR_MEMBERS, *mr.BEYOND_MEMBERS]
    names = [*mr.LINEAR_MEMBERS, *mr.BEYOND_MEMBERS]  # the ablation: the ensemble itself, then refits without some
    assert list(reused["ablation"]) == ["all", *(f"without {m}" for m in names), "without the NBSVMs",
                                        "without the networks"]
    assert reused["ablation"]["all"] == reused["test_accuracy"]
    tuned = reused["tuned_on_test"]  # the weights chosen on the test fold: reported beside, never used
    assert tuned["fitted_accuracy"] == reused["test_accuracy"] <= tuned["accuracy"]
    for name in mr.LINEAR_MEMBERS:  # C: the grid's best on the validation part, ties to the larger
        val_acc = reused["nbsvm_val_accuracy"][name]
        assert set(val_acc) == {str(c) for c in mr.NBSVM_C_GRID}
        assert reused["nbsvm_C"][name] == max(mr.NBSVM_C_GRID, key=lambda c: (val_acc[str(c)], c))
    with pytest.raises(ValueError, match="argument 'members'"):
        mr.run_fold("beyond", 1, "smoke", members={"cnn-rand": cached})  # fold 0's result given for fold 1
    with pytest.raises(ValueError, match="argument 'members'"):
        mr.run_fold("cnn-rand", 0, "smoke", members={"cnn-rand": cached})


def test_seed_repeats_the_study_on_the_same_folds(tmp_path):
    """``seed`` changes the networks' seeds, not the fold; repeat 0 is the study as before; each repeat caches apart."""
    first = mr._run_task("cnn-rand", 1, "smoke", str(tmp_path))
    again = mr.run_fold("cnn-rand", 1, "smoke", progress=False)
    other = mr._run_task("cnn-rand", 1, "smoke", str(tmp_path), seed=1)
    assert (tmp_path / "mr-cnn-rand-smoke-fold1.json").is_file()
    assert (tmp_path / "mr-cnn-rand-smoke-seed1-fold1.json").is_file()
    assert again["test_probabilities"].tolist() == pytest.approx(first["test_probabilities"], abs=1e-5)
    assert len(other["test_probabilities"]) == len(first["test_probabilities"])  # the same test fold
    assert other["test_probabilities"] != first["test_probabilities"]  # another initialisation
    assert [mr.train_seed(k, 2) for k in (0, 9)] == [20, 29]
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="argument 'seed'"):
            mr.run_study(["nbsvm"], folds=1, budget="smoke", seed=bad)
    args = type("A", (), {"seed": 2})()
    assert mr.results_name(args) == "mr-seed2.json" and mr.results_name(type("A", (), {"seed": 0})()) == "mr.json"


def test_fold_vectors_see_no_test_fold_text(monkeypatch, tmp_path):
    """The cnn-static rows' vectors train on the fold's training sentences (and the book's corpora) only."""
    from dlbook.embeddings import SkipGram

    sentences, labels, folds = mr._corpus()
    data = mr.build_fold(sentences, labels, folds, 0, max_train=300)
    seen = []
    fit = SkipGram.fit

    def spy(self, text, progress=None):
        seen.extend(text)
        return fit(self, text, progress=progress)

    monkeypatch.setattr(SkipGram, "fit", spy)
    out = mr.fold_vectors(data, "smoke", path=tmp_path / "v.pt")
    training = [t for part in ("train", "val") for t in data[part]["tokens"] if t]
    assert sorted(map(tuple, seen)) == sorted(map(tuple, training))  # smoke: no book corpus, no test sentence
    v = out["vectors"]
    assert v.shape == (len(data["vocab"]), 32) and not v[0].any() and 0 < out["found"] < len(data["vocab"])
    assert abs(float(v[1:].var()) - 0.25 ** 2 / 3) < 0.005  # CNN-rand's scale
    again = mr.fold_vectors(data, "smoke", path=tmp_path / "v.pt")  # read back, not trained again
    assert torch.equal(again["vectors"], v) and len(seen) == len(training)


def test_kept_epoch_is_the_training_loops_choice_and_kims_tie_rule():
    """``kept_epoch(ties="first")`` replays the study's choice; ``"last"`` is Kim's code's ``>=``."""
    r = mr.run_fold("cnn-rand", 0, "smoke", progress=False)
    assert mr.kept_epoch(r["history"]["val_accuracy"]) == r["best_epoch"]
    assert r["test_accuracy"] == r["history"]["test_accuracy"][r["best_epoch"] - 1]
    val = [0.5, 0.7, 0.7, 0.6, 0.7, 0.65]
    assert (mr.kept_epoch(val), mr.kept_epoch(val, ties="last")) == (2, 5)
    assert mr.kept_epoch([0.4]) == mr.kept_epoch([0.4], ties="last") == 1
    with pytest.raises(ValueError, match="argument 'ties'"):
        mr.kept_epoch(val, ties="middle")
    with pytest.raises(ValueError, match="argument 'val_accuracy'"):
        mr.kept_epoch([])


def test_kim_init_starts_as_kims_code():
    model = mr.KimCNN(30, emb=8, maps=4, init="kim")
    for conv in model.convs:
        assert float(conv.weight.abs().max()) <= 0.01 and not conv.bias.any()
    assert not model.out.weight.any() and not model.out.bias.any() and not model.embedding.weight[0].any()
    assert float(model.embedding.weight.abs().max()) <= 0.25
    assert float(mr.KimCNN(30, emb=8, maps=4).out.weight.abs().max()) > 0  # the default start is not zero
    with pytest.raises(ValueError, match="argument 'init'"):
        mr.KimCNN(30, init="xavier")
