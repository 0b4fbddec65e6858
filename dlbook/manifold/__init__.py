"""t-SNE from scratch: affinities, the exact and FFT-accelerated gradient, and an estimator.

Input-space similarities (:math:`p`) are built in
:mod:`dlbook.manifold.affinities`; the map-space similarities (:math:`q`),
the cost and its gradient in :mod:`dlbook.manifold.gradient`; the optimiser
in :class:`dlbook.manifold.TSNE`.
"""

from dlbook.manifold.affinities import (
    conditional_probabilities,
    joint_probabilities,
    joint_probabilities_nn,
    nearest_neighbors,
    perplexity_of,
    squared_distances,
)
from dlbook.manifold.gradient import (
    attractive_forces,
    fft_length,
    kl_divergence,
    kl_divergence_sparse,
    repulsive_forces_fft,
    student_t_affinities,
    tsne_gradient,
    tsne_gradient_fft,
    upper_pairs,
)
from dlbook.manifold.tsne import TSNE, pca_init

__all__ = [
    "TSNE",
    "attractive_forces",
    "conditional_probabilities",
    "fft_length",
    "joint_probabilities",
    "joint_probabilities_nn",
    "kl_divergence",
    "kl_divergence_sparse",
    "nearest_neighbors",
    "pca_init",
    "perplexity_of",
    "repulsive_forces_fft",
    "squared_distances",
    "student_t_affinities",
    "tsne_gradient",
    "tsne_gradient_fft",
    "upper_pairs",
]
