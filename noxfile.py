"""Sessions: ``tests``, ``docs``, ``docs-noplot`` and ``lint``.

Run ``nox -s tests docs`` to test everything and build the site. The ``docs``
session then opens every page of the built site in headless Chromium
(``tests/browser``; Debian's ``chromium`` package, driven by Playwright). The run
budget comes from ``DLBOOK_BUDGET`` (default ``default``); the data root from
``DLBOOK_DATA``, made absolute here because the gallery and the notebook
cells run in other working directories.

The book is built with the torch release pinned in ``.ci/constraints.txt``;
set ``PIP_CONSTRAINT`` to another file to override it.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"

nox.options.sessions = ["tests", "docs"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False


def _env() -> dict:
    env = {"PIP_CONSTRAINT": os.environ.get("PIP_CONSTRAINT") or str(CONSTRAINTS)}
    data = os.environ.get("DLBOOK_DATA")
    if data:
        env["DLBOOK_DATA"] = str(Path(data).expanduser().resolve())
    return env


def _install(session: nox.Session, extras: str) -> None:
    session.install("-e", f".[{extras}]", env=_env())


@nox.session
def tests(session: nox.Session) -> None:
    """Run pytest over tests/ and the doctests of every dlbook module."""
    _install(session, "test")
    # tests/browser checks the built site; the docs session runs it after building
    session.run("pytest", "tests", "--ignore=tests/browser", "--doctest-modules", "dlbook", *session.posargs,
                env=_env())


def _sphinx(session: nox.Session, *extra: str, extras: str = "docs") -> None:
    _install(session, extras)
    session.run(
        "sphinx-build", "-W", "--keep-going", "-b", "html", *extra,
        "docs", "docs/_build/html", *session.posargs, env=_env(),
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site, executing the gallery and the notebook cells; warnings are errors.

    Then check every page in headless Chromium, offline (``tests/browser``):
    overflow at 1280 and 390 px, dark mode, figures, links, console errors.
    """
    _sphinx(session, extras="docs,browser")
    # --confcutdir: the browser suite needs none of tests/conftest.py (nor hypothesis)
    session.run("pytest", "tests/browser", "--confcutdir=tests/browser", "-q", "-p", "no:cacheprovider",
                env=_env())


@nox.session(name="docs-noplot")
def docs_noplot(session: nox.Session) -> None:
    """Build the prose only, fast: no gallery run, no cell executed."""
    _sphinx(session, "-D", "plot_gallery=0", "-D", "nb_execution_mode=off",
            "-d", "docs/_build/doctrees-noplot")


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff over the package, tests, gallery and configuration."""
    session.install("ruff", env=_env())
    session.run("ruff", "check", "dlbook", "tests", "gallery", "benchmarks", "noxfile.py", "docs/conf.py",
                "docs/_ext", *session.posargs)
