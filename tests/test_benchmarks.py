"""The layer benchmark runs and writes its record (no timing is asserted)."""

import json
import runpy
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def test_bench_layers_writes_record(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["benchmarks/bench_layers.py", "--repeat", "1", "--threads", "1",
                                      "--out", str(tmp_path)])
    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(ROOT / "benchmarks" / "bench_layers.py"), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    rec = json.loads((tmp_path / "bench_layers.json").read_text())
    assert rec["command"].startswith("python ") and "bench_layers.py --repeat 1" in rec["command"]
    for key in ("commit", "date", "cpu_count", "torch_version", "load_start", "load_end"):
        assert key in rec
    layers = {r["layer"] for r in rec["rows"]}
    assert {"conv2d", "batch_norm", "max_pool2d", "adaptive_max_pool2d"} <= layers
    for r in rec["rows"]:
        assert r["dlbook_ms"] > 0 and r["torch_ms"] > 0
        assert r["met"] == (r["ratio"] <= r["goal"])
    assert "wrote" in capsys.readouterr().out


def test_bench_embeddings_writes_record(tmp_path, monkeypatch, capsys):
    import os

    import pytest

    pytest.importorskip("gensim")
    root = os.environ.get("DLBOOK_DATA")
    if not root or not (Path(root) / "tinyshakespeare" / "input.txt").is_file():
        pytest.skip("DLBOOK_DATA has no tinyshakespeare/input.txt")
    monkeypatch.setattr(sys, "argv", ["benchmarks/bench_embeddings.py", "--corpus", "tinyshakespeare",
                                      "--sentences", "300", "--epochs", "1", "--threads", "1",
                                      "--ablation", "--ablation-sentences", "100", "--out", str(tmp_path)])
    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(ROOT / "benchmarks" / "bench_embeddings.py"), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    rec = json.loads((tmp_path / "bench_embeddings.json").read_text())
    assert rec["rows"][0]["model"] == "sg" and rec["rows"][0]["ratio"] > 0
    assert rec["rows"][0]["met"] == (rec["rows"][0]["ratio"] <= 3.0)
    ab = rec["ablation"]
    assert all(v > 0 for v in ab["ops"].values()) and ab["sentences"] == 100
    assert [(e["batch_words"], e["threads"]) for e in ab["epochs"]] == [(128, 1), (512, 1), (1024, 1), (128, 1)]
    assert "wrote" in capsys.readouterr().out
