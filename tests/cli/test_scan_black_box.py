"""When no trainable copy can be made, the scan falls back to black-box evidence and says so."""

from __future__ import annotations

from modelscan_vicious.errors import EXIT_RISK_FOUND, EXIT_SCAN_ERROR, ModelNotTrainableError
from modelscan_vicious.loading.onnx_model import OnnxSuspectModel

from scan_helpers import HIGH_RISK_GATE, report, scan

# The patched loader lives in this process, so these scans run in-process: the contained worker is a
# fresh interpreter that never sees a monkeypatch.
IN_PROCESS = "--no-containment"


def no_trainable_copy(self):
    raise ModelNotTrainableError("cannot convert the ONNX graph to PyTorch (test)")


def test_black_box_fallback_is_recorded_and_never_passes_silently(
    tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan
):
    tiny_scan.setattr(OnnxSuspectModel, "trainable_copy", no_trainable_copy)
    model = tiny_models.honest_onnx.path
    rc = scan([model], tmp_path, "--fail-on-risk", HIGH_RISK_GATE, IN_PROCESS, labels=labels_csv, aux=aux_npz)
    doc = report(tmp_path, model.stem)
    vic = doc["viciousness"]
    assert vic["mode"] == "black-box" and vic["probability"] is not None
    assert "finetune_drift" not in [e["name"] for e in vic["evidence"]]
    assert any("black-box" in note for note in vic["notes"])
    skipped = [p for p in doc["plugins"] if p["status"] == "skipped"]
    assert "trainable-copy" in [p["name"] for p in skipped]
    assert "test" in next(p["reason"] for p in skipped if p["name"] == "trainable-copy")
    assert doc["model"]["trainable"] is False  # used to say True: the report described the file, not the scan
    # Both gates hold, yet a check was skipped: an error to look at, never a silent pass.
    assert (rc, doc["verdict"]["status"]) == (EXIT_SCAN_ERROR, "error")
    assert any("trainable-copy skipped" in reason for reason in doc["verdict"]["reasons"])


def test_black_box_risk_found_still_fails(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    tiny_scan.setattr(OnnxSuspectModel, "trainable_copy", no_trainable_copy)
    model = tiny_models.vicious_onnx.path
    rc = scan([model], tmp_path, "--fail-on-probability", "0", IN_PROCESS, labels=labels_csv, aux=aux_npz)
    assert rc == EXIT_RISK_FOUND
    assert report(tmp_path, model.stem)["verdict"]["status"] == "failed"
