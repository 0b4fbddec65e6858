r"""Label-preserving image transformations on batches, seeded.

Every transform takes a batch of floating-point images of shape
``(N, H, W)`` or ``(N, C, H, W)`` and returns a batch of the same shape,
drawing one random transformation per image from an optional
:class:`torch.Generator`. Geometric transforms resample the image with
bilinear interpolation and fill the outside with zeros, so every output
pixel is a convex combination of input pixels and zeros: images in
:math:`[0, 1]` stay in :math:`[0, 1]`.

The building blocks are deterministic functions:

* :func:`affine_matrix` builds the sampling matrices from rotation,
  translation, zoom, shear and stretch parameters;
* :func:`warp_affine` applies them (``torch.nn.functional.affine_grid``
  and ``grid_sample``);
* :func:`elastic_field` draws a smoothed random displacement field
  (Simard et al., 2003) and :func:`warp_displacement` applies one.

The random transforms :class:`RandomAffine`, :class:`ElasticDistortion` and
:class:`RandomHorizontalFlip` sample their parameters and call them;
:class:`Compose` chains transforms.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dlbook._checks import check_floating, check_ndim, check_real

__all__ = [
    "affine_matrix",
    "warp_affine",
    "elastic_field",
    "warp_displacement",
    "horizontal_flip",
    "RandomAffine",
    "ElasticDistortion",
    "RandomHorizontalFlip",
    "Compose",
]


def _as4d(fn: str, images: torch.Tensor) -> tuple[torch.Tensor, bool]:
    check_floating(fn, "images", images)
    check_ndim(fn, "images", images, (3, 4), "(N, H, W) or (N, C, H, W)")
    return (images.unsqueeze(1), True) if images.ndim == 3 else (images, False)


def _param(fn: str, name: str, value, n: int, dtype) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=dtype)
    if t.ndim == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(
            f"{fn}: argument '{name}' must be a number or have shape (N,) = ({n},), "
            f"got shape {tuple(t.shape)}"
        )
    return t


def affine_matrix(
    n: int,
    size: tuple[int, int],
    rotation=0.0,
    translation=(0.0, 0.0),
    zoom=1.0,
    shear=0.0,
    stretch=0.0,
    dtype=torch.float32,
) -> torch.Tensor:
    r"""Sampling matrices ``theta`` (for ``affine_grid``) of ``n`` affine maps.

    The forward map that moves the image content, in coordinates centred on
    the image, is :math:`\vx \mapsto \mathbf{M}\vx + \mathbf{t}` with

    .. math::

        \mathbf{M} = \mathbf{R}(\varphi)\begin{pmatrix}1 & \tan\psi\\ 0 & 1\end{pmatrix}
        \begin{pmatrix} z e^{s/2} & 0 \\ 0 & z e^{-s/2}\end{pmatrix},

    rotation :math:`\varphi`, shear :math:`\psi`, zoom :math:`z` and stretch
    :math:`s` (the log aspect ratio). Sampling needs the inverse map, so
    ``theta`` is :math:`[\mathbf{M}^{-1}, -\mathbf{M}^{-1}\mathbf{t}]` in the
    normalised coordinates of ``affine_grid``.

    Parameters
    ----------
    n : int
        Number of matrices.
    size : (int, int)
        Image size ``(H, W)``, to convert pixels to normalised coordinates.
    rotation : float or tensor (N,)
        Degrees.
    translation : (float, float) or tensor (N, 2)
        Shift ``(dx, dy)`` in pixels (``dy`` positive downwards).
    zoom : float or tensor (N,)
        Scale factor :math:`z > 0`; 1 leaves the size unchanged.
    shear : float or tensor (N,)
        Shear angle :math:`\psi` in degrees.
    stretch : float or tensor (N,)
        :math:`s`; the width is multiplied by :math:`e^{s/2}` and the height by :math:`e^{-s/2}`.

    Returns
    -------
    torch.Tensor
        Shape ``(N, 2, 3)``.

    Examples
    --------
    >>> affine_matrix(1, (28, 28))
    tensor([[[1., 0., 0.],
             [0., 1., 0.]]])
    """
    fn = "affine_matrix"
    H, W = size
    rot = torch.deg2rad(_param(fn, "rotation", rotation, n, dtype))
    sh = torch.deg2rad(_param(fn, "shear", shear, n, dtype))
    z = _param(fn, "zoom", zoom, n, dtype)
    s = _param(fn, "stretch", stretch, n, dtype)
    if torch.any(z <= 0):
        raise ValueError(f"{fn}: argument 'zoom' must be > 0")
    t = torch.as_tensor(translation, dtype=dtype)
    if t.ndim == 1:
        t = t.expand(n, 2)
    if t.shape != (n, 2):
        raise ValueError(
            f"{fn}: argument 'translation' must have shape (2,) or (N, 2), got {tuple(t.shape)}"
        )
    c, si = torch.cos(rot), torch.sin(rot)
    R = torch.stack([torch.stack([c, -si], -1), torch.stack([si, c], -1)], -2)
    Sh = torch.zeros(n, 2, 2, dtype=dtype)
    Sh[:, 0, 0] = 1
    Sh[:, 1, 1] = 1
    Sh[:, 0, 1] = torch.tan(sh)
    S = torch.diag_embed(torch.stack([z * torch.exp(s / 2), z * torch.exp(-s / 2)], -1))
    M = R @ Sh @ S
    # pixels -> normalised coordinates (align_corners=False: the image spans [-1, 1])
    t_norm = torch.stack([2 * t[:, 0] / W, 2 * t[:, 1] / H], -1)
    M_inv = torch.linalg.inv(M)
    offset = -(M_inv @ t_norm.unsqueeze(-1)) + 0.0  # + 0.0 turns -0.0 into 0.0
    return torch.cat([M_inv, offset], dim=2)


def warp_affine(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample each image with its matrix ``theta`` (shape ``(N, 2, 3)``), bilinear, zero fill.

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(1, 5, 5); x[0, 2, 2] = 1.0
    >>> y = warp_affine(x, affine_matrix(1, (5, 5), translation=(1.0, 0.0)))
    >>> y[0, 2]                  # the bright pixel moved one pixel to the right
    tensor([0., 0., 0., 1., 0.])
    """
    x, squeeze = _as4d("warp_affine", images)
    check_floating("warp_affine", "theta", theta)
    if theta.shape != (x.shape[0], 2, 3):
        raise ValueError(
            f"warp_affine: argument 'theta' must have shape (N, 2, 3) = ({x.shape[0]}, 2, 3), "
            f"got {tuple(theta.shape)}"
        )
    grid = F.affine_grid(
        theta.to(device=x.device, dtype=x.dtype), list(x.shape), align_corners=False
    )
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.squeeze(1) if squeeze else out


def _gaussian_kernel(sigma: float, dtype) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    u = torch.arange(-radius, radius + 1, dtype=dtype)
    k = torch.exp(-0.5 * (u / sigma) ** 2)
    return k / k.sum()


def elastic_field(
    n: int,
    size: tuple[int, int],
    alpha: float,
    sigma: float,
    generator: torch.Generator | None = None,
    dtype=torch.float32,
    device=None,
) -> torch.Tensor:
    r"""Random smooth displacement fields, in pixels (Simard et al., 2003).

    Each component of the displacement is drawn independently per pixel from
    :math:`U(-1, 1)`, convolved with a normalised Gaussian of standard
    deviation :math:`\sigma` pixels (zero padding), and multiplied by :math:`\alpha`.
    Small :math:`\sigma` gives nearly independent, large-looking jitter;
    large :math:`\sigma` gives smooth, nearly affine fields.

    Returns
    -------
    torch.Tensor
        Shape ``(N, H, W, 2)``: the ``(dx, dy)`` displacement of each output pixel.

    Examples
    --------
    >>> import torch
    >>> d = elastic_field(2, (28, 28), alpha=0.0, sigma=4.0)
    >>> d.shape, float(d.abs().max())
    (torch.Size([2, 28, 28, 2]), 0.0)
    """
    alpha = check_real("elastic_field", "alpha", alpha, low=0.0)
    sigma = check_real("elastic_field", "sigma", sigma, low=0.0, low_open=True)
    H, W = size
    # drawn where the generator lives (the CPU by default), so that a seed gives the
    # same field on every device; smoothed on ``device``
    gen_device = generator.device if generator is not None else "cpu"
    noise = torch.rand(n * 2, 1, H, W, generator=generator, dtype=dtype, device=gen_device)
    noise = (noise * 2 - 1).to(device)
    k = _gaussian_kernel(sigma, dtype).to(noise.device)
    r = (len(k) - 1) // 2
    smooth = F.conv2d(noise, k.view(1, 1, 1, -1), padding=(0, r))
    smooth = F.conv2d(smooth, k.view(1, 1, -1, 1), padding=(r, 0))
    return alpha * smooth.view(n, 2, H, W).permute(0, 2, 3, 1)


def warp_displacement(images: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
    """Sample each output pixel at its position plus ``displacement`` (pixels, ``(N, H, W, 2)``).

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(3, 8, 8)
    >>> torch.allclose(warp_displacement(x, torch.zeros(3, 8, 8, 2)), x, atol=1e-5)
    True
    """
    x, squeeze = _as4d("warp_displacement", images)
    N, _, H, W = x.shape
    check_floating("warp_displacement", "displacement", displacement)
    if displacement.shape != (N, H, W, 2):
        raise ValueError(
            f"warp_displacement: argument 'displacement' must have shape (N, H, W, 2) = "
            f"({N}, {H}, {W}, 2), got {tuple(displacement.shape)}"
        )
    eye = torch.eye(2, 3, dtype=x.dtype, device=x.device).expand(N, 2, 3)
    grid = F.affine_grid(eye, list(x.shape), align_corners=False)
    scale = torch.tensor([2.0 / W, 2.0 / H], dtype=x.dtype, device=x.device)
    grid = grid + displacement.to(device=x.device, dtype=x.dtype) * scale
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.squeeze(1) if squeeze else out


def horizontal_flip(images: torch.Tensor) -> torch.Tensor:
    """Mirror left-right (last dimension).

    Examples
    --------
    >>> import torch
    >>> horizontal_flip(torch.tensor([[[1.0, 2.0, 3.0]]]))
    tensor([[[3., 2., 1.]]])
    """
    _as4d("horizontal_flip", images)
    return images.flip(-1)


class RandomAffine:
    r"""Random rotation, translation, zoom, shear and stretch, one draw per image.

    Each parameter is drawn uniformly from a symmetric range:
    rotation :math:`\varphi \sim U(-\text{rotation}, \text{rotation})` degrees,
    translation :math:`(dx, dy) \sim U(-\text{translation}, \text{translation})^2` pixels,
    zoom :math:`z \sim U(1-\text{zoom}, 1+\text{zoom})`,
    shear :math:`\psi \sim U(-\text{shear}, \text{shear})` degrees,
    stretch :math:`s \sim U(-\text{stretch}, \text{stretch})`. All zero is the identity.

    Parameters
    ----------
    rotation, translation, zoom, shear, stretch : float
        Strengths, all :math:`\ge 0`; ``zoom`` below 1.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(4, 28, 28)
    >>> aug = RandomAffine(rotation=10, translation=2, zoom=0.1)
    >>> y = aug(x, generator=torch.Generator().manual_seed(0))
    >>> y.shape
    torch.Size([4, 28, 28])
    >>> torch.equal(y, aug(x, generator=torch.Generator().manual_seed(0)))
    True
    """

    def __init__(
        self,
        rotation: float = 0.0,
        translation: float = 0.0,
        zoom: float = 0.0,
        shear: float = 0.0,
        stretch: float = 0.0,
    ):
        self.rotation = check_real("RandomAffine", "rotation", rotation, low=0.0)
        self.translation = check_real("RandomAffine", "translation", translation, low=0.0)
        self.zoom = check_real("RandomAffine", "zoom", zoom, low=0.0, high=1.0, high_open=True)
        self.shear = check_real("RandomAffine", "shear", shear, low=0.0, high=90.0, high_open=True)
        self.stretch = check_real("RandomAffine", "stretch", stretch, low=0.0)

    def sample(
        self,
        n: int,
        size: tuple[int, int],
        generator: torch.Generator | None = None,
        dtype=torch.float32,
    ) -> torch.Tensor:
        """Draw ``n`` sampling matrices, shape ``(N, 2, 3)``."""
        gen_device = generator.device if generator is not None else "cpu"
        u = torch.rand(n, 6, generator=generator, dtype=dtype, device=gen_device) * 2 - 1
        u = u.cpu()  # U(-1, 1); the matrices are built on the CPU, moved by warp_affine
        return affine_matrix(
            n,
            size,
            rotation=self.rotation * u[:, 0],
            translation=self.translation * u[:, 1:3],
            zoom=1 + self.zoom * u[:, 3],
            shear=self.shear * u[:, 4],
            stretch=self.stretch * u[:, 5],
            dtype=dtype,
        )

    def __call__(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        x, _ = _as4d("RandomAffine", images)
        theta = self.sample(x.shape[0], tuple(x.shape[-2:]), generator, dtype=x.dtype)
        return warp_affine(images, theta)

    def __repr__(self) -> str:
        return (
            f"RandomAffine(rotation={self.rotation}, translation={self.translation}, "
            f"zoom={self.zoom}, shear={self.shear}, stretch={self.stretch})"
        )


class ElasticDistortion:
    r"""Elastic distortion with a fresh field per image (:func:`elastic_field`).

    Parameters
    ----------
    alpha : float
        Scale of the displacement, in pixels; 0 is the identity.
    sigma : float
        Smoothness: standard deviation of the Gaussian, in pixels.
        Simard et al. (2003) used :math:`\sigma = 4`, :math:`\alpha = 34` on MNIST.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(2, 28, 28)
    >>> torch.allclose(ElasticDistortion(alpha=0.0)(x), x, atol=1e-5)   # float32 rounding
    True
    """

    def __init__(self, alpha: float = 34.0, sigma: float = 4.0):
        self.alpha = check_real("ElasticDistortion", "alpha", alpha, low=0.0)
        self.sigma = check_real("ElasticDistortion", "sigma", sigma, low=0.0, low_open=True)

    def __call__(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        x, _ = _as4d("ElasticDistortion", images)
        N, _, H, W = x.shape
        d = elastic_field(
            N, (H, W), self.alpha, self.sigma, generator=generator, dtype=x.dtype, device=x.device
        )
        return warp_displacement(images, d)

    def __repr__(self) -> str:
        return f"ElasticDistortion(alpha={self.alpha}, sigma={self.sigma})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``.

    Label-preserving for clothing (Fashion-MNIST), not for digits.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(6.0).view(2, 1, 3)
    >>> RandomHorizontalFlip(p=1.0)(x)
    tensor([[[2., 1., 0.]],
    <BLANKLINE>
            [[5., 4., 3.]]])
    """

    def __init__(self, p: float = 0.5):
        self.p = check_real("RandomHorizontalFlip", "p", p, low=0.0, high=1.0)

    def __call__(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        x, _ = _as4d("RandomHorizontalFlip", images)
        gen_device = generator.device if generator is not None else "cpu"
        flip = (torch.rand(x.shape[0], generator=generator, device=gen_device) < self.p).to(
            x.device
        )
        shape = (-1,) + (1,) * (images.ndim - 1)
        return torch.where(flip.view(shape), images.flip(-1), images)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Compose:
    """Apply transforms in order, all drawing from the same generator.

    Examples
    --------
    >>> import torch
    >>> aug = Compose([RandomAffine(rotation=10), ElasticDistortion(alpha=8, sigma=4)])
    >>> aug(torch.rand(5, 28, 28), generator=torch.Generator().manual_seed(0)).shape
    torch.Size([5, 28, 28])
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(
                    f"Compose: every transform must be callable, got {type(t).__name__}"
                )

    def __call__(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        for t in self.transforms:
            images = t(images, generator=generator)
        return images

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(map(repr, self.transforms)) + "])"
