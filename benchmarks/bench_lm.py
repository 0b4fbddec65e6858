"""Tokens per second of a language-model training step: dlbook (full and adaptive softmax) against torch.nn.

Run from the repository root::

    python benchmarks/bench_lm.py [--threads 1] [--repeat R] [--train-tokens N] [--out DIR] [--tiny]

Shape of Zaremba et al. (2014) small: 2 LSTM layers of 200 units, embedding
200, batch 20, 20 steps, vocabulary 10,000, float32 on the CPU. One training
step is forward, backward, gradient clipping and the SGD update. Five
models, timed alternately in one run on the same windows of PTB (random
Zipf-distributed tokens when PTB is not available):

* ``torch``: ``torch.nn.Embedding`` + ``torch.nn.LSTM`` + ``torch.nn.Linear`` + ``F.cross_entropy``;
* ``dlbook-full``: :class:`dlbook.models.RNNLM` with the full softmax;
* ``dlbook-adaptive``: the same with :class:`dlbook.nn.AdaptiveLogSoftmaxWithLoss`
  (cut-offs 2,000 and 6,000, ``div_value`` 4).
* ``torch-no-decoder`` and ``dlbook-no-decoder``: ``torch``'s and
  dlbook's embedding and LSTM with no decoder at all (the loss is a fixed
  linear function of the LSTM's outputs). No output layer can make a step
  faster than its model's no-decoder step, so ``torch``'s full step time
  over ``dlbook-no-decoder``'s bounds the speed-up over ``torch`` of any
  softmax replacement on dlbook's LSTM, the adaptive softmax included, at
  this shape; over ``torch-no-decoder``'s, on ``torch``'s LSTM.

Goals: ``dlbook-full`` within 1.25x of ``torch``'s step time, and
``dlbook-adaptive`` at 3x or more of ``torch``'s tokens per second. With
``--train-tokens N`` (``N > 0``) the script also trains the full and the
adaptive dlbook models from the same initialisation on the same first
``N`` training tokens (one pass, SGD with learning rate 20 and clipping at
0.25, as the book's PTB rows) and reports their validation perplexities
(goal: the adaptive one within 3% of the full one). In the same run it measures the
fp32 matrix-product peak with ``benchmarks/bench_rnn.py``'s function. With
``--out DIR`` it writes ``DIR/bench_lm.json`` with the provenance and the
1-minute load average at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import runpy
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlbook.data import batchify, bptt_batches  # noqa: E402
from dlbook.models import RNNLM, evaluate, train_lm  # noqa: E402
from dlbook.models.lm import detach_state  # noqa: E402
from dlbook.optim import clip_grad_norm_  # noqa: E402
from dlbook.runs import load_average, provenance  # noqa: E402

SHAPE = {"vocab": 10_000, "hidden": 200, "layers": 2, "batch": 20, "bptt": 20}
TINY = {"vocab": 500, "hidden": 16, "layers": 2, "batch": 4, "bptt": 5}
CUTOFFS = {"vocab": [2000, 6000], "tiny": [100, 300]}


class NoDecoder(torch.nn.Module):
    """A language model's ``features`` with no output layer: the loss is ``<h, g>`` for a fixed random ``g``.

    The backward pass still runs through the embedding and the LSTM.
    """

    def __init__(self, lm, hidden):
        super().__init__()
        self.lm = lm
        self.g = torch.randn(hidden)

    def forward(self, x, y, state=None):
        h, state = self.lm.features(x, state)
        return (h * self.g).sum(), state


class TorchLM(torch.nn.Module):
    """The torch.nn baseline with the same interface as a dlbook LanguageModel."""

    def __init__(self, vocab, hidden, layers):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, hidden)
        self.rnn = torch.nn.LSTM(hidden, hidden, layers)
        self.decoder = torch.nn.Linear(hidden, vocab)

    def features(self, x, state=None):
        return self.rnn(self.embedding(x), state)

    def forward(self, x, y, state=None):
        h, state = self.features(x, state)
        logits = self.decoder(h.reshape(-1, h.shape[-1]))
        return torch.nn.functional.cross_entropy(logits, y.reshape(-1), reduction="sum"), state


def streams(shape, tiny):
    """Training and validation token streams: PTB when available, else Zipf-distributed tokens."""
    if not tiny:
        try:
            from dlbook.data import load_ptb

            c = load_ptb(download=False)
            return c.train, c.valid, "ptb"
        except Exception:  # noqa: BLE001 - any failure falls back to synthetic tokens
            pass
    g = torch.Generator().manual_seed(0)
    probs = 1.0 / torch.arange(1, shape["vocab"] + 1)
    train = torch.multinomial(probs, 200_000 if not tiny else 4_000, replacement=True, generator=g)
    valid = torch.multinomial(probs, 20_000 if not tiny else 1_000, replacement=True, generator=g)
    return train, valid, "zipf"


def sgd_step(model, x, y, state, lr=1.0, clip=5.0):
    params = [p for p in model.parameters()]
    start = time.perf_counter()
    state = detach_state(state)
    nll, state = model(x, y, state)
    model.zero_grad(set_to_none=True)
    (nll / y.numel()).backward()
    clip_grad_norm_(params, clip)
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p.add_(p.grad, alpha=-lr)
    return time.perf_counter() - start, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=30, help="timed steps per model")
    parser.add_argument("--train-tokens", type=int, default=0,
                        help="also train full and adaptive dlbook models on this many tokens and compare perplexity")
    parser.add_argument("--out", default=None)
    parser.add_argument("--tiny", action="store_true", help="tiny shapes (for the tests)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shape = TINY if args.tiny else SHAPE
    cutoffs = CUTOFFS["tiny" if args.tiny else "vocab"]
    info, load_start = provenance(), load_average()
    peak = runpy.run_path(str(ROOT / "benchmarks" / "bench_rnn.py"))["matmul_peak"](
        (128, 256) if args.tiny else (512, 1024, 2048))
    train, valid, source = streams(shape, args.tiny)
    v, h, n_layers, b, t = shape["vocab"], shape["hidden"], shape["layers"], shape["batch"], shape["bptt"]
    train, valid = train.clamp_max(v - 1), valid.clamp_max(v - 1)
    torch.manual_seed(0)
    models = {"torch": TorchLM(v, h, n_layers), "dlbook-full": RNNLM(v, h, h, n_layers),
              "dlbook-adaptive": RNNLM(v, h, h, n_layers, cutoffs=cutoffs),
              "torch-no-decoder": NoDecoder(TorchLM(v, h, n_layers), h),
              "dlbook-no-decoder": NoDecoder(RNNLM(v, h, h, n_layers), h)}
    data = batchify(train, b)
    windows = list(bptt_batches(data, t))[: args.repeat + 3]
    times = {k: [] for k in models}
    states = {k: None for k in models}
    for i, (x, y) in enumerate(windows):
        for name, model in models.items():
            dt, states[name] = sgd_step(model, x, y, states[name])
            if i >= 3:  # warm-up steps are not timed
                times[name].append(dt)
    med = {k: statistics.median(v_) for k, v_ in times.items()}
    tokens = b * t
    rows = {k: {"median_step_ms": 1e3 * m, "tokens_per_s": tokens / m} for k, m in med.items()}
    ratio_full = med["dlbook-full"] / med["torch"]
    speedup_adaptive = med["torch"] / med["dlbook-adaptive"]
    bound_torch_lstm = med["torch"] / med["torch-no-decoder"]
    bound_dlbook_lstm = med["torch"] / med["dlbook-no-decoder"]
    print(f"torch {info['torch_version']}, {info['cpu']}, {torch.get_num_threads()} thread(s), "
          f"commit {(info['commit'] or 'unknown')[:7]}, load {load_start}, data {source}")
    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s")
    for k, r in rows.items():
        print(f"{k:<16} {r['median_step_ms']:8.1f} ms/step {r['tokens_per_s']:9.0f} tokens/s")
    print(f"dlbook-full / torch step time: {ratio_full:.2f} "
          f"(goal <= 1.25: {'met' if ratio_full <= 1.25 else 'missed'})")
    print(f"dlbook-adaptive tokens/s / torch: {speedup_adaptive:.2f} (goal >= 3: "
          f"{'met' if speedup_adaptive >= 3 else 'missed'})")
    print(f"torch step / the step without a decoder: {bound_dlbook_lstm:.2f} on dlbook's LSTM, "
          f"{bound_torch_lstm:.2f} on torch's (the most any output layer can gain)")
    quality = None
    if args.train_tokens > 0:
        quality = {}
        for name, cut in (("dlbook-full", None), ("dlbook-adaptive", cutoffs)):
            torch.manual_seed(1)
            m = RNNLM(v, h, h, n_layers, cutoffs=cut)
            # the learning rate and clipping of the book's PTB rows (tied-2x200-dropout), no dropout
            hist = train_lm(m, batchify(train[: args.train_tokens], b), None, bptt=t, lr=20.0, clip=0.25, epochs=1,
                            progress=False)
            quality[name] = {"valid_ppl": evaluate(m, batchify(valid, 10), t)["ppl"], "tokens": hist["tokens"],
                             "seconds": hist["seconds"]}
        gap = quality["dlbook-adaptive"]["valid_ppl"] / quality["dlbook-full"]["valid_ppl"] - 1
        quality["relative_gap"] = gap
        print(f"after {args.train_tokens:,} tokens: valid PPL full {quality['dlbook-full']['valid_ppl']:.1f}, "
              f"adaptive {quality['dlbook-adaptive']['valid_ppl']:.1f} (gap {100 * gap:+.1f}%, goal within 3%)")
    if args.out:
        out = Path(args.out) / "bench_lm.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        record = {"command": "python " + " ".join(sys.argv), **info, "torch_threads": torch.get_num_threads(),
                  "load_start": load_start, "load_end": load_average(), "data": source, "shape": shape,
                  "cutoffs": cutoffs, "repeat": args.repeat, "matmul_peak_gflops": peak, "rows": rows,
                  "full_over_torch_time": ratio_full, "adaptive_speedup_over_torch": speedup_adaptive,
                  "no_decoder_speedup_over_torch": {"dlbook": bound_dlbook_lstm, "torch": bound_torch_lstm},
                  "goals": {"full_over_torch_time": 1.25, "adaptive_speedup_over_torch": 3.0,
                            "adaptive_ppl_gap": 0.03},
                  "quality": quality}
        out.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
