"""Word embeddings: dlbook's skip-gram and fastText beside gensim's, on people's similarity judgements.

Every row trains one model on one corpus with the same hyper-parameters
and thread count, and evaluates it with the same code: Spearman's rho on
WordSim-353 and SimLex-999 with the coverage of each, 3CosAdd accuracy on
the Google analogies (restricted to the 30,000 most frequent words), and
the training wall time. Run, for the book's table::

    nice -n 10 python -m dlbook.experiments embeddings --threads 2 --out docs/results

The model ``lm-input`` trains nothing: it reads the input embeddings of a
language model saved by ``python -m dlbook.experiments lm ... --save-params
FILE`` (``--lm-params FILE``, PTB only, as the model's vocabulary is PTB's)
and evaluates them with the same code. Every row also records the five
nearest neighbours of :data:`PROBE_WORDS`; with ``--map`` it records a
t-SNE map (:class:`dlbook.manifold.TSNE`) of the ``--map-words`` most
frequent words and the probe words.
"""

from __future__ import annotations

import time

import torch

from dlbook.budget import by_budget
from dlbook.data import load_analogies, load_word_similarity
from dlbook.embeddings import CORPORA, FastText, KeyedVectors, SkipGram, evaluate_analogies, evaluate_similarity
from dlbook.embeddings.corpora import load_corpus
from dlbook.experiments.runner import study_record
from dlbook.runs import provenance

MODELS = ("dlbook-sg", "gensim-sg", "dlbook-ft", "gensim-ft", "dlbook-sg-shared", "lm-input")
#: The write-up's word groups (its embedding plots), whose neighbours every row records.
PROBE_GROUPS = {"reluctance": ["unwilling", "reluctant"], "inclination": ["inclined", "willing"],
                "admission": ["acknowledge", "conceded", "agrees", "admits"]}
PROBE_WORDS = [w for group in PROBE_GROUPS.values() for w in group]


def hyper_parameters(budget: str, **overrides) -> dict:
    """The shared settings: word2vec's and gensim's defaults, fewer buckets than fastText's 2M."""
    hp = dict(dim=100, window=5, negative=5, min_count=5, sample=1e-3, alpha=0.025, min_alpha=1e-4,
              epochs=by_budget(smoke=1, ci=2, default=5, budget=budget), min_n=3, max_n=6, buckets=200_000)
    hp.update({k: v for k, v in overrides.items() if v is not None})
    return hp


def corpus_slice(sentences: list, budget: str) -> list:
    """The whole corpus, or its first sentences at the ``smoke`` and ``ci`` budgets."""
    limit = by_budget(smoke=2000, ci=20000, default=None, budget=budget)
    return sentences if limit is None else sentences[:limit]


def lm_input_vectors(path: str) -> KeyedVectors:
    """The input embeddings of a PTB language model saved with ``lm --save-params``, keyed by PTB's vocabulary."""
    from dlbook.data import load_ptb

    state = torch.load(path, map_location="cpu", weights_only=True)
    if "embedding.weight" not in state:
        raise ValueError(f"embeddings: {path} has no 'embedding.weight'; pass a state dict saved by "
                         "'python -m dlbook.experiments lm --save-params' for a word-level model")
    words = load_ptb().vocab.itos
    weight = state["embedding.weight"].float()
    if weight.shape[0] != len(words):
        raise ValueError(f"embeddings: the embedding of {path} has {weight.shape[0]} rows, PTB's vocabulary "
                         f"{len(words)} words")
    return KeyedVectors(list(words), weight)


def train(model: str, sentences: list, hp: dict, threads: int, seed: int = 0, progress: bool = False,
          lm_params: str | None = None):
    """Train one model; returns ``(KeyedVectors, training seconds, extra info)``.

    ``lm-input`` loads the vectors from ``lm_params`` instead (training seconds ``None``).
    """
    if model == "lm-input":
        if lm_params is None:
            raise ValueError("embeddings: model 'lm-input' needs --lm-params FILE (saved by lm --save-params)")
        return lm_input_vectors(lm_params), None, {"lm_params": str(lm_params)}
    if model.startswith("dlbook"):
        cls = FastText if model == "dlbook-ft" else SkipGram
        kwargs = {k: hp[k] for k in ("dim", "window", "negative", "min_count", "sample", "alpha", "min_alpha",
                                     "epochs")}
        if model == "dlbook-sg-shared":  # noise words drawn once per centre word (SkipGram's shared_negatives)
            kwargs["shared_negatives"] = True
        if cls is FastText:
            kwargs.update(min_n=hp["min_n"], max_n=hp["max_n"], buckets=hp["buckets"])
        m = cls(threads=threads, seed=seed, **kwargs).fit(sentences, progress=progress)
        losses = m.losses
        k = max(1, len(losses) // 20)
        return m.wv, m.train_time, {"loss_first": sum(losses[:k]) / k, "loss_last": sum(losses[-k:]) / k}
    from gensim.models import FastText as GensimFastText
    from gensim.models import Word2Vec

    kwargs = dict(vector_size=hp["dim"], window=hp["window"], negative=hp["negative"], min_count=hp["min_count"],
                  sample=hp["sample"], alpha=hp["alpha"], min_alpha=hp["min_alpha"], epochs=hp["epochs"],
                  sg=1, hs=0, workers=threads, seed=seed)
    start = time.perf_counter()
    if model == "gensim-sg":
        m = Word2Vec(sentences, **kwargs)
    else:
        m = GensimFastText(sentences, min_n=hp["min_n"], max_n=hp["max_n"], bucket=hp["buckets"], **kwargs)
    seconds = time.perf_counter() - start
    kv = KeyedVectors(list(m.wv.index_to_key), torch.tensor(m.wv.vectors))
    if model == "gensim-ft":
        wv = m.wv
        kv.oov = lambda w: torch.tensor(wv[w]) if wv.has_index_for(w) or wv.get_vector(w).any() else None
    return kv, seconds, {}


def evaluate(kv: KeyedVectors, tests: dict) -> dict:
    """Similarity (with and without OOV vectors, dropping and zero-filling) and analogy scores."""
    out = {}
    for name in ("wordsim353", "simlex999"):
        pairs = tests[name]
        r = evaluate_similarity(kv, pairs)
        out[f"{name}_spearman"] = r["spearman"]
        out[f"{name}_coverage"] = r["coverage"]
        out[f"{name}_in_vocabulary"] = r["in_vocabulary"]
        out[f"{name}_spearman_all_pairs"] = evaluate_similarity(kv, pairs, oov="zero")["spearman"]
        if kv.oov is not None:  # the same vectors without the n-gram vectors of unseen words
            bare = KeyedVectors(kv.index_to_key, kv.vectors)
            out[f"{name}_spearman_vocab_only"] = evaluate_similarity(bare, pairs)["spearman"]
    a = evaluate_analogies(kv, tests["analogies"])
    out.update(analogy_accuracy=a["accuracy"], analogy_coverage=a["coverage"],
               analogy_semantic=a["semantic_accuracy"], analogy_syntactic=a["syntactic_accuracy"])
    return out


def neighbours(kv: KeyedVectors, words=None, topn: int = 5) -> dict:
    """The ``topn`` nearest neighbours (cosine) of each word of ``words`` that has a vector."""
    words = PROBE_WORDS if words is None else words
    return {w: [[x, round(float(c), 4)] for x, c in kv.most_similar(w, topn=topn)] for w in words if w in kv}


def embedding_map(kv: KeyedVectors, n_words: int = 1000, seed: int = 0) -> dict:
    """A 2-D t-SNE map of the ``n_words`` first (most frequent) words of ``kv`` and the probe words.

    Returns ``{"words": [...], "xy": [[x, y], ...]}``, rounded to 3 decimals.
    """
    from dlbook.manifold import TSNE

    words = list(kv.index_to_key[:n_words])
    words += [w for w in PROBE_WORDS if w in kv and w not in words[:n_words]]
    idx = torch.tensor([kv.key_to_index[w] for w in words])
    xy = TSNE(perplexity=min(30.0, (len(words) - 1) / 3), random_state=seed).fit_transform(
        kv.unit_vectors[idx].double())
    return {"words": words, "xy": [[round(float(a), 3), round(float(b), 3)] for a, b in xy]}


def add_arguments(parser) -> None:
    """The study's options on its sub-parser."""
    parser.add_argument("--corpora", nargs="+", choices=list(CORPORA), default=["ptb", "gutenberg", "all"])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS[:4]))
    parser.add_argument("--threads", type=int, default=2, help="threads for every model (torch and gensim)")
    parser.add_argument("--epochs", type=int, default=None, help="override the budget's epochs")
    parser.add_argument("--min-count", type=int, default=None, dest="min_count")
    parser.add_argument("--window", type=int, default=None, help="override the window (default 5)")
    parser.add_argument("--dim", type=int, default=None, help="override the vector size (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="embeddings.json", help="results file name")
    parser.add_argument("--lm-params", default=None,
                        help="state dict of a PTB language model (lm --save-params), for model lm-input")
    parser.add_argument("--map", action="store_true", help="record a t-SNE map of each row's vectors")
    parser.add_argument("--map-words", type=int, default=1000, help="most frequent words on the map")


def run(args) -> dict:
    """Run the study the parsed ``args`` describe."""
    if args.threads < 1:
        raise ValueError(f"embeddings: argument '--threads' must be >= 1, got {args.threads}")
    info, started = provenance(), time.perf_counter()
    hp = hyper_parameters(args.budget, epochs=args.epochs, min_count=args.min_count,
                          window=getattr(args, "window", None), dim=getattr(args, "dim", None))
    tests = {"wordsim353": load_word_similarity("wordsim353"), "simlex999": load_word_similarity("simlex999"),
             "analogies": load_analogies()}
    if "lm-input" in args.models and args.corpora != ["ptb"]:
        raise ValueError(f"embeddings: model 'lm-input' is a PTB model; pass --corpora ptb, got {args.corpora}")
    rows = []
    for corpus in args.corpora:
        sentences = corpus_slice(load_corpus(corpus), args.budget)
        tokens = sum(len(s) for s in sentences)
        for model in args.models:
            print(f"[embeddings] {corpus} {model} ...", flush=True)
            kv, seconds, extra = train(model, sentences, hp, args.threads, seed=args.seed, progress=True,
                                       lm_params=getattr(args, "lm_params", None))
            row = {"corpus": corpus, "model": model, "tokens": tokens, "vocabulary": len(kv),
                   "wall_time": seconds, **extra, **evaluate(kv, tests), "neighbours": neighbours(kv)}
            if getattr(args, "map", False):
                row["map"] = embedding_map(kv, args.map_words, seed=args.seed)
            rows.append(row)
            print("  " + _line(row), flush=True)
    return study_record("embeddings", args.budget, rows, info=info, started=started, jobs=1,
                        hyper_parameters=hp, threads=args.threads, seed=args.seed,
                        protocol="cosine similarity; Spearman over pairs with both vectors (coverage stated); "
                                 "*_all_pairs: missing pairs scored 0; analogies 3CosAdd over the 30,000 most "
                                 "frequent words, questions with a word outside them not answered")


def results_name(args) -> str:
    return args.name


def _line(row: dict) -> str:
    return (f"{row['corpus']:<10} {row['model']:<10} WS353 {row['wordsim353_spearman']:.3f} "
            f"(cov {row['wordsim353_coverage']:.2f})  SimLex {row['simlex999_spearman']:.3f} "
            f"(cov {row['simlex999_coverage']:.2f})  analogy {row['analogy_accuracy']:.3f} "
            f"(cov {row['analogy_coverage']:.2f})  "
            + ("(not trained here)" if row["wall_time"] is None else f"{row['wall_time']:.1f} s"))


def summary_lines(result: dict) -> list[str]:
    """One line per row for the terminal."""
    return [_line(r) for r in result["rows"]]
