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
