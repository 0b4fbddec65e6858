r"""Case study: MNIST with 3,000 labels.

Protocols (:data:`PROTOCOLS`)
-----------------------------
From the 60,000 official training images, :func:`dlbook.data.balanced_split`
with ``seed=0`` draws 300 labelled images per class (3,000) and 1,000 more
per class (10,000), and leaves 47,000 unlabelled images. The split is the
same for every run; the run seed only changes the initialization, the
dropout masks, the augmentations and the order of the mini-batches. Each
run keeps the parameters of the epoch with the best validation accuracy and
reports the official 10,000 test images once, with those parameters.

``realistic`` (the default)
    Every choice is made from the 3,000 labelled images alone (Oliver et
    al., 2018): a second seeded, class-balanced split keeps 2,700 of them
    (270 per class) for training and 300 (30 per class) for validation, which
    selects the epoch of every row and the base row of ``pseudo`` and
    ``beyond``. The other 10,000 labelled images are not used at all.
``large-val``
    The protocol of the first studies: all 3,000 labelled images train, and
    the 10,000 other labelled images validate. It reads label information
    that a study of 3,000 labels should not have, and is kept for comparison.
``split-costs``
    Not a protocol for results: the 2,700 training images of ``realistic``
    with the 10,000 validation images of ``large-val``. Between the two
    protocols it changes one thing at a time, so it separates what the
    realistic protocol costs through fewer training images from what it
    costs through a noisier choice of epoch.

Rows (:data:`CONFIGS`)
----------------------
``baseline``
    A small CNN (two 5x5 convolutions of 32 and 64 channels, max pooling,
    one hidden layer of 128 units) trained with :class:`dlbook.optim.Nesterov`
    (learning rate 0.05 decayed to 0 along a cosine) and
    :class:`dlbook.nn.Dropout`; PyTorch's default initialization.
``init``
    The same, with He initialization (:func:`dlbook.init.initialize_`).
``augment``
    The same as ``init``, each labelled mini-batch transformed by a fresh
    :class:`dlbook.data.transforms.RandomAffine` draw; on Fashion-MNIST by
    :class:`dlbook.data.transforms.RandomHorizontalFlip` instead (a mirrored
    garment is the same garment).
``pseudo``
    Pseudo-labels (Lee, 2013) on top of the row among the first three with
    the best validation accuracy: :func:`dlbook.semisupervised.pseudo_label_loss`
    with the ramp :func:`dlbook.semisupervised.pseudo_label_weight`.
``kmeans``
    :class:`dlbook.features.KMeansFeatures` (Coates et al., 2011) learnt on the
    unlabelled images, then a linear softmax classifier on the :math:`4k`
    standardised features, trained with Nesterov momentum.
``beyond``
    Self-training in the noisy-student form (Xie et al., 2020): the
    ``pseudo`` row's network, once trained, labels the unlabelled pool; the
    images it classifies with confidence at least :data:`THRESHOLD` keep its
    arg max as their label, and a freshly initialized :class:`SmallCNN` learns
    from the labelled and the pseudo-labelled images with augmentation and
    dropout. Model selection runs over the teacher's and the student's epochs.
"""

from __future__ import annotations

import copy
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from dlbook.budget import by_budget, get_budget
from dlbook.data import balanced_split, load_fashion_mnist, load_mnist
from dlbook.data.transforms import RandomAffine, RandomHorizontalFlip
from dlbook.experiments.runner import WorkerPool, check_jobs, study_record, summarise
from dlbook.features import KMeansFeatures
from dlbook.init import initialize_
from dlbook.nn import Dropout
from dlbook.optim import Nesterov
from dlbook.runs import History, iterate_minibatches, progress_bar, provenance, seed_everything
from dlbook.semisupervised import pseudo_label_loss, pseudo_label_weight

__all__ = ["CONFIGS", "PROTOCOLS", "SPLIT_SEED", "LIVE_DEFAULT", "load_split", "budget_settings", "build_model",
           "run_config", "run_study", "predict"]

SPLIT_SEED = 0
THRESHOLD = 0.8  # confidence a teacher prediction needs to become a pseudo-label (beyond row)
CONFIGS = {
    "baseline": "Baseline: CNN, Nesterov momentum, dropout",
    "init": "+ He initialization",
    "augment": "+ augmentation",
    "pseudo": "Pseudo-labels (Lee 2013) on the best of rows 1-3",
    "kmeans": "k-means features + linear classifier",
    "beyond": "Beyond: self-training, a noisy student of the pseudo-label network",
}
PROTOCOLS = {
    "realistic": "every choice from the 3,000 labelled images: 2,700 train, 300 (30 per class) validate",
    "large-val": "3,000 labelled images train, 10,000 other labelled images validate",
    "split-costs": "the 2,700 training images of 'realistic', validated on the 10,000 images of 'large-val' "
                   "(an ablation between the two protocols, not a protocol for results)",
}
LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}


#: The docs build's live run at the ``default`` budget: these settings replace the study's
#: (see :func:`budget_settings`), so that the whole book builds in about 30 minutes on 2 cores.
LIVE_DEFAULT = {"epochs": 12, "pseudo_epochs": 12, "beyond_student_epochs": 1, "linear_epochs": 30,
                "kmeans_k": 64, "kmeans_patches": 40_000, "kmeans_iters": 15, "kmeans_fit_images": 20_000}


def budget_settings(budget: str | None = None, *, live: bool = False) -> dict:
    """Sizes and epochs of every row for a budget (see :func:`dlbook.budget.by_budget`).

    Parameters
    ----------
    budget : str, optional
        Run budget; ``DLBOOK_BUDGET`` when omitted.
    live : bool
        The gallery's live run: at the ``default`` budget, :data:`LIVE_DEFAULT` replaces the
        study's settings (the study command keeps them); at the other budgets, no change.

    Examples
    --------
    >>> budget_settings("smoke")["epochs"]
    2
    >>> budget_settings("default")["epochs"], budget_settings("default", live=True)["epochs"]
    (40, 12)
    """
    b = get_budget(budget)
    settings = {
        "epochs": by_budget(smoke=2, ci=8, default=40, budget=b),
        "pseudo_epochs": by_budget(smoke=2, ci=8, default=50, budget=b),
        "beyond_student_epochs": by_budget(smoke=1, ci=1, default=10, budget=b),
        "beyond_rounds": by_budget(smoke=1, ci=1, default=1, budget=b),
        "max_steps": by_budget(smoke=30, ci=None, default=None, budget=b),
        "linear_epochs": by_budget(smoke=3, ci=20, default=60, budget=b),
        "n_val": by_budget(smoke=1_000, ci=10_000, default=10_000, budget=b),
        "n_test": by_budget(smoke=1_000, ci=10_000, default=10_000, budget=b),
        "n_unlabeled": by_budget(smoke=4_000, ci=47_000, default=47_000, budget=b),
        "kmeans_k": by_budget(smoke=16, ci=32, default=400, budget=b),
        "kmeans_patches": by_budget(smoke=5_000, ci=20_000, default=100_000, budget=b),
        "kmeans_iters": by_budget(smoke=5, ci=10, default=30, budget=b),
        "kmeans_fit_images": by_budget(smoke=4_000, ci=10_000, default=47_000, budget=b),
    }
    return settings | (LIVE_DEFAULT if live and b == "default" else {})


def load_split(dataset: str = "mnist", budget: str | None = None, protocol: str = "realistic") -> dict:
    """Load the data and the fixed split of one of the :data:`PROTOCOLS`.

    Returns a dict of float images in :math:`[0, 1]` with shape ``(N, 1, 28, 28)``
    and ``int64`` labels: ``"labeled"`` (the images that train), ``"val"``,
    ``"unlabeled"`` and ``"test"``, each a pair ``(X, y)``, and
    ``"protocol"``. The unlabelled labels are kept only to measure
    pseudo-label accuracy, never for training. Under ``realistic``,
    ``"labeled"`` holds 2,700 images and ``"val"`` the other 300 of the
    3,000; under ``large-val``, 3,000 and 10,000. The ``smoke`` budget keeps
    the first ``n_val`` / ``n_test`` / ``n_unlabeled`` images of each part.
    """
    if dataset not in LOADERS:
        raise ValueError(f"load_split: argument 'dataset' must be one of {sorted(LOADERS)}, got {dataset!r}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"load_split: argument 'protocol' must be one of {list(PROTOCOLS)}, got {protocol!r}")
    s = budget_settings(budget)
    images, labels = LOADERS[dataset]("train", download=False)
    test_images, test_labels = LOADERS[dataset]("test", download=False)
    labeled, val, unlabeled = balanced_split(labels, (300, 1000), seed=SPLIT_SEED)
    if protocol in ("realistic", "split-costs"):
        train_part, val_part = balanced_split(labels[labeled], (270, 30), seed=SPLIT_SEED, remainder=False)
        if protocol == "realistic":  # split-costs keeps the 10,000 validation images
            val = labeled[val_part]
        labeled = labeled[train_part]

    def part(idx, n=None, X=images, y=labels):
        idx = idx if n is None else idx[:n]
        return (X[idx].float().div(255).unsqueeze(1), y[idx])

    return {
        "labeled": part(labeled),
        "val": part(val, s["n_val"]),
        "unlabeled": part(unlabeled, s["n_unlabeled"]),
        "test": part(torch.arange(len(test_labels)), s["n_test"], test_images, test_labels),
        "protocol": protocol,
    }


class SmallCNN(nn.Module):
    """Rows 1-4: conv 5x5 (32) - pool - ReLU - conv 5x5 (64) - dropout - pool - ReLU - FC 128 - dropout - FC 10.

    Input ``(N, 1, 28, 28)``, output logits ``(N, 10)``.
    """

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5)
        self.conv2 = nn.Conv2d(32, 64, 5)
        self.drop_conv = Dropout(p / 2, generator=generator)
        self.fc1 = nn.Linear(64 * 4 * 4, 128)
        self.drop_fc = Dropout(p, generator=generator)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.drop_conv(self.conv2(x)), 2))
        x = self.drop_fc(F.relu(self.fc1(x.flatten(1))))
        return self.fc2(x)


def build_model(name: str, generator: torch.Generator) -> nn.Module:
    """The network of row ``name``, initialized from ``generator`` (and the global seed).

    Every network row shares :class:`SmallCNN`; all but ``baseline`` use He initialization.
    """
    model = SmallCNN(generator=generator)
    if name != "baseline":
        initialize_(model, "he_normal", generator=generator)
    return model


def _augmentation(dataset: str):
    """The label-preserving transformations of each data set.

    Digits: a random affine map. Clothing: horizontal flips only; on the
    validation images of seed-0 runs, every geometric warp tried (this
    affine map, a milder one, shifts of up to 2 pixels, each with flips)
    made the Fashion-MNIST row worse than no augmentation, and flips alone
    made it better.
    """
    if dataset == "fashion-mnist":
        return RandomHorizontalFlip()
    return RandomAffine(rotation=12, translation=2.5, zoom=0.12, shear=10)


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits of ``model`` in eval mode, shape ``(N, 10)``."""
    was = model.training
    model.eval()
    out = torch.cat([model(xb) for (xb,) in iterate_minibatches(X, batch_size=batch_size, shuffle=False)])
    model.train(was)
    return out


def _acc(logits, y):
    return float((logits.argmax(1) == y).float().mean())


def _log_epoch(model, data, history, epoch, tot_loss, tot_acc, seen, **extra) -> float:
    """Evaluate ``model`` after an epoch, log the curves and return the validation accuracy."""
    Xl, yl = data["labeled"]
    val_acc = _acc(predict(model, data["val"][0]), data["val"][1])
    history.log(epoch, train_loss=tot_loss / seen, train_batch_accuracy=tot_acc / seen,
                train_accuracy=_acc(predict(model, Xl), yl), val_accuracy=val_acc, **extra)
    return val_acc


def _train_network(name, data, base, settings, seed, dataset, progress):
    g = seed_everything(seed)
    model = build_model(base, g)
    aug = _augmentation(dataset) if base == "augment" else None
    epochs = settings["pseudo_epochs"] if name == "pseudo" else settings["epochs"]
    opt = Nesterov(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)  # 0.05 down to 0, epoch by epoch
    Xl, yl = data["labeled"]
    Xu = data["unlabeled"][0]
    batch, ubatch = 64, 128
    steps = math.ceil(len(yl) / batch)
    history = History()
    best, best_state = -1.0, None
    start = time.perf_counter()
    for epoch in progress_bar(range(1, epochs + 1), desc=name, enable=progress):
        model.train()
        tot_loss = tot_acc = seen = 0.0
        for i, (xb, yb) in enumerate(iterate_minibatches(Xl, yl, batch_size=batch, generator=g)):
            t = epoch - 1 + i / steps  # training time in epochs
            if aug is not None:
                xb = aug(xb, generator=g)
            if name == "pseudo":
                xu = Xu[torch.randint(len(Xu), (ubatch,), generator=g)]
                # Lee (2013): ramp from 0 at 20 % of training to alpha_f = 3 at 60 %
                alpha = pseudo_label_weight(t, 0.2 * epochs, 0.6 * epochs, 3.0)
                if aug is not None:
                    xu = aug(xu, generator=g)
                out = model(torch.cat([xb, xu]))
                out_l, out_u = out[: len(xb)], out[len(xb):]
                loss = pseudo_label_loss(out_l, yb, out_u, alpha)
            else:
                out_l = model(xb)
                loss = F.cross_entropy(out_l, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(yb)
            tot_loss += float(loss.detach()) * len(yb)
            tot_acc += _acc(out_l.detach(), yb) * len(yb)
        sched.step()
        val_acc = _log_epoch(model, data, history, epoch, tot_loss, tot_acc, seen)
        if val_acc > best:
            best, best_state = val_acc, copy.deepcopy(model.state_dict())
    history.seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    return model, history


def _train_beyond(data, base, settings, seed, dataset, progress):
    """Self-training: the ``pseudo`` row's network labels the pool, then a fresh noisy student learns.

    Stage 0 is exactly the ``pseudo`` row (same seed, same base). Each later
    stage labels the unlabelled pool with the previous stage's selected
    network, keeps the pseudo-labels with confidence at least
    :data:`THRESHOLD`, and trains a freshly initialized student on the
    labelled and the kept images, with augmentation and dropout.
    """
    teacher, history = _train_network("pseudo", data, base, settings, seed, dataset, progress)
    history.metrics["stage"] = [0.0] * len(history.epochs)
    best = max(history["val_accuracy"])
    best_state = copy.deepcopy(teacher.state_dict())
    g = seed_everything(seed + 1000)  # the student's own stream, independent of the teacher's length
    aug = _augmentation(dataset)
    (Xl, yl), (Xu, yu) = data["labeled"], data["unlabeled"]
    start = time.perf_counter()
    epoch, labelling = len(history.epochs), []
    epochs, batch = settings["beyond_student_epochs"], 128
    for stage in range(1, settings["beyond_rounds"] + 1):
        conf, label = predict(teacher, Xu).softmax(1).max(1)
        keep = conf >= THRESHOLD
        labelling.append({"round": stage, "kept": float(keep.float().mean()),
                          # the true labels of the pool measure the pseudo-labels; training never reads them
                          "precision": float((label[keep] == yu[keep]).float().mean()),
                          "accuracy_all": float((label == yu).float().mean())})
        X, y = torch.cat([Xl, Xu[keep]]), torch.cat([yl, label[keep]])
        model = build_model("augment", g)  # a fresh student of the same architecture
        steps = math.ceil(len(y) / batch)
        if settings["max_steps"] is not None:
            steps = min(steps, settings["max_steps"])
        opt = Nesterov(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        sched = torch.optim.lr_scheduler.LambdaLR(  # cosine from 0.05 to 0 over the stage, step by step
            opt, lambda k, total=epochs * steps: 0.5 * (1 + math.cos(math.pi * min(k, total) / total)))
        stage_best, stage_state = -1.0, None
        for _ in progress_bar(range(epochs), desc=f"beyond {stage}", enable=progress):
            epoch += 1
            model.train()
            tot_loss = tot_acc = seen = 0.0
            for i, (xb, yb) in enumerate(iterate_minibatches(X, y, batch_size=batch, generator=g)):
                if i == steps:
                    break
                out = model(aug(xb, generator=g))
                loss = F.cross_entropy(out, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                seen += len(yb)
                tot_loss += float(loss.detach()) * len(yb)
                tot_acc += _acc(out.detach(), yb) * len(yb)
            val_acc = _log_epoch(model, data, history, epoch, tot_loss, tot_acc, seen, stage=stage)
            if val_acc > stage_best:
                stage_best, stage_state = val_acc, copy.deepcopy(model.state_dict())
        model.load_state_dict(stage_state)
        if stage_best > best:
            best, best_state = stage_best, stage_state
        teacher = model  # the student labels the pool for the next round
    history.seconds += time.perf_counter() - start
    teacher.load_state_dict(best_state)  # same architecture in every stage
    return teacher, history, labelling


def _train_kmeans(data, settings, seed, progress):
    g = seed_everything(seed)
    start = time.perf_counter()
    km = KMeansFeatures(n_clusters=settings["kmeans_k"], patch_size=6, n_patches=settings["kmeans_patches"],
                        iters=settings["kmeans_iters"])
    km.fit(data["unlabeled"][0][: settings["kmeans_fit_images"]], generator=g)
    feats = {k: km.transform(data[k][0]) for k in ("labeled", "val", "test")}
    mean, std = feats["labeled"].mean(0), feats["labeled"].std(0) + 1e-3
    feats = {k: (v - mean) / std for k, v in feats.items()}
    model = nn.Linear(feats["labeled"].shape[1], 10)
    opt = Nesterov(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-3)
    (Xl, yl), (Xv, yv) = (feats["labeled"], data["labeled"][1]), (feats["val"], data["val"][1])
    history = History()
    best, best_state = -1.0, None
    for epoch in progress_bar(range(1, settings["linear_epochs"] + 1), desc="kmeans", enable=progress):
        tot = seen = 0.0
        for xb, yb in iterate_minibatches(Xl, yl, batch_size=64, generator=g):
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(yb)
            seen += len(yb)
        with torch.no_grad():
            train_acc, val_acc = _acc(model(Xl), yl), _acc(model(Xv), yv)
        history.log(epoch, train_loss=tot / seen, train_batch_accuracy=train_acc, train_accuracy=train_acc,
                    val_accuracy=val_acc)
        if val_acc > best:
            best, best_state = val_acc, copy.deepcopy(model.state_dict())
    history.seconds = time.perf_counter() - start
    model.load_state_dict(best_state)

    class KMeansClassifier(nn.Module):
        def forward(self, x):
            return model((km.transform(x) - mean) / std)

    return KMeansClassifier(), history


def run_config(name: str, seed: int = 0, budget: str | None = None, *, data: dict | None = None,
               base: str = "augment", dataset: str = "mnist", progress: bool | None = None,
               protocol: str = "realistic", live: bool = False) -> dict:
    """Train one row once and evaluate it.

    Parameters
    ----------
    name : str
        A key of :data:`CONFIGS`.
    seed : int
        Run seed (initialization, dropout, augmentation, batch order).
    budget : str, optional
        Run budget; ``DLBOOK_BUDGET`` when omitted.
    data : dict, optional
        Output of :func:`load_split` (loaded with ``protocol`` when omitted;
        when given, its own ``"protocol"`` applies).
    base : str
        For ``"pseudo"`` and ``"beyond"`` (whose teacher is the ``pseudo`` network):
        the row among ``"baseline"``, ``"init"``, ``"augment"`` it builds on.
    dataset : str
        ``"mnist"`` or ``"fashion-mnist"``.
    protocol : str
        One of :data:`PROTOCOLS`.
    live : bool
        Train with the gallery's live settings (see :func:`budget_settings`).

    Returns
    -------
    dict
        ``name``, ``seed``, ``protocol``, ``base`` (the supervised row it builds on; ``None`` for
        the others), ``train_accuracy`` (clean labelled images),
        ``val_accuracy`` and ``test_accuracy`` of the selected epoch,
        ``best_epoch``, ``wall_time`` (seconds, training and evaluation),
        ``history`` (per-epoch curves; the ``beyond`` row adds its ``stage``), ``pseudo_labels`` (``beyond``: kept
        fraction, precision and accuracy of each round's pseudo-labels), ``model`` and ``test_logits``.
    """
    if name not in CONFIGS:
        raise ValueError(f"run_config: argument 'name' must be one of {list(CONFIGS)}, got {name!r}")
    if base not in ("baseline", "init", "augment"):
        raise ValueError(f"run_config: argument 'base' must be 'baseline', 'init' or 'augment', got {base!r}")
    settings = budget_settings(budget, live=live)
    data = data if data is not None else load_split(dataset, budget, protocol)
    start = time.perf_counter()
    labelling = []
    if name == "kmeans":
        model, history = _train_kmeans(data, settings, seed, progress)
    elif name == "beyond":
        model, history, labelling = _train_beyond(data, base, settings, seed, dataset, progress)
    else:
        model, history = _train_network(name, data, name if name in ("baseline", "init", "augment") else base,
                                         settings, seed, dataset, progress)
    best = max(range(len(history["val_accuracy"])), key=lambda i: history["val_accuracy"][i])
    test_logits = predict(model, data["test"][0])
    return {
        "name": name,
        "description": CONFIGS[name] + (f" (on '{base}')" if name in ("pseudo", "beyond") else ""),
        "seed": seed,
        "protocol": data["protocol"],
        "base": base if name in ("pseudo", "beyond") else None,
        "train_accuracy": history["train_accuracy"][best],
        "val_accuracy": history["val_accuracy"][best],
        "test_accuracy": _acc(test_logits, data["test"][1]),
        "best_epoch": best + 1,
        "epochs": len(history.epochs),
        "wall_time": time.perf_counter() - start,
        "history": dict(history.metrics),
        "pseudo_labels": labelling,
        "model": model,
        "test_logits": test_logits,
    }


_SPLITS: dict = {}


def _run_task(name: str, seed: int, budget: str, base: str, dataset: str, protocol: str) -> dict:
    """One run (in a worker process or not): the result of :func:`run_config` without the model and logits."""
    key = (dataset, budget, protocol)
    if key not in _SPLITS:
        _SPLITS[key] = load_split(dataset, budget, protocol)
    r = run_config(name, seed, budget, data=_SPLITS[key], base=base, dataset=dataset, progress=False)
    r.pop("model")
    r.pop("test_logits")
    return r


def run_study(seeds: int = 3, budget: str | None = None, dataset: str = "mnist",
              configs: list[str] | None = None, progress: bool | None = None, jobs: int = 1,
              protocol: str = "realistic") -> dict:
    """Run every row for the seeds ``range(seeds)`` and summarise them, as the CLI does.

    The base of the ``pseudo`` and ``beyond`` rows is the row among
    ``baseline``, ``init``, ``augment`` with the best mean validation
    accuracy in this study (``augment`` when none of them is run). Each row of the result holds
    per-seed values and their mean and sample standard deviation.

    With ``jobs > 1`` the runs are shared among ``jobs`` worker processes,
    each with ``cpu_count // jobs`` threads; a run's result depends only on
    its row, seed, budget and thread count, not on which worker ran it.
    """
    budget = get_budget(budget)
    check_jobs(jobs)
    configs = list(CONFIGS) if configs is None else list(configs)
    info = provenance()  # read at the start: the code that runs
    started = time.perf_counter()
    data = load_split(dataset, budget, protocol)
    names = [c for c in CONFIGS if c in configs]
    runs: dict[str, list[dict]] = {}

    def pseudo_base():
        candidates = [c for c in ("baseline", "init", "augment") if c in runs]
        if not candidates:
            return "augment"
        return max(candidates, key=lambda c: sum(r["val_accuracy"] for r in runs[c]))

    semi = ("pseudo", "beyond")  # rows built on the best supervised row
    with WorkerPool(jobs) as pool:
        if jobs == 1:  # in this process: reuse the loaded split and show progress
            for name in names:
                base = pseudo_base() if name in semi else "augment"
                runs[name] = [run_config(name, s, budget, data=data, base=base, dataset=dataset,
                                         progress=progress) for s in range(seeds)]
        else:
            futures = {n: [pool.submit(_run_task, n, s, budget, "augment", dataset, protocol) for s in range(seeds)]
                       for n in names if n not in semi}
            for n in ("baseline", "init", "augment"):  # the semi-supervised rows' base is chosen from these
                if n in futures:
                    runs[n] = [f.result() for f in futures[n]]
            for n in sorted((n for n in names if n in semi), key=lambda n: n != "beyond"):  # longest first
                futures[n] = [pool.submit(_run_task, n, s, budget, pseudo_base(), dataset, protocol)
                              for s in range(seeds)]
            for n in names:
                runs[n] = [f.result() for f in futures[n]]
    rows = []
    for name in names:
        rs = runs[name]
        row = {"name": name, "description": rs[0]["description"], "base": rs[0]["base"],
               **summarise(rs, ("test_accuracy", "val_accuracy", "train_accuracy", "wall_time"), over="seed")}
        row["best_epoch_per_seed"] = [r["best_epoch"] for r in rs]
        row["epochs"] = rs[0]["epochs"]
        row["history_seed0"] = rs[0]["history"]
        if any(r["pseudo_labels"] for r in rs):
            row["pseudo_labels_per_seed"] = [r["pseudo_labels"] for r in rs]
        rows.append(row)
    split = {"labeled": len(data["labeled"][1]), "val": len(data["val"][1]), "unlabeled": len(data["unlabeled"][1]),
             "test": len(data["test"][1]), "split_seed": SPLIT_SEED}
    return study_record("mnist3k", budget, rows, info=info, started=started, jobs=jobs,
                        dataset=dataset, protocol=protocol, protocol_description=PROTOCOLS[protocol],
                        split=split)


# -- command line (``python -m dlbook.experiments mnist3k``; see dlbook.experiments.runner) --------------------------

def add_arguments(parser) -> None:
    """The study's options on its sub-parser."""
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0, 1, ..., n-1)")
    parser.add_argument("--dataset", choices=list(LOADERS), default="mnist")
    parser.add_argument("--protocol", choices=list(PROTOCOLS), default="realistic",
                        help="which images train and which validate (see dlbook.experiments.mnist3k.PROTOCOLS)")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=None,
                        help="run only these rows (default: all)")


def run(args) -> dict:
    """Run the study the parsed ``args`` describe."""
    if args.seeds < 1:
        raise ValueError(f"mnist3k: argument '--seeds' must be >= 1, got {args.seeds}")
    return run_study(seeds=args.seeds, budget=args.budget, dataset=args.dataset, configs=args.configs,
                     progress=True, jobs=args.jobs, protocol=args.protocol)


def results_name(args) -> str:
    """``mnist3k[-<dataset>][-<protocol>].json``: ``-<dataset>`` for a data set other than MNIST.

    The files of the ``large-val`` protocol keep the names of the first studies
    (``mnist3k.json``, ``mnist3k-fashion-mnist.json``).
    """
    name = "mnist3k" if args.dataset == "mnist" else f"mnist3k-{args.dataset}"
    return name + ("" if args.protocol == "large-val" else f"-{args.protocol}") + ".json"


def summary_lines(result: dict) -> list[str]:
    """One line per row for the terminal."""
    return [f"{row['name']:<28} test {100 * row['test_accuracy_mean']:.2f} +- "
            f"{100 * row['test_accuracy_std']:.2f} %  val {100 * row['val_accuracy_mean']:.2f} %  "
            f"train {100 * row['train_accuracy_mean']:.2f} %  {row['wall_time_mean']:.0f} s/run"
            for row in result["rows"]]
