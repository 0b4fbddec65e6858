"""The language-model benchmark runs and writes its record (no timing is asserted)."""

import json
import runpy
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def test_bench_lm_writes_record(tmp_path, monkeypatch, capsys):
    argv = ["benchmarks/bench_lm.py", "--tiny", "--repeat", "2", "--train-tokens", "400", "--out", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(ROOT / "benchmarks" / "bench_lm.py"), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    rec = json.loads((tmp_path / "bench_lm.json").read_text())
    assert "bench_lm.py --tiny" in rec["command"]
    for key in ("commit", "date", "load_start", "load_end", "matmul_peak_gflops", "quality"):
        assert key in rec
    assert set(rec["rows"]) == {"torch", "dlbook-full", "dlbook-adaptive", "torch-no-decoder", "dlbook-no-decoder"}
    assert set(rec["no_decoder_speedup_over_torch"]) == {"dlbook", "torch"}
    for r in rec["rows"].values():
        assert r["median_step_ms"] > 0 and r["tokens_per_s"] > 0
    assert rec["quality"]["dlbook-full"]["tokens"] == rec["quality"]["dlbook-adaptive"]["tokens"] > 0
    assert "wrote" in capsys.readouterr().out
