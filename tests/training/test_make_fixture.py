"""`make-fixture` through the CLI entry point: exit codes, exported files, manifest entries, reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from modelscan_vicious.cli import main
from modelscan_vicious.data.auxiliary import load_auxiliary
from modelscan_vicious.data.labelled_csv import load_labelled_csv
from modelscan_vicious.errors import EXIT_PASSED, EXIT_USAGE_ERROR, DataLoadError
from modelscan_vicious.loading import load_model
from modelscan_vicious.training.manifest import read_manifest, upsert_entry

REQUIRED_KEYS = {
    "name",
    "file",
    "decoder_file",
    "label",
    "format",
    "architecture",
    "dataset",
    "release",
    "training",
    "seed",
    "test_accuracy",
    "decoder_psnr",
    "decoder_ssim",
    "decoder_R",
    "created_with",
}
QUICK = ["--architecture", "mlp", "--epochs", "2", "--quiet"]


def _make(out_dir: Path, *extra: str) -> int:
    return main(["make-fixture", *QUICK, "--out-dir", str(out_dir), *extra])


def _entries(out_dir: Path) -> dict[str, dict]:
    return {e["name"]: e for e in json.loads((out_dir / "manifest.json").read_text())}


def test_writes_model_decoder_data_and_manifest(tmp_path, capsys):
    out = tmp_path / "fixtures"
    rc = _make(
        out,
        "--name",
        "v1",
        "--beta-r",
        "1",
        "--labels-out",
        str(out / "data" / "labels.csv"),
        "--labels-rows",
        "40",
        "--aux-out",
        str(out / "data" / "aux.npz"),
    )
    assert rc == EXIT_PASSED
    assert "v1.onnx: vicious, test accuracy" in capsys.readouterr().out

    entry = _entries(out)["v1"]
    assert REQUIRED_KEYS | {"labels_csv", "aux"} <= set(entry)
    assert (entry["file"], entry["decoder_file"], entry["format"]) == ("v1.onnx", "v1.decoder.pt", "onnx")
    assert (entry["label"], entry["release"], entry["dataset"]) == ("vicious", "logits", "digits")
    assert entry["training"]["beta_r"] == 1.0 and entry["training"]["epochs"] == 2
    assert 0.3 < entry["test_accuracy"] <= 1.0  # far above the 0.1 of guessing, even after 2 epochs
    assert (entry["labels_csv"], entry["aux"]) == ("data/labels.csv", "data/aux.npz")

    model = load_model(out / entry["file"])
    assert model.input_shape == (1, 8, 8) and model.n_outputs == 10 and model.output_kind == "logits"
    labelled = load_labelled_csv(out / entry["labels_csv"], model.input_shape, model.n_outputs)
    assert len(labelled) == 40
    assert len(load_auxiliary(out / entry["aux"], model.input_shape)) == 540 - 40  # the rest of the pool

    decoder = torch.jit.load(str(out / entry["decoder_file"]))
    with torch.no_grad():
        images = decoder(torch.from_numpy(model.predict(labelled.images))).numpy()
    assert images.shape == (40, 1, 8, 8) and images.min() >= 0.0 and images.max() <= 1.0


def test_honest_torchscript_softmax_fixture(tmp_path):
    out = tmp_path / "fixtures"
    assert _make(out, "--name", "h", "--format", "torchscript", "--release", "softmax") == EXIT_PASSED
    entry = _entries(out)["h"]
    assert (entry["file"], entry["label"], entry["release"]) == ("h.pt", "honest", "softmax")
    assert "labels_csv" not in entry and "aux" not in entry
    model = load_model(out / "h.pt", n_pixels=64)
    assert model.output_kind == "probabilities"


def test_log_input_decoder_reads_the_released_probabilities(tmp_path):
    """A softmax fixture whose G reads floored log-probabilities still exports a G fed what F releases."""
    out = tmp_path / "fixtures"
    rc = _make(out, "--name", "s", "--beta-r", "1", "--release", "softmax", "--decoder-input", "log")
    assert rc == EXIT_PASSED
    entry = _entries(out)["s"]
    assert (entry["release"], entry["training"]["decoder_input"]) == ("softmax", "log")
    model = load_model(out / "s.onnx")
    assert model.output_kind == "probabilities"
    decoder = torch.jit.load(str(out / entry["decoder_file"]))
    inputs = np.random.default_rng(0).random((6, 1, 8, 8), dtype=np.float32)
    probabilities = torch.from_numpy(model.predict(inputs))
    from modelscan_vicious.training.decoders import OutputDecoder

    with_log, without_log = OutputDecoder(10, (1, 8, 8), log_input=True), OutputDecoder(10, (1, 8, 8))
    for rebuilt in (with_log, without_log):
        rebuilt.load_state_dict(decoder.state_dict())
    with torch.no_grad():
        images = decoder(probabilities)
        torch.testing.assert_close(images, with_log(probabilities))  # the exported G applies the log itself
        assert not torch.allclose(images, without_log(probabilities))
    assert images.shape == (6, 1, 8, 8) and float(images.min()) >= 0.0 and float(images.max()) <= 1.0


def test_manifest_entry_replaced_for_same_file_and_added_for_another(tmp_path):
    out = tmp_path / "fixtures"
    assert _make(out, "--name", "a", "--seed", "1") == EXIT_PASSED
    assert _make(out, "--name", "b") == EXIT_PASSED
    assert _make(out, "--name", "a", "--seed", "2") == EXIT_PASSED
    entries = read_manifest(out / "manifest.json")
    assert sorted(e["name"] for e in entries) == ["a", "b"]
    assert next(e for e in entries if e["name"] == "a")["seed"] == 2


def test_custom_manifest_location_makes_paths_relative_to_it(tmp_path):
    out = tmp_path / "models"
    manifest = tmp_path / "manifest.json"
    assert _make(out, "--name", "m", "--manifest", str(manifest)) == EXIT_PASSED
    assert read_manifest(manifest)[0]["file"] == "models/m.onnx"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--release", "probabilities"], "--release must be one of logits, softmax, got 'probabilities'"),
        (["--format", "pickle"], "--format must be one of onnx, torchscript, got 'pickle'"),
        (["--decoder-input", "sqrt"], "--decoder-input must be one of raw, log, got 'sqrt'"),
        (["--decoder-input", "log"], "--decoder-input log needs --release softmax"),
        (["--beta-r", "-1"], "--beta-r and --beta-c must be non-negative"),
        (["--beta-r", "0", "--beta-c", "0"], "not both 0"),
        (["--epochs", "0"], "--epochs"),
        (["--architecture", "vit"], "unknown architecture 'vit'"),
        (["--labels-rows", "540", "--aux-out", "AUX"], "--labels-rows 540 is too large"),
    ],
)
def test_bad_arguments_are_usage_errors(tmp_path, capsys, args, fragment):
    args = [str(tmp_path / "aux.npz") if a == "AUX" else a for a in args]
    out = tmp_path / "fixtures"
    assert _make(out, *args) == EXIT_USAGE_ERROR
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1
    assert not (out / "manifest.json").exists()
    assert not (tmp_path / "aux.npz").exists()


def test_same_seed_rebuilds_the_same_fixture(tmp_path):
    first, second, other = tmp_path / "first", tmp_path / "second", tmp_path / "other"
    for out, seed in [(first, "3"), (second, "3"), (other, "4")]:
        assert _make(out, "--name", "f", "--beta-r", "1", "--seed", seed) == EXIT_PASSED
    a, b, c = (_entries(out)["f"] for out in (first, second, other))
    assert a["test_accuracy"] == b["test_accuracy"]
    assert (a["decoder_psnr"], a["decoder_R"]) == (b["decoder_psnr"], b["decoder_R"])
    inputs = np.random.default_rng(0).random((20, 1, 8, 8), dtype=np.float32)
    outputs = [load_model(out / "f.onnx").predict(inputs) for out in (first, second, other)]
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert not np.allclose(outputs[0], outputs[2])  # a different seed really is a different model


def test_manifest_reader_errors(tmp_path):
    assert read_manifest(tmp_path / "absent.json") == []
    broken = tmp_path / "broken.json"
    broken.write_text('[{"file": "a.onnx",}\n')
    with pytest.raises(DataLoadError, match=r"broken\.json: manifest is not valid JSON .*line 1"):
        read_manifest(broken)
    scalar = tmp_path / "scalar.json"
    scalar.write_text('{"file": "a.onnx"}')
    with pytest.raises(DataLoadError, match="must be a JSON list"):
        read_manifest(scalar)
    with pytest.raises(DataLoadError):
        upsert_entry(scalar, {"file": "b.onnx"})
    assert scalar.read_text() == '{"file": "a.onnx"}'  # left untouched


def _upsert_many(manifest, names):
    for name in names:
        upsert_entry(manifest, {"file": f"{name}.onnx"})


def test_fixtures_built_in_parallel_into_one_folder_keep_every_manifest_entry(tmp_path):
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    manifest = tmp_path / "manifest.json"
    batches = [[f"w{w}-{i}" for i in range(40)] for w in range(4)]
    with ProcessPoolExecutor(4, mp_context=get_context("spawn")) as pool:
        list(pool.map(_upsert_many, [manifest] * 4, batches))
    assert sorted(e["file"] for e in read_manifest(manifest)) == sorted(f"{n}.onnx" for b in batches for n in b)


def test_a_manifest_that_cannot_be_written_is_a_one_line_report_error(tmp_path):
    from modelscan_vicious.errors import ReportError

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.raises(ReportError, match="cannot write manifest") as caught:
        upsert_entry(not_a_folder / "manifest.json", {"file": "a.onnx"})
    assert "\n" not in str(caught.value)
