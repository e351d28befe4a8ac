"""Auxiliary (unlabelled) inputs: .npz arrays, image folders and IDX files, brought to the model's shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from modelscan_vicious.data.auxiliary import load_auxiliary
from modelscan_vicious.data.idx import write_idx
from modelscan_vicious.data.writers import write_auxiliary_npz
from modelscan_vicious.errors import DataLoadError

SHAPE = (1, 8, 8)


def _load_error(path: Path, shape=SHAPE) -> str:
    with pytest.raises(DataLoadError) as err:
        load_auxiliary(path, shape)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message, message
    return message


# ---------------------------------------------------------------------------------------------
# .npz


def test_session_aux_npz_holds_the_rest_of_the_pool(aux_npz, digits_splits):
    images = load_auxiliary(aux_npz, SHAPE)
    expected = digits_splits.pool.images[150:]
    assert images.shape == expected.shape and images.dtype == np.float32
    np.testing.assert_allclose(images, expected, atol=0.5 / 255 + 1e-6)


def test_uint8_n_h_w(tmp_path):
    x = np.arange(3 * 8 * 8, dtype=np.uint8).reshape(3, 8, 8)
    np.savez(tmp_path / "a.npz", x=x)
    images = load_auxiliary(tmp_path / "a.npz", SHAPE)
    assert images.shape == (3, 1, 8, 8)
    np.testing.assert_allclose(images[:, 0], x / 255.0, atol=1e-7)


def test_float_n_c_h_w_in_unit_range_kept(tmp_path):
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float64)
    np.savez(tmp_path / "f.npz", x=x)
    np.testing.assert_allclose(load_auxiliary(tmp_path / "f.npz", SHAPE), x, atol=1e-7)


def test_float_in_0_255_rescaled(tmp_path):
    x = np.full((2, 1, 8, 8), 51.0, dtype=np.float32)
    np.savez(tmp_path / "f.npz", x=x)
    np.testing.assert_allclose(load_auxiliary(tmp_path / "f.npz", SHAPE), 0.2, atol=1e-6)


def test_rgb_arrays_converted_and_resized_for_grey_model(tmp_path):
    x = np.zeros((2, 3, 16, 16), dtype=np.float32)
    x[:, 0] = 1.0  # pure red
    np.savez(tmp_path / "rgb.npz", x=x)
    images = load_auxiliary(tmp_path / "rgb.npz", SHAPE)
    assert images.shape == (2, 1, 8, 8)
    np.testing.assert_allclose(images, 0.299, atol=1e-5)


def test_grey_arrays_repeated_for_rgb_model(tmp_path):
    np.savez(tmp_path / "g.npz", x=np.full((1, 8, 8), 255, np.uint8))
    images = load_auxiliary(tmp_path / "g.npz", (3, 8, 8))
    assert images.shape == (1, 3, 8, 8)
    np.testing.assert_allclose(images, 1.0)


def test_limit_keeps_the_first_images(tmp_path):
    x = np.arange(5, dtype=np.uint8)[:, None, None].repeat(8, 1).repeat(8, 2)
    write_auxiliary_npz(tmp_path / "w.npz", x[:, None] / 255.0)
    images = load_auxiliary(tmp_path / "w.npz", SHAPE, limit=2)
    np.testing.assert_allclose(images[:, 0, 0, 0] * 255, [0, 1], atol=1e-4)


def test_npz_without_x(tmp_path):
    np.savez(tmp_path / "nox.npz", images=np.zeros((2, 8, 8)), y=np.zeros(2))
    message = _load_error(tmp_path / "nox.npz")
    assert "no array 'x'" in message and "images" in message


def test_pickled_object_npz_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([{"payload": 1}, None], dtype=object))
    message = _load_error(path)
    assert "allow_pickle" in message or "pickle" in message.lower()


def test_pickle_disguised_as_npz_refused(tmp_path):
    path = tmp_path / "evil.npz"
    path.write_bytes(b"\x80\x04K\x01.")  # a pickle; np.load would unpickle it with allow_pickle=True
    assert "unreadable .npz" in _load_error(path)


def test_bare_npy_under_npz_name(tmp_path):
    path = tmp_path / "array.npz"
    with path.open("wb") as fh:
        np.save(fh, np.zeros((2, 8, 8), np.uint8))
    assert "not an .npz archive" in _load_error(path)


@pytest.mark.parametrize(
    ("x", "fragment"),
    [
        (np.zeros((0, 8, 8), np.uint8), "no images"),
        (np.zeros((2, 64), np.uint8), "(N,H,W)"),
        (np.full((1, 8, 8), np.nan, np.float32), "NaN"),
        (np.full((1, 8, 8), -3.0, np.float32), "[0, 1] or [0, 255]"),
        (np.array([["a"] * 8] * 8)[None], "not numeric"),
    ],
    ids=["empty", "flat", "nan", "negative", "strings"],
)
def test_bad_arrays(tmp_path, x, fragment):
    path = tmp_path / "bad.npz"
    np.savez(path, x=x)
    assert fragment in _load_error(path)


def test_missing_and_unsupported_paths(tmp_path):
    assert "not found" in _load_error(tmp_path / "absent.npz")
    (tmp_path / "aux.csv").write_text("1,2,3\n")
    assert ".npz" in _load_error(tmp_path / "aux.csv")


# ---------------------------------------------------------------------------------------------
# Image folders


def test_image_folder_sorted_converted_resized_and_limited(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("RGB", (16, 16), (255, 255, 255)).save(folder / "b.png")
    Image.new("L", (8, 8), 0).save(folder / "a.png")
    Image.new("L", (4, 4), 128).save(folder / "c.bmp")
    (folder / "notes.txt").write_text("not an image")
    images = load_auxiliary(folder, SHAPE)
    assert images.shape == (3, 1, 8, 8) and images.dtype == np.float32
    np.testing.assert_allclose(images.mean(axis=(1, 2, 3)), [0.0, 1.0, 128 / 255], atol=1e-6)
    assert len(load_auxiliary(folder, SHAPE, limit=2)) == 2


def test_empty_image_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    assert "no image files" in _load_error(tmp_path)


def test_unreadable_image_in_folder(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG but not really")
    message = _load_error(tmp_path)
    assert "broken.png" in message and "unreadable image" in message


# ---------------------------------------------------------------------------------------------
# IDX


def test_idx_auxiliary_round_trip(tmp_path):
    x = np.random.default_rng(1).integers(0, 256, size=(5, 8, 8), dtype=np.uint8)
    path = tmp_path / "aux-images-idx3-ubyte.gz"
    write_idx(path, x)
    images = load_auxiliary(path, SHAPE)
    np.testing.assert_allclose(images[:, 0], x / 255.0, atol=1e-7)


def test_truncated_idx_auxiliary(tmp_path):
    path = tmp_path / "short-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + (4).to_bytes(4, "big") * 3 + bytes(10))
    assert "IDX payload" in _load_error(path)
