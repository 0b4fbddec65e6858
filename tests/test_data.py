"""Data registry, verified downloads and idx loaders, on tiny files made here."""

from __future__ import annotations

import gzip
import hashlib
import struct

import pytest
import torch

from dlbook.data import DataNotAvailableError, fetch, load_mnist, read_idx, registry
from dlbook.data import download as dl


def _idx_bytes(array: torch.Tensor) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + bytes(array.flatten().tolist())


def _fake_mnist(tmp_path, monkeypatch, n=5):
    """Write a tiny, registered 'mnist' with n images into tmp_path/mnist."""
    g = torch.Generator().manual_seed(0)
    contents = {}
    for prefix, count in (("train", n), ("t10k", n - 2)):
        images = torch.randint(0, 256, (count, 28, 28), generator=g)
        labels = torch.randint(0, 10, (count,), generator=g)
        contents[f"{prefix}-images-idx3-ubyte.gz"] = _idx_bytes(images)
        contents[f"{prefix}-labels-idx1-ubyte.gz"] = _idx_bytes(labels)
    folder = tmp_path / "mnist"
    folder.mkdir()
    files = []
    for name, raw in contents.items():
        (folder / name).write_bytes(gzip.compress(raw))
        files.append(registry.DataFile(name, hashlib.sha256(raw).hexdigest(), ("https://example.invalid/" + name,)))
    ds = registry.DataSet("mnist", "tiny", "test", tuple(files))
    monkeypatch.setitem(registry.REGISTRY, "mnist", ds)
    return contents


def test_read_idx_roundtrip(tmp_path):
    array = torch.arange(24, dtype=torch.uint8).reshape(2, 3, 4)
    path = tmp_path / "a-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_bytes(array)))
    assert torch.equal(read_idx(path), array)
    plain = tmp_path / "a-idx3-ubyte"
    plain.write_bytes(_idx_bytes(array))
    assert torch.equal(read_idx(plain), array)


def test_read_idx_rejects_truncated_file(tmp_path):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(_idx_bytes(torch.arange(5, dtype=torch.uint8))[:-1])
    with pytest.raises(ValueError, match="header announces shape"):
        read_idx(path)


def test_loader_uses_present_files_offline(tmp_path, monkeypatch):
    _fake_mnist(tmp_path, monkeypatch)
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    images, labels = load_mnist("train")
    assert images.shape == (5, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (5,) and labels.dtype == torch.int64
    images, labels = load_mnist("test", root=tmp_path)
    assert images.shape == (3, 28, 28)
    with pytest.raises(ValueError, match="'split' must be 'train' or 'test'"):
        load_mnist("valid", root=tmp_path)


def test_recompressed_copy_verifies(tmp_path, monkeypatch):
    contents = _fake_mnist(tmp_path, monkeypatch)
    name = "train-labels-idx1-ubyte.gz"
    (tmp_path / "mnist" / name).write_bytes(gzip.compress(contents[name], compresslevel=1, mtime=123))
    assert fetch("mnist", name, root=tmp_path, download=False) == (tmp_path / "mnist" / name).resolve()


def test_missing_file_offline_error_names_file_location_and_url(tmp_path, monkeypatch):
    _fake_mnist(tmp_path, monkeypatch)
    target = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    target.unlink()

    def offline(*args, **kwargs):
        raise dl.urllib.error.URLError("no network")

    monkeypatch.setattr(dl.urllib.request, "urlopen", offline)
    with pytest.raises(DataNotAvailableError) as info:
        fetch("mnist", "t10k-labels-idx1-ubyte.gz", root=tmp_path)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert str(target.resolve()) in message
    assert "https://example.invalid/t10k-labels-idx1-ubyte.gz" in message
    assert not list((tmp_path / "mnist").glob("*.part"))


def test_corrupt_file_is_never_used(tmp_path, monkeypatch):
    _fake_mnist(tmp_path, monkeypatch)
    target = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    target.write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataNotAvailableError, match="is corrupt"):
        fetch("mnist", target.name, root=tmp_path, download=False)


class _FakeResponse:
    def __init__(self, payload):
        self.payload, self.headers = payload, {"Content-Length": str(len(payload))}

    def read(self, n):
        chunk, self.payload = self.payload[:n], self.payload[n:]
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_is_verified_and_atomic(tmp_path, monkeypatch):
    contents = _fake_mnist(tmp_path, monkeypatch)
    name = "train-images-idx3-ubyte.gz"
    target = tmp_path / "mnist" / name
    target.unlink()
    served = {"payload": gzip.compress(contents[name][:-10])}  # a truncated, wrong file first
    monkeypatch.setattr(dl.urllib.request, "urlopen", lambda url, timeout: _FakeResponse(served["payload"]))
    with pytest.raises(DataNotAvailableError, match="checksum mismatch"):
        fetch("mnist", name, root=tmp_path)
    assert not target.exists() and not list(target.parent.glob("*.part"))
    served["payload"] = gzip.compress(contents[name])
    path = fetch("mnist", name, root=tmp_path)
    assert path == target.resolve() and dl.verify(path, registry.get_dataset("mnist").file(name).sha256)


def test_data_root_default_is_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("DLBOOK_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if dl.sys.platform.startswith("linux"):
        assert dl.data_root() == tmp_path / "dlbook"


def test_registry_knows_both_data_sets():
    for name in ("mnist", "fashion-mnist"):
        ds = registry.get_dataset(name)
        assert len(ds.files) == 4 and all(len(f.sha256) == 64 and f.urls for f in ds.files)
    with pytest.raises(KeyError, match="unknown data set"):
        registry.get_dataset("cifar")


def test_real_mnist(mnist_available):
    images, labels = load_mnist("train", root=mnist_available, download=False)
    assert images.shape == (60000, 28, 28) and labels.shape == (60000,)
    assert labels[:5].tolist() == [5, 0, 4, 1, 9]
    counts = torch.bincount(labels, minlength=10)
    assert counts.sum() == 60000 and counts.min() > 5000
    assert counts[1] == 6742
    test_images, test_labels = load_mnist("test", root=mnist_available, download=False)
    assert test_images.shape == (10000, 28, 28) and test_labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_real_fashion_mnist(mnist_available):
    from dlbook.data import load_fashion_mnist

    root = mnist_available
    if not (root / "fashion-mnist").is_dir():
        pytest.skip("fashion-mnist is not under DLBOOK_DATA")
    images, labels = load_fashion_mnist("train", root=root, download=False)
    assert images.shape == (60000, 28, 28)
    assert torch.bincount(labels).tolist() == [6000] * 10
