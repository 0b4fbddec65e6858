"""Checks on the book's Markdown sources that need no build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
# A backslash lost in a string (``"\tau"`` read as a tab, ``"\beta"`` as a
# backspace) leaves a control character where a TeX command was.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\t")


def test_pages_are_found():
    assert len(PAGES) > 20


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_no_control_characters(page):
    bad = [(n, line) for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
           if CONTROL.search(line)]
    assert not bad, f"{page.name}: control characters (a lost backslash?) on lines {[n for n, _ in bad]}"


def test_gallery_times_are_read_from_sphinx_gallery_tables(tmp_path):
    import sys

    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from build_times import gallery_times
    finally:
        sys.path.pop(0)
    folder = tmp_path / "gallery" / "part4_cnn"
    folder.mkdir(parents=True)
    (folder / "sg_execution_times.rst").write_text(
        "   * - :ref:`sphx_glr_gallery_part4_cnn_plot_pooling_regularization.py` "
        "(``plot_pooling_regularization.py``)\n     - 12:45.678\n     - 0.0\n"
        "   * - :ref:`sphx_glr_gallery_part4_cnn_plot_lenet_cnn.py` (``plot_lenet_cnn.py``)\n"
        "     - 00:18.000\n     - 0.0\n")
    assert gallery_times(tmp_path) == {"part4_cnn/plot_pooling_regularization.py": 765.678,
                                       "part4_cnn/plot_lenet_cnn.py": 18.0}


def test_gallery_progress_line_estimates_from_the_recorded_build():
    import sys

    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from gallery_hooks import progress_line
    finally:
        sys.path.pop(0)
    scripts = ["p1/plot_a.py", "p2/plot_b.py", "p3/plot_c.py"]
    expected = {"p1/plot_a.py": 30.0, "p2/plot_b.py": 150.0, "p3/plot_c.py": 90.0}
    assert progress_line("p2/plot_b.py", "default", scripts, ["p1/plot_a.py"], expected) == (
        "gallery 2/3: p2/plot_b.py at budget default, about 150 s, then about 2 min for 1 more "
        "(times of the recorded default build)")
    assert progress_line("p3/plot_c.py", "default", scripts, scripts[:2], expected).endswith(
        "about 90 s, the last one (times of the recorded default build)")
    assert "no recorded ci build" in progress_line("p1/plot_a.py", "ci", scripts, [], {})
