r"""Unsupervised features from k-means on image patches (Coates, Lee and Ng, 2011).

The pipeline:

1. extract random :math:`w \times w` patches from the training images;
2. normalise each patch (subtract its mean, divide by its standard deviation);
3. whiten the patches with ZCA;
4. learn :math:`k` centroids with k-means (k-means++ initialisation);
5. map an image to features: every patch (stride 1) is normalised and
   whitened, then encoded with the *triangle* activation
   :math:`f_j(\vx) = \max\{0, \mu(\vz) - z_j\}`, where :math:`z_j = \lVert\vx - \mathbf{c}_j\rVert`
   and :math:`\mu(\vz)` is the mean of the :math:`z_j`;
6. sum the encodings over the four quadrants of the image: :math:`4k` features.

A linear classifier on these features is the baseline.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dlbook._checks import check_floating, check_ndim, check_real

__all__ = [
    "pairwise_sq_distances",
    "kmeans_plusplus",
    "kmeans",
    "extract_patches",
    "normalize_patches",
    "zca_whitening",
    "triangle_activation",
    "quadrant_pool",
    "KMeansFeatures",
]


def _gdev(generator):
    return generator.device if generator is not None else torch.device("cpu")


def _check_int(fn, name, value, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{fn}: argument '{name}' must be an int >= {low}, got {value!r}")
    return value


def pairwise_sq_distances(X: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    r"""Squared Euclidean distances :math:`\lVert\vx_i - \mathbf{c}_j\rVert^2`, shape ``(N, K)``.

    Computed as :math:`\lVert\vx\rVert^2 - 2\vx^\top\mathbf{c} + \lVert\mathbf{c}\rVert^2`
    (one matrix product), clamped at 0 against rounding.

    Examples
    --------
    >>> import torch
    >>> pairwise_sq_distances(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), torch.tensor([[0.0, 0.0]]))
    tensor([[ 0.],
            [25.]])
    """
    check_floating("pairwise_sq_distances", "X", X)
    check_floating("pairwise_sq_distances", "C", C)
    check_ndim("pairwise_sq_distances", "X", X, 2, "(N, D)")
    check_ndim("pairwise_sq_distances", "C", C, 2, "(K, D)")
    if X.shape[1] != C.shape[1]:
        raise ValueError(
            f"pairwise_sq_distances: X (N, D) and C (K, D) need the same D, "
            f"got {tuple(X.shape)} and {tuple(C.shape)}"
        )
    d = (X * X).sum(1, keepdim=True) - 2 * X @ C.T + (C * C).sum(1)
    return d.clamp_min(0)


def kmeans_plusplus(
    X: torch.Tensor, k: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""k-means++ seeding (Arthur and Vassilvitskii, 2007).

    The first centre is a uniformly random point; each next one is a point
    drawn with probability proportional to :math:`D(\vx)^2`, its squared
    distance to the nearest centre chosen so far.

    Parameters
    ----------
    X : torch.Tensor
        Points, shape ``(N, D)``.
    k : int
        Number of centres, :math:`1 \le k \le N`.

    Returns
    -------
    torch.Tensor
        Shape ``(k, D)``, rows of ``X``.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
    >>> C = kmeans_plusplus(X, 2, generator=torch.Generator().manual_seed(0))
    >>> sorted(round(v) for v in C.flatten().tolist())   # one centre per cluster
    [0, 10]
    """
    check_floating("kmeans_plusplus", "X", X)
    check_ndim("kmeans_plusplus", "X", X, 2, "(N, D)")
    n = X.shape[0]
    _check_int("kmeans_plusplus", "k", k, 1)
    if k > n:
        raise ValueError(
            f"kmeans_plusplus: argument 'k' = {k} exceeds the number of points N = {n}"
        )
    first = torch.randint(n, (1,), generator=generator, device=_gdev(generator)).item()
    centres = [X[first]]
    d2 = pairwise_sq_distances(X, X[first : first + 1]).squeeze(1)
    for _ in range(1, k):
        total = d2.sum()
        if total <= 0:  # all remaining points coincide with centres: pick uniformly
            idx = torch.randint(n, (1,), generator=generator, device=_gdev(generator)).item()
        else:
            probs = (d2 / total).to(_gdev(generator))
            idx = torch.multinomial(probs, 1, generator=generator).item()
        centres.append(X[idx])
        d2 = torch.minimum(d2, pairwise_sq_distances(X, X[idx : idx + 1]).squeeze(1))
    return torch.stack(centres)


def kmeans(
    X: torch.Tensor,
    k: int,
    iters: int = 50,
    tol: float = 1e-6,
    generator: torch.Generator | None = None,
    batch_size: int = 65536,
) -> tuple[torch.Tensor, torch.Tensor, list]:
    r"""Lloyd's k-means from a k-means++ start, with batched distances.

    Alternates the assignment step :math:`a_i = \arg\min_j \lVert\vx_i - \mathbf{c}_j\rVert^2`
    and the update step :math:`\mathbf{c}_j = \text{mean}\{\vx_i : a_i = j\}`.
    Each step cannot increase the objective
    :math:`J = \sum_i \min_j \lVert\vx_i - \mathbf{c}_j\rVert^2`. An empty cluster
    is re-seeded at the point farthest from its centre.

    Parameters
    ----------
    X : torch.Tensor
        Points, shape ``(N, D)``.
    k : int
        Number of clusters.
    iters : int
        Maximum number of Lloyd iterations.
    tol : float
        Stop when :math:`J` decreases by less than ``tol`` times its value.
    generator : torch.Generator, optional
        For the k-means++ seeding.
    batch_size : int
        Rows of ``X`` per distance computation (bounds memory to ``batch_size * k``).

    Returns
    -------
    centroids : torch.Tensor
        Shape ``(k, D)``.
    labels : torch.Tensor
        Shape ``(N,)``, int64.
    objective : list of float
        :math:`J` after each assignment step, non-increasing.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [9.0, 9.0], [9.0, 10.0]])
    >>> C, labels, J = kmeans(X, 2, generator=torch.Generator().manual_seed(0))
    >>> sorted(C.tolist())
    [[0.0, 0.5], [9.0, 9.5]]
    >>> J[-1]
    1.0
    """
    check_floating("kmeans", "X", X)
    check_ndim("kmeans", "X", X, 2, "(N, D)")
    _check_int("kmeans", "iters", iters, 1)
    _check_int("kmeans", "batch_size", batch_size, 1)
    C = kmeans_plusplus(X, k, generator).clone()
    objective = []
    for _ in range(iters):
        labels = torch.empty(X.shape[0], dtype=torch.long, device=X.device)
        mind = torch.empty(X.shape[0], dtype=X.dtype, device=X.device)
        for s in range(0, X.shape[0], batch_size):
            d = pairwise_sq_distances(X[s : s + batch_size], C)
            mind[s : s + batch_size], labels[s : s + batch_size] = d.min(1)
        J = float(mind.sum())
        objective.append(J)
        counts = torch.bincount(labels, minlength=k).to(X.dtype)
        sums = torch.zeros_like(C).index_add_(0, labels, X)
        empty = counts == 0
        C = torch.where(empty[:, None], C, sums / counts.clamp_min(1)[:, None])
        if empty.any():
            far = mind.argsort(descending=True)[: int(empty.sum())]
            C[empty] = X[far]
        if len(objective) > 1 and objective[-2] - J <= tol * max(J, 1e-30):
            break
    return C, labels, objective


def extract_patches(images: torch.Tensor, size: int, stride: int = 1) -> torch.Tensor:
    """All ``size x size`` patches, shape ``(N, L, C*size*size)`` with ``L`` positions (row-major).

    Examples
    --------
    >>> import torch
    >>> P = extract_patches(torch.arange(16.0).view(1, 4, 4), size=2, stride=2)
    >>> P.shape, P[0, 0].tolist()
    (torch.Size([1, 4, 4]), [0.0, 1.0, 4.0, 5.0])
    """
    check_floating("extract_patches", "images", images)
    check_ndim("extract_patches", "images", images, (3, 4), "(N, H, W) or (N, C, H, W)")
    x = images.unsqueeze(1) if images.ndim == 3 else images
    if size > min(x.shape[-2:]):
        raise ValueError(
            f"extract_patches: 'size' = {size} exceeds the image size {tuple(x.shape[-2:])}"
        )
    return F.unfold(x, kernel_size=size, stride=stride).transpose(1, 2)


def normalize_patches(P: torch.Tensor, eps: float) -> torch.Tensor:
    r"""Per-patch contrast normalisation :math:`(\vx - \bar x)/\sqrt{\Var(\vx) + \epsilon}`.

    The mean and variance are taken over the last dimension.

    ``Var`` is the unbiased sample variance of the patch's entries.

    Examples
    --------
    >>> import torch
    >>> normalize_patches(torch.tensor([[1.0, 3.0]]), eps=0.0)
    tensor([[-0.7071,  0.7071]])
    """
    check_floating("normalize_patches", "P", P)
    eps = check_real("normalize_patches", "eps", eps, low=0.0)
    mean = P.mean(-1, keepdim=True)
    var = P.var(-1, keepdim=True)
    return (P - mean) / torch.sqrt(var + eps)


def zca_whitening(P: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and ZCA whitening matrix of the rows of ``P``.

    :math:`\mathbf{W} = \mathbf{V}(\mathbf{\Lambda} + \epsilon\mathbf{I})^{-1/2}\mathbf{V}^\top`.

    With the covariance
    :math:`\mathbf{\Sigma} = \mathbf{V}\mathbf{\Lambda}\mathbf{V}^\top` of the rows of
    ``P`` (shape ``(N, D)``), whitened data are :math:`(\vx - \bar{\vx})\mathbf{W}`; with
    :math:`\epsilon = 0` their covariance is the identity.

    Returns
    -------
    mean : torch.Tensor
        Shape ``(D,)``.
    W : torch.Tensor
        Shape ``(D, D)``, symmetric.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> P = torch.randn(5000, 3, generator=g, dtype=torch.float64) @ torch.tensor(
    ...     [[2.0, 0, 0], [1, 1, 0], [0, 0, 0.1]], dtype=torch.float64)
    >>> mu, W = zca_whitening(P, eps=0.0)
    >>> torch.allclose(torch.cov(((P - mu) @ W).T), torch.eye(3, dtype=torch.float64), atol=1e-8)
    True
    """
    check_floating("zca_whitening", "P", P)
    check_ndim("zca_whitening", "P", P, 2, "(N, D)")
    eps = check_real("zca_whitening", "eps", eps, low=0.0)
    mean = P.mean(0)
    cov = torch.cov((P - mean).T)
    lam, V = torch.linalg.eigh(cov)
    W = (V / torch.sqrt(lam.clamp_min(0) + eps)) @ V.T
    return mean, W


def triangle_activation(X: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    r"""Triangle encoding :math:`f_j = \max\{0, \mu(\vz) - z_j\}`.

    Here :math:`z_j = \lVert\vx - \mathbf{c}_j\rVert` and :math:`\mu(\vz)` is their mean.

    About half of the :math:`k` features are zero: those of centroids farther
    than average.

    Parameters
    ----------
    X : torch.Tensor
        Shape ``(N, D)``.
    C : torch.Tensor
        Centroids, shape ``(K, D)``.

    Returns
    -------
    torch.Tensor
        Shape ``(N, K)``, non-negative.

    Examples
    --------
    >>> import torch
    >>> triangle_activation(torch.zeros(1, 1), torch.tensor([[1.0], [2.0], [6.0]]))
    tensor([[2., 1., 0.]])
    """
    z = pairwise_sq_distances(X, C).sqrt()
    return (z.mean(1, keepdim=True) - z).clamp_min(0)


def quadrant_pool(maps: torch.Tensor) -> torch.Tensor:
    """Sum a ``(N, K, h, w)`` response map over its four quadrants: ``(N, 4K)``.

    The quadrants split rows at ``h // 2`` and columns at ``w // 2``; the
    features are ordered quadrant-major (top-left, top-right, bottom-left,
    bottom-right), each with ``K`` entries.

    Examples
    --------
    >>> import torch
    >>> quadrant_pool(torch.arange(16.0).view(1, 1, 4, 4))
    tensor([[10., 18., 42., 50.]])
    """
    check_floating("quadrant_pool", "maps", maps)
    check_ndim("quadrant_pool", "maps", maps, 4, "(N, K, h, w)")
    h, w = maps.shape[-2] // 2, maps.shape[-1] // 2
    quads = [maps[..., :h, :w], maps[..., :h, w:], maps[..., h:, :w], maps[..., h:, w:]]
    return torch.cat([q.sum((-2, -1)) for q in quads], dim=1)


class KMeansFeatures:
    r"""The single-layer k-means feature extractor of Coates, Lee and Ng (2011).

    Parameters
    ----------
    n_clusters : int
        :math:`k`, the dictionary size; the output has :math:`4k` features.
    patch_size : int
        :math:`w`, the side of the square patches.
    n_patches : int
        Number of random patches used by :meth:`fit`.
    stride : int
        Step between the patches of :meth:`transform` (1 in the paper).
    norm_eps : float
        :math:`\epsilon` of :func:`normalize_patches`. The paper's 10 is for
        pixel values in [0, 255]; the default is that value for images in [0, 1].
    zca_eps : float
        :math:`\epsilon` of :func:`zca_whitening` (0.1 in the paper).
    iters : int
        Maximum Lloyd iterations.
    batch_size : int
        Images per batch in :meth:`transform`.

    Attributes
    ----------
    mean_, whitening_, centroids_ : torch.Tensor
        Set by :meth:`fit`: patch mean ``(D,)``, ZCA matrix ``(D, D)`` and centroids ``(k, D)``,
        with :math:`D = C w^2`.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> images = torch.rand(20, 12, 12, generator=g)
    >>> km = KMeansFeatures(n_clusters=8, patch_size=4, n_patches=500, iters=5)
    >>> km = km.fit(images, generator=g)
    >>> km.transform(images).shape
    torch.Size([20, 32])
    """

    def __init__(
        self,
        n_clusters: int = 400,
        patch_size: int = 6,
        n_patches: int = 100_000,
        stride: int = 1,
        norm_eps: float = 10 / 255**2,
        zca_eps: float = 0.1,
        iters: int = 30,
        batch_size: int = 200,
    ):
        fn = "KMeansFeatures"
        self.n_clusters = _check_int(fn, "n_clusters", n_clusters, 1)
        self.patch_size = _check_int(fn, "patch_size", patch_size, 1)
        self.n_patches = _check_int(fn, "n_patches", n_patches, 1)
        self.stride = _check_int(fn, "stride", stride, 1)
        self.norm_eps = check_real(fn, "norm_eps", norm_eps, low=0.0)
        self.zca_eps = check_real(fn, "zca_eps", zca_eps, low=0.0)
        self.iters = _check_int(fn, "iters", iters, 1)
        self.batch_size = _check_int(fn, "batch_size", batch_size, 1)
        self.centroids_ = None

    def _images(self, fn, images):
        check_floating(f"KMeansFeatures.{fn}", "images", images)
        check_ndim(f"KMeansFeatures.{fn}", "images", images, (3, 4), "(N, H, W) or (N, C, H, W)")
        return images.unsqueeze(1) if images.ndim == 3 else images

    def fit(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> KMeansFeatures:
        """Learn the normalisation, whitening and centroids from random patches of ``images``."""
        x = self._images("fit", images)
        N, Cc, H, W = x.shape
        w = self.patch_size
        if w > min(H, W):
            raise ValueError(f"KMeansFeatures.fit: patch_size {w} exceeds the image size {(H, W)}")
        gd = _gdev(generator)
        n = torch.randint(N, (self.n_patches,), generator=generator, device=gd)
        r = torch.randint(H - w + 1, (self.n_patches,), generator=generator, device=gd)
        c = torch.randint(W - w + 1, (self.n_patches,), generator=generator, device=gd)
        n, r, c = n.to(x.device), r.to(x.device), c.to(x.device)
        offs = torch.arange(w, device=x.device)
        rows = (r[:, None] + offs)[:, :, None]  # (P, w, 1)
        cols = (c[:, None] + offs)[:, None, :]  # (P, 1, w)
        patches = x[n[:, None, None], :, rows, cols]  # (P, w, w, C)
        patches = patches.permute(0, 3, 1, 2).reshape(self.n_patches, Cc * w * w)
        patches = normalize_patches(patches, self.norm_eps)
        self.mean_, self.whitening_ = zca_whitening(patches, self.zca_eps)
        white = (patches - self.mean_) @ self.whitening_
        self.centroids_, _, self.objective_ = kmeans(
            white, self.n_clusters, self.iters, generator=generator
        )
        return self

    @torch.no_grad()
    def transform(self, images: torch.Tensor) -> torch.Tensor:
        """Map images ``(N, H, W)`` or ``(N, C, H, W)`` to features ``(N, 4 * n_clusters)``."""
        if self.centroids_ is None:
            raise RuntimeError("KMeansFeatures.transform: call fit() first")
        x = self._images("transform", images)
        N, _, H, W = x.shape
        w, s = self.patch_size, self.stride
        h_out, w_out = (H - w) // s + 1, (W - w) // s + 1
        mean, whitening, centroids = (
            t.to(device=x.device, dtype=x.dtype)
            for t in (self.mean_, self.whitening_, self.centroids_)
        )
        out = []
        for start in range(0, N, self.batch_size):
            xb = x[start : start + self.batch_size]
            P = extract_patches(xb, w, s)  # (B, L, D)
            B, L, D = P.shape
            P = normalize_patches(P.reshape(B * L, D), self.norm_eps)
            P = (P - mean) @ whitening
            f = triangle_activation(P, centroids)  # (B*L, k)
            maps = f.view(B, h_out, w_out, -1).permute(0, 3, 1, 2)
            out.append(quadrant_pool(maps))
        return torch.cat(out)

    def fit_transform(self, images: torch.Tensor, generator: torch.Generator | None = None):
        """:meth:`fit` then :meth:`transform` on the same images."""
        return self.fit(images, generator).transform(images)
