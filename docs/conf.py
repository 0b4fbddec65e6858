"""Sphinx configuration of the dlbook site.

This file has one owner; chapters add pages and gallery folders, not
settings. The run budget (``DLBOOK_BUDGET``) decides how much the gallery
and the notebook cells compute; see ``reproducing.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))

from book_macros import MACROS  # noqa: E402
from gallery_hooks import budget_changed  # noqa: E402
from site_hooks import setup as setup_site_hooks  # noqa: E402

import dlbook  # noqa: E402
from dlbook.budget import get_budget  # noqa: E402

BUDGET = get_budget()

project = "dlbook"
author = "The dlbook authors"
copyright = "2026, the dlbook authors"
release = version = dlbook.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
    "sphinxcontrib.bibtex",
    "sphinx_proof",
    "sphinx_exercise",
    # `:class: dropdown` solutions open on a click
    "sphinx_togglebutton",
    # [source] links from every API entry to its code
    "sphinx.ext.viewcode",
    # names in code cells and gallery scripts link to their API entries
    "sphinx_codeautolink",
    # ```{gallery-figure}``` shows a gallery example's figure in a chapter
    "gallery_figure",
    # chapters numbered 1, 2, ... across the Parts; equations (n.1), (n.2), ... per chapter
    "chapter_numbers",
]

exclude_patterns = [
    "_build",
    "**.ipynb_checkpoints",
    # sphinx-gallery writes a notebook beside each generated page; those are
    # downloads, not pages for myst-nb to read.
    "gallery/**/*.ipynb",
    "gallery/**/*.py",
    "gallery/**/*.zip",
    "gallery/**/*.json",
]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["dlbook.css"]
# fits wide display equations to narrow screens (see the file)
html_js_files = ["dlbook.js"]
# search lists a chapter before the API entries and gallery sections that share its words
html_search_scorer = str(HERE / "_ext" / "search_scorer.js")
# the sidebar lists the book; its search field is the one search box (the
# header's search button shows only where the sidebar is hidden: dlbook.css)
html_sidebars = {"**": ["navbar-logo.html", "search-button-field.html", "sbt-sidebar-nav.html"]}

# -- theme --------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "dlbook"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
}

# -- math ---------------------------------------------------------------------
# MathJax 3 is served from the site itself (sphinx-mathjax-offline), so the
# math renders with no network. The book's macros are defined once, in
# docs/_ext/book_macros.py, and listed on the notation page.
mathjax3_config = {"tex": {"macros": MACROS}}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_dmath_double_inline = True
myst_heading_anchors = 3
math_eqref_format = "({number})"
math_numfig = True
numfig = True

# -- myst-nb: executed cells ----------------------------------------------------
nb_execution_mode = "cache"
# Outside _build, and one cache per budget, so that `rm -r docs/_build` does
# not force re-execution and a change of budget does.
nb_execution_cache_path = str(ROOT / ".jupyter_cache" / BUDGET)
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 900
nb_merge_streams = True

# -- autodoc / autosummary -----------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"
viewcode_line_numbers = True
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
# "stride, padding, dilation : int" stays one entry (napoleon's :param: fields
# would repeat the shared description under each name)
napoleon_use_param = False
# a method without a docstring of its own (forward, extra_repr) shows none,
# not torch.nn.Module's text about subclasses
autodoc_inherit_docstrings = False

# -- links from code to the API ------------------------------------------------
# a chapter's cells run as one program: names imported in one cell link in the next
codeautolink_concat_default = True

# -- bibliography ------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# -- sphinx-gallery ------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": [str(ROOT / "gallery")],
    "gallery_dirs": ["gallery"],
    "filename_pattern": r"/plot_",
    # seed every example and apply the book's figure style (docs/_ext/gallery_hooks.py)
    "reset_modules": ("matplotlib", "gallery_hooks.reset_example"),
    "reset_modules_order": "before",
    "doc_module": ("dlbook",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"dlbook": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    # re-run everything when the budget changed since the last build
    "run_stale_examples": budget_changed(HERE / "gallery", BUDGET),
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
    "min_reported_time": 0,
    # a second, twice-as-dense PNG of every figure for high-resolution screens
    "image_srcset": ["2x"],
}

suppress_warnings = [
    "mystnb.unknown_mime_type",
    # an API example with "# doctest: +SKIP" (trimmed from the HTML) cannot be matched
    # by sphinx-codeautolink even on the pages it skips; a missed link is no error
    "codeautolink.match_block",
]


def setup(app):
    """The site's own hooks (docs/_ext/site_hooks.py)."""
    setup_site_hooks(app)
