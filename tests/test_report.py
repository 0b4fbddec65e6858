"""dlbook.report (results tables, the scoreboard) and dlbook.plotting.draw_graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlbook.report import Table, provenance_details, scoreboard, summarize_result

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


def test_table_formats_aligns_and_escapes():
    t = Table(["name", "acc", "time"], [["<b>", 0.98765, 61.0], ["plain", None, 5.5]],
              formats={"acc": ".1%", "time": lambda s: f"{s:.0f} s"}, caption="Demo", notes="n",
              provenance={"command": "python x.py", "hardware": {"cpus": 2}})
    assert t.cells() == [["<b>", "98.8%", "61 s"], ["plain", "–", "6 s"]]
    html = t._repr_html_()
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert '<td class="num">98.8%</td>' in html and '<td class="text">&lt;b&gt;</td>' in html
    assert "<caption>Demo</caption>" in html
    assert '<details class="dlbook-provenance">' in html and "cpus: 2" in html
    text = str(t).splitlines()
    assert text[0] == "Demo" and text[-1] == "n"
    assert len({len(line) for line in text[1:3]}) == 1  # header and first row aligned


def test_table_rejects_bad_shapes():
    with pytest.raises(ValueError, match="row 1 has 1 values, expected 2"):
        Table(["a", "b"], [[1, 2], [3]])
    with pytest.raises(ValueError, match="formats has 1 entries, expected 2"):
        Table(["a", "b"], [[1, 2]], formats=[".2f"])
    with pytest.raises(ValueError, match="unknown columns"):
        Table(["a", "b"], [[1, 2]], formats={"c": ".2f"})


def test_provenance_skips_empty_values():
    block = provenance_details({"commit": "abc", "note": "", "x": None})
    assert "<dt>commit</dt>" in block and "note" not in block and "<dt>x</dt>" not in block


def test_scoreboard_has_a_row_per_results_file():
    files = sorted(RESULTS.glob("*.json"))
    board = scoreboard(RESULTS)
    assert len(board.rows) == len(files) > 0
    for path, row in zip(files, board.rows):
        record = json.loads(path.read_text())
        assert row[-1].startswith((record.get("commit") or "–")[:7])
        assert board.provenance[f"docs/results/{path.name}"] == record.get("command", "–")
        assert row[1] != "–", f"no headline rule reads {path.name}"


def test_mnist3k_headline_is_the_best_row(tmp_path):
    path = RESULTS / "mnist3k.json"
    record = json.loads(path.read_text())
    best = max(record["rows"], key=lambda r: r["test_accuracy_mean"])
    row = summarize_result(path)
    assert f"{100 * best['test_accuracy_mean']:.2f}%" in row["headline"] and best["name"] in row["headline"]
    assert row["cite"] == "lee2013pseudo"
    own = tmp_path / "other.json"
    own.write_text(json.dumps({"experiment": "new", "reference": {"syllabus": "50%"}, "date": "2026-01-02T00:00"}))
    row = summarize_result(own)
    assert row["experiment"] == "new" and row["syllabus"] == "50%" and row["headline"] == "–"
    assert row["date"] == "2026-01-02" and row["commit"] == "–"


def test_draw_graph_checks_its_edges():
    import matplotlib

    matplotlib.use("Agg")
    from dlbook.plotting import draw_graph

    ax = draw_graph({"x": (0, 0), "y": (0, 2), "f": (3, 1)}, [("x", "f"), ("y", "f")], notes={"f": "1"})
    assert len(ax.patches) == 5 and not ax.axison
    with pytest.raises(ValueError, match="names 'z', which has no position"):
        draw_graph({"x": (0, 0)}, [("x", "z")])


def test_lm_claims_headline_names_the_controlled_runs(tmp_path):
    rows = [{"name": "claim-emb-equal", "test_ppl": 133.51, "epochs_run": 6.0, "wall_time": 1400.0},
            {"name": "claim-tied", "test_ppl": 131.54, "epochs_run": 6.0, "wall_time": 1000.0}]
    path = tmp_path / "lm-claims.json"
    path.write_text(json.dumps({"experiment": "lm", "dataset": "ptb", "rows": rows}))
    assert summarize_result(path)["headline"] == ("controlled runs of the write-up's hyper-parameter claims: 2 rows; "
                                                  "the 2 x 100 base: test perplexity 133.5 after 6 epochs")
    path.write_text(json.dumps({"experiment": "lm", "dataset": "ptb", "rows": rows + [
        {"name": "lstm-1x50", "test_ppl": 133.60, "epochs_run": 20.0, "wall_time": 2440.0}]}))
    assert summarize_result(path)["headline"].startswith("test perplexity 131.5 (claim-tied row")


def test_gutenberg_lm_file_says_the_write_up_is_not_comparable(tmp_path):
    path = tmp_path / "lm-gutenberg.json"
    path.write_text(json.dumps({"experiment": "lm", "dataset": "gutenberg", "rows": [
        {"name": "gutenberg-2x250-tied", "test_ppl": 150.0, "epochs_run": 4.0, "wall_time": 3000.0}]}))
    row = summarize_result(path)
    assert row["experiment"] == "lm (gutenberg)" and "not comparable" in row["syllabus"]
    assert "114.5" not in row["published"]  # the PTB anchor is not shown for another corpus


def test_lm_file_of_short_runs_is_headlined_as_a_throughput_probe(tmp_path):
    path = tmp_path / "gpu-lm-throughput.json"
    rows = [{"name": "zaremba-medium", "test_ppl": 141.7, "epochs_run": 2.3, "wall_time": 60.0, "tokens_per_s": 36194.3,
             "device": "cuda:0 (NVIDIA H200)"}]
    path.write_text(json.dumps({"experiment": "lm", "dataset": "ptb", "rows": rows}))
    assert summarize_result(path)["headline"] == (
        "throughput probe: zaremba-medium 36,194 tokens/s on cuda:0 (NVIDIA H200)")
    rows[0]["wall_time"] = 1800.0  # a 30-minute row is a perplexity result
    path.write_text(json.dumps({"experiment": "lm", "dataset": "ptb", "rows": rows}))
    assert summarize_result(path)["headline"].startswith("test perplexity 141.7")
