"""Gallery script times of a build, read from sphinx-gallery's tables (no Sphinx import needed)."""

from __future__ import annotations

import re
from pathlib import Path

_SG_TIME = re.compile(r"\* - :ref:`sphx_glr_\w*?_(plot_\w+)\.py`[^\n]*\n\s*- (\d+):(\d+(?:\.\d+)?)")


def gallery_times(srcdir: Path) -> dict[str, float]:
    """Seconds per gallery script run in this build, from sphinx-gallery's ``sg_execution_times.rst`` files."""
    times = {}
    for f in sorted((srcdir / "gallery").glob("*/sg_execution_times.rst")):
        for m in _SG_TIME.finditer(f.read_text(encoding="utf-8")):
            times[f"{f.parent.name}/{m.group(1)}.py"] = int(m.group(2)) * 60 + float(m.group(3))
    return times
