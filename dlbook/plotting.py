"""The book's figure style, readable on light and dark pages.

Figures are saved with a transparent background. Text, axes and grid lines
use one grey, ``#767676``, chosen for contrast on both page colours: 4.5:1
on white (the WCAG level for body text) and about 4:1 on the dark theme's
near-black, and the colour cycle uses hues of medium lightness from the
colour-blind-safe Okabe–Ito palette (black is left out, since it vanishes on
a dark page).
"""

from __future__ import annotations

import matplotlib as mpl
from cycler import cycler

__all__ = ["PALETTE", "FOREGROUND", "use_style", "style_dict", "draw_graph"]

#: Colour cycle: Okabe–Ito hues without black.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
#: Colour for text, spines, ticks and labels.
FOREGROUND = "#767676"


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
        "legend.loc": "best",
        "image.cmap": "viridis",
    }


def use_style() -> None:
    """Apply the book's matplotlib style to the current session.

    Examples
    --------
    >>> use_style()
    >>> import matplotlib as mpl
    >>> mpl.rcParams["axes.edgecolor"]
    '#767676'
    """
    mpl.rcParams.update(style_dict())


def draw_graph(positions: dict, edges: list, labels: dict | None = None, notes: dict | None = None,
               ax=None, size: tuple[float, float] = (1.5, 0.6)):
    """Draw a small directed acyclic graph, such as a computational graph, with matplotlib.

    Each node is a rounded box with its label inside and, under the label,
    an optional note (for example its value and adjoint); each edge is an arrow from
    the rim of the parent's box to the rim of the child's.

    Parameters
    ----------
    positions : dict
        ``{node: (x, y)}``, the box centres in data coordinates.
    edges : list of (str, str)
        Directed edges ``(parent, child)``; both ends must be in ``positions``.
    labels : dict, optional
        ``{node: text}`` written inside each box (default: the node's name);
        matplotlib mathtext (``"$a = x^2$"``) works.
    notes : dict, optional
        ``{node: text}`` written in each box under its label, in an accent colour;
        make ``size`` tall enough for it.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    size : (float, float)
        Width and height of a box in data units.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = draw_graph({"x": (0, 0), "f": (3, 0)}, [("x", "f")], notes={"f": "1.0"})
    >>> len(ax.patches)  # two boxes and one arrow
    3
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    for parent, child in edges:
        for end in (parent, child):
            if end not in positions:
                raise ValueError(f"draw_graph: edge ({parent!r}, {child!r}) names {end!r}, which has no position")
    labels = labels or {}
    notes = notes or {}
    if ax is None:
        _, ax = plt.subplots()
    fg = mpl.rcParams["text.color"]
    w, h = size
    for name, (x, y) in positions.items():
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.12",
                                    facecolor="none", edgecolor=PALETTE[0], linewidth=2))
        if name in notes:
            ax.text(x, y + h / 4, labels.get(name, name), ha="center", va="center", color=fg)
            ax.text(x, y - h / 5, notes[name], ha="center", va="center", color=PALETTE[5],
                    fontsize=mpl.rcParams["font.size"] - 1, linespacing=1.2)
        else:
            ax.text(x, y, labels.get(name, name), ha="center", va="center", color=fg)
    for parent, child in edges:
        start, end = positions[parent], positions[child]
        ax.add_patch(FancyArrowPatch(_rim(start, end, w, h), _rim(end, start, w, h), arrowstyle="-|>",
                                     mutation_scale=16, color=fg, shrinkA=1, shrinkB=1, linewidth=1.4))
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    ax.set_xlim(min(xs) - w / 2 - 0.1, max(xs) + w / 2 + 0.1)
    ax.set_ylim(min(ys) - h / 2 - 0.1, max(ys) + h / 2 + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _rim(centre, towards, width, height):
    """Where the segment from ``centre`` to ``towards`` leaves a box of the given size."""
    dx, dy = towards[0] - centre[0], towards[1] - centre[1]
    scale = min(width / 2 / abs(dx) if dx else float("inf"), height / 2 / abs(dy) if dy else float("inf"))
    return centre[0] + scale * dx, centre[1] + scale * dy
