"""``torch.nn.Module`` wrappers around :mod:`dlbook.functional`."""

from dlbook.nn.activations import ReLU, Sigmoid, Softmax, Tanh
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

__all__ = [
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "LPPool2d",
    "MaxPool2d",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
