"""``torch.nn.Module`` wrappers around :mod:`dlbook.functional`."""

from dlbook.nn.activations import ReLU, Sigmoid, Softmax, Tanh
from dlbook.nn.dropout import Dropout

__all__ = ["Dropout", "ReLU", "Sigmoid", "Softmax", "Tanh"]
