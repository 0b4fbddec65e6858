"""``torch.nn.Module`` wrappers around :mod:`dlbook.functional`."""

from dlbook.nn.activations import ReLU, Sigmoid, Softmax, Tanh

__all__ = ["ReLU", "Sigmoid", "Softmax", "Tanh"]
