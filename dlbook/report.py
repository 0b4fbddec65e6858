"""Results as tables a reader can read: HTML in the book, aligned text elsewhere.

A :class:`Table` holds rows of values, formats them column by column, and
shows itself as an HTML table in a notebook or on a page of the book (its
``_repr_html_``), and as aligned plain text in a terminal (its ``str``).
Where the numbers come from (the command, the commit, the hardware, the
date of a results file) goes into a collapsed ``<details>`` block under the
table, not into the table.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["Table", "provenance_details"]

Format = str | Callable[[Any], str] | None


def _fmt(value: Any, fmt: Format) -> str:
    if value is None:
        return "–"
    if callable(fmt):
        return fmt(value)
    if fmt:
        return format(value, fmt)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def provenance_details(info: Mapping[str, Any], summary: str = "Provenance") -> str:
    """Return a collapsed HTML ``<details>`` block listing ``info`` as a definition list.

    Nested mappings (such as ``hardware``) are flattened to ``key: value`` text.

    Examples
    --------
    >>> block = provenance_details({"commit": "abc123", "hardware": {"cpu_count": 2}})
    >>> block.startswith('<details class="dlbook-provenance"><summary>Provenance</summary>')
    True
    >>> "<dt>hardware</dt><dd>cpu_count: 2</dd>" in block
    True
    """
    items = []
    for key, value in info.items():
        if value is None or value == "":
            continue
        if isinstance(value, Mapping):
            text = html.escape(", ".join(f"{k}: {v}" for k, v in value.items() if v is not None))
        elif key in {"command", "commit"}:
            text = f"<code>{html.escape(str(value))}</code>"
        else:
            text = html.escape(str(value))
        items.append(f"<dt>{html.escape(str(key))}</dt><dd>{text}</dd>")
    return (f'<details class="dlbook-provenance"><summary>{html.escape(summary)}</summary>'
            f"<dl>{''.join(items)}</dl></details>")


class Table:
    """A table of results that renders as HTML in the book and as text in a terminal.

    Parameters
    ----------
    columns : sequence of str
        Column headers, length ``C``.
    rows : sequence of sequences
        ``R`` rows of ``C`` values each; ``None`` shows as a dash.
    formats : sequence or mapping, optional
        Per column: a format spec (``".2f"``, ``".1%"``), a callable value -> str,
        or ``None`` (floats to 4 significant digits). A mapping goes from column
        header to format.
    caption : str, optional
        Shown above the table.
    provenance : mapping, optional
        Shown in a collapsed "Provenance" block under the table (for example
        the ``command``, ``commit``, ``date`` and ``hardware`` of a results file).
    notes : str, optional
        A line of plain text under the table.

    Examples
    --------
    >>> t = Table(["method", "error"], [["ISTA", 0.0123], ["FISTA", 0.00012]], formats=[None, ".1e"])
    >>> print(t)
    method    error
    ISTA    1.2e-02
    FISTA   1.2e-04
    >>> "<table" in t._repr_html_()
    True
    """

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                 formats: Sequence[Format] | Mapping[str, Format] | None = None, caption: str | None = None,
                 provenance: Mapping[str, Any] | None = None, notes: str | None = None) -> None:
        self.columns = [str(c) for c in columns]
        self.rows = [list(r) for r in rows]
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"Table: row {i} has {len(row)} values, expected {len(self.columns)} "
                                 f"(one per column of {self.columns})")
        if formats is None:
            formats = [None] * len(self.columns)
        elif isinstance(formats, Mapping):
            unknown = set(formats) - set(self.columns)
            if unknown:
                raise ValueError(f"Table: formats names unknown columns {sorted(unknown)}; columns are {self.columns}")
            formats = [formats.get(c) for c in self.columns]
        elif len(formats) != len(self.columns):
            raise ValueError(f"Table: formats has {len(formats)} entries, expected {len(self.columns)}")
        self.formats = list(formats)
        self.caption = caption
        self.provenance = dict(provenance) if provenance else None
        self.notes = notes

    def cells(self) -> list[list[str]]:
        """The formatted cells, row by row (``R`` lists of ``C`` strings)."""
        return [[_fmt(v, f) for v, f in zip(row, self.formats)] for row in self.rows]

    def _numeric(self) -> list[bool]:
        return [all(_is_number(r[j]) or r[j] is None for r in self.rows) and bool(self.rows)
                for j in range(len(self.columns))]

    def __str__(self) -> str:
        cells = self.cells()
        numeric = self._numeric()
        widths = [max([len(c)] + [len(r[j]) for r in cells]) for j, c in enumerate(self.columns)]

        def line(values):
            return "  ".join(v.rjust(w) if n else v.ljust(w)
                             for v, w, n in zip(values, widths, numeric)).rstrip()

        out = ([self.caption] if self.caption else []) + [line(self.columns)] + [line(r) for r in cells]
        if self.notes:
            out.append(self.notes)
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        numeric = self._numeric()
        head = "".join(f'<th class="{"num" if n else "text"}">{html.escape(c)}</th>'
                       for c, n in zip(self.columns, numeric))
        body = "".join(
            "<tr>" + "".join(f'<td class="{"num" if n else "text"}">{html.escape(v)}</td>'
                             for v, n in zip(row, numeric)) + "</tr>"
            for row in self.cells())
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        parts = [f'<div class="dlbook-table"><table>{caption}<thead><tr>{head}</tr></thead>'
                 f"<tbody>{body}</tbody></table>"]
        if self.notes:
            parts.append(f'<p class="dlbook-table-notes">{html.escape(self.notes)}</p>')
        if self.provenance:
            parts.append(provenance_details(self.provenance))
        parts.append("</div>")
        return "".join(parts)
