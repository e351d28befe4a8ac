"""InputScaling: image space [0, 1] -> model input space, as an array map and as a torch module."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modelscan_vicious.data.scaling import InputScaling
from modelscan_vicious.errors import EXIT_USAGE_ERROR, UsageError

SCALINGS = [
    InputScaling(),
    InputScaling(input_range="0-255"),
    InputScaling(input_range="-1-1"),
    InputScaling(mean=(0.5,), std=(0.25,)),
    InputScaling(input_range="0-255", mean=(120.0, 110.0, 100.0), std=(60.0, 50.0, 40.0)),
]


@pytest.mark.parametrize("scaling", SCALINGS, ids=lambda s: f"{s.input_range}-{s.mean}")
def test_apply_and_module_agree(scaling):
    images = np.random.default_rng(0).random((4, 3, 5, 5), dtype=np.float32)
    expected = scaling.apply(images)
    assert expected.dtype == np.float32 and expected.shape == images.shape
    with torch.no_grad():
        got = scaling.as_module(3)(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)


def test_closed_form_values():
    images = np.array([0.0, 0.5, 1.0], dtype=np.float32).reshape(1, 1, 1, 3)
    np.testing.assert_allclose(InputScaling().apply(images).ravel(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(InputScaling(input_range="0-255").apply(images).ravel(), [0, 127.5, 255])
    np.testing.assert_allclose(InputScaling(input_range="-1-1").apply(images).ravel(), [-1, 0, 1])
    normalised = InputScaling(mean=(0.5,), std=(0.25,)).apply(images).ravel()
    np.testing.assert_allclose(normalised, [-2, 0, 2])


def test_per_channel_mean_and_std():
    scaling = InputScaling(mean=(0.0, 1.0), std=(1.0, 2.0))
    images = np.ones((1, 2, 1, 1), dtype=np.float32)
    np.testing.assert_allclose(scaling.apply(images).ravel(), [1.0, 0.0])


def test_identity():
    assert InputScaling().is_identity
    assert not InputScaling(input_range="0-255").is_identity
    assert not InputScaling(mean=(0.5,), std=(0.5,)).is_identity
    assert InputScaling(mean=(0.5,), std=(0.5,)).to_dict() == {"input_range": "0-1", "mean": (0.5,), "std": (0.5,)}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"input_range": "0-100"}, "--input-range must be one of 0-1, 0-255, -1-1, got '0-100'"),
        ({"mean": (0.5,)}, "--mean and --std must be given together"),
        ({"std": (0.5,)}, "--mean and --std must be given together"),
        ({"mean": (0.5,), "std": (0.0,)}, "--std values must be positive"),
        ({"mean": (0.5, 0.5), "std": (0.2, -1.0)}, "--std values must be positive"),
    ],
)
def test_invalid_values_refused_at_construction(kwargs, fragment):
    with pytest.raises(UsageError) as err:
        InputScaling(**kwargs)
    assert fragment in str(err.value)
    assert err.value.exit_code == EXIT_USAGE_ERROR


def test_channel_count_mismatch_refused_when_applied():
    scaling = InputScaling(mean=(0.1, 0.2), std=(0.3, 0.4))
    with pytest.raises(UsageError, match="--mean needs 1 or 3 values .* got 2"):
        scaling.apply(np.zeros((1, 3, 2, 2), dtype=np.float32))
    with pytest.raises(UsageError, match="--mean needs .* got 2"):
        scaling.as_module(1)
