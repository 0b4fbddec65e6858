"""The t-SNE objective and its gradient, exact and accelerated.

The map-space similarities use the Student-t kernel with one degree of
freedom, :math:`w_{ij} = (1 + \\lVert \\vy_i - \\vy_j \\rVert^2)^{-1}`, and
:math:`q_{ij} = w_{ij} / Z` with :math:`Z = \\sum_{k \\ne l} w_{kl}`. The
cost is :math:`C = \\mathrm{KL}(P \\,\\|\\, Q) = \\sum_{i \\ne j} p_{ij}
\\log(p_{ij} / q_{ij})` and its gradient is

.. math:: \\pd{C}{\\vy_i} = 4 \\sum_j (p_{ij} - q_{ij})\\, w_{ij}\\, (\\vy_i - \\vy_j).
"""

from __future__ import annotations

import functools
import math
import time

import torch

from dlbook._checks import check_floating, check_ndim, check_same_dtype
from dlbook.manifold.affinities import squared_distances

__all__ = [
    "student_t_affinities",
    "kl_divergence",
    "tsne_gradient",
    "attractive_forces",
    "upper_pairs",
    "fft_length",
    "repulsive_forces_fft",
    "tsne_gradient_fft",
    "kl_divergence_sparse",
]


def _check_PY(fn: str, P: torch.Tensor, Y: torch.Tensor, symmetric: bool = False) -> None:
    check_floating(fn, "P", P)
    check_floating(fn, "Y", Y)
    check_ndim(fn, "Y", Y, 2, "(N, d)")
    check_same_dtype(fn, "P", P, "Y", Y)
    n = Y.shape[0]
    if tuple(P.shape) != (n, n):
        raise ValueError(
            f"{fn}: argument 'P' must have shape (N, N) = ({n}, {n}), got {tuple(P.shape)}"
        )
    if symmetric and not torch.allclose(P, P.T, rtol=1e-5, atol=1e-12):
        gap = float((P - P.T).abs().max())
        raise ValueError(
            f"{fn}: argument 'P' must be symmetric (p_ij = p_ji), but max |P - P.T| = {gap:.3g}; "
            f"symmetrize it, e.g. (P + P.T) / (2 N) from conditional affinities"
        )


def student_t_affinities(Y: torch.Tensor) -> torch.Tensor:
    """Map-space joint similarities :math:`q_{ij} = w_{ij} / \\sum_{k \\ne l} w_{kl}`.

    Parameters
    ----------
    Y : torch.Tensor
        Shape ``(N, d)``, the map points.

    Returns
    -------
    torch.Tensor
        Shape ``(N, N)``, symmetric, zero diagonal, sums to 1.

    Examples
    --------
    >>> Q = student_t_affinities(torch.tensor([[0.0], [1.0]], dtype=torch.float64))
    >>> Q
    tensor([[0.0000, 0.5000],
            [0.5000, 0.0000]], dtype=torch.float64)
    """
    fn = "student_t_affinities"
    check_floating(fn, "Y", Y)
    check_ndim(fn, "Y", Y, 2, "(N, d)")
    W = 1.0 / (1.0 + squared_distances(Y))
    W = W * (1.0 - torch.eye(Y.shape[0], dtype=Y.dtype))
    return W / W.sum()


def kl_divergence(P: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """The t-SNE cost :math:`\\mathrm{KL}(P \\| Q(Y))`, differentiable by autograd.

    Terms with :math:`p_{ij} = 0` contribute 0. Distances are formed from
    differences (not from the expanded square), so autograd's gradient is
    accurate to round-off; this is the reference :func:`tsne_gradient` is
    tested against.

    Parameters
    ----------
    P : torch.Tensor
        Shape ``(N, N)``, joint input-space affinities (dense).
    Y : torch.Tensor
        Shape ``(N, d)``.

    Returns
    -------
    torch.Tensor
        A scalar.

    Examples
    --------
    >>> P = torch.tensor([[0.0, 0.5], [0.5, 0.0]], dtype=torch.float64)
    >>> Y = torch.tensor([[0.0], [3.0]], dtype=torch.float64)
    >>> abs(float(kl_divergence(P, Y))) < 1e-15  # here P = Q
    True
    """
    _check_PY("kl_divergence", P, Y)
    n = Y.shape[0]
    diff = Y[:, None, :] - Y[None, :, :]
    W = 1.0 / (1.0 + (diff * diff).sum(-1))
    off = ~torch.eye(n, dtype=torch.bool)
    Z = W[off].sum()
    mask = off & (P > 0)
    return (P[mask] * (torch.log(P[mask]) - torch.log(W[mask]) + torch.log(Z))).sum()


def tsne_gradient(P: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Exact gradient of the t-SNE cost with respect to the map points.

    .. math:: \\pd{C}{\\vy_i} = 4 \\sum_{j \\ne i} (p_{ij} - q_{ij})
              (1 + \\lVert \\vy_i - \\vy_j \\rVert^2)^{-1} (\\vy_i - \\vy_j)

    Cost :math:`\\bigO{N^2 d}` time and :math:`\\bigO{N^2}` memory.

    Parameters
    ----------
    P : torch.Tensor
        Shape ``(N, N)``, symmetric joint affinities summing to 1 (dense).
    Y : torch.Tensor
        Shape ``(N, d)``.

    Returns
    -------
    torch.Tensor
        Shape ``(N, d)``, :math:`\\partial \\mathrm{KL}(P \\| Q) / \\partial Y`.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> P = torch.rand(5, 5, generator=g, dtype=torch.float64)
    >>> P = P + P.T; _ = P.fill_diagonal_(0); P = P / P.sum()
    >>> Y = torch.randn(5, 2, generator=g, dtype=torch.float64, requires_grad=True)
    >>> kl_divergence(P, Y).backward()
    >>> bool(torch.allclose(tsne_gradient(P, Y.detach()), Y.grad, rtol=0, atol=1e-12))
    True
    """
    _check_PY("tsne_gradient", P, Y, symmetric=True)
    W = (1.0 + squared_distances(Y)).reciprocal_()
    W.fill_diagonal_(0.0)
    M = P - W / W.sum()
    M.mul_(W)
    return 4.0 * (M.sum(1, keepdim=True) * Y - M @ Y)


def attractive_forces(rows, cols, vals, Y: torch.Tensor, symmetric: bool = False) -> torch.Tensor:
    """Attractive part :math:`\\sum_j p_{ij} w_{ij} (\\vy_i - \\vy_j)` over the pairs stored in P.

    Parameters
    ----------
    rows, cols : torch.Tensor
        Shape ``(nnz,)``, int64 indices of the non-zero :math:`p_{ij}`.
    vals : torch.Tensor
        Shape ``(nnz,)``, their values.
    Y : torch.Tensor
        Shape ``(N, d)``.
    symmetric : bool
        If true, each stored pair :math:`(i, j)` stands for both :math:`(i, j)`
        and :math:`(j, i)` (give each unordered pair once, as returned by
        :func:`upper_pairs`). The kernel :math:`p_{ij} w_{ij} (\\vy_i - \\vy_j)`
        is then evaluated once per unordered pair and added to row :math:`i`
        and subtracted from row :math:`j`, which halves the work for a
        symmetric P.

    Returns
    -------
    torch.Tensor
        Shape ``(N, d)``. Cost :math:`\\bigO{\\mathrm{nnz}\\, d}`.

    Examples
    --------
    >>> Y = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    >>> attractive_forces(torch.tensor([0, 1]), torch.tensor([1, 0]),
    ...                   torch.tensor([0.5, 0.5], dtype=torch.float64), Y)
    tensor([[-0.2500],
            [ 0.2500]], dtype=torch.float64)
    >>> attractive_forces(torch.tensor([0]), torch.tensor([1]),
    ...                   torch.tensor([0.5], dtype=torch.float64), Y, symmetric=True)
    tensor([[-0.2500],
            [ 0.2500]], dtype=torch.float64)
    """
    # one coordinate at a time: 1-D gathers and scatters are much faster than
    # fancy indexing of (nnz, d) blocks and reductions over a dimension of size d
    cols_Y = [Y[:, a].contiguous() for a in range(Y.shape[1])]
    diffs = [c.index_select(0, rows) - c.index_select(0, cols) for c in cols_Y]
    r2 = diffs[0] * diffs[0]
    for d in diffs[1:]:
        r2 += d * d
    pw = vals / (1.0 + r2)
    out = torch.zeros(Y.shape[1], Y.shape[0], dtype=Y.dtype)
    for a, d in enumerate(diffs):
        f = pw * d
        out[a].index_add_(0, rows, f)
        if symmetric:
            out[a].index_add_(0, cols, f, alpha=-1.0)
    return out.T


def upper_pairs(P: torch.Tensor):
    """The non-zero pairs :math:`i < j` of a symmetric P, each unordered pair once.

    Parameters
    ----------
    P : torch.Tensor
        Shape ``(N, N)``, sparse COO or dense, symmetric with zero diagonal.

    Returns
    -------
    rows, cols : torch.Tensor
        Shape ``(m,)``, int64, with ``rows < cols``.
    vals : torch.Tensor
        Shape ``(m,)``, :math:`p_{ij}`.

    Examples
    --------
    >>> P = torch.tensor([[0.0, 0.3, 0.2], [0.3, 0.0, 0.0], [0.2, 0.0, 0.0]])
    >>> upper_pairs(P)
    (tensor([0, 0]), tensor([1, 2]), tensor([0.3000, 0.2000]))
    """
    P = P.coalesce() if P.is_sparse else P.to_sparse()
    rows, cols = P.indices()
    vals = P.values()
    keep = (rows < cols) & (vals > 0)
    return rows[keep].contiguous(), cols[keep].contiguous(), vals[keep].contiguous()


def _lap(timings: dict | None, key: str, t0: float) -> float:
    # add the seconds since t0 to timings[key] (if timings is given); return the time now
    t = time.perf_counter()
    if timings is not None:
        timings[key] = timings.get(key, 0.0) + (t - t0)
    return t


def _lagrange_weights(t: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
    # t: (...,), nodes: (p,) -> (..., p), the Lagrange basis polynomials
    # l_k(t) = prod_{m != k} (t - nodes[m]) / (nodes[k] - nodes[m])
    p = nodes.shape[0]
    eye = torch.eye(p, dtype=torch.bool)
    gaps = nodes[:, None] - nodes[None, :]  # (p, p): nodes[k] - nodes[m]
    denominators = torch.where(eye, torch.ones_like(gaps), gaps).prod(1)
    diffs = (t[..., None] - nodes)[..., None, :].expand(*t.shape, p, p)  # [..., k, m]
    numerators = torch.where(eye, torch.ones_like(diffs), diffs).prod(-1)
    return numerators / denominators


def fft_length(m: int) -> int:
    """Smallest even length :math:`\\ge m` whose only prime factors are 2, 3 and 5.

    FFTs are fastest for such lengths; a prime length costs several times more.

    Examples
    --------
    >>> fft_length(251), fft_length(1501), fft_length(2)
    (256, 1536, 2)
    """
    if m < 1:
        raise ValueError(f"fft_length: m must be a positive int, got {m}")
    best = 2 * m  # 2 * (power of 2 >= m/2) is at most this
    a = 2
    while a < best:
        b = a
        while b < best:
            c = b
            while c < m:
                c *= 5
            best = min(best, c)
            b *= 3
        a *= 2
    return best


@functools.lru_cache(maxsize=16)
def _kernel_spectra(G1: int, G2: int, L1: int, L2: int, h: float, dtype) -> torch.Tensor:
    # Half-spectrum DFTs of three kernels sampled at the node offsets
    # delta = (a, b) h of a G1 x G2 grid of spacing h, each embedded in an L1 x L2
    # circulant (L >= 2G - 1; offsets -(G-1)..G-1 wrapped around, the rest 0):
    # w = (1 + |delta|^2)^-1 (for Z) and the two components of the repulsion
    # kernel delta w^2 (odd, so their spectra are imaginary).
    def offsets(G, L):
        m = torch.arange(L, dtype=torch.float64)
        off = torch.where(m < G, m, m - L) * h
        off[(m >= G) & (m <= L - G)] = math.inf  # unused offsets: all kernels 0
        return off

    o1 = offsets(G1, L1)[:, None]
    o2 = offsets(G2, L2)[None, :]
    w = (1.0 + o1 * o1 + o2 * o2).reciprocal_()
    w2 = w * w
    kernels = torch.stack([w, torch.nan_to_num(o1 * w2), torch.nan_to_num(o2 * w2)])
    return torch.fft.rfft2(kernels.to(dtype))


def _convolve(grid, G1, G2, L1, L2, h, dtype):
    # zero-padded 2-D FFT of the (G1 * G2,) charge grid: the real transform runs
    # over the G1 non-zero rows only
    F = torch.fft.fft(torch.fft.rfft(grid.reshape(G1, G2), n=L2, dim=1), n=L1, dim=0)
    spectra = _kernel_spectra(G1, G2, L1, L2, h, dtype)  # (3, L1, L2 // 2 + 1)
    # the repulsive field sum_j (x - y_j) w(x, y_j)^2 at the nodes; only the first
    # G1 x G2 outputs of the circular convolution are needed
    B = torch.fft.ifft(F * spectra[1:], dim=1)[:, :G1]
    field = torch.fft.irfft(B, n=L2, dim=2)[:, :, :G2]
    return F, spectra, field


def repulsive_forces_fft(
    Y: torch.Tensor,
    n_interpolation_points: int = 4,
    min_num_intervals: int = 50,
    intervals_per_unit: float = 1.0,
    grid_dtype: torch.dtype = torch.float32,
    timings: dict | None = None,
):
    """Repulsive forces and the normaliser :math:`Z` by FFT-accelerated interpolation.

    The sums over *all* pairs,
    :math:`\\sum_j w_{ij}^2 (\\vy_i - \\vy_j)` and :math:`Z = \\sum_{i \\ne j} w_{ij}`,
    are sums over unit charges at the points of two smooth kernels of the
    offset :math:`\\boldsymbol{\\delta} = \\vy_i - \\vy_j`: the vector kernel
    :math:`\\boldsymbol{\\delta} (1 + \\lVert \\boldsymbol{\\delta} \\rVert^2)^{-2}`
    (the repulsive field) and :math:`w = (1 + \\lVert \\boldsymbol{\\delta} \\rVert^2)^{-1}`.
    Following Linderman et al. (2019), the charges are spread onto a regular
    grid of ``n_interpolation_points`` Lagrange nodes per interval and
    dimension, the grid is convolved with the kernels by FFT, and the field
    at the nodes is interpolated back to the points with the same weights. A
    point's own charge adds nothing, since the field kernel is odd and the
    weights are symmetric. :math:`Z` needs no interpolation back: by
    Parseval's theorem, the sum over the grid of charge times potential is a
    sum over frequencies of :math:`|\\hat c|^2 \\hat w`. One grid is
    transformed forwards and two backwards; Linderman et al. instead spread
    the charges :math:`1, y_{j1}, y_{j2}, \\lVert \\vy_j \\rVert^2` and
    transform four grids each way. Cost :math:`\\bigO{N p^2 + L_1 L_2 \\log L}`
    for FFTs of size :math:`L_1 \\times L_2`. Two-dimensional maps only.

    Once the map is wider than ``min_num_intervals / intervals_per_unit``,
    the intervals have the fixed width ``1 / intervals_per_unit``, so the
    grid spacing stays the same from one iteration to the next. (A smaller
    map gets at least ``min_num_intervals`` intervals, of a width rounded
    down to a power of :math:`2^{1/4}`.) Each dimension's FFT length
    :math:`L \\ge 2G - 1` (:math:`G` nodes) is the next product of 2, 3
    and 5 (:func:`fft_length`) above what the map's extent needs, and the
    grid is then widened to fill it, which costs nothing; so the kernels'
    spectra change only when the map outgrows :math:`L`, and are cached.
    The grid work runs in ``grid_dtype``; single precision is about twice
    as fast and its round-off is far below the interpolation error.

    Parameters
    ----------
    Y : torch.Tensor
        Shape ``(N, 2)``.
    n_interpolation_points : int
        Lagrange nodes per interval and dimension (``p``).
    min_num_intervals : int
        Fewest intervals along the wider dimension of the map.
    intervals_per_unit : float
        Intervals per unit length once the map is wide enough.
    grid_dtype : torch.dtype
        Precision of the grids and FFTs (``torch.float32`` or ``torch.float64``).
    timings : dict, optional
        If given, the seconds spent in each stage are added to its entries
        ``"fft_weights"`` (boxes and Lagrange weights), ``"fft_spread"``
        (charges onto the grid), ``"fft_convolve"`` (FFTs, kernel spectra
        and Z) and ``"fft_gather"`` (potentials back to the points).

    Returns
    -------
    rep : torch.Tensor
        Shape ``(N, 2)``, :math:`\\sum_j w_{ij}^2 (\\vy_i - \\vy_j)`, in the dtype of ``Y``.
    Z : float
        :math:`\\sum_{i \\ne j} w_{ij}`.

    Examples
    --------
    >>> Y = torch.randn(300, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> rep, Z = repulsive_forces_fft(Y)
    >>> W = 1 / (1 + squared_distances(Y)); _ = W.fill_diagonal_(0)
    >>> abs(Z - float(W.sum())) / float(W.sum()) < 1e-4
    True
    """
    fn = "repulsive_forces_fft"
    check_floating(fn, "Y", Y)
    check_ndim(fn, "Y", Y, 2, "(N, 2)")
    if Y.shape[1] != 2:
        raise ValueError(f"{fn}: argument 'Y' must have shape (N, 2), got {tuple(Y.shape)}")
    if grid_dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{fn}: grid_dtype must be torch.float32 or torch.float64, got {grid_dtype}")
    n = Y.shape[0]
    p = int(n_interpolation_points)
    t0 = time.perf_counter()
    lo = Y.min(0).values
    extent = (Y.max(0).values - lo) * (1.0 + 1e-9) + 1e-12
    widest = float(extent.max())
    if widest * intervals_per_unit > min_num_intervals:
        box = 1.0 / intervals_per_unit
    else:
        # at least min_num_intervals intervals, of a width from a fixed ladder
        box = 2.0 ** (math.floor(4.0 * math.log2(widest / min_num_intervals)) / 4.0)
    # FFT lengths L >= 2G - 1 for the intervals the map needs; then as many intervals
    # as L can hold (free: the FFTs cost the same), so that G, L and the cached
    # kernel spectra change only when the map outgrows L
    L1, L2 = (fft_length(2 * p * max(1, math.ceil(float(e) / box)) - 1) for e in extent)
    n1, n2 = (L1 + 1) // (2 * p), (L2 + 1) // (2 * p)
    G1, G2 = n1 * p, n2 * p
    # box index of each point and its position inside the box, in [0, 1)
    u = (Y - lo) / box
    b = torch.minimum(u.floor(), torch.tensor([n1 - 1, n2 - 1], dtype=Y.dtype))
    t = u - b
    b = b.long()
    nodes = (torch.arange(p, dtype=Y.dtype) + 0.5) / p
    W = _lagrange_weights(t, nodes)  # (N, 2, p)
    W1, W2 = W[:, 0], W[:, 1]
    g1 = b[:, 0:1] * p + torch.arange(p)  # (N, p) node rows
    g2 = b[:, 1:2] * p + torch.arange(p)  # (N, p) node columns
    flat = (g1[:, :, None] * G2 + g2[:, None, :]).reshape(-1)  # (N p^2,)
    weight = (W1[:, :, None] * W2[:, None, :]).reshape(n, p * p).to(grid_dtype)
    t0 = _lap(timings, "fft_weights", t0)
    # unit charges spread onto the nodes
    grid = torch.zeros(G1 * G2, dtype=grid_dtype).index_add_(0, flat, weight.reshape(-1))
    t0 = _lap(timings, "fft_spread", t0)
    F, spectra, field = _convolve(grid, G1, G2, L1, L2, box / p, grid_dtype)
    # Z + N = sum_ij w~_ij = (1 / L1 L2) sum over all frequencies of |c^|^2 w^ (Parseval);
    # the half spectrum of the real transform counts the other columns twice
    col = torch.full((L2 // 2 + 1,), 2.0, dtype=torch.float64)
    col[0] = 1.0
    col[-1] = 1.0 if L2 % 2 == 0 else 2.0
    power = (F.real.square() + F.imag.square()) * spectra[0].real
    Z = float((power.double() * col).sum()) / (L1 * L2) - n
    field = field.reshape(2, G1 * G2)
    t0 = _lap(timings, "fft_convolve", t0)
    # interpolated back with the spreading weights; a point's own charge adds
    # sum_ab u_a u_b (n_a - n_b) w(n_a, n_b)^2 = 0 (odd kernel, symmetric weights)
    rep = (field.index_select(1, flat).reshape(2, n, p * p) * weight[None]).sum(2)
    rep = rep.T.to(Y.dtype)
    _lap(timings, "fft_gather", t0)
    return rep, Z


def tsne_gradient_fft(P: torch.Tensor, Y: torch.Tensor, exaggeration: float = 1.0, **fft_kwargs):
    """Approximate t-SNE gradient: exact sparse attraction, FFT-interpolated repulsion.

    .. math:: \\pd{C}{\\vy_i} \\approx 4 \\Big[ \\alpha \\sum_{j:\\, p_{ij} > 0} p_{ij} w_{ij}
              (\\vy_i - \\vy_j)
              - \\frac{1}{Z} \\sum_j w_{ij}^2 (\\vy_i - \\vy_j) \\Big]

    where :math:`\\alpha` is the exaggeration factor (1 for the plain gradient).

    Parameters
    ----------
    P : torch.Tensor
        Sparse COO or dense, shape ``(N, N)``, symmetric.
    Y : torch.Tensor
        Shape ``(N, 2)``.
    exaggeration : float
        Factor multiplying P.
    **fft_kwargs
        Passed to :func:`repulsive_forces_fft`.

    Returns
    -------
    grad : torch.Tensor
        Shape ``(N, 2)``.
    Z : float
        The normaliser.

    Examples
    --------
    >>> from dlbook.manifold import joint_probabilities
    >>> X = torch.randn(200, 5, generator=torch.Generator().manual_seed(0))
    >>> P = joint_probabilities(X, perplexity=10)
    >>> Y = torch.randn(200, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    >>> g, _ = tsne_gradient_fft(P.to_sparse(), Y)
    >>> err = (g - tsne_gradient(P, Y)).norm() / tsne_gradient(P, Y).norm()
    >>> float(err) < 1e-3
    True
    """
    rows, cols, vals = upper_pairs(P)
    attr = attractive_forces(rows, cols, vals * exaggeration, Y, symmetric=True)
    rep, Z = repulsive_forces_fft(Y, **fft_kwargs)
    return 4.0 * (attr - rep / Z), Z


def kl_divergence_sparse(
    P: torch.Tensor, Y: torch.Tensor, Z: float | None = None, block: int = 2048
):
    """KL(P || Q) for a sparse P: :math:`\\sum p \\log p - \\sum p \\log w + \\log Z`.

    Only the stored pairs of P enter the first two sums, since
    :math:`\\sum_{ij} p_{ij} = 1`. ``Z`` is computed exactly over all pairs in
    blocks (:math:`\\bigO{N^2}` time, :math:`\\bigO{N \\cdot block}` memory) unless given.

    Examples
    --------
    >>> from dlbook.manifold import joint_probabilities
    >>> X = torch.randn(30, 4, generator=torch.Generator().manual_seed(0))
    >>> P = joint_probabilities(X, perplexity=5)
    >>> Y = torch.randn(30, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    >>> bool(torch.isclose(kl_divergence_sparse(P.to_sparse(), Y), kl_divergence(P, Y)))
    True
    """
    if not P.is_sparse:
        P = P.to_sparse()
    P = P.coalesce()
    rows, cols = P.indices()
    p = P.values()
    keep = p > 0
    rows, cols, p = rows[keep], cols[keep], p[keep]
    diff = Y[rows] - Y[cols]
    logw = -torch.log1p((diff * diff).sum(1))
    if Z is None:
        n = Y.shape[0]
        Z = 0.0
        for start in range(0, n, block):
            W = 1.0 / (1.0 + squared_distances(Y[start : start + block], Y))
            Z += float(W.sum()) - min(block, n - start)
    return (p * (torch.log(p) - logw)).sum() + math.log(Z)
