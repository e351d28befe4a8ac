"""Session fixtures shared by the whole suite: tiny seeded classifiers and the data that goes with them.

Every model here is built by the code `make-fixture` runs (``FixtureSpec`` -> ``train_fixture`` ->
``export_fixture``) on scikit-learn's bundled digits (1 x 8 x 8 greyscale, 10 classes), with few
epochs, so the whole session trains in a few seconds on a laptop CPU. Fixtures only *read* what
they return; tests that need to modify a model copy it into their own ``tmp_path`` first.

Adding fixtures: keep them session-scoped when they train or export, build them from the
``digits_splits`` below (the pool split never overlaps the training data), and say in the
docstring what the fixture returns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from modelscan_vicious.data.datasets import Splits, load_dataset, split_dataset
from modelscan_vicious.data.writers import write_auxiliary_npz, write_pixel_csv
from modelscan_vicious.training.fixture import FixtureSpec, TrainedFixture, export_fixture, train_fixture
from modelscan_vicious.training.joint_training import JointTrainingConfig

# Tiny models gain nothing from intra-op threads, and on a busy 2-core machine spinning OpenMP
# workers slow training down by two orders of magnitude. One thread keeps the suite fast.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_thread_after_each_test():
    """Give every test the suite's single thread, whatever the one before it set (benchmarks' main()
    functions set their own counts, and trained weights depend on the count)."""
    yield
    torch.set_num_threads(1)


ARCHITECTURE = "cnn"
EPOCHS = 10  # ~1 s per model on one core; enough for ~95 % test accuracy on digits
LEARNING_RATE = 3e-3
VICIOUS_BETA_R = 5.0  # reconstruction weight of the vicious fixtures (honest ones use 0)
LABELS_ROWS = 150  # rows of the labelled CSV; the rest of the pool is auxiliary data


@dataclass(frozen=True)
class TinyModel:
    """One exported fixture: the released model F, its server decoder G, and what it was built from."""

    path: Path
    decoder_path: Path
    spec: FixtureSpec
    test_accuracy: float

    @property
    def is_vicious(self) -> bool:
        return self.spec.training.is_vicious


@dataclass(frozen=True)
class TinyModels:
    """The session's models. Honest and vicious share seed and recipe and differ only in beta_r."""

    honest_onnx: TinyModel
    honest_torchscript: TinyModel
    vicious_onnx: TinyModel
    vicious_torchscript: TinyModel
    softmax_onnx: TinyModel  # vicious, released as softmax probabilities
    softmax_torchscript: TinyModel

    def all(self) -> dict[str, TinyModel]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def tiny_config(
    *, beta_r: float = 0.0, release: str = "logits", seed: int = 0, epochs: int = EPOCHS
) -> JointTrainingConfig:
    """The training recipe of every session fixture; tests that train their own model reuse it."""
    return JointTrainingConfig(beta_r=beta_r, release=release, epochs=epochs, lr=LEARNING_RATE, seed=seed)


@pytest.fixture(scope="session")
def digits_splits() -> Splits:
    """scikit-learn digits split with the project's fixed seed: train 988, test 269, pool 540 rows."""
    return split_dataset(load_dataset("digits"))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory, digits_splits: Splits) -> TinyModels:
    """Honest, vicious and softmax-release classifiers, each exported as ONNX and as TorchScript.

    Three trainings in all: each trained classifier is exported in both formats.
    """
    out_dir = tmp_path_factory.mktemp("tiny_models")
    recipes = {
        "honest": tiny_config(),
        "vicious": tiny_config(beta_r=VICIOUS_BETA_R),
        "softmax": tiny_config(beta_r=VICIOUS_BETA_R, release="softmax"),
    }
    models: dict[str, TinyModel] = {}
    for kind, config in recipes.items():
        trained: TrainedFixture | None = None
        for fmt in ("onnx", "torchscript"):
            spec = FixtureSpec(name=f"{kind}_{fmt}", architecture=ARCHITECTURE, export_format=fmt, training=config)
            if trained is None:
                trained = train_fixture(spec, digits_splits.train, digits_splits.test)
            path, decoder_path = export_fixture(spec, trained, out_dir, digits_splits.train.input_shape)
            models[spec.name] = TinyModel(path, decoder_path, spec, trained.test_accuracy)
    return TinyModels(**models)


@pytest.fixture(scope="session")
def labels_csv(tmp_path_factory: pytest.TempPathFactory, digits_splits: Splits) -> Path:
    """A `label,p0..p63` CSV (0-255 pixels) of the first LABELS_ROWS pool images, as make-fixture writes it."""
    path = tmp_path_factory.mktemp("data") / "labels.csv"
    pool = digits_splits.pool
    write_pixel_csv(path, pool.images[:LABELS_ROWS], pool.labels[:LABELS_ROWS])
    return path


@pytest.fixture(scope="session")
def aux_npz(tmp_path_factory: pytest.TempPathFactory, digits_splits: Splits) -> Path:
    """Auxiliary .npz (array x, uint8 (N, 1, 8, 8)) of the pool images the labelled CSV does not use."""
    path = tmp_path_factory.mktemp("data") / "aux.npz"
    write_auxiliary_npz(path, digits_splits.pool.images[LABELS_ROWS:])
    return path
