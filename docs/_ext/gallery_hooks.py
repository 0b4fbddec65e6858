"""Hooks for sphinx-gallery: seeding and style before every example, and budget tracking."""

from __future__ import annotations

from pathlib import Path

SEED = 0


def reset_example(gallery_conf, fname):
    """Seed all generators and apply the book's style before each example runs."""
    from dlbook.plotting import use_style
    from dlbook.runs import seed_everything

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
