"""The book's figure style, readable on light and dark pages.

Figures are saved with a transparent background. Text, axes and grid lines
use a mid grey that keeps enough contrast on a white page and on a dark
one, and the colour cycle uses hues of medium lightness from the
colour-blind-safe Okabe–Ito palette (black is left out, since it vanishes on
a dark page).
"""

from __future__ import annotations

import matplotlib as mpl
from cycler import cycler

__all__ = ["PALETTE", "FOREGROUND", "use_style", "style_dict"]

#: Colour cycle: Okabe–Ito hues without black.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
#: Colour for text, spines, ticks and labels.
FOREGROUND = "#808080"


def style_dict() -> dict:
    """Return the book's matplotlib rc settings as a dict.

    Examples
    --------
    >>> style_dict()["savefig.transparent"]
    True
    """
    fg = FOREGROUND
    return {
        "axes.prop_cycle": cycler(color=PALETTE),
        "figure.facecolor": "none",
        "axes.facecolor": "none",
        "savefig.facecolor": "none",
        "savefig.transparent": True,
        "savefig.bbox": "tight",
        "figure.dpi": 100,
        "savefig.dpi": 120,
        "figure.figsize": (6.4, 4.0),
        "text.color": fg,
        "axes.labelcolor": fg,
        "axes.edgecolor": fg,
        "axes.titlecolor": fg,
        "xtick.color": fg,
        "ytick.color": fg,
        "grid.color": fg,
        "grid.alpha": 0.35,
        "axes.grid": True,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "legend.labelcolor": fg,
        "lines.linewidth": 2.0,
        "font.size": 11,
        "image.cmap": "viridis",
    }


def use_style() -> None:
    """Apply the book's matplotlib style to the current session.

    Examples
    --------
    >>> use_style()
    >>> import matplotlib as mpl
    >>> mpl.rcParams["axes.edgecolor"]
    '#808080'
    """
    mpl.rcParams.update(style_dict())
