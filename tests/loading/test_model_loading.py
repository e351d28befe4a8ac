"""Loading untrusted suspect models: what loads, what it reports, and every refusal's exception and message."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from modelscan_vicious.errors import EXIT_SCAN_ERROR, InputShapeError, ModelLoadError
from modelscan_vicious.loading import load_model
from modelscan_vicious.loading.base import classify_outputs
from modelscan_vicious.loading.torchscript_model import infer_input_shape

DIGITS_SHAPE = (1, 8, 8)
DIGITS_PIXELS = 64


def _random_inputs(n: int = 12, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *DIGITS_SHAPE), dtype=np.float32)


def _load(model, **kwargs):
    """Load a session fixture; TorchScript needs the pixel count (the labelled CSV's) to infer its shape."""
    if model.spec.export_format == "torchscript":
        kwargs.setdefault("n_pixels", DIGITS_PIXELS)
    return load_model(model.path, **kwargs)


def _assert_one_line(err: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# ---------------------------------------------------------------------------------------------
# Models that load


@pytest.mark.parametrize("name", ["honest_onnx", "vicious_onnx", "honest_torchscript", "vicious_torchscript"])
def test_logit_models_load_with_shape_outputs_and_kind(tiny_models, name):
    fixture = getattr(tiny_models, name)
    model = _load(fixture)
    assert model.format == fixture.spec.export_format
    assert model.input_shape == DIGITS_SHAPE
    assert model.n_outputs == 10
    assert model.output_kind == "logits"
    info = model.info()
    assert info.sha256 == model.sha256 and len(info.sha256) == 64
    assert info.trainable is True


@pytest.mark.parametrize("name", ["softmax_onnx", "softmax_torchscript"])
def test_softmax_release_is_classified_as_probabilities(tiny_models, name):
    model = _load(getattr(tiny_models, name))
    assert model.output_kind == "probabilities"
    outputs = model.predict(_random_inputs())
    np.testing.assert_allclose(outputs.sum(axis=1), 1.0, atol=1e-5)


def test_onnx_and_torchscript_exports_of_one_model_agree(tiny_models):
    inputs = _random_inputs(40)
    onnx_out = _load(tiny_models.vicious_onnx).predict(inputs, batch_size=16)
    ts_out = _load(tiny_models.vicious_torchscript).predict(inputs, batch_size=16)
    assert onnx_out.shape == (40, 10)
    np.testing.assert_allclose(onnx_out, ts_out, atol=1e-5)


def test_classify_outputs():
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]], dtype=np.float32)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert classify_outputs(probabilities) == "probabilities"
    assert classify_outputs(logits) == "logits"
    assert classify_outputs(np.abs(logits)) == "logits"  # non-negative but rows do not sum to 1


def test_onnx_with_fixed_batch_dimension_loads_and_predicts_any_count(tmp_path):
    # torch.onnx.export without dynamic_axes (its default) fixes the batch size of the graph.
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(DIGITS_PIXELS, 10)).eval()
    path = tmp_path / "fixed_batch.onnx"
    torch.onnx.export(module, (torch.zeros(4, *DIGITS_SHAPE),), str(path), dynamo=False, opset_version=17)
    model = load_model(path)
    assert model.input_shape == DIGITS_SHAPE
    inputs = _random_inputs(10)  # not a multiple of the fixed batch of 4
    with torch.no_grad():
        expected = module(torch.from_numpy(inputs)).numpy()
    np.testing.assert_allclose(model.predict(inputs), expected, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Trainable copies


@pytest.mark.parametrize("name", ["vicious_onnx", "softmax_onnx"])
def test_onnx_trainable_copy_matches_onnxruntime(tiny_models, name):
    fixture = getattr(tiny_models, name)
    model = load_model(fixture.path)
    copy = model.trainable_copy().eval()
    assert any(p.requires_grad for p in copy.parameters())
    inputs = _random_inputs(32, seed=3)
    session = ort.InferenceSession(str(fixture.path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    with torch.no_grad():
        got = copy(torch.from_numpy(inputs)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _train_a_step(module: torch.nn.Module) -> None:
    module.train()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
    loss = module(torch.from_numpy(_random_inputs(8))).square().mean()
    loss.backward()
    optimizer.step()


def test_torchscript_trainable_copy_matches_and_is_independent(tiny_models):
    model = _load(tiny_models.vicious_torchscript)
    inputs = _random_inputs(16, seed=5)
    before = model.predict(inputs)
    copy = model.trainable_copy()
    assert all(p.requires_grad for p in copy.parameters())
    with torch.no_grad():
        np.testing.assert_allclose(copy.eval()(torch.from_numpy(inputs)).numpy(), before, atol=1e-5)

    _train_a_step(copy)

    with torch.no_grad():
        trained_out = copy.eval()(torch.from_numpy(inputs)).numpy()
    assert np.abs(trained_out - before).max() > 1e-3  # the copy did change...
    np.testing.assert_array_equal(model.predict(inputs), before)  # ...the black box did not
    second = model.trainable_copy()
    with torch.no_grad():
        np.testing.assert_allclose(second.eval()(torch.from_numpy(inputs)).numpy(), before, atol=1e-5)


def test_onnx_trainable_copy_is_independent(tiny_models):
    model = load_model(tiny_models.honest_onnx.path)
    inputs = _random_inputs(16, seed=6)
    before = model.predict(inputs)
    _train_a_step(model.trainable_copy())
    np.testing.assert_array_equal(model.predict(inputs), before)


# ---------------------------------------------------------------------------------------------
# Refusals by file type and content


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError) as err:
        load_model(tmp_path / "nowhere.onnx")
    _assert_one_line(err, "nowhere.onnx", "not found")
    assert err.value.exit_code == EXIT_SCAN_ERROR


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    _assert_one_line(err, "empty.pt", "empty")


@pytest.mark.parametrize("suffix", [".pkl", ".ckpt", ".bin"])
def test_pickle_suffixes_refused_without_reading(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"\x80\x04K\x01.")  # a valid pickle of the int 1: it must never be unpickled
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    _assert_one_line(err, str(path), "pickle", "ONNX", "TorchScript")


def test_unknown_suffix_refused(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text("weights")
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    _assert_one_line(err, "'.txt'", "unknown format")


def _linear() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(DIGITS_PIXELS, 10))


@pytest.mark.parametrize("what", ["state_dict", "whole_module"])
def test_torch_save_checkpoint_with_pt_suffix_refused(tmp_path, what):
    path = tmp_path / "checkpoint.pt"
    module = _linear()
    torch.save(module.state_dict() if what == "state_dict" else module, path)
    with pytest.raises(ModelLoadError) as err:
        load_model(path, n_pixels=DIGITS_PIXELS)
    _assert_one_line(err, str(path), "pickled PyTorch checkpoint", "torch.jit.save")


def test_legacy_torch_save_checkpoint_refused(tmp_path):
    path = tmp_path / "legacy.pth"
    torch.save(_linear().state_dict(), path, _use_new_zipfile_serialization=False)
    with pytest.raises(ModelLoadError) as err:
        load_model(path, n_pixels=DIGITS_PIXELS)
    _assert_one_line(err, str(path), "not a TorchScript archive", "torch.jit.save")


def test_corrupt_torchscript_archive_names_the_file(tmp_path, tiny_models):
    original = zipfile.ZipFile(tiny_models.honest_torchscript.path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as damaged:
        for name in original.namelist():
            damaged.writestr(name, b"junk" if name.endswith("data.pkl") else original.read(name))
    path = tmp_path / "damaged.pt"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ModelLoadError) as err:
        load_model(path, n_pixels=DIGITS_PIXELS)
    _assert_one_line(err, str(path), "TorchScript archive")


@pytest.mark.parametrize(
    "payload",
    [b"this is not an ONNX model", b"\x00", np.random.default_rng(0).bytes(300)],
    ids=["text", "nul", "random"],
)
def test_corrupt_onnx_bytes(tmp_path, payload):
    path = tmp_path / "broken.onnx"
    path.write_bytes(payload)
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    _assert_one_line(err, str(path), "not a valid ONNX file")


def test_truncated_onnx(tmp_path, tiny_models):
    data = tiny_models.honest_onnx.path.read_bytes()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    _assert_one_line(err, str(path), "ONNX")


def _identity_graph_with_node(node: onnx.NodeProto, extra_opsets=()) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "suspect",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 10])],
    )
    opsets = [helper.make_opsetid("", 17), *extra_opsets]
    return helper.make_model(graph, opset_imports=opsets)


def test_onnx_custom_domain_operator_refused(tmp_path):
    node = helper.make_node("Exfiltrate", ["input"], ["output"], domain="com.attacker")
    path = tmp_path / "custom_op.onnx"
    onnx.save_model(_identity_graph_with_node(node, [helper.make_opsetid("com.attacker", 1)]), str(path))
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    _assert_one_line(err, str(path), "custom operator domain", "com.attacker::Exfiltrate")


def test_onnx_with_external_data_beside_it_loads_like_the_inline_model(tmp_path, tiny_models):
    """Weights in `<model>.onnx.data` next to the model, as the dynamo exporter writes them, are legitimate."""
    proto = onnx.load(str(tiny_models.honest_onnx.path))
    path = tmp_path / "external.onnx"
    onnx.save_model(
        proto,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="external.onnx.data",
        size_threshold=0,
    )
    inline = load_model(tiny_models.honest_onnx.path)
    external = load_model(path)
    assert external.external_files == [(tmp_path / "external.onnx.data").resolve()]
    probe = np.random.default_rng(0).random((4, *inline.input_shape), dtype=np.float32)
    np.testing.assert_array_equal(external.predict(probe), inline.predict(probe))


def test_torchscript_with_non_standard_operator_refused(tmp_path):
    library = torch.library.Library("msv_test_ns", "DEF")  # kept alive until the test ends
    library.define("leak(Tensor x) -> Tensor")
    library.impl("leak", lambda x: x.clone(), "CPU")

    class Leaky(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = torch.nn.Linear(DIGITS_PIXELS, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(torch.ops.msv_test_ns.leak(x).flatten(1))

    path = tmp_path / "custom_op.pt"
    torch.jit.save(torch.jit.script(Leaky()), str(path))
    with pytest.raises(ModelLoadError) as err:
        load_model(path, n_pixels=DIGITS_PIXELS)
    _assert_one_line(err, str(path), "refusing TorchScript operator", "msv_test_ns::leak")


# ---------------------------------------------------------------------------------------------
# Input shapes


def test_torchscript_shape_inferred_from_pixel_count(tiny_models):
    model = load_model(tiny_models.honest_torchscript.path, n_pixels=DIGITS_PIXELS)
    assert model.input_shape == DIGITS_SHAPE


def test_torchscript_without_pixel_count_or_shape_asks_for_input_shape(tiny_models):
    with pytest.raises(InputShapeError) as err:
        load_model(tiny_models.honest_torchscript.path)
    _assert_one_line(err, str(tiny_models.honest_torchscript.path), "--input-shape")


def test_torchscript_explicit_input_shape(tiny_models):
    model = load_model(tiny_models.honest_torchscript.path, input_shape=DIGITS_SHAPE)
    assert model.input_shape == DIGITS_SHAPE and model.n_outputs == 10


@pytest.mark.parametrize("shape", [(1, 7, 7), (3, 8, 8)])
def test_torchscript_wrong_explicit_shape(tiny_models, shape):
    path = tiny_models.honest_torchscript.path
    with pytest.raises(InputShapeError) as err:
        load_model(path, input_shape=shape)
    _assert_one_line(err, str(path), str(shape), "--input-shape")


def test_onnx_explicit_shape_must_match_declared(tiny_models):
    path = tiny_models.honest_onnx.path
    assert load_model(path, input_shape=DIGITS_SHAPE).input_shape == DIGITS_SHAPE
    with pytest.raises(InputShapeError) as err:
        load_model(path, input_shape=(1, 9, 9))
    _assert_one_line(err, str(path), "(1, 9, 9)", "(1, 8, 8)")


def test_infer_input_shape_for_flat_first_layer():
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(DIGITS_PIXELS, 10))
    assert infer_input_shape(Path("m.pt"), mlp, DIGITS_PIXELS) == DIGITS_SHAPE
    rgb = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 10))
    assert infer_input_shape(Path("m.pt"), rgb, 48) == (3, 4, 4)
    with pytest.raises(InputShapeError, match="first layer takes 64 features but the data has 48 pixels"):
        infer_input_shape(Path("m.pt"), mlp, 48)


def test_infer_input_shape_for_conv_first_layer():
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    assert infer_input_shape(Path("m.pt"), conv, 3 * 16 * 16) == (3, 16, 16)
    with pytest.raises(InputShapeError, match="not a square 3-channel image"):
        infer_input_shape(Path("m.pt"), conv, 3 * 16 * 15)


def test_a_model_too_slow_to_query_is_refused(tiny_models, monkeypatch):
    import modelscan_vicious.loading.base as base

    monkeypatch.setattr(base, "MAX_PROBE_SECONDS", -1.0)  # every probe is "too slow"
    for path in (tiny_models.honest_onnx.path, tiny_models.honest_torchscript.path):
        with pytest.raises(ModelLoadError, match="too slow to scan safely"):
            load_model(path, n_pixels=64)


def test_onnx_sessions_ask_for_cuda_only_where_the_runtime_has_it():
    from modelscan_vicious.loading.onnx_model import session_providers

    gpu_build = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    cpu_build = ["AzureExecutionProvider", "CPUExecutionProvider"]  # what a GPU machine's CPU-only runtime listed
    assert session_providers("cuda", gpu_build) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert session_providers("cuda", cpu_build) == ["CPUExecutionProvider"]
    assert session_providers("cpu", gpu_build) == ["CPUExecutionProvider"]
