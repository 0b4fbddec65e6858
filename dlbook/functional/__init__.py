"""Differentiable operations with hand-derived backward passes.

Each public function wraps a :class:`torch.autograd.Function` whose
``backward`` implements the derivative that the book derives; the tests
check every one with :func:`torch.autograd.gradcheck` in float64 and
against :mod:`torch.nn.functional`. Signatures mirror ``torch.nn.functional``
so that the two can be swapped.
"""

from dlbook.functional.activations import relu, sigmoid, tanh
from dlbook.functional.batchnorm import batch_norm
from dlbook.functional.conv import conv2d, conv_output_size
from dlbook.functional.dropout import dropout
from dlbook.functional.embedding import embedding
from dlbook.functional.language import (
    causal_conv1d,
    glu,
    highway,
    sample_tokens,
    window_attention,
)
from dlbook.functional.pooling import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    lp_pool2d,
    max_pool2d,
)
from dlbook.functional.qrnn import fo_pool
from dlbook.functional.recurrent import (
    gru_cell,
    lstm_cell,
    recurrent_layer,
    rnn_relu_cell,
    rnn_tanh_cell,
)
from dlbook.functional.softmax import cross_entropy, log_softmax, softmax

__all__ = [
    "fo_pool",
    "causal_conv1d",
    "glu",
    "highway",
    "sample_tokens",
    "window_attention",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "conv_output_size",
    "cross_entropy",
    "dropout",
    "embedding",
    "gru_cell",
    "lp_pool2d",
    "max_pool2d",
    "log_softmax",
    "lstm_cell",
    "recurrent_layer",
    "relu",
    "rnn_relu_cell",
    "rnn_tanh_cell",
    "sigmoid",
    "softmax",
    "tanh",
]
