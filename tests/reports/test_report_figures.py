"""Embedded pictures: upscaled example images and the per-sample risk histogram."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from modelscan_vicious.reports.figures import MIN_IMAGE_SIDE, example_pairs, image_png, risk_histogram_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _open(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def test_small_grey_image_is_upscaled_with_nearest_neighbour():
    chw = np.zeros((1, 8, 8))
    chw[0, 0, 0] = 1.0
    image = _open(image_png(chw))
    assert image.size == (MIN_IMAGE_SIDE, MIN_IMAGE_SIDE)
    assert image.mode == "L"
    pixels = np.asarray(image)
    block = MIN_IMAGE_SIDE // 8
    assert (pixels[:block, :block] == 255).all() and (pixels[block:, :] == 0).all()


def test_rgb_and_out_of_range_values():
    chw = np.full((3, 4, 6), 2.0)
    chw[1] = np.nan
    image = _open(image_png(chw))
    assert image.mode == "RGB"
    assert image.size == (6 * 16, 4 * 16)
    assert tuple(np.asarray(image)[0, 0]) == (255, 0, 255)


def test_example_pairs_are_data_uris_and_capped():
    rng = np.random.default_rng(0)
    pairs = example_pairs(rng.random((12, 1, 8, 8)), rng.random((12, 1, 8, 8)), max_examples=5)
    assert len(pairs) == 5
    for uri in pairs[0]:
        assert uri.startswith("data:image/png;base64,")
        assert base64.b64decode(uri.split(",", 1)[1]).startswith(PNG_MAGIC)


def test_example_pairs_tolerate_missing_or_mismatched_arrays():
    assert example_pairs(None, np.zeros((1, 1, 8, 8))) == []
    assert example_pairs(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 4, 4))) == []
    assert example_pairs(np.zeros((8, 8)), np.zeros((8, 8))) == []


def test_histogram_handles_wide_ranges_and_missing_values():
    rng = np.random.default_rng(0)
    risks = list(rng.lognormal(3, 2.5, 300)) + [1e6, float("nan"), None, float("inf")]
    png = risk_histogram_png(risks)
    assert png is not None and png.startswith(PNG_MAGIC)
    assert _open(png).size == (750, 300)


def test_histogram_without_finite_values_is_none():
    assert risk_histogram_png([]) is None
    assert risk_histogram_png([float("nan"), None]) is None
