"""The t-SNE objective and its gradient, exact and accelerated.

The map-space similarities use the Student-t kernel with one degree of
freedom, :math:`w_{ij} = (1 + \\lVert \\vy_i - \\vy_j \\rVert^2)^{-1}`, and
:math:`q_{ij} = w_{ij} / Z` with :math:`Z = \\sum_{k \\ne l} w_{kl}`. The
cost is :math:`C = \\mathrm{KL}(P \\,\\|\\, Q) = \\sum_{i \\ne j} p_{ij}
\\log(p_{ij} / q_{ij})` and its gradient is

.. math:: \\pd{C}{\\vy_i} = 4 \\sum_j (p_{ij} - q_{ij})\\, w_{ij}\\, (\\vy_i - \\vy_j).
"""

from __future__ import annotations

import math

import torch

from dlbook._checks import check_floating, check_ndim
from dlbook.manifold.affinities import squared_distances

__all__ = [
    "student_t_affinities",
    "kl_divergence",
    "tsne_gradient",
    "attractive_forces",
    "repulsive_forces_fft",
    "tsne_gradient_fft",
    "kl_divergence_sparse",
]


def _check_PY(fn: str, P: torch.Tensor, Y: torch.Tensor) -> None:
    check_floating(fn, "P", P)
    check_floating(fn, "Y", Y)
    check_ndim(fn, "Y", Y, 2, "(N, d)")
    n = Y.shape[0]
    if tuple(P.shape) != (n, n):
        raise ValueError(
            f"{fn}: argument 'P' must have shape (N, N) = ({n}, {n}), got {tuple(P.shape)}"
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
    _check_PY("tsne_gradient", P, Y)
    W = (1.0 + squared_distances(Y)).reciprocal_()
    W.fill_diagonal_(0.0)
    M = P - W / W.sum()
    M.mul_(W)
    return 4.0 * (M.sum(1, keepdim=True) * Y - M @ Y)


def attractive_forces(rows, cols, vals, Y: torch.Tensor) -> torch.Tensor:
    """Attractive part :math:`\\sum_j p_{ij} w_{ij} (\\vy_i - \\vy_j)` over the pairs stored in P.

    Parameters
    ----------
    rows, cols : torch.Tensor
        Shape ``(nnz,)``, int64 indices of the non-zero :math:`p_{ij}`.
    vals : torch.Tensor
        Shape ``(nnz,)``, their values.
    Y : torch.Tensor
        Shape ``(N, d)``.

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
    """
    # one coordinate at a time: 1-D gathers and scatters are much faster than
    # fancy indexing of (nnz, d) blocks and reductions over a dimension of size d
    cols_Y = [Y[:, a].contiguous() for a in range(Y.shape[1])]
    diffs = [c.index_select(0, rows) - c.index_select(0, cols) for c in cols_Y]
    r2 = diffs[0] * diffs[0]
    for d in diffs[1:]:
        r2 += d * d
    pw = vals / (1.0 + r2)
    out = torch.zeros_like(Y)
    for a, d in enumerate(diffs):
        out[:, a] = torch.zeros(Y.shape[0], dtype=Y.dtype).index_add_(0, rows, pw * d)
    return out


def _lagrange_weights(t: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
    # t: (N,), nodes: (p,) -> (N, p) Lagrange basis polynomials at t
    p = nodes.shape[0]
    L = torch.ones(t.shape[0], p, dtype=t.dtype)
    for k in range(p):
        for m in range(p):
            if m != k:
                L[:, k] *= (t - nodes[m]) / (nodes[k] - nodes[m])
    return L


def repulsive_forces_fft(
    Y: torch.Tensor,
    n_interpolation_points: int = 3,
    min_num_intervals: int = 50,
    intervals_per_unit: float = 1.0,
):
    """Repulsive forces and the normaliser :math:`Z` by FFT-accelerated interpolation.

    The sums over *all* pairs,
    :math:`\\sum_j w_{ij}^2 (\\vy_i - \\vy_j)` and :math:`Z = \\sum_{i \\ne j} w_{ij}`,
    are sums of the smooth kernel
    :math:`K(\\vy, \\vy') = (1 + \\lVert \\vy - \\vy' \\rVert^2)^{-2}`
    against the charges :math:`1, y_{j1}, y_{j2}, \\lVert \\vy_j \\rVert^2` (because
    :math:`w_{ij} = (1 + \\lVert \\vy_i - \\vy_j\\rVert^2) w_{ij}^2`). Following
    Linderman et al. (2019), the charges are spread onto a regular grid of
    ``n_interpolation_points`` Lagrange nodes per interval, the grid
    convolution with :math:`K` is done by FFT, and the potentials are
    interpolated back to the points. Cost :math:`\\bigO{N p^2 + G^2 \\log G}`
    for a grid of :math:`G \\times G` nodes. Two-dimensional maps only.

    Parameters
    ----------
    Y : torch.Tensor
        Shape ``(N, 2)``.
    n_interpolation_points : int
        Lagrange nodes per interval and dimension (``p``).
    min_num_intervals : int
        Fewest intervals per dimension.
    intervals_per_unit : float
        Intervals per unit length of the map's bounding box; the grid grows
        with the map so that its resolution stays fixed.

    Returns
    -------
    rep : torch.Tensor
        Shape ``(N, 2)``, :math:`\\sum_j w_{ij}^2 (\\vy_i - \\vy_j)`.
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
    n = Y.shape[0]
    p = int(n_interpolation_points)
    lo = Y.min(0).values
    span = float((Y.max(0).values - lo).max()) * (1.0 + 1e-9) + 1e-12
    n_boxes = max(int(min_num_intervals), math.ceil(span * intervals_per_unit))
    box = span / n_boxes
    G = n_boxes * p
    h = box / p
    # box index and position inside the box, in [0, 1)
    u = (Y - lo) / box
    b = u.floor().clamp_(0, n_boxes - 1)
    t = u - b
    b = b.long()
    nodes = (torch.arange(p, dtype=Y.dtype) + 0.5) / p
    Wx = _lagrange_weights(t[:, 0], nodes)  # (N, p)
    Wy = _lagrange_weights(t[:, 1], nodes)
    gx = b[:, 0:1] * p + torch.arange(p)  # (N, p)
    gy = b[:, 1:2] * p + torch.arange(p)
    flat = (gx[:, :, None] * G + gy[:, None, :]).reshape(-1)  # (N p^2,)
    weight = (Wx[:, :, None] * Wy[:, None, :]).reshape(n, p * p)
    sq = Y[:, 0] * Y[:, 0] + Y[:, 1] * Y[:, 1]
    charges = torch.stack([torch.ones_like(sq), Y[:, 0], Y[:, 1], sq])  # (4, N)
    spread = (charges[:, :, None] * weight[None]).reshape(4, -1)  # (4, N p^2)
    grid = torch.zeros(4, 2 * G, 2 * G, dtype=Y.dtype)
    grid[:, :G, :G] = (
        torch.zeros(4, G * G, dtype=Y.dtype).index_add_(1, flat, spread).reshape(4, G, G)
    )
    # kernel on the circulant embedding of size 2G x 2G
    off = torch.arange(2 * G, dtype=Y.dtype)
    off = torch.where(off < G, off, off - 2 * G) * h
    off2 = off * off
    kernel = 1.0 / (1.0 + off2[:, None] + off2[None, :]) ** 2
    kernel[G, :] = 0.0
    kernel[:, G] = 0.0
    fk = torch.fft.rfft2(kernel)
    fg = torch.fft.rfft2(grid)
    phi = torch.fft.irfft2(fg * fk, s=(2 * G, 2 * G))[:, :G, :G].reshape(4, G * G)
    pot = (phi[:, flat].reshape(4, n, p * p) * weight[None]).sum(2).T  # (N, 4)
    # pot[:, 0] = sum_j K_ij, pot[:, 1:3] = sum_j K_ij y_j, pot[:, 3] = sum_j K_ij |y_j|^2,
    # each including the self term j = i (K_ii = 1).
    Zi = (1.0 + sq) * pot[:, 0] - 2.0 * (Y * pot[:, 1:3]).sum(1) + pot[:, 3]
    Z = float(Zi.sum()) - n
    rep = Y * pot[:, 0:1] - pot[:, 1:3]
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
        Sparse COO (coalesced) or dense, shape ``(N, N)``.
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
    if not P.is_sparse:
        P = P.to_sparse()
    rows, cols = P.indices()
    attr = attractive_forces(rows, cols, P.values() * exaggeration, Y)
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
