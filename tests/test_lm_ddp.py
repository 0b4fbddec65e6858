"""Two gloo processes under torchrun give the parameters of one process with the same global batch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _free_port():
    with socket.socket() as s:  # a local bind, not a network connection
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_two_process_ddp_equals_single_process(tmp_path):
    if not (Path(os.environ.get("DLBOOK_DATA", "/nonexistent")) / "ptb").is_dir():
        pytest.skip("DLBOOK_DATA does not hold ptb/")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "DLBOOK_DEVICE": "cpu",
           "DLBOOK_BUDGET": "smoke"}
    common = ["-m", "dlbook.experiments", "lm", "--rows", "tiny", "--budget", "smoke", "--steps", "5"]
    single = tmp_path / "single.pt"
    subprocess.run([sys.executable, *common, "--out", str(tmp_path / "a"), "--save-params", str(single)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    double = tmp_path / "ddp.pt"
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                          "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), *common,
                          "--out", str(tmp_path / "b"), "--save-params", str(double)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    a, b = torch.load(single), torch.load(double)
    assert list(a) == list(b)
    for key in a:
        assert not torch.equal(a[key], torch.zeros_like(a[key])) or key.endswith("bias")
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0, msg=key)
    # the results file of the 2-process run records both processes and the global token count
    import json
    record = json.loads((tmp_path / "b" / "lm.json").read_text())
    assert record["processes"] == 2 and record["rows"][0]["processes"] == 2
    assert record["rows"][0]["tokens_seen"] == json.loads((tmp_path / "a" / "lm.json").read_text())["rows"][0][
        "tokens_seen"]


def test_checkpoint_dir_resumes_a_row_from_the_command_line(tmp_path):
    if not (Path(os.environ.get("DLBOOK_DATA", "/nonexistent")) / "ptb").is_dir():
        pytest.skip("DLBOOK_DATA does not hold ptb/")
    import json

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "DLBOOK_DEVICE": "cpu"}
    cmd = [sys.executable, "-m", "dlbook.experiments", "lm", "--rows", "tiny", "--budget", "smoke",
           "--checkpoint-dir", str(tmp_path / "ck")]
    rows = []
    for out in ("a", "b"):
        subprocess.run([*cmd, "--out", str(tmp_path / out)], cwd=ROOT, env=env, check=True, capture_output=True,
                       timeout=600)
        rows.append(json.loads((tmp_path / out / "lm.json").read_text())["rows"][0])
    assert (tmp_path / "ck" / "tiny-ptb-smoke-seed0.pt").exists()
    assert [r["segments"] for r in rows] == [1, 2]  # the second command found the finished run and trained no more
    assert rows[0]["device"] == "cpu"
    assert rows[0]["steps"] == rows[1]["steps"] and rows[0]["test_ppl"] == pytest.approx(rows[1]["test_ppl"])


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_each_ddp_process_keeps_its_own_checkpoint(tmp_path):
    if not (Path(os.environ.get("DLBOOK_DATA", "/nonexistent")) / "ptb").is_dir():
        pytest.skip("DLBOOK_DATA does not hold ptb/")
    import json

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "DLBOOK_DEVICE": "cpu"}
    rows = []
    for out in ("a", "b"):
        run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                              "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m",
                              "dlbook.experiments", "lm", "--rows", "tiny", "--budget", "smoke", "--steps", "4",
                              "--checkpoint-dir", str(tmp_path / "ck"), "--out", str(tmp_path / out)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        rows.append(json.loads((tmp_path / out / "lm.json").read_text())["rows"][0])
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == [
        "tiny-ptb-smoke-seed0.pt.rank0of2", "tiny-ptb-smoke-seed0.pt.rank1of2"]
    assert [r["segments"] for r in rows] == [1, 2] and rows[0]["test_ppl"] == pytest.approx(rows[1]["test_ppl"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_lm_command_trains_on_cuda_as_on_the_cpu(tmp_path):
    """With a GPU the command trains there (and says so); five steps end near the CPU's parameters, and a
    checkpoint written on the GPU resumes there and on the CPU."""
    if not (Path(os.environ.get("DLBOOK_DATA", "/nonexistent")) / "ptb").is_dir():
        pytest.skip("DLBOOK_DATA does not hold ptb/")
    import json

    common = [sys.executable, "-m", "dlbook.experiments", "lm", "--rows", "tiny", "--budget", "smoke", "--steps", "5"]
    params, rows = {}, {}
    for device in ("cpu", None):  # None: the automatic choice, which must be CUDA here
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        env.pop("DLBOOK_DEVICE", None)
        if device:
            env["DLBOOK_DEVICE"] = device
        name = device or "auto"
        subprocess.run([*common, "--out", str(tmp_path / name), "--save-params", str(tmp_path / f"{name}.pt")],
                       cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
        params[name] = torch.load(tmp_path / f"{name}.pt", map_location="cpu")
        record = json.loads((tmp_path / name / "lm.json").read_text())
        rows[name] = record["rows"][0]
        assert record["hardware"]["device"] == rows[name]["device"]
    assert rows["cpu"]["device"] == "cpu" and rows["auto"]["device"].startswith("cuda:0 (")
    for key in params["cpu"]:
        torch.testing.assert_close(params["auto"][key], params["cpu"][key], atol=1e-4, rtol=1e-4, msg=key)
    assert rows["auto"]["test_ppl"] == pytest.approx(rows["cpu"]["test_ppl"], rel=1e-3)

    cmd = [sys.executable, "-m", "dlbook.experiments", "lm", "--rows", "tiny", "--budget", "smoke",
           "--checkpoint-dir", str(tmp_path / "ck")]
    resumed = []
    for i, device in enumerate(("cuda", "cuda", "cpu")):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "DLBOOK_DEVICE": device}
        subprocess.run([*cmd, "--out", str(tmp_path / f"r{i}")], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=600)
        resumed.append(json.loads((tmp_path / f"r{i}" / "lm.json").read_text())["rows"][0])
    assert [r["segments"] for r in resumed] == [1, 2, 2]  # a finished run writes no new checkpoint
    assert resumed[1]["test_ppl"] == pytest.approx(resumed[0]["test_ppl"], rel=1e-6)
    assert resumed[2]["test_ppl"] == pytest.approx(resumed[0]["test_ppl"], rel=1e-3)
