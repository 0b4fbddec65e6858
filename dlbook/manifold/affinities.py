"""Input-space affinities of t-SNE: perplexity calibration and the joint P.

All similarities in this module live in the *high-dimensional* input space:
:math:`p_{j\\mid i}` is the probability that point :math:`i` picks point
:math:`j` as its neighbour under a Gaussian centred on :math:`\\vx_i`, and
:math:`p_{ij}` is the symmetrised joint probability. The map-space
similarities :math:`q_{ij}` are in :mod:`dlbook.manifold.gradient`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from dlbook._checks import check_floating, check_ndim, check_real

__all__ = [
    "as_float64",
    "squared_distances",
    "nearest_neighbors",
    "conditional_probabilities",
    "perplexity_of",
    "joint_probabilities",
    "joint_probabilities_nn",
    "check_perplexity",
]


def as_float64(fn: str, name: str, X) -> torch.Tensor:
    """Return ``X`` (tensor or array-like of shape ``(N, D)``) as a float64 tensor."""
    if not isinstance(X, torch.Tensor):
        X = torch.as_tensor(np.asarray(X))
    if not X.is_floating_point():
        X = X.double()
    check_floating(fn, name, X)
    check_ndim(fn, name, X, 2, "(N, D)")
    if not torch.isfinite(X).all():
        raise ValueError(f"{fn}: argument '{name}' contains NaN or infinite values")
    return X.detach().to(torch.float64)


def check_perplexity(fn: str, perplexity, n: int, factor: float = 3.0) -> float:
    """Validate ``perplexity`` against the number of points ``n``.

    t-SNE needs more than ``factor * perplexity`` other points; with fewer, the
    nearest-neighbour graph of the fast methods cannot be built and the
    perplexity cannot mean an effective number of neighbours.
    """
    perplexity = check_real(fn, "perplexity", perplexity, low=1.0)
    if n - 1 < factor * perplexity:
        raise ValueError(
            f"{fn}: N={n} points is too few for perplexity={perplexity:g}; t-SNE needs "
            f"N - 1 >= {factor:g} * perplexity = {factor * perplexity:g}. "
            f"Use perplexity <= {(n - 1) / factor:g} or more points."
        )
    return perplexity


def squared_distances(X: torch.Tensor, Y: torch.Tensor | None = None) -> torch.Tensor:
    """Squared Euclidean distances between the rows of ``X`` and ``Y``.

    Parameters
    ----------
    X : torch.Tensor
        Shape ``(N, D)``.
    Y : torch.Tensor, optional
        Shape ``(M, D)``; ``X`` when omitted.

    Returns
    -------
    torch.Tensor
        Shape ``(N, M)``, clamped at 0 against round-off.

    Examples
    --------
    >>> squared_distances(torch.tensor([[0.0, 0.0], [3.0, 4.0]]))
    tensor([[ 0., 25.],
            [25.,  0.]])
    """
    Y = X if Y is None else Y
    xx = (X * X).sum(1, keepdim=True)
    yy = (Y * Y).sum(1)
    D = (xx + yy - 2.0 * X @ Y.T).clamp_min_(0.0)
    if Y is X:
        D.fill_diagonal_(0.0)
    return D


def nearest_neighbors(X: torch.Tensor, k: int, block: int = 2048):
    """Exact ``k`` nearest neighbours of every row of ``X`` (itself excluded).

    The search is brute force in blocks of rows (:math:`\\bigO{N^2 D}` time,
    :math:`\\bigO{N \\cdot block}` memory), in single precision for speed; the
    distances of the chosen pairs are then recomputed directly in the input's
    precision, so they carry no cancellation error. (Near-ties at the k-th
    neighbour may be broken differently than in double precision.)

    Parameters
    ----------
    X : torch.Tensor
        Shape ``(N, D)``, float64.
    k : int
        Neighbours per point, ``1 <= k <= N - 1``.

    Returns
    -------
    index : torch.Tensor
        Shape ``(N, k)``, int64, neighbours sorted by distance.
    sqdist : torch.Tensor
        Shape ``(N, k)``, the squared distances to them.

    Examples
    --------
    >>> X = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
    >>> idx, d2 = nearest_neighbors(X, 1)
    >>> idx.ravel().tolist(), d2.ravel().tolist()
    ([1, 0, 1], [1.0, 1.0, 4.0])
    """
    n = X.shape[0]
    if not 1 <= k <= n - 1:
        raise ValueError(f"nearest_neighbors: k must lie in [1, N - 1] = [1, {n - 1}], got {k}")
    index = torch.empty(n, k, dtype=torch.int64)
    Xs = X.float() if X.dtype == torch.float64 else X
    for start in range(0, n, block):
        stop = min(start + block, n)
        D = squared_distances(Xs[start:stop], Xs)
        rows = torch.arange(stop - start)
        D[rows, rows + start] = math.inf
        index[start:stop] = torch.topk(D, k, dim=1, largest=False, sorted=True).indices
    diff = X[:, None, :] - X[index]
    return index, (diff * diff).sum(-1)


def _entropy_and_probabilities(D2: torch.Tensor, beta: torch.Tensor):
    # D2 has its row minimum subtracted, so the largest weight is exp(0) = 1
    # and the sum cannot underflow; excluded entries hold 1e300, so they get
    # weight 0 and P * D2 = 0 (no inf * 0).
    W = torch.exp(-beta[:, None] * D2)
    S = W.sum(1)
    P = W / S[:, None]
    H = torch.log(S) + beta * (P * D2).sum(1)
    return H, P


def conditional_probabilities(
    D2: torch.Tensor, perplexity: float, tol: float = 1e-10, max_iter: int = 200
):
    """Calibrate one Gaussian per point to a target perplexity, by bisection.

    Row ``i`` of ``D2`` holds squared input-space distances
    :math:`d_{ij}^2 = \\lVert \\vx_i - \\vx_j \\rVert^2` from point ``i`` to its
    candidate neighbours (``inf`` marks an excluded entry such as the point
    itself). For each row the precision :math:`\\beta_i = 1/(2\\sigma_i^2)` is
    found such that the Shannon entropy (in nats) of

    .. math:: p_{j\\mid i} = \\frac{\\exp(-\\beta_i d_{ij}^2)}{\\sum_{k} \\exp(-\\beta_i d_{ik}^2)}

    equals :math:`\\log(\\mathrm{perplexity})`. The entropy decreases
    monotonically in :math:`\\beta_i`, so a bisection (doubling until the
    target is bracketed) converges for every row at once.

    Parameters
    ----------
    D2 : torch.Tensor
        Shape ``(N, K)``, non-negative, float64.
    perplexity : float
        Target effective number of neighbours, ``1 <= perplexity < K``.
    tol : float
        Tolerance on the entropy, in nats.
    max_iter : int
        Maximum bisection steps.

    Returns
    -------
    P : torch.Tensor
        Shape ``(N, K)``, each row sums to 1.
    beta : torch.Tensor
        Shape ``(N,)``, the calibrated precisions.

    Raises
    ------
    ValueError
        If a row cannot reach the target, for instance when at least
        ``perplexity`` neighbours of a point tie at its nearest distance (such
        as identical copies): its entropy can never drop below ``log(ties)``.

    Examples
    --------
    >>> D2 = torch.tensor([[1.0, 2.0, 4.0, 8.0]], dtype=torch.float64)
    >>> P, beta = conditional_probabilities(D2, 2.0)
    >>> round(float(perplexity_of(P)[0]), 8)
    2.0
    """
    fn = "conditional_probabilities"
    check_floating(fn, "D2", D2)
    check_ndim(fn, "D2", D2, 2, "(N, K)")
    perplexity = check_real(fn, "perplexity", perplexity, low=1.0)
    finite = torch.isfinite(D2).sum(1)
    if (finite <= perplexity).any():
        raise ValueError(
            f"{fn}: every row of 'D2' needs more than perplexity={perplexity:g} finite entries; "
            f"the smallest row has {int(finite.min())}"
        )
    D2 = D2 - D2.min(1, keepdim=True).values
    ties = (D2 == 0).sum(1)  # neighbours tied at the nearest distance
    D2 = torch.where(torch.isfinite(D2), D2, torch.full_like(D2, 1e300))
    finite_mask = D2 < 1e300
    target = math.log(perplexity)
    n = D2.shape[0]
    # start from the scale of each row's typical distance
    scale = torch.where(finite_mask, D2, torch.zeros_like(D2)).sum(1) / finite
    beta = 1.0 / scale.clamp_min(1e-12)
    lo = torch.zeros(n, dtype=D2.dtype)
    hi = torch.full((n,), math.inf, dtype=D2.dtype)
    for _ in range(max_iter):
        H, P = _entropy_and_probabilities(D2, beta)
        err = H - target
        if err.abs().max() <= tol:
            break
        too_flat = err > 0  # entropy too high: sharpen, i.e. raise beta
        lo = torch.where(too_flat, beta, lo)
        hi = torch.where(too_flat, hi, beta)
        beta = torch.where(
            too_flat,
            torch.where(torch.isinf(hi), beta * 2.0, (beta + hi) / 2.0),
            (beta + lo) / 2.0,
        )
    H, P = _entropy_and_probabilities(D2, beta)
    err = (H - target).abs()
    if err.max() > 1e-8:
        i = int(err.argmax())
        copies = int(ties[i])
        hint = (
            f"; it has {copies} neighbours tied at its nearest distance (for instance identical "
            f"points), so its perplexity cannot drop below {copies}. Remove duplicates or raise "
            "the perplexity"
            if copies >= perplexity
            else ""
        )
        raise ValueError(
            f"{fn}: perplexity calibration failed for point {i}: entropy {float(H[i]):.6g} "
            f"nats, target {target:.6g}{hint}"
        )
    return P, beta


def perplexity_of(P: torch.Tensor) -> torch.Tensor:
    """Perplexity :math:`\\exp(H(P_i))` of each row of a row-stochastic ``P`` (entropy in nats).

    Examples
    --------
    >>> perplexity_of(torch.full((1, 4), 0.25, dtype=torch.float64))
    tensor([4.], dtype=torch.float64)
    """
    logP = torch.where(P > 0, torch.log(P), torch.zeros_like(P))
    return torch.exp(-(P * logP).sum(1))


def _check_not_all_identical(fn: str, X: torch.Tensor) -> None:
    if X.shape[0] > 1 and bool((X == X[0]).all()):
        raise ValueError(
            f"{fn}: all {X.shape[0]} rows of 'X' are identical; t-SNE needs distinct points "
            "(the input distances are all 0, so no perplexity can be reached)"
        )


def joint_probabilities(X, perplexity: float = 30.0) -> torch.Tensor:
    """Dense joint input-space affinities :math:`p_{ij} = (p_{j\\mid i} + p_{i\\mid j}) / 2N`.

    Every other point is a candidate neighbour, so this costs
    :math:`\\bigO{N^2 D}` time and :math:`\\bigO{N^2}` memory; it is the ``P``
    of the exact method.

    Parameters
    ----------
    X : torch.Tensor or array-like
        Shape ``(N, D)``, with ``N - 1 >= 3 * perplexity``.
    perplexity : float
        Target perplexity of each conditional distribution.

    Returns
    -------
    torch.Tensor
        Shape ``(N, N)``, float64, symmetric, zero diagonal, sums to 1.

    Examples
    --------
    >>> X = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))
    >>> P = joint_probabilities(X, perplexity=5)
    >>> bool(torch.allclose(P, P.T)), round(float(P.sum()), 12)
    (True, 1.0)
    """
    fn = "joint_probabilities"
    X = as_float64(fn, "X", X)
    n = X.shape[0]
    perplexity = check_perplexity(fn, perplexity, n)
    _check_not_all_identical(fn, X)
    D2 = squared_distances(X)
    D2.fill_diagonal_(math.inf)
    Pc, _ = conditional_probabilities(D2, perplexity)
    return (Pc + Pc.T) / (2.0 * n)


def joint_probabilities_nn(X, perplexity: float = 30.0, k: int | None = None) -> torch.Tensor:
    """Sparse joint affinities from the ``k = 3 * perplexity`` nearest neighbours.

    Each conditional :math:`p_{j\\mid i}` is calibrated over the ``k`` nearest
    neighbours of point ``i`` only and is zero elsewhere; a Gaussian at the
    calibrated width puts almost no mass beyond them. The result is
    symmetrised as :math:`(p_{j\\mid i} + p_{i\\mid j}) / 2N`.

    Parameters
    ----------
    X : torch.Tensor or array-like
        Shape ``(N, D)``.
    perplexity : float
        Target perplexity.
    k : int, optional
        Neighbours per point; ``min(N - 1, floor(3 * perplexity))`` by default.

    Returns
    -------
    torch.Tensor
        Sparse COO tensor of shape ``(N, N)``, coalesced, float64,
        symmetric, summing to 1, with at most ``2 N k`` stored entries.

    Examples
    --------
    >>> X = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    >>> P = joint_probabilities_nn(X, perplexity=5)
    >>> P.is_sparse, round(float(P.values().sum()), 12)
    (True, 1.0)
    >>> bool(torch.allclose(P.to_dense(), P.to_dense().T))
    True
    """
    fn = "joint_probabilities_nn"
    X = as_float64(fn, "X", X)
    n = X.shape[0]
    perplexity = check_perplexity(fn, perplexity, n)
    _check_not_all_identical(fn, X)
    if k is None:
        k = min(n - 1, int(3 * perplexity))
    if not perplexity < k <= n - 1:
        raise ValueError(
            f"{fn}: k must lie in (perplexity, N - 1] = ({perplexity:g}, {n - 1}], got {k}"
        )
    index, D2 = nearest_neighbors(X, k)
    Pc, _ = conditional_probabilities(D2, perplexity)
    rows = torch.arange(n).repeat_interleave(k)
    cols = index.reshape(-1)
    idx = torch.stack([torch.cat([rows, cols]), torch.cat([cols, rows])])
    vals = torch.cat([Pc.reshape(-1), Pc.reshape(-1)]) / (2.0 * n)
    return torch.sparse_coo_tensor(idx, vals, (n, n), check_invariants=False).coalesce()
