"""The machinery every study shares: workers, aggregation, provenance, JSON.

A study module (:mod:`dlbook.experiments.mnist3k`, ``mr``, ``lm``,
``embeddings``, ...) defines only its data, its rows and how one run of a row
trains and evaluates. This module runs those runs, in worker processes when
asked, summarises them over seeds or folds, and writes one results file
that records the command, the commit, the machine and the date.

A study joins the command line ``python -m dlbook.experiments <study>`` by
defining three module-level names and being listed in :data:`STUDIES`:

``add_arguments(parser)``
    adds the study's own options to its ``argparse`` sub-parser;
``run(args) -> dict``
    runs the study and returns the results dictionary (built with
    :func:`study_record`); ``args.budget`` and ``args.jobs`` are always there;
``results_name(args) -> str``
    the file name to write under ``--out``, such as ``"mnist3k.json"``;

and optionally ``summary_lines(result) -> list[str]`` for the terminal.
"""

from __future__ import annotations

import math
import os
import platform
import shlex
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import datetime, timezone
from pathlib import Path

import torch

__all__ = ["STUDIES", "WorkerPool", "check_jobs", "mean_std", "merge_rows", "study_record", "summarise",
           "thread_count", "write_results"]

#: Study name -> module implementing it (imported only when the study is run).
STUDIES = {
    "mnist3k": "dlbook.experiments.mnist3k",
    "mr": "dlbook.experiments.mr",
    "lm": "dlbook.experiments.lm",
    "embeddings": "dlbook.experiments.embeddings",
}


def thread_count(jobs: int) -> int:
    """Threads each of ``jobs`` worker processes uses: ``cpu_count // jobs``, at least 1.

    With ``jobs == 1`` the work runs in this process with its current
    ``torch.get_num_threads()``.

    Examples
    --------
    >>> thread_count(1) == torch.get_num_threads()
    True
    >>> thread_count(10 ** 6)
    1
    """
    check_jobs(jobs)
    if jobs == 1:
        return torch.get_num_threads()
    return max(1, (os.cpu_count() or 1) // jobs)


def check_jobs(jobs) -> None:
    """Raise a ValueError naming ``jobs`` unless it is a positive int."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"argument 'jobs' must be a positive int, got {jobs!r}")


def _worker_init(threads: int) -> None:
    torch.set_num_threads(threads)


class WorkerPool:
    """Run functions in ``jobs`` worker processes, or in this process when ``jobs == 1``.

    Use it as a context manager and call :meth:`submit`, which returns a
    :class:`concurrent.futures.Future`. Workers are started with the
    ``spawn`` method and set their torch thread count to
    :func:`thread_count`, so that a run's result depends on its arguments
    and the thread count only, not on which worker ran it. The submitted
    function must be defined at module level (it is pickled by reference).
    With ``jobs == 1`` :meth:`submit` runs the function at once and returns a
    finished future, so that a study can be written once for both cases.

    Examples
    --------
    >>> with WorkerPool(1) as pool:
    ...     pool.submit(pow, 2, 10).result()
    1024
    """

    def __init__(self, jobs: int = 1):
        check_jobs(jobs)
        self.jobs = jobs
        self.threads = thread_count(jobs)
        self._pool = None

    def __enter__(self) -> WorkerPool:
        if self.jobs > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_worker_init, initargs=(self.threads,))
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc[0] is None, cancel_futures=exc[0] is not None)
            self._pool = None

    def submit(self, fn: Callable, *args, **kwargs) -> Future:
        if self._pool is not None:
            return self._pool.submit(fn, *args, **kwargs)
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # a finished future carries the error like a worker's would
            future.set_exception(err)
        return future


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``n - 1`` in the denominator; 0 for one value).

    Examples
    --------
    >>> mean_std([1.0, 2.0, 3.0])
    (2.0, 1.0)
    >>> mean_std([5.0])
    (5.0, 0.0)
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_std: argument 'values' must not be empty")
    m = sum(values) / len(values)
    if len(values) < 2:
        return m, 0.0
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def summarise(runs: Sequence[dict], keys: Iterable[str], over: str = "seed") -> dict:
    """One results row from the runs of one row over seeds or folds.

    For each ``key`` the row holds ``<key>_per_<over>`` (the list in run
    order), ``<key>_mean`` and ``<key>_std`` (:func:`mean_std`), and
    ``<over>s``, the list of ``run[over]``.

    Examples
    --------
    >>> row = summarise([{"fold": 0, "acc": 0.8}, {"fold": 1, "acc": 0.6}], ["acc"], over="fold")
    >>> row["folds"], row["acc_per_fold"], round(row["acc_mean"], 6)
    ([0, 1], [0.8, 0.6], 0.7)
    """
    runs = list(runs)
    if not runs:
        raise ValueError("summarise: argument 'runs' must not be empty")
    row: dict = {f"{over}s": [r[over] for r in runs]}
    for key in keys:
        vals = [r[key] for r in runs]
        row[f"{key}_per_{over}"] = vals
        row[f"{key}_mean"], row[f"{key}_std"] = mean_std(vals)
    return row


def study_record(experiment: str, budget: str, rows: list[dict], *, info: dict, started: float,
                 jobs: int = 1, device: str = "cpu", **fields) -> dict:
    """The results dictionary of a study, with its provenance.

    Parameters
    ----------
    experiment : str
        The study's name.
    budget : str
        The run budget used.
    rows : list of dict
        One entry per row (:func:`summarise` plus the study's own fields).
    info : dict
        :func:`dlbook.runs.provenance` read when the study started (the code that ran);
        ``date`` in the record is the time the study finished.
    started : float
        ``time.perf_counter()`` at the start of the study.
    jobs : int
        Worker processes used.
    device : str
        Where the rows trained (:func:`dlbook.runs.device_name`), stored under ``hardware``.
    **fields
        Study-specific entries (data split, protocol, ...), stored as given.
    """
    record = {"experiment": experiment, "budget": budget, **fields, "rows": rows}
    record.update({
        "commit": info["commit"],
        "uncommitted_changes": info["uncommitted_changes"],
        "hardware": {"machine": platform.machine(), "cpu": info["cpu"], "cpu_count": info["cpu_count"],
                     "torch_threads": thread_count(jobs), "jobs": jobs, "platform": info["platform"],
                     "device": device},
        "study_wall_time": time.perf_counter() - started,
        "torch_version": info["torch_version"],
        "python_version": info["python_version"],
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    return record


_ROW_PROVENANCE = ("command", "commit", "uncommitted_changes", "date", "budget", "hardware", "study_wall_time",
                   "torch_version", "note")


def merge_rows(old: dict, new: dict) -> dict:
    """``new`` with the rows of ``old`` that it does not replace (matched by ``name``) kept in their place.

    Each row carries its own provenance under ``"run"`` (command, commit,
    date, budget, hardware, ...), taken from the record it came from, since
    merged rows may come from different runs; the top-level fields are
    those of ``new``.

    Examples
    --------
    >>> old = {"experiment": "s", "rows": [{"name": "a", "x": 1}, {"name": "b", "x": 2}], "commit": "c1"}
    >>> new = {"experiment": "s", "rows": [{"name": "b", "x": 3}, {"name": "c", "x": 4}], "commit": "c2"}
    >>> [(r["name"], r["x"], r["run"]["commit"]) for r in merge_rows(old, new)["rows"]]
    [('a', 1, 'c1'), ('b', 3, 'c2'), ('c', 4, 'c2')]
    """
    if old.get("experiment") != new.get("experiment"):
        raise ValueError(f"merge_rows: cannot merge a {new.get('experiment')!r} study into a "
                         f"{old.get('experiment')!r} results file")

    def stamped(record):
        prov = {k: record[k] for k in _ROW_PROVENANCE if k in record}
        return [{**row, "run": row.get("run", prov)} for row in record["rows"]]

    fresh = {row["name"]: row for row in stamped(new)}
    rows = [fresh.pop(row["name"], row) for row in stamped(old)]
    return {**new, "rows": rows + list(fresh.values())}


def write_results(result: dict, out: str | os.PathLike, name: str, argv: Sequence[str], note: str = "",
                  merge: bool = False) -> Path:
    """Add the command line and a note to ``result`` and write it as ``out/name`` (JSON).

    ``argv`` is the argument list after ``python -m dlbook.experiments``.
    The folder is created when missing. With ``merge`` and an existing
    file, the rows already there that this run did not produce are kept
    (:func:`merge_rows`), so rows run separately end up in one file.
    Returns the path written.
    """
    import json

    result["command"] = "python -m dlbook.experiments " + " ".join(shlex.quote(a) for a in argv)
    result["note"] = note
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    if merge and path.exists():
        result = merge_rows(json.loads(path.read_text()), result)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path
