"""Number the book's chapters 1, 2, ... across all Parts, and their equations per chapter.

Sphinx numbers a ``:numbered:`` toctree from 1 again in every toctree, and
the book has one toctree per Part, so Part II would start again at chapter 1.
This extension numbers the chapters itself: a chapter is a page listed in
the toctree of a Part's index page (``partN/index``), taken in reading order.
Chapter *n* gets the title "n. Title" (also in the sidebar and the previous /
next links), and with ``numfig_secnum_depth = 1`` its equations, figures,
tables and proofs are numbered (n.1), (n.2), ... The other pages (Parts,
gallery, API) keep unnumbered titles.

It replaces Sphinx's own toctree collector by a subclass, so the numbers are
compared with the previous build's numbers of the same kind and an
incremental build rewrites only the pages whose numbers changed.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.environment.collectors.toctree import TocTreeCollector

PART = re.compile(r"^part\d+/index$")


def book_chapters(env) -> list[str]:
    """The chapters' docnames in reading order: the pages each Part's index lists."""
    chapters = []
    for part in env.toctree_includes.get(env.config.root_doc, []):
        if PART.match(part):
            chapters.extend(d for d in env.toctree_includes.get(part, []) if d in env.tocs)
    return chapters


class ChapterTocTreeCollector(TocTreeCollector):
    """Sphinx's collector, with the book's chapter numbers added to the section numbers."""

    def assign_section_numbers(self, env) -> list[str]:
        old = dict(env.toc_secnumbers)
        super().assign_section_numbers(env)
        for number, docname in enumerate(book_chapters(env), start=1):
            if docname in env.toc_secnumbers:  # numbered by a :numbered: toctree already
                continue
            # Every heading of the page needs an entry: the HTML writer falls
            # back to the title's number for a heading that has none.
            secnums = {}
            for ref in env.tocs[docname].findall(nodes.reference):
                secnums[ref["anchorname"]] = ()
                ref["secnumber"] = None
            secnums[""] = (number,)
            first = next(iter(env.tocs[docname].findall(addnodes.compact_paragraph)), None)
            if first is not None and first.children:
                first[0]["secnumber"] = [number]
            if docname in env.titles:
                env.titles[docname]["secnumber"] = [number]
            env.toc_secnumbers[docname] = secnums
        return [d for d in set(old) | set(env.toc_secnumbers) if old.get(d) != env.toc_secnumbers.get(d)]


def setup(app):
    for listener in list(app.events.listeners.get("env-get-updated", [])):
        owner = getattr(listener.handler, "__self__", None)
        if type(owner) is TocTreeCollector:
            owner.disable(app)
    app.add_env_collector(ChapterTocTreeCollector)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
