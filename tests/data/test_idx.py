"""MNIST-style IDX files: round trip through write_idx, and one-line errors for malformed files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from modelscan_vicious.data.idx import read_idx, write_idx
from modelscan_vicious.errors import DataLoadError


def _header(dtype_code: int, dims: tuple[int, ...]) -> bytes:
    return bytes([0, 0, dtype_code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def _read_error(path: Path) -> str:
    with pytest.raises(DataLoadError) as err:
        read_idx(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


@pytest.mark.parametrize("shape", [(7,), (3, 5, 4)])
def test_write_read_round_trip(tmp_path, shape):
    array = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    path = tmp_path / "array-idx.gz"
    write_idx(path, array)
    with gzip.open(path, "rb") as fh:
        assert fh.read(4) == bytes([0, 0, 0x08, len(shape)])
    back = read_idx(path)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, array)


def test_uncompressed_big_endian_float(tmp_path):
    values = np.array([[1.5, -2.0], [0.25, 8.0]], dtype=">f4")
    path = tmp_path / "floats-ubyte"
    path.write_bytes(_header(0x0D, (2, 2)) + values.tobytes())
    np.testing.assert_array_equal(read_idx(path), values)


def test_bad_magic(tmp_path):
    path = tmp_path / "png-ubyte"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    assert "bad magic" in _read_error(path)


def test_unknown_dtype_code(tmp_path):
    path = tmp_path / "odd-ubyte"
    path.write_bytes(_header(0x07, (1,)) + b"\x00")
    assert "bad magic" in _read_error(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "header-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + (5).to_bytes(4, "big"))
    assert "truncated IDX header" in _read_error(path)


def test_truncated_payload(tmp_path):
    path = tmp_path / "payload-ubyte"
    path.write_bytes(_header(0x08, (2, 4, 4)) + bytes(31))
    assert "31 bytes, header says 32" in _read_error(path)


def test_truncated_gzip(tmp_path):
    full = tmp_path / "full.gz"
    write_idx(full, np.zeros((4, 8, 8), np.uint8))
    path = tmp_path / "cut.gz"
    path.write_bytes(full.read_bytes()[:20])
    assert "cannot read IDX file" in _read_error(path)


def test_not_gzip_despite_suffix(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(_header(0x08, (1,)) + b"\x01")
    assert "cannot read IDX file" in _read_error(path)
