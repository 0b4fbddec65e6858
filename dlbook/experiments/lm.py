"""Language models on Penn Treebank and Gutenberg: one row per model, valid and test perplexity.

``python -m dlbook.experiments lm --rows zaremba-small lstm-1x50 [--dataset ptb|gutenberg] [--budget B] [--out DIR]``
writes ``lm.json`` (``lm-gutenberg.json`` for Gutenberg). Each row records
the valid and test perplexity of the parameters with the best validation
perplexity, the parameter count, the training tokens seen, the training
wall time (evaluations excluded), tokens per second and the learning curve.

Rows train on :func:`dlbook.runs.get_device` (CUDA, then MPS, then CPU;
``DLBOOK_DEVICE=cpu`` forces the CPU), and each row records its device.
Under ``torchrun --nproc-per-node N`` the same command trains with
:class:`torch.nn.parallel.DistributedDataParallel` (gloo on CPU, nccl on
GPUs, one GPU per process): the global batch of ``B`` columns is split into ``N`` shards of
``B / N`` columns, each process averages its own loss, and the all-reduced
gradient is the gradient of the single-process loss over all ``B``
columns, so the updates are the same (tested in ``tests/test_lm_ddp.py``).

Budgets: ``smoke`` trains a few steps on a 20,000-token slice; ``ci`` one
short pass over a 60,000-token slice; ``default`` each row's own schedule,
cut at ``--max-minutes`` (30) of training; ``full`` the paper's whole
schedule. The ``claim-*`` rows change one setting of a 2 x 100 LSTM
(``claim-emb-equal`` is the base) to test the write-up's hyper-parameter
findings at CPU scale. The paper-scale presets (``zaremba-medium``, ``zaremba-large``,
``seed-2x1000-tied``) are only meant for ``full``. With
``--checkpoint-dir DIR`` a row's training state is saved after every
evaluation, and the same command continues a stopped run; the row's
``segments`` counts the pieces and ``wall_time`` adds up their training
time. Rows with a ``dataset`` key (``gutenberg-2x250-tied``) run only on
that corpus.
"""

from __future__ import annotations

import os
import time

import torch

from dlbook.budget import by_budget
from dlbook.data import batchify, load_gutenberg, load_ptb
from dlbook.experiments.runner import study_record
from dlbook.runs import device_name, get_device, provenance, seed_everything


def summed_over_window(lr: float, clip: float, bptt: int) -> dict:
    """A paper's ``lr`` and ``clip``, stated for a loss summed over the window's steps, for ``train_lm``'s mean loss.

    Zaremba et al.'s and Kim et al.'s code differentiate the sum over the
    ``bptt`` steps of a window of each step's batch-mean negative
    log-likelihood, clip that gradient's norm at ``clip`` and step with
    ``lr``. :func:`dlbook.models.train_lm` differentiates the mean over the
    steps, whose gradient is ``bptt`` times smaller, so the same updates
    need ``lr * bptt`` and ``clip / bptt``
    (``lr * clip_c(bptt * g) == (lr * bptt) * clip_{c / bptt}(g)``).

    >>> summed_over_window(1.0, 5.0, 20)
    {'lr': 20.0, 'clip': 0.25, 'bptt': 20}
    """
    return dict(lr=lr * bptt, clip=clip / bptt, bptt=bptt)


# the base of the claim-* rows; each of them changes one setting
_CLAIM_BASE = dict(model="lstm", emb=100, hidden=100, layers=2, batch=20, bptt=35, lr=20.0, clip=0.25, epochs=6)
#: Row name -> model and training settings. ``seed`` is the seed write-up's test perplexity at that size.
ROWS = {
    "tiny": dict(model="lstm", emb=32, hidden=32, layers=1, batch=20, bptt=20, lr=1.0, clip=5.0, epochs=1),
    # Zaremba et al.'s and Kim et al.'s lr 1 and clip 5 (or 10) are for a loss summed over the window: converted
    "zaremba-small": dict(model="lstm", emb=200, hidden=200, layers=2, batch=20, **summed_over_window(1.0, 5.0, 20),
                          epochs=13, decay_start=4, decay=0.5, init=0.1, paper=114.5),
    "zaremba-small-adaptive": dict(model="lstm", emb=200, hidden=200, layers=2, batch=20,
                                   **summed_over_window(1.0, 5.0, 20), epochs=13, decay_start=4, decay=0.5,
                                   cutoffs=[2000, 6000]),
    "tied-2x200-dropout": dict(model="lstm", emb=200, hidden=200, layers=2, batch=20, bptt=35, lr=20.0, clip=0.25,
                               epochs=40, dropout=0.2, tie=True, paper=87.17),
    "adaptive-2x200-dropout": dict(model="lstm", emb=200, hidden=200, layers=2, batch=20, bptt=35, lr=20.0,
                                   clip=0.25, epochs=40, dropout=0.2, cutoffs=[2000, 6000]),
    # the write-up's best small row states lr 5
    "lstm-2x250-tied-dropout": dict(model="lstm", emb=250, hidden=250, layers=2, batch=20, bptt=35, lr=5.0,
                                    clip=0.25, epochs=40, dropout=0.5, tie=True, seed=87.12),
    "gru-1x50": dict(model="gru", emb=50, hidden=50, layers=1, batch=20, bptt=35, lr=20.0, clip=0.25, epochs=20,
                     seed=193.7),
    "lstm-1x50": dict(model="lstm", emb=50, hidden=50, layers=1, batch=20, bptt=35, lr=20.0, clip=0.25, epochs=20,
                      seed=136.08),
    "lstm-3x100": dict(model="lstm", emb=100, hidden=100, layers=3, batch=20, bptt=35, lr=20.0, clip=0.25,
                       epochs=20, seed=117.51),
    # the same 3 x 100 size with the regularisers and the 40 epochs of the write-up's own best row
    "lstm-3x100-tied-dropout": dict(model="lstm", emb=100, hidden=100, layers=3, batch=20, bptt=35, lr=20.0,
                                    clip=0.25, epochs=40, dropout=0.2, tie=True, seed=117.51),
    "gcnn": dict(model="gcnn", hidden=100, layers=10, kernel=3, batch=32, bptt=20, lr=0.002, clip=0.25, epochs=20,
                 optimizer="adam", seed=199.26),
    "gcnn-lstm": dict(model="gcnn_lstm", hidden=100, layers=10, kernel=3, rnn_layers=2, batch=32, bptt=20,
                      lr=0.002, clip=0.25, epochs=30, dropout=0.2, optimizer="adam", seed=180.40),
    # Kim et al. halve the learning rate, from the third epoch on, whenever an epoch lowers the validation
    # perplexity by less than 1
    "char-small": dict(model="char", hidden=300, layers=2, char_size=15, maps=25, batch=20,
                       **summed_over_window(1.0, 5.0, 35), epochs=25, dropout=0.5, plateau_decay=0.5,
                       decay_when=1.0, seed=105.16, paper=92.3),
    "attention": dict(model="attention", hidden=200, layers=1, window=5, batch=20, bptt=35, lr=20.0, clip=0.25,
                      epochs=20, dropout=0.2),
    "context": dict(model="context", hidden=200, layers=1, batch=20, bptt=35, lr=20.0, clip=0.25, epochs=20,
                    dropout=0.2),
    # controlled runs for the write-up's hyper-parameter claims: one change from the base 2 x 100 LSTM
    "claim-depth-1": {**_CLAIM_BASE, "layers": 1},
    "claim-depth-3": {**_CLAIM_BASE, "layers": 3},
    "claim-depth-5": {**_CLAIM_BASE, "layers": 5},
    "claim-emb-half": {**_CLAIM_BASE, "emb": 50},
    "claim-emb-equal": dict(_CLAIM_BASE),
    "claim-dropout-small": {**_CLAIM_BASE, "dropout": 0.5},
    "claim-large-no-dropout": {**_CLAIM_BASE, "emb": 400, "hidden": 400},
    "claim-large-dropout": {**_CLAIM_BASE, "emb": 400, "hidden": 400, "dropout": 0.5},
    "claim-tied": {**_CLAIM_BASE, "tie": True},
    "claim-bptt-10": {**_CLAIM_BASE, "bptt": 10},
    # paper scale: run only under the ``full`` budget
    "zaremba-medium": dict(model="lstm", emb=650, hidden=650, layers=2, batch=20, **summed_over_window(1.0, 5.0, 35),
                           epochs=39, decay_start=6, decay=0.8, dropout=0.5, init=0.05, paper=82.7),
    "zaremba-large": dict(model="lstm", emb=1500, hidden=1500, layers=2, batch=20,
                          **summed_over_window(1.0, 10.0, 35), epochs=55, decay_start=14, decay=1 / 1.15,
                          dropout=0.65, init=0.04, paper=78.4),
    "seed-2x1000-tied": dict(model="lstm", emb=1000, hidden=1000, layers=2, batch=20, bptt=35, lr=10.0, clip=0.25,
                             epochs=40, dropout=0.5, tie=True, seed=79.12),
    # Gutenberg: the write-up's smaller Gutenberg row; its number is on the write-up's own (unknown) split
    "gutenberg-2x250-tied": dict(model="lstm", emb=250, hidden=250, layers=2, batch=20, bptt=35, lr=10.0, clip=0.25,
                                 epochs=40, tie=True, dataset="gutenberg", seed=122.93),
}

_TRAIN_KEYS = ("batch", "bptt", "lr", "clip", "epochs", "decay_start", "decay", "plateau_decay", "decay_when",
               "optimizer", "init", "seed", "paper", "dataset")


def check_rows(names, dataset: str) -> None:
    """Refuse rows tied to another corpus (a row's ``dataset`` names the corpus its ``seed`` number is on)."""
    wrong = [n for n in names if ROWS[n].get("dataset", dataset) != dataset]
    if wrong:
        raise ValueError(f"lm: rows {wrong} are defined for --dataset "
                         f"{sorted({ROWS[n]['dataset'] for n in wrong})}, not {dataset!r}")


def model_spec(row: dict) -> dict:
    """The model part of a row (what :func:`dlbook.models.lm.build_model` reads)."""
    return {k: v for k, v in row.items() if k not in _TRAIN_KEYS}


def add_arguments(parser) -> None:
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=["tiny"], help="rows to train")
    parser.add_argument("--dataset", choices=["ptb", "gutenberg"], default="ptb")
    parser.add_argument("--max-minutes", type=float, default=30.0,
                        help="training time per row under the default budget (evaluations excluded)")
    parser.add_argument("--epochs", type=float, default=None, help="override every row's number of epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="stop every row after this many updates")
    parser.add_argument("--name", default=None,
                        help="results file name (default lm.json, or lm-DATASET.json for another corpus)")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="folder for resumable training state, one file per row: a stopped run given the same "
                             "command and folder continues where it stopped")
    parser.add_argument("--save-params", default=None,
                        help="save the last row's final parameters here (torch.save; first process only)")


def training_device() -> torch.device:
    """Where this process trains: :func:`dlbook.runs.get_device` (CUDA, then MPS, then CPU; ``DLBOOK_DEVICE``
    overrides), and under torchrun on CUDA the GPU numbered ``LOCAL_RANK``, one GPU per process."""
    device = get_device()
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", torch.cuda.current_device())))
        torch.cuda.set_device(device)
    return device


def _distributed(device: torch.device | None = None):
    """(rank, world_size), initialising the process group under torchrun: nccl when the processes train on
    CUDA, gloo otherwise."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        device = device if device is not None else training_device()
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard_columns(data: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This process's columns of a batchified stream ``(R, B)``: ``B / world`` contiguous columns."""
    b = data.shape[1]
    if b % world:
        raise ValueError(f"lm: the batch ({b} columns) must divide evenly among {world} processes")
    per = b // world
    return data[:, rank * per:(rank + 1) * per]


def train_row(name: str, row: dict, corpus, budget: str, *, max_minutes: float = 30.0, epochs: float | None = None,
              seed: int = 0, progress: bool | None = None, steps: int | None = None,
              save_params: str | None = None, checkpoint: str | None = None) -> dict:
    """Train and evaluate one row; returns its results entry (``checkpoint``: see
    :func:`~dlbook.models.lm.train_lm`)."""
    from dlbook.models.lm import RNNLM, build_model, evaluate, train_lm

    device = training_device()
    rank, world = _distributed(device)
    seed_everything(seed)  # on a GPU also deterministic kernels
    model = build_model(model_spec(row), corpus.vocab)
    if row.get("init"):
        if not isinstance(model, RNNLM):  # RNNLM's uniform start; other models would ignore it silently
            raise ValueError(f"train_row: row {name!r} sets 'init', which only the 'lstm' and 'gru' models take, "
                             f"not {row['model']!r}")
        for p in model.parameters():
            torch.nn.init.uniform_(p, -row["init"], row["init"])
    model.to(device)  # built and initialised on the CPU, so a seed gives the same start on every device
    n_params = sum(p.numel() for p in model.parameters())
    slice_tokens = by_budget(smoke=20_000, ci=60_000, default=None, full=None, budget=budget)
    train_stream = corpus.train if slice_tokens is None else corpus.train[:slice_tokens]
    valid_stream = corpus.valid if slice_tokens is None else corpus.valid[:slice_tokens // 4]
    bptt = row["bptt"]
    train = shard_columns(batchify(train_stream, row["batch"]), rank, world).to(device)
    valid = batchify(valid_stream, 10).to(device)
    test = batchify(corpus.test if slice_tokens is None else corpus.test[:slice_tokens // 4], 10).to(device)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    n_epochs = epochs if epochs is not None else by_budget(smoke=1, ci=1, default=row["epochs"], full=row["epochs"],
                                                           budget=budget)
    history = train_lm(net, train, valid, bptt=bptt, lr=row["lr"], clip=row["clip"], epochs=n_epochs,
                       decay_start=row.get("decay_start"), decay=row.get("decay", 0.5),
                       plateau_decay=row.get("plateau_decay", 0.25), decay_when=row.get("decay_when"),
                       max_seconds=by_budget(smoke=None, ci=None, default=60 * max_minutes, full=None, budget=budget),
                       max_steps=steps or by_budget(smoke=6, ci=None, default=None, budget=budget),
                       evals_per_epoch=by_budget(smoke=1, ci=2, default=4, full=1, budget=budget),
                       optimizer=row.get("optimizer", "sgd"), progress=progress, checkpoint=checkpoint)
    if save_params and rank == 0:
        torch.save(model.state_dict(), save_params)
    valid_res, test_res = evaluate(model, valid, bptt), evaluate(model, test, bptt)
    tokens = history["tokens"] * world
    return {"name": name, "spec": {k: v for k, v in row.items() if k not in ("seed", "paper")},
            "seed_test_ppl": row.get("seed"), "paper_test_ppl": row.get("paper"),
            "valid_ppl": valid_res["ppl"], "test_ppl": test_res["ppl"], "test_tokens": test_res["tokens"],
            "parameters": n_params, "tokens_seen": tokens, "wall_time": history["seconds"],
            "tokens_per_s": tokens / history["seconds"] if history["seconds"] else None,
            "steps": history["steps"], "segments": history["segments"],
            "epochs_run": history["curve"][-1]["epoch"] if history["curve"] else 0,
            "learning_curve": history["curve"], "processes": world, "device": device_name(device)}


def run(args) -> dict:
    check_rows(args.rows, args.dataset)
    info = provenance()
    started = time.perf_counter()
    corpus = load_ptb() if args.dataset == "ptb" else load_gutenberg()
    rows = [train_row(name, ROWS[name], corpus, args.budget, max_minutes=args.max_minutes, epochs=args.epochs,
                      seed=args.seed, progress=None, steps=args.steps, save_params=args.save_params,
                      checkpoint=checkpoint_path(args, name))
            for name in args.rows]
    rank, world = _distributed()
    return study_record("lm", args.budget, rows, info=info, started=started, jobs=args.jobs,
                        device=device_name(training_device()), dataset=args.dataset,
                        vocabulary=len(corpus.vocab),
                        split_tokens={s: len(corpus.split(s)) for s in ("train", "valid", "test")},
                        processes=world, rank=rank)


def checkpoint_path(args, name: str) -> str | None:
    """The row's resumable-state file under ``--checkpoint-dir`` (``None`` without it)."""
    folder = getattr(args, "checkpoint_dir", None)
    if not folder:
        return None
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"{name}-{args.dataset}-{args.budget}-seed{args.seed}.pt")


def results_name(args) -> str:
    if getattr(args, "name", None):
        return args.name
    return "lm.json" if args.dataset == "ptb" else f"lm-{args.dataset}.json"


def summary_lines(result: dict) -> list[str]:
    return [f"{r['name']:<24} valid {r['valid_ppl']:8.2f}  test {r['test_ppl']:8.2f}  "
            f"{r['parameters'] / 1e6:5.2f} M params  {r['tokens_seen']:>10,} tokens  {r['wall_time']:7.0f} s  "
            f"{r['tokens_per_s']:7.0f} tok/s" for r in result["rows"]]
