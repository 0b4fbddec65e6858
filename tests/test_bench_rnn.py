"""The recurrent-layer benchmark runs and writes its record (no timing is asserted)."""

import json
import runpy
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def test_bench_rnn_writes_record(tmp_path, monkeypatch, capsys):
    argv = ["benchmarks/bench_rnn.py", "--tiny", "--repeat", "1", "--out", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(ROOT / "benchmarks" / "bench_rnn.py"), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    rec = json.loads((tmp_path / "bench_rnn.json").read_text())
    assert "bench_rnn.py --tiny" in rec["command"]
    for key in ("commit", "date", "cpu_count", "torch_version", "load_start", "load_end", "matmul_peak_gflops"):
        assert key in rec
    assert {(r["model"], r["shape"]) for r in rec["rows"]} == {("LSTM", "tiny"), ("GRU", "tiny")}
    for r in rec["rows"]:
        assert r["dlbook_ms"] > 0 and r["torch_ms"] > 0
        assert r["met"] == (r["ratio"] <= r["goal"])
        assert r["dlbook_fraction_of_peak"] == r["dlbook_gflops"] / rec["matmul_peak_gflops"]
    assert "wrote" in capsys.readouterr().out


def test_pass_flops_counts_three_products_per_layer():
    mod = runpy.run_path(str(ROOT / "benchmarks" / "bench_rnn.py"))
    # one layer, G = 4, T = 2, N = 3, I = H = 5: 3 passes of 2 T N G H (I + H) FLOPs
    assert mod["pass_flops"]("LSTM", 1, 5, 3, 2) == 3 * 2 * 2 * 3 * 4 * 5 * 10
