"""The labelled CSV in both forms: happy paths, and one-line errors naming file and line for each defect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from modelscan_vicious.data.labelled_csv import load_labelled_csv, read_csv_layout
from modelscan_vicious.data.writers import write_pixel_csv
from modelscan_vicious.errors import EXIT_SCAN_ERROR, DataLoadError

SHAPE = (1, 2, 2)  # four pixel columns keep the hand-written CSVs readable
HEADER = "label,p0,p1,p2,p3"


def _csv(tmp_path: Path, text: str, name: str = "labels.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _load_error(path: Path, shape=SHAPE, n_classes: int = 10, **kwargs) -> str:
    with pytest.raises(DataLoadError) as err:
        load_labelled_csv(path, shape, n_classes, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert err.value.exit_code == EXIT_SCAN_ERROR
    return message


# ---------------------------------------------------------------------------------------------
# Pixel form


def test_round_trip_of_written_pixel_csv(labels_csv, digits_splits):
    pool = digits_splits.pool
    labelled = load_labelled_csv(labels_csv, (1, 8, 8), 10)
    n = len(labelled)
    assert n == 150
    assert labelled.images.shape == (n, 1, 8, 8) and labelled.images.dtype == np.float32
    np.testing.assert_array_equal(labelled.labels, pool.labels[:n])
    assert labelled.labels.dtype == np.int64
    np.testing.assert_allclose(labelled.images, pool.images[:n], atol=0.5 / 255 + 1e-6)  # 0-255 rounding
    assert labelled.source == str(labels_csv)


def test_pixels_0_255(tmp_path):
    path = _csv(tmp_path, f"{HEADER}\n3,0,51,255,102\n7,255,255,0,0\n")
    labelled = load_labelled_csv(path, SHAPE, 10)
    np.testing.assert_array_equal(labelled.labels, [3, 7])
    np.testing.assert_allclose(labelled.images[0, 0], [[0.0, 0.2], [1.0, 0.4]], atol=1e-6)


def test_pixels_0_1_detected_automatically(tmp_path):
    path = _csv(tmp_path, f"{HEADER}\n1,0,0.25,0.5,1.0\n")
    labelled = load_labelled_csv(path, SHAPE, 10)
    np.testing.assert_allclose(labelled.images.ravel(), [0.0, 0.25, 0.5, 1.0])


def test_explicit_0_255_range_for_dark_images(tmp_path):
    # All pixels <= 1 would be read as 0-1 by "auto"; the flag says they are 0-255 values.
    path = _csv(tmp_path, f"{HEADER}\n1,0,1,1,0\n")
    labelled = load_labelled_csv(path, SHAPE, 10, pixel_range="0-255")
    np.testing.assert_allclose(labelled.images.ravel(), [0, 1 / 255, 1 / 255, 0], atol=1e-7)


def test_header_case_bom_and_blank_lines_tolerated(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff Label ,a,b,c,d\n\n2,0,0,0,255\n,,,,\n4.0,1,2,3,4\n").encode("utf-8"))
    labelled = load_labelled_csv(path, SHAPE, 10)
    np.testing.assert_array_equal(labelled.labels, [2, 4])


def test_layout_is_read_from_header_only(tmp_path):
    pixels = _csv(tmp_path, f"{HEADER}\nnot,even,parsed,yet,!\n", "pixels.csv")
    assert read_csv_layout(pixels).kind == "pixels" and read_csv_layout(pixels).n_pixels == 4
    paths = _csv(tmp_path, "path,label\na.png,1\n", "paths.csv")
    assert read_csv_layout(paths).kind == "paths" and read_csv_layout(paths).n_pixels == 0


def test_writer_rounds_to_0_255_integers(tmp_path):
    path = tmp_path / "nested" / "w.csv"
    write_pixel_csv(path, np.array([[[[0.0, 0.5], [0.999, 1.0]]]], dtype=np.float32), np.array([9]))
    assert path.read_text().splitlines() == ["label,p0,p1,p2,p3", "9,0,128,255,255"]


# ---------------------------------------------------------------------------------------------
# Malformed CSVs


def test_missing_file(tmp_path):
    assert "not found" in _load_error(tmp_path / "absent.csv")


def test_empty_file(tmp_path):
    assert "empty" in _load_error(_csv(tmp_path, ""))


def test_header_only(tmp_path):
    assert "no data rows" in _load_error(_csv(tmp_path, f"{HEADER}\n"))


def test_missing_label_column(tmp_path):
    message = _load_error(_csv(tmp_path, "class,p0,p1,p2,p3\n1,0,0,0,0\n"))
    assert "missing column 'label'" in message and "class" in message


def test_label_only_no_pixels(tmp_path):
    assert "no pixel columns" in _load_error(_csv(tmp_path, "label\n1\n"))


def test_ragged_row(tmp_path):
    message = _load_error(_csv(tmp_path, f"{HEADER}\n1,0,0,0,0\n2,0,0,0\n"))
    assert "line 3" in message and "4 fields" in message and "5" in message


def test_non_numeric_pixel(tmp_path):
    message = _load_error(_csv(tmp_path, f"{HEADER}\n1,0,0,0,0\n2,0,0,0,0\n3,0,0x10,0,0\n"))
    assert "line 4" in message and "'0x10'" in message and "not a number" in message


def test_non_finite_pixel(tmp_path):
    assert "line 2" in _load_error(_csv(tmp_path, f"{HEADER}\n1,0,nan,0,0\n"))


def test_wrong_pixel_count(tmp_path):
    message = _load_error(_csv(tmp_path, f"{HEADER}\n1,0,0,0,0\n"), shape=(1, 8, 8))
    assert "4 pixel columns" in message and "(1, 8, 8)" in message and "64" in message


@pytest.mark.parametrize("value", ["-1", "300"])
def test_pixel_out_of_range(tmp_path, value):
    assert "outside" in _load_error(_csv(tmp_path, f"{HEADER}\n1,0,0,0,{value}\n"))


@pytest.mark.parametrize("label", ["10", "-1"])
def test_label_outside_outputs(tmp_path, label):
    message = _load_error(_csv(tmp_path, f"{HEADER}\n1,0,0,0,0\n{label},0,0,0,0\n"))
    assert "line 3" in message and repr(label) in message and "10 outputs" in message


def test_non_integer_label(tmp_path):
    message = _load_error(_csv(tmp_path, f"{HEADER}\n1.5,0,0,0,0\n"))
    assert "line 2" in message and "'1.5'" in message and "whole-number" in message


def test_non_numeric_label(tmp_path):
    message = _load_error(_csv(tmp_path, f"{HEADER}\ncat,0,0,0,0\n"))
    assert "line 2" in message and "'cat'" in message and "not a number" in message


def test_binary_file_is_not_a_csv(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_bytes(b"label,p0\n\xff\xfe\x00\x01")
    assert "UTF-8" in _load_error(path)


# ---------------------------------------------------------------------------------------------
# Path form


def _png(path: Path, colour=(200, 40, 10), size=(16, 16), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)
    return path


def test_path_csv_with_rgb_png_converted_and_resized(tmp_path):
    _png(tmp_path / "imgs" / "red.png", colour=(200, 40, 10), size=(16, 12))
    _png(tmp_path / "grey.png", colour=128, size=(8, 8), mode="L")
    path = _csv(tmp_path, "path,label\nimgs/red.png,4\n grey.png ,0\n")
    labelled = load_labelled_csv(path, (1, 8, 8), 10)
    assert labelled.images.shape == (2, 1, 8, 8)
    np.testing.assert_array_equal(labelled.labels, [4, 0])
    grey = round((200 * 299 + 40 * 587 + 10 * 114) / 1000)  # Pillow's ITU-R 601-2 luma, rounded
    np.testing.assert_allclose(labelled.images[0], grey / 255, atol=1.5 / 255)
    np.testing.assert_allclose(labelled.images[1], 128 / 255, atol=1e-6)


def test_path_csv_for_rgb_model(tmp_path):
    _png(tmp_path / "a.png", colour=(255, 0, 51), size=(4, 4))
    labelled = load_labelled_csv(_csv(tmp_path, "label,path\n1,a.png\n"), (3, 4, 4), 2)
    np.testing.assert_allclose(labelled.images[0, :, 0, 0], [1.0, 0.0, 0.2], atol=1e-6)


def test_path_escaping_csv_folder(tmp_path):
    _png(tmp_path / "outside.png")
    inner = tmp_path / "inner"
    inner.mkdir()
    path = _csv(inner, "path,label\n../outside.png,1\n")
    message = _load_error(path, shape=(1, 8, 8))
    assert "line 2" in message and "'../outside.png'" in message and "escapes" in message


def test_absolute_path_escaping_csv_folder(tmp_path):
    image = _png(tmp_path / "abs.png")
    inner = tmp_path / "inner"
    inner.mkdir()
    message = _load_error(_csv(inner, f"path,label\n{image},1\n"), shape=(1, 8, 8))
    assert "escapes" in message


def test_missing_image(tmp_path):
    _png(tmp_path / "here.png")
    message = _load_error(_csv(tmp_path, "path,label\nhere.png,1\ngone.png,2\n"), shape=(1, 8, 8))
    assert "line 3" in message and "'gone.png'" in message and "not found" in message


def test_unreadable_image(tmp_path):
    _png(tmp_path / "ok.png")
    (tmp_path / "fake.png").write_bytes(b"not an image")
    message = _load_error(_csv(tmp_path, "path,label\nok.png,1\nfake.png,2\n"), shape=(1, 8, 8))
    assert "line 3" in message and "fake.png" in message and "unreadable image" in message
