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
import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Table", "provenance_details", "summarize_result", "scoreboard"]

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


# -- the results scoreboard -----------------------------------------------------------------

#: What each experiment is compared with: the course write-up's number (the
#: syllabus) and a published anchor with its bibliography key. Keyed by
#: ``experiment/dataset`` or ``experiment``; a results file may also carry its
#: own ``"reference": {"syllabus": ..., "published": ..., "cite": ...}``.
REFERENCES: dict[str, dict[str, str]] = {
    "mnist3k/mnist": {
        "syllabus": "97.90% validation accuracy (best row; its own split and network)",
        "published": "97.20% test accuracy, dropout + pseudo-labels, 3,000 labels",
        "cite": "lee2013pseudo",
    },
    "mnist3k/fashion-mnist": {"syllabus": "–", "published": "–"},
    "mr": {
        "syllabus": "–",
        "published": "76.1% CNN-rand, 81.5% CNN-non-static, 79.4% NBSVM-bi (10-fold means, MR)",
        "cite": "kim2014convolutional",
    },
    "lm/ptb": {
        "syllabus": "test perplexity 79.12 (2 x 1000 tied LSTM); 193.7 for a 1 x 50 GRU",
        "published": "114.5 test perplexity, 2 x 200 LSTM (Zaremba et al. small)",
        "cite": "zaremba2014recurrent",
    },
    "lm/gutenberg": {
        "syllabus": "test perplexity 122.93 (2 x 250 tied LSTM) and 105.89 (2 x 1000) on its own, unpublished split: "
                    "not comparable",
        "published": "–",
    },
    "embeddings": {
        "syllabus": "Spearman 0.26 (fastText) and 0.23 (LSTM LM input embeddings), PTB",
        "published": "gensim's Word2Vec and FastText, same run, corpus and settings",
    },
    "bench_rnn": {"syllabus": "–", "published": "torch.nn.LSTM and torch.nn.GRU, same run (ratio 1 = as fast)"},
    "bench_embeddings": {"syllabus": "–", "published": "gensim's Word2Vec, same run, corpus, settings and threads"},
    "embeddings-sweep": {
        "syllabus": "Spearman 0.26 (fastText) and 0.23 (LSTM LM input embeddings), PTB",
        "published": "–",
    },
    "bench_layers": {"syllabus": "–", "published": "PyTorch's built-in layers, same run (ratio 1 = as fast)"},
    "tsne_benchmark": {
        "syllabus": "–",
        "published": "openTSNE and scikit-learn, same run and points",
        "cite": "policar2024opentsne",
    },
}


def _experiment_of(name: str, record: Mapping[str, Any]) -> str:
    if "experiment" in record:
        return str(record["experiment"])
    rows = record.get("rows")
    if isinstance(rows, list) and rows and "ratio" in rows[0]:
        return name if name.startswith("bench_") else "bench_layers"
    if "full_over_torch_time" in record:
        return "bench_lm"
    if "results" in record and "settings" in record:
        return "tsne_benchmark"
    return name


def _headline(experiment: str, record: Mapping[str, Any]) -> str:
    if "headline" in record:
        return str(record["headline"])
    if experiment == "mnist3k":
        best = max(record["rows"], key=lambda r: r["test_accuracy_mean"])
        protocol = record.get("protocol", "large-val")  # the first studies predate the field
        return (f"{100 * best['test_accuracy_mean']:.2f}% ± {100 * best['test_accuracy_std']:.2f} test accuracy "
                f"({best['name']} row, {len(best['seeds'])} seed(s), {protocol} protocol)")
    if experiment == "mr":
        best = max(record["rows"], key=lambda r: r["test_accuracy_mean"])
        folds = len(best["folds"])
        return (f"{100 * best['test_accuracy_mean']:.2f}% ± {100 * best['test_accuracy_std']:.2f} test accuracy "
                f"({best['name']} row, {folds} fold{'s' if folds != 1 else ''}"
                f"{'' if folds >= 10 else ', partial'})")
    if experiment == "lm" and record["rows"] and all(r["name"].startswith("claim-") for r in record["rows"]):
        base = next((r for r in record["rows"] if r["name"] == "claim-emb-equal"), None)
        return (f"controlled runs of the write-up's hyper-parameter claims: {len(record['rows'])} rows"
                + (f"; the 2 x 100 base: test perplexity {base['test_ppl']:.1f} after {base['epochs_run']:.0f} "
                   f"epochs" if base else ""))
    if experiment == "lm" and record["rows"] and all(r["wall_time"] <= 600 for r in record["rows"]):
        # rows of ten minutes or less measure speed; their perplexity is that of a barely trained model
        # (every PTB row run for its result trained for 15 minutes or more)
        return "throughput probe: " + "; ".join(
            f"{r['name']} {r['tokens_per_s']:,.0f} tokens/s on {r.get('device', 'cpu')}" for r in record["rows"])
    if experiment == "lm":
        best = min(record["rows"], key=lambda r: r["test_ppl"])
        return (f"test perplexity {best['test_ppl']:.1f} ({best['name']} row, {best['epochs_run']:.2f} epochs, "
                f"{best['wall_time'] / 60:.0f} min)")
    if experiment == "embeddings":
        ours = [r for r in record["rows"] if str(r["model"]).startswith("dlbook")] or record["rows"]
        best = max(ours, key=lambda r: r["wordsim353_spearman"])
        return (f"WordSim-353 Spearman {best['wordsim353_spearman']:.3f} at coverage "
                f"{100 * best['wordsim353_coverage']:.0f}% ({best['model']} on {best['corpus']})")
    if experiment == "bench_lm":
        return (f"LM step, Zaremba-small shape: dlbook full softmax {record['full_over_torch_time']:.2f}x torch.nn's "
                f"time (goal <= {record['goals']['full_over_torch_time']}); adaptive softmax "
                f"{record['adaptive_speedup_over_torch']:.2f}x torch.nn's tokens/s "
                f"(goal >= {record['goals']['adaptive_speedup_over_torch']})")
    if experiment == "bench_embeddings":
        return "; ".join(f"{'skip-gram' if r['model'] == 'sg' else 'fastText'} on {record['corpus']}, "
                         f"{record['threads']} threads: dlbook {r['dlbook_s']:.1f} s vs gensim {r['gensim_s']:.1f} s "
                         f"({r['ratio']:.2f}x, goal <= {r['goal']:g})" for r in record["rows"]) or "–"
    if experiment.startswith("bench_"):
        ratios = [r["ratio"] for r in record["rows"]]
        met = sum(bool(r.get("met")) for r in record["rows"])
        return (f"median time ratio dlbook / torch {statistics.median(ratios):.2f} over {len(ratios)} layer "
                f"shapes; {met} of {len(ratios)} within their goal")
    if experiment == "build":
        return (f"the whole book built at budget {record['budget']!r} in {record['total_seconds'] / 60:.1f} min "
                f"(gallery {record['gallery_seconds'] / 60:.1f} min, cells {record['notebook_seconds'] / 60:.1f} min; "
                f"{record.get('cpu_count', '?')} cores, fp32 matmul {record['matmul_peak_gflops']:.0f} GFLOP/s)")
    if experiment == "tsne_benchmark":
        by = {r["method"]: r for r in record["results"] if "seconds" in r}
        ours, ref = by.get("dlbook-fft"), by.get("openTSNE")
        if ours and ref:
            return (f"{record['settings']['n']:,} MNIST points: {ours['seconds']:.0f} s vs openTSNE "
                    f"{ref['seconds']:.0f} s; KL {ours['kl_own']:.3f} vs {ref['kl_own']:.3f}; "
                    f"trustworthiness {ours['trustworthiness']:.3f} vs {ref['trustworthiness']:.3f}")
    return "–"


def summarize_result(path: str | Path) -> dict:
    """One row of the scoreboard for a results file written by a documented command.

    Parameters
    ----------
    path : str or Path
        A JSON file of ``docs/results/``.

    Returns
    -------
    dict
        ``file``, ``experiment``, ``headline``, ``syllabus``, ``published``,
        ``cite``, ``command``, ``commit`` (12 characters), ``date``. Unknown
        experiments get ``"–"`` where no rule reads their headline; a file may
        state its own with a ``"headline"`` string. A language-model file
        whose rows all trained for ten minutes or less is headlined by its
        tokens per second, not its perplexity.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "demo.json"
    >>> _ = f.write_text(json.dumps({"headline": "42% better", "command": "python demo.py", "commit": "a" * 40}))
    >>> row = summarize_result(f)
    >>> row["headline"], row["commit"]
    ('42% better', 'aaaaaaaaaaaa')
    """
    path = Path(path)
    record = json.loads(path.read_text())
    experiment = _experiment_of(path.stem, record)
    key = f"{experiment}/{record['dataset']}" if "dataset" in record else experiment
    ref = {**REFERENCES.get(key, REFERENCES.get(experiment, {})), **record.get("reference", {})}
    label = experiment + (f" ({record['dataset']})" if "dataset" in record else "")
    return {
        "file": path.name,
        "experiment": label,
        "headline": _headline(experiment, record),
        "syllabus": ref.get("syllabus", "–"),
        "published": ref.get("published", "–"),
        "cite": ref.get("cite"),
        "command": record.get("command", "–"),
        "commit": (record.get("commit") or "–")[:12],
        "date": str(record.get("date") or record.get("date_utc") or "–")[:10],
    }


def scoreboard(results_dir: str | Path) -> Table:
    """The table of every ``*.json`` file in ``results_dir``, one row per file, sorted by name.

    The command that wrote each file is listed in the collapsed block under the table.

    Examples
    --------
    >>> import tempfile
    >>> scoreboard(tempfile.mkdtemp()).rows
    []
    """
    rows = [summarize_result(p) for p in sorted(Path(results_dir).glob("*.json"))]
    columns = ["experiment", "our result", "syllabus", "published anchor", "commit, date"]
    # the commands are long: they go under the table, one per file, not into a column
    return Table(columns, [[r["experiment"], r["headline"], r["syllabus"], r["published"],
                            f"{r['commit'][:7]}, {r['date']}"] for r in rows],
                 provenance={f"docs/results/{r['file']}": r["command"] for r in rows})
