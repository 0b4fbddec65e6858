"""Shared fixtures. No test touches the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile("dlbook", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dlbook")

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def _real_data_root():
    env = os.environ.get("DLBOOK_DATA")
    return Path(env).expanduser().resolve() if env else None


@pytest.fixture
def mnist_available():
    """Skip unless ``DLBOOK_DATA`` holds the real MNIST files (never downloads)."""
    from dlbook.data import get_dataset

    root = _real_data_root()
    if root is None:
        pytest.skip("DLBOOK_DATA is not set; point it at a folder holding mnist/ to run this test")
    missing = [f.name for f in get_dataset("mnist").files if not (root / "mnist" / f.name).is_file()]
    if missing:
        pytest.skip(f"MNIST files missing under {root / 'mnist'}: {', '.join(missing)}")
    return root


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Make any attempt to open a network connection fail loudly."""
    import socket

    def guard(*args, **kwargs):
        raise RuntimeError("tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", guard)
