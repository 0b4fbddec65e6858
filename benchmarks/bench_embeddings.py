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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="gutenberg")
    parser.add_argument("--sentences", type=int, default=None, help="use only the first N sentences")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=["gensim-sg", "dlbook-sg"])
    parser.add_argument("--out", default=None)
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
    load_end = load_average()
    print(f"load average: {load_start} at the start, {load_end} at the end")
    if args.out:
        rec = {"command": "python " + " ".join(sys.argv), "corpus": args.corpus, "sentences": len(sentences),
               "threads": args.threads, "hyper_parameters": hp, "times": times, "rows": rows,
               "load_start": load_start, "load_end": load_end, **info}
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench_embeddings.json").write_text(json.dumps(rec, indent=1) + "\n")
        print(f"wrote {out / 'bench_embeddings.json'}")


if __name__ == "__main__":
    main()
