"""The shared study runner: worker pool, aggregation, provenance and the command line."""

import json
import math

import pytest

from dlbook.experiments.__main__ import main
from dlbook.experiments.runner import (
    STUDIES,
    WorkerPool,
    check_jobs,
    mean_std,
    study_record,
    summarise,
    thread_count,
    write_results,
)
from dlbook.runs import provenance


@pytest.mark.parametrize("jobs", [1, 2])
def test_pool_results_and_errors(jobs, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with WorkerPool(jobs) as pool:
        futures = [pool.submit(math.factorial, n) for n in range(6)]
        bad = pool.submit(math.factorial, -1)
        assert [f.result() for f in futures] == [1, 1, 2, 6, 24, 120]
        with pytest.raises(ValueError):
            bad.result()
    assert pool.threads == thread_count(jobs)


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_bad_jobs(jobs):
    with pytest.raises(ValueError, match="'jobs'"):
        check_jobs(jobs)
    with pytest.raises(ValueError, match="'jobs'"):
        WorkerPool(jobs)


def test_summarise_and_mean_std():
    runs = [{"seed": s, "acc": a, "t": 10.0 * s} for s, a in enumerate([0.5, 0.7, 0.9])]
    row = summarise(runs, ["acc", "t"])
    assert row["seeds"] == [0, 1, 2] and row["acc_per_seed"] == [0.5, 0.7, 0.9]
    assert row["acc_mean"] == pytest.approx(0.7) and row["acc_std"] == pytest.approx(0.2)
    assert row["t_mean"] == 10.0 and row["t_std"] == 10.0
    assert mean_std([3.0]) == (3.0, 0.0)
    with pytest.raises(ValueError, match="'values'"):
        mean_std([])
    with pytest.raises(ValueError, match="'runs'"):
        summarise([], ["acc"])


def test_record_and_write(tmp_path):
    import time

    record = study_record("toy", "smoke", [{"name": "a"}], info=provenance(), started=time.perf_counter(),
                          jobs=1, protocol={"folds": 2})
    assert record["experiment"] == "toy" and record["protocol"] == {"folds": 2}
    assert {"commit", "hardware", "date", "study_wall_time", "torch_version"} <= set(record)
    path = write_results(record, tmp_path / "new", "toy.json", ["toy", "--note", "a b"], note="a b")
    saved = json.loads(path.read_text())
    assert saved["command"] == "python -m dlbook.experiments toy --note 'a b'" and saved["note"] == "a b"


def test_cli_lists_every_study(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in STUDIES)
    with pytest.raises(SystemExit):
        main(["no-such-study"])
