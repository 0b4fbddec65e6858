"""The built site as a reader sees it, in a real headless Chromium, offline.

Run after the site is built (the ``docs`` nox session runs it right after
``sphinx-build``)::

    python -m pytest tests/browser -q            # site in docs/_build/html
    python tests/browser/test_site.py            # the same checks, counts as JSON

Every page is opened at 1280 px and 390 px in the light and the dark theme
(chapters, part overviews and the other book pages in all four; the gallery
pages, which share one template, at 390 px light and 1280 px dark, where
their width and their figures are at risk; the 130 API pages, which share
another, at 390 px light). Checked:

- no horizontal overflow of the page, of a display equation or of a table;
- no MathJax error node;
- every chapter (``part*/*.html`` but the part overviews) has a figure;
- every local link, anchor and image of every page resolves (read from the
  HTML files, so all pages are covered);
- no request leaves the machine (each is aborted and counted) and the
  console shows no error;
- in dark mode, figures keep their transparent background (no white slab,
  no brightness filter);
- in dark mode, the book's tables stay on a dark background (no light panel)
  and their text keeps a contrast of at least 4.5 against it;
- at most one search field shows outside the text;
- read from the HTML files: every gallery figure has an alt text of its own
  (not one made from the script's file name); chapters are numbered across
  the Parts and their equations carry the chapter's number; each chapter
  with executed cells offers its notebook (``.ipynb``) for download.

Chromium is Debian's ``chromium`` package (``apt-get install chromium``),
driven by Playwright (``pip install -e '.[browser]'``; this installs only
the driver, never a browser). Where either is missing the tests skip and say
so; with ``CI=true`` they fail instead. ``DLBOOK_SITE`` points at another
built site, ``DLBOOK_CHROMIUM`` at another Chromium binary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("DLBOOK_SITE") or ROOT / "docs" / "_build" / "html").resolve()
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
WIDTHS = {"desktop": 1280, "mobile": 390}
LOAD_TIMEOUT_MS = 120_000  # generous: a loaded 2-core CI machine renders MathJax slowly
INSTALL_HINT = (
    "install Debian's Chromium and the Playwright driver: `apt-get install -y chromium` and "
    "`pip install -e '.[browser]'` (no browser is downloaded; set DLBOOK_CHROMIUM to use another binary)"
)


def _chromium() -> str | None:
    for name in (os.environ.get("DLBOOK_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (path := shutil.which(name)):
            return path
    return None


def _unavailable() -> str | None:
    """Why the suite cannot run here, or None."""
    if not (SITE / "index.html").exists():
        return f"no built site at {SITE}: build it first (`nox -s docs`, or sphinx-build -b html docs docs/_build/html)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: " + INSTALL_HINT
    if _chromium() is None:
        return "no Chromium found: " + INSTALL_HINT
    return None


# -- which pages, in which configurations -------------------------------------------------


def all_pages() -> list[Path]:
    skip_dirs = {"_static", "_sources", "_images", "_downloads", "_modules"}
    pages = []
    for p in sorted(SITE.rglob("*.html")):
        rel = p.relative_to(SITE)
        if rel.parts[0] in skip_dirs:
            continue
        pages.append(p)
    return pages


def is_chapter(rel: str) -> bool:
    parts = rel.split("/")
    return len(parts) == 2 and parts[0].startswith("part") and parts[1] != "index.html"


def is_template_page(rel: str) -> bool:
    """API and gallery pages: many pages from a few templates."""
    return rel.startswith(("api/generated/", "gallery/", "_modules/")) or rel in {"genindex.html", "py-modindex.html"}


def configurations(rel: str) -> list[tuple[str, str]]:
    if rel.startswith("api/generated/"):
        return [("mobile", "light")]  # 130 pages of one template: the width is what is at risk
    if is_template_page(rel):
        return [("mobile", "light"), ("desktop", "dark")]
    return [(w, t) for w in WIDTHS for t in ("light", "dark")]


# -- static check of links, anchors and images ----------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []
        self.images: list[tuple[str, str]] = []  # (src, alt)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append((a.get("src") or "", a.get("alt") or ""))
        for key in ("id", "name"):
            if a.get(key) and (key == "id" or tag == "a"):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.refs.append(("link", a["href"]))
        elif tag in {"img", "script"} and a.get("src"):
            self.refs.append(("image" if tag == "img" else "script", a["src"]))
        elif tag == "link" and a.get("href") and a.get("rel") in {"stylesheet", "preload"}:
            self.refs.append(("stylesheet", a["href"]))


_parsed: dict[Path, _Collector] = {}


def _parse(path: Path) -> _Collector:
    if path not in _parsed:
        c = _Collector()
        c.feed(path.read_text(encoding="utf-8", errors="replace"))
        _parsed[path] = c
    return _parsed[path]


def broken_local_refs(pages: list[Path]) -> list[str]:
    problems = []
    for page in pages:
        for kind, ref in _parse(page).refs:
            split = urlsplit(ref)
            if split.scheme or ref.startswith("//"):
                continue  # external links are the reader's to follow; requests are checked in the browser
            url, frag = urldefrag(ref)
            url = url.split("?", 1)[0]
            target = (page.parent / unquote(url)).resolve() if url else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{page.relative_to(SITE)}: {kind} {ref} -> missing file")
                continue
            if frag and target.suffix == ".html" and kind == "link":
                if unquote(frag) not in _parse(target).ids:
                    problems.append(f"{page.relative_to(SITE)}: {kind} {ref} -> missing anchor")
    return problems


def figures_without_alt_text(pages: list[Path]) -> list[str]:
    """Gallery figures (``sphx_glr_*``, thumbnails aside) whose alt text is empty or the file name."""
    problems = []
    for page in pages:
        for src, alt in _parse(page).images:
            name = src.rsplit("/", 1)[-1]
            if not name.startswith("sphx_glr_") or "thumb" in name:
                continue
            stem = name[len("sphx_glr_"):].rsplit(".", 1)[0]
            from_name = stem.rstrip("0123456789_").replace("_", " ").strip()
            if not alt.strip() or alt.strip() == from_name or alt.startswith("plot "):
                problems.append(f"{page.relative_to(SITE)}: {name} alt={alt!r}")
    return problems


_H1_NUMBER = re.compile(r'<h1>\s*<span class="section-number">(\d+)\. </span>')
_EQNO = re.compile(r'<span class="eqno">\(([\d.]+)\)')


def chapter_numbering(pages: list[Path]) -> list[str]:
    """Chapters carry numbers 1, 2, ... in reading order, their equations (n.k), and offer an .ipynb."""
    problems = []
    chapters = [p for p in pages if is_chapter(str(p.relative_to(SITE)))]
    numbers = {}
    for page in chapters:
        rel = str(page.relative_to(SITE))
        html = page.read_text(encoding="utf-8", errors="replace")
        m = _H1_NUMBER.search(html)
        if not m:
            problems.append(f"{rel}: the title has no chapter number")
            continue
        n = numbers[rel] = m.group(1)
        wrong = [e for e in _EQNO.findall(html) if e.split(".")[0] != n]
        if wrong:
            problems.append(f"{rel}: chapter {n} has equations numbered {wrong[:5]}")
        if "cell_output" in html or "cell docutils container" in html:
            if not any(ref.endswith(".ipynb") for _, ref in _parse(page).refs):
                problems.append(f"{rel}: no .ipynb download")
    if numbers and sorted(int(v) for v in numbers.values()) != list(range(1, len(numbers) + 1)):
        problems.append(f"chapter numbers are not 1..{len(numbers)}: {sorted(numbers.items())}")
    return problems


# -- the in-browser measurements ------------------------------------------------------------

MEASURE_JS = r"""
async () => {
  const out = {};
  if (document.querySelector('.math, mjx-container, script[type^="math/tex"]') && window.MathJax) {
    for (let i = 0; i < 100 && !(MathJax.startup && MathJax.startup.promise); i++)
      await new Promise(r => setTimeout(r, 50));
    if (MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  }
  // let the page's own scripts that wait on MathJax (dlbook.js) run first
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  await Promise.all(Array.from(document.images).filter(i => !i.complete)
                    .map(i => new Promise(r => { i.onload = i.onerror = r; })));
  const doc = document.documentElement;
  out.theme = doc.dataset.theme || '';
  out.pageOverflow = doc.scrollWidth - doc.clientWidth;
  const name = el => {
    const m = el.closest('[id]');
    const text = (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 60);
    return (m ? '#' + m.id + ' ' : '') + text;
  };
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const col = article.getBoundingClientRect();
  // display equations: wider than the column, or running into their number
  out.equations = [];
  for (const c of document.querySelectorAll('mjx-container[display="true"]')) {
    const box = c.parentElement.getBoundingClientRect();
    const right = Math.min(box.right, col.right);
    const math = c.querySelector('mjx-math') || c;
    const m = math.getBoundingClientRect();
    let why = null;
    const room = right - Math.max(box.left, col.left);
    if (m.width > room + 1 || c.scrollWidth > c.clientWidth + 1) why = 'wider than the column';
    const eqno = c.parentElement.querySelector(':scope > .eqno');
    if (!why && eqno) {
      const n = eqno.getBoundingClientRect();
      if (n.width && m.right > n.left + 1 && m.top < n.bottom && m.bottom > n.top) why = 'runs into its number';
    }
    if (why) out.equations.push(why + ': ' + name(c.parentElement));
  }
  out.tables = [];
  for (const t of article.querySelectorAll('table')) {
    const r = t.getBoundingClientRect();
    if (!r.width) continue;
    const holder = t.parentElement;
    if (r.right > col.right + 1 || t.scrollWidth > holder.clientWidth + 1 && r.width > col.width + 1)
      out.tables.push(Math.round(r.width) + ' px > ' + Math.round(col.width) + ' px: ' + name(t));
  }
  out.wideBlocks = [];
  for (const p of article.querySelectorAll('pre')) {
    if (p.scrollWidth > p.clientWidth + 1)
      out.wideBlocks.push(p.scrollWidth + ' px > ' + p.clientWidth + ' px: ' + name(p));
  }
  const shown = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0
    && getComputedStyle(e).visibility !== 'hidden'; };
  out.searchFields = Array.from(document.querySelectorAll('.search-button-field, form.bd-search'))
    .filter(e => shown(e) && !article.contains(e)).length;
  out.mathErrors = Array.from(document.querySelectorAll('mjx-merror, .MathJax_Error, [data-mjx-error]'))
    .map(e => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 80));
  const imgs = Array.from(article.querySelectorAll('img'));
  out.brokenImages = imgs.filter(i => i.complete && i.naturalWidth === 0).map(i => i.getAttribute('src'));
  out.figures = imgs.filter(i => i.naturalWidth >= 100 && i.getBoundingClientRect().width >= 100).length
    + Array.from(article.querySelectorAll('svg')).filter(s => s.getBoundingClientRect().width >= 100).length;
  out.darkSlabs = [];
  if (out.theme === 'dark') {
    for (const i of imgs) {
      if (i.naturalWidth < 100) continue;
      const s = getComputedStyle(i);
      const bg = s.backgroundColor;
      const clear = bg === 'transparent' || /rgba\(.*,\s*0\)$/.test(bg);
      if (!clear || (s.filter && s.filter !== 'none'))
        out.darkSlabs.push((i.getAttribute('src') || '').split('/').pop() + ': ' + bg + ', filter ' + s.filter);
    }
  }
  // the book's tables: the background they are seen on (the first opaque one from a cell outwards) stays dark,
  // and their text keeps a contrast of at least 4.5 (WCAG AA) against it
  out.darkTables = [];
  if (out.theme === 'dark') {
    const rgba = c => (c.match(/[\d.]+/g) || []).map(Number);
    const opaque = c => { const v = rgba(c); return v.length === 3 || (v.length === 4 && v[3] > 0); };
    const lum = c => { const [r, g, b] = rgba(c).slice(0, 3).map(v => (v /= 255) <= 0.03928 ? v / 12.92
                                                                 : Math.pow((v + 0.055) / 1.055, 2.4));
                       return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    for (const t of article.querySelectorAll('.dlbook-table table')) {
      const cell = t.querySelector('td') || t;
      let e = cell, bg = null;
      for (; e && !bg; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor; if (opaque(c)) bg = c; }
      bg = bg || 'rgb(255, 255, 255)';  // nothing opaque up to the root: the canvas is white
      const fg = getComputedStyle(cell).color;
      const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const caption = (t.querySelector('caption') || {}).textContent || '(no caption)';
      if (lum(bg) > 0.4 || (hi + 0.05) / (lo + 0.05) < 4.5)
        out.darkTables.push(caption.slice(0, 60) + ': text ' + fg + ' on ' + bg);
    }
  }
  return out;
}
"""


def crawl(pages: list[Path] | None = None) -> dict:
    """Open every page in its configurations; return the problems found, by kind."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    pages = all_pages() if pages is None else pages
    problems: dict[str, list[str]] = defaultdict(list)
    stats = {"pages": len(pages), "page_loads": 0, "chapters": 0, "blocked_requests": 0}
    start = time.perf_counter()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS, headless=True)
        for width_name, width in WIDTHS.items():
            for theme in ("light", "dark"):
                todo = [p for p in pages if (width_name, theme) in configurations(str(p.relative_to(SITE)))]
                if not todo:
                    continue
                context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=theme,
                                              service_workers="block")
                context.add_init_script(
                    f"try {{ localStorage.setItem('mode', '{theme}'); localStorage.setItem('theme', '{theme}'); }}"
                    " catch (e) {}"
                )
                where = {"rel": ""}

                def route(r, request=None, where=where):
                    url = r.request.url
                    if url.startswith(("file:", "data:", "blob:", "about:")):
                        r.continue_()
                    else:
                        stats["blocked_requests"] += 1
                        problems["requests"].append(f"{where['rel']}: {url}")
                        r.abort()

                context.route("**/*", route)
                page = context.new_page()
                tag = f"{width}px {theme}"

                def on_console(msg, where=where, tag=tag):
                    if msg.type == "error":
                        problems["console"].append(f"{where['rel']} [{tag}]: {msg.text[:200]}")

                def on_error(err, where=where, tag=tag):
                    problems["console"].append(f"{where['rel']} [{tag}]: uncaught {str(err)[:200]}")

                page.on("console", on_console)
                page.on("pageerror", on_error)
                for p in todo:
                    rel = str(p.relative_to(SITE))
                    where["rel"] = rel
                    try:
                        page.goto(p.as_uri(), wait_until="load", timeout=LOAD_TIMEOUT_MS)
                        m = page.evaluate(MEASURE_JS)
                    except PlaywrightError as err:
                        problems["load"].append(f"{rel} [{tag}]: {str(err).splitlines()[0][:160]}")
                        page.close()
                        page = context.new_page()
                        page.on("console", on_console)
                        page.on("pageerror", on_error)
                        continue
                    stats["page_loads"] += 1
                    label = f"{rel} [{tag}]"
                    if m["theme"] != theme:
                        problems["theme"].append(f"{label}: data-theme is {m['theme']!r}")
                    if m["pageOverflow"] > 1:
                        problems["page_overflow"].append(f"{label}: {m['pageOverflow']} px wider than the window")
                    problems["equation_overflow"] += [f"{label}: {e}" for e in m["equations"]]
                    problems["table_overflow"] += [f"{label}: {e}" for e in m["tables"]]
                    problems["wide_blocks"] += [f"{label}: {e}" for e in m["wideBlocks"]]
                    problems["math_errors"] += [f"{label}: {e}" for e in m["mathErrors"]]
                    problems["broken_images"] += [f"{label}: {e}" for e in m["brokenImages"]]
                    problems["dark_figures"] += [f"{label}: {e}" for e in m["darkSlabs"]]
                    problems["dark_tables"] += [f"{label}: {e}" for e in m["darkTables"]]
                    if m["searchFields"] > 1:
                        problems["search_fields"].append(f"{label}: {m['searchFields']} search fields")
                    if is_chapter(rel) and (width_name, theme) == ("desktop", "light"):
                        stats["chapters"] += 1
                        if m["figures"] == 0:
                            problems["chapters_without_figures"].append(rel)
                context.close()
        browser.close()
    problems["broken_refs"] = broken_local_refs(pages)
    problems["alt_texts"] = figures_without_alt_text(pages)
    problems["chapter_numbering"] = chapter_numbering(pages)
    stats["seconds"] = round(time.perf_counter() - start, 1)
    return {"stats": stats, "problems": dict(problems)}


def summary(result: dict) -> dict:
    counts = {k: len(v) for k, v in sorted(result["problems"].items())}
    return {**result["stats"], **counts}


# -- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> dict:
    why = _unavailable()
    if why:
        if IN_CI:
            pytest.fail(f"browser suite cannot run in CI: {why}")
        pytest.skip(why)
    result = crawl()
    report = SITE.parent / "browser-report.json"
    report.write_text(json.dumps({"summary": summary(result), **result}, indent=1))
    print("\nbrowser suite:", json.dumps(summary(result)), f"(details in {report})")
    return result


def _check(site: dict, kind: str, what: str) -> None:
    found = site["problems"].get(kind, [])
    shown = "\n  ".join(found[:40]) + (f"\n  ... and {len(found) - 40} more" if len(found) > 40 else "")
    assert not found, f"{len(found)} {what}:\n  {shown}"


def test_pages_were_checked(site):
    assert site["stats"]["pages"] >= 20 and site["stats"]["chapters"] >= 10, site["stats"]
    _check(site, "load", "pages that did not load")
    _check(site, "theme", "pages not in the theme asked for")


def test_no_page_overflows(site):
    _check(site, "page_overflow", "pages that scroll sideways")


def test_no_display_equation_overflows(site):
    _check(site, "equation_overflow", "display equations wider than the column or over their number")


def test_no_table_overflows(site):
    _check(site, "table_overflow", "tables wider than the column")


def test_no_code_or_output_block_is_cut(site):
    _check(site, "wide_blocks", "code or output blocks wider than the column")


def test_mathjax_renders_without_error(site):
    _check(site, "math_errors", "MathJax errors")


def test_every_chapter_has_a_figure(site):
    _check(site, "chapters_without_figures", "chapters without a figure")


def test_local_links_anchors_and_images_resolve(site):
    _check(site, "broken_refs", "broken local links, anchors or files")
    _check(site, "broken_images", "images that failed to load")


def test_offline_and_no_console_error(site):
    _check(site, "requests", "requests that tried to leave the machine")
    _check(site, "console", "console errors")


def test_dark_mode_figures_are_transparent(site):
    _check(site, "dark_figures", "figures drawn on a white slab or dimmed in dark mode")


def test_dark_mode_tables_follow_the_theme(site):
    _check(site, "dark_tables", "tables on a light panel, or with low-contrast text, in dark mode")


def test_one_search_field(site):
    _check(site, "search_fields", "pages with more than one search field outside the text")


SEARCHES = {"softmax": "part1/softmax.html", "batch normalization": "part4/batch_norm.html",
            "dropout": "part3/dropout.html"}


def search_results(query: str, n: int = 5) -> list[str]:
    """The first ``n`` result links of the site's search page for ``query``, relative to the site."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page()
        page.goto((SITE / "search.html").as_uri() + "?q=" + query.replace(" ", "+"), wait_until="load")
        page.wait_for_selector("#search-results li", timeout=LOAD_TIMEOUT_MS)
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('#search-results li a'))"
                              ".map(a => a.getAttribute('href'))")
        browser.close()
    return [h.split("?")[0].split("#")[0] for h in hrefs][:n]


@pytest.mark.parametrize("query", sorted(SEARCHES))
def test_search_ranks_the_chapter_first(site, query):
    assert search_results(query)[0] == SEARCHES[query]


def test_gallery_figures_have_alt_texts(site):
    _check(site, "alt_texts", "gallery figures without an alt text of their own")


def test_chapters_and_equations_are_numbered(site):
    _check(site, "chapter_numbering", "chapter numbering problems")


if __name__ == "__main__":
    why = _unavailable()
    if why:
        sys.exit(why)
    res = crawl()
    (SITE.parent / "browser-report.json").write_text(json.dumps({"summary": summary(res), **res}, indent=1))
    print(json.dumps(summary(res), indent=1))
