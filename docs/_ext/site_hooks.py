"""Small build hooks that shape the site as a reader sees it.

- ``sg_execution_times`` pages: sphinx-gallery writes them with jQuery and
  DataTables loaded from a CDN; the book is read offline, so those lines go
  (the table itself stays, as a plain sortable-free table).
- The root toctree: a caption that repeats the title of the one page under it
  (``Part I. …`` above ``Part I. …``) is dropped, so each part is listed once.
- Links from code: sphinx-codeautolink links names in the chapters' cells to
  the API; the gallery pages (linked by sphinx-gallery) and the API pages skip it.
- Rendered code: linter pragmas (``# noqa: E402``) are noise for a reader and
  are removed from the displayed code, not from the code that runs.
- API signatures: a module class that takes no arguments of its own shows
  ``()`` instead of the inherited ``(*args, **kwargs)``.
- API pages: a "Derived in" line lists the chapter sections that refer to the
  object, so a reader gets from the reference back to the derivation.
- Chapter downloads: the header's download menu offers the executed notebook
  (``.ipynb``, with its outputs) beside the MyST source (``.md``).
- Build times: at the end of a build, ``docs/_build/build-times.json`` lists
  the seconds each gallery script ran in this build (from sphinx-gallery's
  ``sg_execution_times`` files) and each page's cell execution (from
  myst-nb, with whether it ran now or came from the cache).
  ``benchmarks/time_build.py`` turns it into a results file.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from build_times import gallery_times
from docutils import nodes
from sphinx import addnodes

_CDN_BLOCK = re.compile(r"^  \.\. raw:: html\n.*?</script>\n(?=\n  \.\. list-table)", re.S | re.M)
_FIELDS = re.compile(r"\A\ufeff?(?:[ \t]*\n)*(?::[\w-]+:[^\n]*\n)*")
_NOQA = re.compile(r"[ \t]*#[ \t]*noqa\b[^\n]*")
CHAPTER_PREFIX = "part"
API_PREFIX = "api/generated/"


def strip_cdn(app, docname, source):
    if docname.endswith("sg_execution_times"):
        source[0] = _CDN_BLOCK.sub("", source[0])
    # sphinx-codeautolink links the chapters' cells; the gallery pages get their
    # links from sphinx-gallery, and the API pages are the targets themselves
    if docname.startswith(("gallery/", API_PREFIX)) and app.env.doc2path(docname).suffix == ".rst":
        # after any file-wide fields (":orphan:"), which must open the file
        head = _FIELDS.match(source[0]).end()
        source[0] = source[0][:head] + "\n.. autolink-skip:: file\n\n" + source[0][head:]


def _title_of(app, docname: str) -> str | None:
    path = app.env.doc2path(docname)
    try:
        for line in open(path, encoding="utf-8"):
            if line.startswith("# "):
                return line[2:].strip()
    except OSError:
        return None
    return None


def doctree_read(app, doctree):
    env = app.env
    docname = env.docname
    if docname == app.config.root_doc:
        for toc in doctree.findall(addnodes.toctree):
            entries = toc.get("entries", [])
            caption = toc.get("caption")
            if caption and len(entries) == 1 and _title_of(app, entries[0][1]) == caption:
                toc["caption"] = None
    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        if "noqa" in text and block.get("language", "python") in {"python", "ipython3", "default", "python3"}:
            cleaned = _NOQA.sub("", text)
            block.children = [nodes.Text(cleaned)]
            block.rawsource = cleaned
    if docname.startswith(CHAPTER_PREFIX):
        _collect_references(env, docname, doctree)


def _collect_references(env, docname, doctree):
    """Record, for each ``dlbook`` object a chapter refers to, the section it is referred from."""
    store = env.__dict__.setdefault("dlbook_derived", {})
    for key in [k for k, v in store.items() if any(d == docname for d, _, _ in v)]:
        store[key] = [e for e in store[key] if e[0] != docname]
    for ref in doctree.findall(addnodes.pending_xref):
        if ref.get("refdomain") != "py":
            continue
        target = ref.get("reftarget", "").lstrip("~.")
        module = ref.get("py:module")
        if not target.startswith("dlbook.") and module and module.startswith("dlbook"):
            target = f"{module}.{target}"
        if not target.startswith("dlbook."):
            continue
        section = ref
        while section is not None and not isinstance(section, nodes.section):
            section = section.parent
        if section is None or not section.get("ids"):
            continue
        title = section.next_node(nodes.title)
        entry = (docname, section["ids"][0], title.astext() if title else "")
        if entry not in store.setdefault(target, []):
            store[target].append(entry)


def merge_info(app, env, docnames, other):
    store = env.__dict__.setdefault("dlbook_derived", {})
    for key, entries in getattr(other, "dlbook_derived", {}).items():
        for e in entries:
            if e not in store.setdefault(key, []):
                store[key].append(e)


def purge_doc(app, env, docname):
    store = env.__dict__.get("dlbook_derived", {})
    for key in list(store):
        store[key] = [e for e in store[key] if e[0] != docname]


def api_pages_outdated(app, env, added, changed, removed):
    """A changed chapter can change the "Derived in" line of any API page."""
    if any(d.startswith(CHAPTER_PREFIX) for d in (added | changed | removed)):
        return [d for d in env.found_docs if d.startswith(API_PREFIX)]
    return []


def add_derived_in(app, doctree, docname):
    if not docname.startswith(API_PREFIX):
        return
    name = docname[len(API_PREFIX):]
    store = getattr(app.env, "dlbook_derived", {})
    entries = []
    for target, refs in sorted(store.items()):
        if target == name or target.startswith(name + "."):
            entries += [r for r in refs if r not in entries]
    if not entries:
        return
    entries.sort(key=lambda e: (e[0], e[1]))
    para = nodes.paragraph(classes=["dlbook-derived-in"])
    para += nodes.strong("", "Derived in: ")
    for i, (doc, anchor, title) in enumerate(entries[:6]):
        if i:
            para += nodes.Text("; ")
        chapter = app.env.titles.get(doc)
        number = chapter.get("secnumber") if chapter is not None else None
        label = ((f"{number[0]}. " if number else "") + (chapter.astext() if chapter is not None else doc)
                 + (f", § {title}" if title else ""))
        uri = app.builder.get_relative_uri(docname, doc) + "#" + anchor
        para += nodes.reference("", label, refuri=uri, internal=True)
    para += nodes.Text(".")
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    title = section.next_node(nodes.title)
    section.insert(section.index(title) + 1 if title is not None else 0, para)


def plain_signature(app, what, name, obj, options, signature, return_annotation):
    if what == "class" and signature in {"(*args, **kwargs)", "(*args: Any, **kwargs: Any)"}:
        return "()", return_annotation
    return None


def offer_notebook(app, pagename, templatename, context, doctree):
    """Copy the executed notebook myst-nb wrote for a page into ``_sources`` and offer it.

    sphinx-book-theme lists ``context["ipynb_source"]`` in the download menu
    (its ``add_header_buttons`` runs at priority 501, after this hook).
    """
    if app.builder.format != "html" or doctree is None:
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _guard_codeautolink_sections() -> None:
    """sphinx-codeautolink 0.20 pops a title for every section it leaves, also for a
    section it saw no title of, and fails with "pop from empty list" on such a page
    (the activations chapter). Pop only what was pushed."""
    try:
        from sphinx_codeautolink.extension.block import CodeBlockAnalyser
    except ImportError:  # the docs extra is not installed; conf.py then fails on the extension anyway
        return

    def depart_section(self, node) -> None:
        if self.title_stack:
            self.title_stack.pop()

    CodeBlockAnalyser.depart_section = depart_section


def write_build_times(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    try:
        from myst_nb.sphinx_ import NbMetadataCollector
    except ImportError:
        return
    notebooks = {}
    for docname in sorted(app.env.found_docs):
        data = NbMetadataCollector.get_doc_data(app.env).get(docname, {}).get("exec_data")
        if data:
            notebooks[docname] = {"seconds": data.get("runtime"), "method": data.get("method"),
                                  "succeeded": data.get("succeeded")}
    record = {"gallery": gallery_times(Path(app.srcdir)), "notebooks": notebooks,
              "plot_gallery": bool(app.config.sphinx_gallery_conf.get("plot_gallery", True))}
    (Path(app.outdir).parent / "build-times.json").write_text(json.dumps(record, indent=1))


def setup(app):
    _guard_codeautolink_sections()
    app.connect("build-finished", write_build_times)
    app.connect("source-read", strip_cdn)
    app.connect("doctree-read", doctree_read)
    app.connect("env-merge-info", merge_info)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-get-outdated", api_pages_outdated)
    app.connect("doctree-resolved", add_derived_in)
    app.connect("autodoc-process-signature", plain_signature)
    app.connect("html-page-context", offer_notebook, priority=500)
