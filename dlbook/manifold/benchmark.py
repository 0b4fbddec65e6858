"""Side-by-side benchmark of dlbook's t-SNE, scikit-learn's and openTSNE's.

Run from the repository root, for instance::

    python -m dlbook.manifold.benchmark --n 10000 --n-jobs 2 --out docs/results/

All methods embed the same points (the first principal components of a
fixed random subset of MNIST training digits) in one process, one after the
other, each offered ``--n-jobs`` threads (dlbook's ``TSNE`` uses its
``n_threads``, one by default). For each method the JSON written
to ``--out`` records the wall time of ``fit_transform`` (affinities
included), the method's own final KL divergence, the KL divergence of its
map measured against one common P (dlbook's sparse P, exact normaliser Z),
and the trustworthiness (k = 12, scikit-learn) on a fixed subsample; for
dlbook's methods also the seconds spent in each stage of the optimisation
(``TSNE.timings_``). The file also records the command, the git commit, the
hardware, the date and the 1-minute load average of the machine before
each method and at the end (the machine may be shared with other jobs).
Needs scikit-learn and openTSNE (the ``docs`` extra).
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

from dlbook.manifold.affinities import joint_probabilities_nn
from dlbook.manifold.gradient import kl_divergence_sparse
from dlbook.manifold.tsne import TSNE
from dlbook.runs import load_average, provenance

__all__ = ["pca_project", "load_points", "run_benchmark", "main"]

METHODS = ("dlbook-fft", "dlbook-fft-pK", "dlbook-exact", "sklearn", "openTSNE")
DEFAULT_METHODS = ("dlbook-fft", "dlbook-fft-p3", "dlbook-fft-p5", "dlbook-exact", "sklearn", "openTSNE")


def pca_project(X: torch.Tensor, k: int = 50) -> torch.Tensor:
    """Centre ``X`` (shape ``(N, D)``) and project it on its ``k`` leading principal axes.

    Examples
    --------
    >>> X = torch.randn(10, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> pca_project(X, 2).shape
    torch.Size([10, 2])
    """
    Xc = X - X.mean(0)
    evals, evecs = torch.linalg.eigh(Xc.T @ Xc)
    V = evecs[:, torch.argsort(evals, descending=True)[:k]]
    return Xc @ V


def load_points(n: int, dataset: str = "mnist", seed: int = 0, n_pca: int = 50):
    """A fixed random subset of ``n`` training images, scaled to [0, 1] and reduced by PCA.

    Returns
    -------
    X : torch.Tensor
        Shape ``(n, n_pca)``, float64.
    labels : torch.Tensor
        Shape ``(n,)``, int64.
    """
    from dlbook.data import load_fashion_mnist, load_mnist

    loader = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}[dataset]
    images, labels = loader("train")
    idx = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))[:n]
    X = images[idx].reshape(n, -1).double() / 255.0
    return pca_project(X, n_pca), labels[idx]


def _hardware(n_jobs: int) -> dict:
    info = provenance()
    return {
        "cpu": info["cpu"] or "unknown",
        "logical_cpus": info["cpu_count"],
        "threads_used": n_jobs,
        "platform": info["platform"],
        "python": info["python_version"],
    }


def _git_commit() -> str:
    info = provenance()
    if info["commit"] is None:
        return "unknown"
    return info["commit"] + ("+dirty" if info["uncommitted_changes"] else "")


def _versions() -> dict:
    import sklearn

    out = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }
    try:
        import openTSNE

        out["openTSNE"] = openTSNE.__version__
    except ImportError:
        out["openTSNE"] = None
    return out


def _run_one(method: str, X: torch.Tensor, perplexity: float, n_iter: int, n_jobs: int, seed: int):
    Xn = X.numpy()
    t0 = time.perf_counter()
    stages = None
    if method.startswith("dlbook"):
        # "dlbook-fft-pK": the FFT method with K interpolation nodes per interval
        match = re.fullmatch(r"dlbook-(exact|fft)(?:-p(\d+))?", method)
        if match is None or (match[1] == "exact" and match[2]):
            raise ValueError(f"benchmark: unknown method {method!r}; choose from {METHODS}")
        kind = match[1]
        options = {"n_interpolation_points": int(match[2])} if match[2] else {}
        est = TSNE(perplexity=perplexity, n_iter=n_iter, method=kind, random_state=seed, **options)
        Y = est.fit_transform(Xn)
        kl = est.kl_divergence_
        stages = dict(est.timings_)
    elif method == "sklearn":
        from sklearn.manifold import TSNE as SkTSNE

        est = SkTSNE(
            perplexity=perplexity,
            max_iter=n_iter,
            init="pca",
            learning_rate="auto",
            method="barnes_hut",
            n_jobs=n_jobs,
            random_state=seed,
        )
        Y = est.fit_transform(Xn)
        kl = float(est.kl_divergence_)
    elif method == "openTSNE":
        import openTSNE

        est = openTSNE.TSNE(
            perplexity=perplexity,
            n_iter=n_iter - 250,
            early_exaggeration_iter=250,
            n_jobs=n_jobs,
            random_state=seed,
        )
        emb = est.fit(Xn)
        Y = np.asarray(emb)
        kl = float(emb.kl_divergence)
    else:
        raise ValueError(f"benchmark: unknown method {method!r}; choose from {METHODS}")
    seconds = time.perf_counter() - t0
    return np.asarray(Y, dtype=np.float64), kl, seconds, stages


def run_benchmark(
    n: int = 10000,
    dataset: str = "mnist",
    methods=DEFAULT_METHODS,
    perplexity: float = 30.0,
    n_iter: int = 750,
    n_jobs: int = 2,
    trust_n: int = 2000,
    seed: int = 0,
    exact_max_n: int = 3000,
) -> dict:
    """Run every method on the same points and return the results as a dict.

    ``dlbook-exact`` is skipped (and recorded as skipped) above ``exact_max_n``
    points: its :math:`\\bigO{N^2}` iterations would dominate the run.
    """
    from sklearn.manifold import trustworthiness

    load_start = load_average()
    torch.set_num_threads(n_jobs)
    X, labels = load_points(n, dataset, seed)
    P = joint_probabilities_nn(X, perplexity)  # the common P for the comparable KL
    sub = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 1))[
        : min(trust_n, n)
    ].numpy()
    rows = []
    for method in methods:
        if method == "dlbook-exact" and n > exact_max_n:
            rows.append(
                {
                    "method": method,
                    "skipped": f"O(N^2) per iteration; run only for N <= {exact_max_n}",
                }
            )
            continue
        load_before = load_average()
        Y, kl, seconds, stages = _run_one(method, X, perplexity, n_iter, n_jobs, seed)
        kl_common = float(kl_divergence_sparse(P, torch.from_numpy(Y)))
        trust = float(trustworthiness(X.numpy()[sub], Y[sub], n_neighbors=12))
        row = {
            "method": method,
            "seconds": seconds,
            "kl_own": kl,
            "kl_common_P": kl_common,
            "trustworthiness": trust,
            "embedding_std": Y.std(0).tolist(),
            "load_1min_before": load_before,
        }
        if stages is not None:
            row["stage_seconds"] = stages
        rows.append(row)
    by = {r["method"]: r for r in rows if "seconds" in r}
    ratios = {}
    for name in by:
        if not name.startswith("dlbook-fft") or "openTSNE" not in by:
            continue
        # "dlbook-fft" (the defaults) has no prefix, "dlbook-fft-p3" the prefix "p3_"
        prefix = name[len("dlbook-fft-") :] + "_" if name != "dlbook-fft" else ""
        a, b = by[name], by["openTSNE"]
        ratios.update(
            {
                prefix + "time_dlbook_fft_over_openTSNE": a["seconds"] / b["seconds"],
                prefix + "kl_own_relative_difference": (a["kl_own"] - b["kl_own"])
                / b["kl_own"],
                prefix + "kl_common_P_relative_difference": (a["kl_common_P"] - b["kl_common_P"])
                / b["kl_common_P"],
                prefix + "trustworthiness_difference": a["trustworthiness"]
                - b["trustworthiness"],
            }
        )
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "hardware": _hardware(n_jobs),
        "versions": _versions(),
        "settings": {
            "n": n,
            "dataset": dataset,
            "pca_dims": 50,
            "perplexity": perplexity,
            "n_iter": n_iter,
            "n_jobs": n_jobs,
            "trust_subsample": int(len(sub)),
            "trust_k": 12,
            "seed": seed,
            "dlbook_fft_default_nodes": TSNE().n_interpolation_points,
            "dlbook_threads": TSNE().n_threads,
        },
        "results": rows,
        "ratios": ratios,
        "load_1min": {"start": load_start, "end": load_average()},
        "note": "All methods ran one after the other in one process on a machine shared with "
        "other jobs; compare the ratios, which were measured in the same run.",
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(DEFAULT_METHODS),
    )
    parser.add_argument("--perplexity", type=float, default=30.0)
    parser.add_argument("--n-iter", type=int, default=750)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--trust-n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for tsne_benchmark_<dataset>_<n>.json"
    )
    args = parser.parse_args(argv)
    result = run_benchmark(
        args.n,
        args.dataset,
        args.methods,
        args.perplexity,
        args.n_iter,
        args.n_jobs,
        args.trust_n,
        args.seed,
    )
    result["command"] = "python -m dlbook.manifold.benchmark " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"tsne_benchmark_{args.dataset}_{args.n}.json").write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
