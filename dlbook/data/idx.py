"""A reader for the idx format used by MNIST and Fashion-MNIST."""

from __future__ import annotations

import struct

import numpy as np
import torch

__all__ = ["read_idx", "parse_idx"]

_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(content: bytes) -> torch.Tensor:
    """Parse the bytes of an (uncompressed) idx file into a tensor.

    The format is two zero bytes, a type code, the number of dimensions
    ``d``, then ``d`` big-endian 32-bit sizes, then the data in C order.

    Examples
    --------
    >>> import struct
    >>> raw = struct.pack(">BBBBI", 0, 0, 0x08, 1, 3) + bytes([5, 0, 4])
    >>> parse_idx(raw)
    tensor([5, 0, 4], dtype=torch.uint8)
    """
    if len(content) < 4 or content[0] != 0 or content[1] != 0:
        raise ValueError("parse_idx: not an idx file (the first two bytes must be zero)")
    code, ndim = content[2], content[3]
    if code not in _DTYPES:
        raise ValueError(f"parse_idx: unknown idx type code 0x{code:02x}")
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", content[4:header])
    dtype = np.dtype(_DTYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(content) - header != expected:
        raise ValueError(
            f"parse_idx: header announces shape {shape} ({expected} bytes of data) "
            f"but the file holds {len(content) - header}"
        )
    array = np.frombuffer(content, dtype=dtype, offset=header).reshape(shape)
    return torch.from_numpy(array.astype(dtype.newbyteorder("="), copy=True))


def read_idx(path) -> torch.Tensor:
    """Read an idx file (optionally ``.gz``-compressed) into a tensor."""
    from dlbook.data.download import read_content

    return parse_idx(read_content(path))
