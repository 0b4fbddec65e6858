"""The book's LaTeX macros, defined once for MathJax (see the notation page)."""

MACROS = {
    "R": r"\mathbb{R}",
    "E": r"\mathbb{E}",
    "Var": r"\operatorname{Var}",
    "softmax": r"\operatorname{softmax}",
    "diag": r"\operatorname{diag}",
    "ind": r"\mathbb{1}",
    "vx": r"\mathbf{x}",
    "vy": r"\mathbf{y}",
    "vz": r"\mathbf{z}",
    "vs": r"\mathbf{s}",
    "vg": r"\mathbf{g}",
    "vb": r"\mathbf{b}",
    "yhat": r"\hat{\mathbf{y}}",
    "mW": r"\mathbf{W}",
    "mX": r"\mathbf{X}",
    "mY": r"\mathbf{Y}",
    "mJ": r"\mathbf{J}",
    "grad": r"\nabla",
    "pd": [r"\frac{\partial #1}{\partial #2}", 2],
    "bigO": [r"\mathcal{O}\left(#1\right)", 1],
}
