"""Hooks for sphinx-gallery: seeding, style and a progress line before every example, and budget tracking."""

from __future__ import annotations

import json
from pathlib import Path

SEED = 0
ROOT = Path(__file__).resolve().parents[2]
_started: list[str] = []


def expected_seconds(budget: str, results: Path = ROOT / "docs" / "results") -> dict[str, float]:
    """Seconds per gallery script in the recorded clean build at ``budget`` (``build-<budget>.json``), if any."""
    path = results / f"build-{budget}.json"
    return json.loads(path.read_text())["scripts"] if path.is_file() else {}


def progress_line(name: str, budget: str, scripts: list[str], done: list[str], expected: dict[str, float]) -> str:
    """The line printed before gallery script ``name`` runs: budget, expected time and what is left.

    >>> progress_line("a/plot_x.py", "ci", ["a/plot_x.py", "b/plot_y.py"], [], {"a/plot_x.py": 30, "b/plot_y.py": 90})
    'gallery 1/2: a/plot_x.py at budget ci, about 30 s, then about 2 min for 1 more (times of the recorded ci build)'
    >>> progress_line("b/plot_y.py", "ci", ["a/plot_x.py", "b/plot_y.py"], ["a/plot_x.py"], {})
    'gallery 2/2: b/plot_y.py at budget ci (no recorded ci build to estimate from)'
    """
    head = f"gallery {len(done) + 1}/{len(scripts)}: {name} at budget {budget}"
    if name not in expected:
        return head + f" (no recorded {budget} build to estimate from)"
    rest = [s for s in scripts if s != name and s not in done]
    left = sum(expected.get(s, 0.0) for s in rest)
    tail = f", then about {left / 60:.0f} min for {len(rest)} more" if rest else ", the last one"
    return head + f", about {expected[name]:.0f} s{tail} (times of the recorded {budget} build)"


def reset_example(gallery_conf, fname):
    """Seed all generators, apply the book's style and print a progress line before each example runs."""
    from dlbook.budget import get_budget
    from dlbook.plotting import use_style
    from dlbook.runs import seed_everything

    if fname is not None:  # sphinx-gallery passes None when it enters a gallery folder
        budget = get_budget()
        scripts = sorted(f"{p.parent.name}/{p.name}" for p in (ROOT / "gallery").glob("*/plot_*.py"))
        name = next((s for s in scripts if s.endswith("/" + Path(fname).name)), Path(fname).name)
        print(progress_line(name, budget, scripts, _started, expected_seconds(budget)), flush=True)
        _started.append(name)
    seed_everything(SEED)
    use_style()


def budget_changed(gallery_dir: Path, budget: str) -> bool:
    """Return whether the gallery was last built with another budget, and record this one.

    sphinx-gallery re-runs an example only when its source changed; a build
    with another ``DLBOOK_BUDGET`` must re-run every example, since the
    results depend on it.
    """
    gallery_dir.mkdir(parents=True, exist_ok=True)
    stamp = gallery_dir / ".budget"
    previous = stamp.read_text().strip() if stamp.exists() else None
    if previous != budget:
        stamp.write_text(budget + "\n")
    return previous is not None and previous != budget
