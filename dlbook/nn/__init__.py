"""``torch.nn.Module`` wrappers around :mod:`dlbook.functional`."""

from dlbook.nn.activations import ReLU, Sigmoid, Softmax, Tanh
from dlbook.nn.adaptive import AdaptiveLogSoftmaxWithLoss
from dlbook.nn.batchnorm import BatchNorm1d, BatchNorm2d
from dlbook.nn.conv import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    Conv2d,
    LPPool2d,
    MaxPool2d,
)
from dlbook.nn.dropout import Dropout
from dlbook.nn.embedding import Embedding
from dlbook.nn.language import GatedConv1d, Highway
from dlbook.nn.recurrent import GRU, LSTM, RNN
from dlbook.nn.sequence import QRNN, ConvOverTime

__all__ = [
    "AdaptiveLogSoftmaxWithLoss",
    "GatedConv1d",
    "Highway",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "ConvOverTime",
    "Dropout",
    "Embedding",
    "GRU",
    "LSTM",
    "LPPool2d",
    "MaxPool2d",
    "QRNN",
    "RNN",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
