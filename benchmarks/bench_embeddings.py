"""Time dlbook's skip-gram and fastText training against gensim's, same corpus, settings and threads.

Run from the repository root::

    python benchmarks/bench_embeddings.py [--corpus gutenberg] [--sentences N] [--threads 2] [--epochs E]
                                          [--models dlbook-sg gensim-sg ...] [--out DIR]

The goal (issue 17): dlbook's training wall time at most 3x gensim's on the
Gutenberg corpus with 2 threads. The script trains each model once, one
after the other, prints the times and the dlbook/gensim ratios with the
1-minute load average at the start and the end (a loaded machine makes the
ratio meaningless), and with ``--out DIR`` writes ``DIR/bench_embeddings.json``
with :func:`dlbook.runs.provenance`.

With ``--ablation`` it also measures, in the same run, the choices that make
dlbook's training fast (``ablation`` in the record): two tensor operations
at a batch's shape, each against the slower way (``index_add_`` with
``alpha=`` against the step folded into the rows; scores by ``torch.bmm``
against an elementwise product and a sum), and one epoch of skip-gram on
the first ``--ablation-sentences`` sentences at ``batch_words`` 128, 512 and
1,024 with the chosen threads, and at 128 with one thread.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dlbook.embeddings import load_corpus
from dlbook.experiments.embeddings import MODELS, hyper_parameters, train
from dlbook.runs import load_average, provenance

GOAL = 3.0


def _ms(fn, repeat: int = 30) -> float:
    """Median milliseconds of ``fn()`` over ``repeat`` calls, after one warm-up call."""
    import statistics
    import time

    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - t))
    return statistics.median(times)


def ablation(sentences, threads: int) -> dict:
    """Times of the design choices of :class:`dlbook.embeddings.SkipGram` (see the module docstring)."""
    import torch

    from dlbook.embeddings import SkipGram

    old = torch.get_num_threads()
    torch.set_num_threads(1)  # the ops as one Hogwild worker runs them
    g = torch.Generator().manual_seed(0)
    pairs, k1, d, vocab = 700, 6, 100, 15_000  # a batch of 128 centre words
    table = torch.randn(vocab, d, generator=g)
    rows = torch.randint(0, vocab, (pairs * k1,), generator=g)
    grad = torch.randn(pairs * k1, d, generator=g)
    step = torch.full((pairs * k1, 1), -0.025)
    u, h = table[rows].view(pairs, k1, d), torch.randn(pairs, d, generator=g)
    ops = {"index_add_alpha_ms": _ms(lambda: table.index_add_(0, rows, grad, alpha=-0.025)),
           "index_add_folded_ms": _ms(lambda: table.index_add_(0, rows, grad * step)),
           "scores_bmm_ms": _ms(lambda: torch.bmm(u, h.unsqueeze(2))),
           "scores_mul_sum_ms": _ms(lambda: (u * h.unsqueeze(1)).sum(2))}
    torch.set_num_threads(old)
    epochs = []
    for batch_words, n_threads in ((128, threads), (512, threads), (1024, threads), (128, 1)):
        m = SkipGram(epochs=1, batch_words=batch_words, threads=n_threads, seed=0).fit(sentences, progress=False)
        epochs.append({"batch_words": batch_words, "threads": n_threads, "seconds": m.train_time})
        print(f"skip-gram, 1 epoch, batch_words {batch_words:>5}, {n_threads} thread(s): {m.train_time:6.2f} s")
    for key, value in ops.items():
        print(f"{key:<22} {value:7.3f} ms")
    return {"ops": ops, "op_shape": {"pairs": pairs, "rows_per_pair": k1, "dim": d, "vocabulary": vocab},
            "epochs": epochs, "sentences": len(sentences)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="gutenberg")
    parser.add_argument("--sentences", type=int, default=None, help="use only the first N sentences")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=["gensim-sg", "dlbook-sg"])
    parser.add_argument("--out", default=None)
    parser.add_argument("--ablation", action="store_true", help="also time the design choices (see above)")
    parser.add_argument("--ablation-sentences", type=int, default=20_000)
    args = parser.parse_args()
    sentences = load_corpus(args.corpus)
    if args.sentences:
        sentences = sentences[:args.sentences]
    hp = hyper_parameters("default", epochs=args.epochs)
    info, load_start = provenance(), load_average()
    times = {}
    for model in args.models:
        _, seconds, _ = train(model, sentences, hp, args.threads)
        times[model] = seconds
        print(f"{model:<10} {seconds:8.1f} s")
    rows = []
    for kind in ("sg", "ft"):
        ours, theirs = times.get(f"dlbook-{kind}"), times.get(f"gensim-{kind}")
        if ours and theirs:
            ratio = ours / theirs
            rows.append({"model": kind, "dlbook_s": ours, "gensim_s": theirs, "ratio": ratio, "goal": GOAL,
                         "met": ratio <= GOAL})
            print(f"{kind}: dlbook / gensim = {ratio:.2f} (goal <= {GOAL})")
    extra = {"ablation": ablation(sentences[:args.ablation_sentences], args.threads)} if args.ablation else {}
    load_end = load_average()
    print(f"load average: {load_start} at the start, {load_end} at the end")
    if args.out:
        rec = {"command": "python " + " ".join(sys.argv), "corpus": args.corpus, "sentences": len(sentences),
               "threads": args.threads, "hyper_parameters": hp, "times": times, "rows": rows,
               "load_start": load_start, "load_end": load_end, **extra, **info}
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench_embeddings.json").write_text(json.dumps(rec, indent=1) + "\n")
        print(f"wrote {out / 'bench_embeddings.json'}")


if __name__ == "__main__":
    main()
