"""t-SNE with a scikit-learn-like estimator interface."""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from dlbook._checks import check_real
from dlbook.manifold.affinities import (
    as_float64,
    check_perplexity,
    joint_probabilities,
    joint_probabilities_nn,
)
from dlbook.manifold.gradient import (
    attractive_forces,
    kl_divergence,
    repulsive_forces_fft,
    tsne_gradient,
    upper_pairs,
)
from dlbook.runs import progress_bar

__all__ = ["TSNE", "pca_init"]

METHODS = ("exact", "fft")


def pca_init(X: torch.Tensor, n_components: int = 2, std: float = 1e-4) -> torch.Tensor:
    """Project ``X`` on its leading principal components, rescaled to a small spread.

    The first coordinate is scaled to standard deviation ``std`` (the other
    keep their relative scale), so that the initial map keeps the global
    layout of the data while all distances are small compared with the
    Student-t kernel's width. Signs are fixed (largest entry of each
    component positive) so the result is deterministic.

    Parameters
    ----------
    X : torch.Tensor
        Shape ``(N, D)``.
    n_components : int
        Map dimension ``d``.
    std : float
        Standard deviation of the first coordinate.

    Returns
    -------
    torch.Tensor
        Shape ``(N, d)``, float64.

    Examples
    --------
    >>> X = torch.tensor([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]], dtype=torch.float64)
    >>> pca_init(X, 1, std=1.0).ravel()
    tensor([-1.,  0.,  1.], dtype=torch.float64)
    """
    Xc = X - X.mean(0)
    C = Xc.T @ Xc
    evals, evecs = torch.linalg.eigh(C)
    V = evecs[:, torch.argsort(evals, descending=True)[:n_components]]
    sign = torch.sign(V[V.abs().argmax(0), torch.arange(V.shape[1])])
    Y = Xc @ (V * sign)
    return Y / Y[:, 0].std() * std


class TSNE:
    """t-distributed stochastic neighbour embedding (van der Maaten and Hinton, 2008).

    Parameters
    ----------
    n_components : int
        Map dimension (2 for ``method="fft"``).
    perplexity : float
        Effective number of neighbours of each input Gaussian.
    early_exaggeration : float
        Factor multiplying P during the first ``exaggeration_iter`` iterations.
    learning_rate : float or "auto"
        Step size. ``"auto"`` uses ``max(N / alpha / 4, 50)`` in each phase,
        where ``alpha`` is the exaggeration in force (``early_exaggeration``,
        then 1): the rule :math:`\\eta = N/\\alpha` of Belkina et al. (2019),
        written for a gradient that keeps its factor 4 and applied per phase
        as openTSNE does.
    n_iter : int
        Total number of gradient iterations, exaggeration phase included.
    exaggeration_iter : int
        Iterations with exaggeration and momentum 0.5 (all of them when
        ``n_iter`` is smaller); momentum 0.8 after.
    init : "pca", "random" or tensor
        Initial map: PCA scaled to standard deviation 1e-4, Gaussian noise of
        that scale, or given points of shape ``(N, n_components)``.
    method : "exact" or "fft"
        ``"exact"``: dense P and the :math:`\\bigO{N^2}` gradient.
        ``"fft"``: sparse P over ``3 * perplexity`` neighbours and
        FFT-accelerated interpolation of the repulsion (Linderman et al., 2019).
    random_state : int, optional
        Seed of the random initialisation.
    min_gain : float
        Floor of the per-coordinate gains.
    n_interpolation_points, min_num_intervals, intervals_per_unit
        Grid settings of the ``"fft"`` method (see
        :func:`dlbook.manifold.repulsive_forces_fft`).
    n_threads : int or None
        torch threads during ``fit`` (``None``: leave torch's setting). One
        by default: each iteration is a sequence of small array operations,
        and on the 2-core machine this book is tested on, shared with other
        jobs, running them on two threads made ``fit`` several times slower.
    verbose : bool or None
        Show a progress bar (``None``: only on a terminal).

    Attributes
    ----------
    embedding_ : torch.Tensor
        Shape ``(N, n_components)``.
    kl_divergence_ : float
        KL(P || Q) of the final map (without exaggeration). For ``"fft"`` it
        uses the interpolated normaliser Z.
    kl_history_ : list of (int, float)
        KL(P || Q) (P not exaggerated) at every ``log_every``-th iteration.
    n_iter_ : int
        Iterations run.
    learning_rate_ : tuple of float
        The step sizes used with and without exaggeration.
    timings_ : dict
        Seconds spent on ``"affinities"`` and ``"optimisation"``, and within
        the optimisation on the ``"gradient"``, the ``"kl"`` evaluations and
        the ``"update"``. For ``"fft"`` the gradient is split further into
        ``"attraction"`` and the stages of
        :func:`dlbook.manifold.repulsive_forces_fft` (keys ``"fft_*"``).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.cat([torch.randn(40, 5, generator=g), torch.randn(40, 5, generator=g) + 10])
    >>> tsne = TSNE(perplexity=10, n_iter=300, method="exact", random_state=0)
    >>> Y = tsne.fit_transform(X)
    >>> Y.shape
    torch.Size([80, 2])
    >>> nearest = torch.cdist(Y, Y).fill_diagonal_(float("inf")).argmin(1)
    >>> bool(((nearest < 40) == (torch.arange(80) < 40)).all())  # the two blobs stay apart
    True
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        perplexity: float = 30.0,
        early_exaggeration: float = 12.0,
        learning_rate="auto",
        n_iter: int = 1000,
        exaggeration_iter: int = 250,
        init="pca",
        method: str = "fft",
        random_state: int | None = None,
        min_gain: float = 0.01,
        n_interpolation_points: int = 4,
        min_num_intervals: int = 50,
        intervals_per_unit: float = 1.0,
        log_every: int = 50,
        n_threads: int | None = 1,
        verbose: bool | None = None,
    ):
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.exaggeration_iter = exaggeration_iter
        self.init = init
        self.method = method
        self.random_state = random_state
        self.min_gain = min_gain
        self.n_interpolation_points = n_interpolation_points
        self.min_num_intervals = min_num_intervals
        self.intervals_per_unit = intervals_per_unit
        self.log_every = log_every
        self.n_threads = n_threads
        self.verbose = verbose

    # -- checks -------------------------------------------------------------
    def _validate(self, n: int) -> None:
        fn = "TSNE"
        if self.method not in METHODS:
            raise ValueError(f"{fn}: method must be one of {METHODS}, got {self.method!r}")
        if not isinstance(self.n_components, int) or self.n_components < 1:
            raise ValueError(
                f"{fn}: n_components must be a positive int, got {self.n_components!r}"
            )
        if self.method == "fft" and self.n_components != 2:
            raise ValueError(
                f"{fn}: method='fft' supports n_components=2 only, got {self.n_components}"
            )
        check_perplexity(fn, self.perplexity, n)
        check_real(fn, "early_exaggeration", self.early_exaggeration, low=1.0)
        if not isinstance(self.n_iter, int) or self.n_iter < 1:
            raise ValueError(f"{fn}: n_iter must be a positive int, got {self.n_iter!r}")
        if not isinstance(self.exaggeration_iter, int) or self.exaggeration_iter < 0:
            raise ValueError(
                f"{fn}: exaggeration_iter must be a non-negative int, "
                f"got {self.exaggeration_iter!r}"
            )
        if not (isinstance(self.learning_rate, str) and self.learning_rate == "auto"):
            check_real(fn, "learning_rate", self.learning_rate, low=0.0, low_open=True)

    def _initial_map(self, X: torch.Tensor) -> torch.Tensor:
        n, d = X.shape[0], self.n_components
        if isinstance(self.init, str) and self.init == "pca":
            if X.shape[1] < d:
                raise ValueError(
                    f"TSNE: init='pca' needs D >= n_components={d}, got D={X.shape[1]}"
                )
            return pca_init(X, d)
        if isinstance(self.init, str) and self.init == "random":
            seed = 0 if self.random_state is None else int(self.random_state)
            g = torch.Generator().manual_seed(seed)
            return 1e-4 * torch.randn(n, d, generator=g, dtype=torch.float64)
        if isinstance(self.init, (torch.Tensor, np.ndarray)):
            Y = torch.as_tensor(self.init, dtype=torch.float64).clone()
            if tuple(Y.shape) != (n, d):
                raise ValueError(
                    f"TSNE: init must have shape (N, n_components) = ({n}, {d}), "
                    f"got {tuple(Y.shape)}"
                )
            if not torch.isfinite(Y).all():
                bad = int((~torch.isfinite(Y)).any(1).sum())
                raise ValueError(
                    f"TSNE: init must hold finite numbers, but {bad} of its {n} rows hold "
                    f"NaN or inf"
                )
            return Y
        raise ValueError(
            f"TSNE: init must be 'pca', 'random' or an (N, {d}) array, got {self.init!r}"
        )

    # -- fitting ------------------------------------------------------------
    def _gradient(self, P, Y, alpha, timings=None):
        if self.method == "exact":
            return tsne_gradient(P * alpha if alpha != 1 else P, Y), None
        # P enters as its unordered pairs i < j (from upper_pairs, computed once)
        rows, cols, vals = P
        t0 = time.perf_counter()
        attr = attractive_forces(rows, cols, vals * alpha, Y, symmetric=True)
        if timings is not None:
            timings["attraction"] = timings.get("attraction", 0.0) + time.perf_counter() - t0
        rep, Z = repulsive_forces_fft(
            Y,
            n_interpolation_points=self.n_interpolation_points,
            min_num_intervals=self.min_num_intervals,
            intervals_per_unit=self.intervals_per_unit,
            timings=timings,
        )
        return 4.0 * (attr - rep / Z), Z

    def _step_size(self, n: int, alpha: float) -> float:
        if self.learning_rate == "auto":
            return max(n / alpha / 4.0, 50.0)
        return float(self.learning_rate)

    def _kl(self, P, Y, Z=None):
        if self.method == "exact":
            return float(kl_divergence(P, Y))
        # P as its unordered pairs: each stands for p_ij and p_ji, hence the factor 2
        rows, cols, vals = P
        d2 = (Y.index_select(0, rows) - Y.index_select(0, cols)).square().sum(1)
        return 2.0 * float((vals * (vals.log() + d2.log1p())).sum()) + math.log(Z)

    def fit(self, X, y=None):
        """Compute the embedding of ``X`` (shape ``(N, D)``); returns ``self``."""
        threads = torch.get_num_threads()
        if self.n_threads is not None:
            if not isinstance(self.n_threads, int) or self.n_threads < 1:
                raise ValueError(
                    f"TSNE: n_threads must be a positive int or None, got {self.n_threads!r}"
                )
            torch.set_num_threads(self.n_threads)
        try:
            return self._fit(X)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, X):
        is_tensor = isinstance(X, torch.Tensor)
        X = as_float64("TSNE.fit", "X", X)
        n = X.shape[0]
        self._validate(n)
        t0 = time.perf_counter()
        if self.method == "exact":
            P = joint_probabilities(X, self.perplexity)
        else:
            P = joint_probabilities_nn(X, self.perplexity)
        terms = P if self.method == "exact" else upper_pairs(P)
        t1 = time.perf_counter()
        ee = float(self.early_exaggeration)
        Y = self._initial_map(X)
        update = torch.zeros_like(Y)
        gains = torch.ones_like(Y)
        self.kl_history_ = []
        Z = None
        stages = {"gradient": 0.0, "kl": 0.0, "update": 0.0}
        for it in progress_bar(
            range(self.n_iter), desc=f"t-SNE ({self.method})", enable=self.verbose
        ):
            exaggerating = it < self.exaggeration_iter
            if it == self.exaggeration_iter:
                # a new phase starts from rest, as in scikit-learn's two calls of its optimiser
                update = torch.zeros_like(Y)
                gains = torch.ones_like(Y)
            alpha = ee if exaggerating else 1.0
            momentum = 0.5 if exaggerating else 0.8
            lr = self._step_size(n, alpha)
            ta = time.perf_counter()
            grad, Z = self._gradient(terms, Y, alpha, stages)
            tb = time.perf_counter()
            if self.log_every and it % self.log_every == 0:
                self.kl_history_.append((it, self._kl(terms, Y, Z)))
            tc = time.perf_counter()
            # delta-bar-delta gains: grow a coordinate's gain while the gradient
            # points against the last step (the step keeps its direction), shrink it otherwise
            inc = update * grad < 0
            gains = torch.where(inc, gains + 0.2, gains * 0.8).clamp_min_(self.min_gain)
            update = momentum * update - lr * gains * grad
            Y = Y + update
            Y = Y - Y.mean(0)
            stages["gradient"] += tb - ta
            stages["kl"] += tc - tb
            stages["update"] += time.perf_counter() - tc
        t2 = time.perf_counter()
        if self.method == "fft":
            # Z of the final map, from the same interpolation as the gradient
            _, Z = self._gradient(terms, Y, 1.0)
        self.kl_divergence_ = self._kl(terms, Y, Z)
        self.P_ = P
        self.n_iter_ = self.n_iter
        self.learning_rate_ = (self._step_size(n, ee), self._step_size(n, 1.0))
        self.timings_ = {"affinities": t1 - t0, "optimisation": t2 - t1, **stages}
        self.embedding_ = Y
        self._return_numpy = not is_tensor
        return self

    def fit_transform(self, X, y=None):
        """Fit and return the embedding, a tensor for tensor input, else a NumPy array.

        Parameters
        ----------
        X : torch.Tensor or array-like
            Shape ``(N, D)``.

        Returns
        -------
        torch.Tensor or numpy.ndarray
            Shape ``(N, n_components)``.
        """
        self.fit(X)
        return self.embedding_.numpy() if self._return_numpy else self.embedding_
