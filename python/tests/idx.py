"""A reader of IDX files (the MNIST format), for test data."""

from __future__ import annotations

import gzip
import struct
from typing import List


def read_images(path: str, limit: int) -> List[List[float]]:
    """The first ``limit`` images of an idx3-ubyte(.gz) file, each a row-major list of pixels."""
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, f"{path} is not an IDX image file"
        size = rows * cols
        return [[float(b) for b in f.read(size)] for _ in range(min(n, limit))]


def read_labels(path: str, limit: int) -> List[int]:
    """The first ``limit`` labels of an idx1-ubyte(.gz) file."""
    with gzip.open(path, "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        assert magic == 0x801, f"{path} is not an IDX label file"
        return list(f.read(min(n, limit)))
