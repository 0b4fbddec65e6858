"""``gallery-figure``: show a figure that a gallery example drew, inside a chapter.

The gallery scripts (``gallery/``) train the models and draw the figures;
sphinx-gallery runs them before the chapters are read and saves their
figures as ``docs/gallery/<folder>/images/sphx_glr_<script>_<NNN>.png``.
A chapter shows one of them, numbered and captioned, with::

    ```{gallery-figure} part1_backprop/plot_softmax_regression.py
    :image: 1
    :name: fig-softmax-curves
    :alt: Training and test loss of softmax regression falling over ten epochs

    Caption text. The code that drew it is linked after the caption.
    ```

``:image:`` is the figure's number in the script (default 1). Every other
option is that of ``figure``. The caption ends with a link to the example.
In a build without the gallery (``-D plot_gallery=0``) the image does not
exist: the directive then shows a short note, not a warning, so that prose
builds stay warning-free.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.directives.patches import Figure
from sphinx.util import logging

logger = logging.getLogger(__name__)


class GalleryFigure(Figure):
    option_spec = dict(Figure.option_spec, image=directives.positive_int)
    optional_arguments = 0
    required_arguments = 1

    def run(self):
        env = self.state.document.settings.env
        script = self.arguments[0].strip().removeprefix("/").removeprefix("gallery/")
        folder, _, name = script.rpartition("/")
        stem = name.removesuffix(".py")
        number = self.options.pop("image", 1)
        image = f"/gallery/{folder}/images/sphx_glr_{stem}_{number:03d}.png"
        doc = f"/gallery/{folder}/{stem}"
        exists = (Path(env.srcdir) / image.lstrip("/")).exists()
        if not exists:
            plot = getattr(env.config, "plot_gallery", True)
            if str(plot).lower() in {"0", "false", "none"}:
                para = nodes.paragraph(
                    "", f"[Figure {number} of the gallery example {script}; drawn when the gallery runs.]"
                )
                return [nodes.note("", para)]
            logger.warning("gallery-figure: %s has no figure %d (looked for %s)", script, number, image,
                           location=self.get_location())
        self.arguments[0] = image
        self.options.setdefault("alt", f"Figure {number} of the gallery example {stem}")
        self.options["figclass"] = [*self.options.get("figclass", []), "dlbook-figure"]
        result = super().run()
        figure = next((n for n in result if isinstance(n, nodes.figure)), None)
        if figure is not None:
            caption = next(iter(figure.findall(nodes.caption)), None)
            link = self._link(doc)
            if caption is None:
                caption = nodes.caption("", "")
                figure += caption
            caption += [nodes.Text(" "), link]
        return result

    def _link(self, doc: str) -> nodes.Node:
        from sphinx.addnodes import pending_xref

        ref = pending_xref("", refdomain="std", reftype="doc", reftarget=doc, refexplicit=True,
                           refdoc=self.state.document.settings.env.docname)
        ref += nodes.inline("", "(Code: gallery example.)")
        return ref


def setup(app):
    app.add_directive("gallery-figure", GalleryFigure)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
