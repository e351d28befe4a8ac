"""benchmarks.compare_tables: current rows against a per-model table an earlier release published."""

from __future__ import annotations

from benchmarks.compare_tables import compare, main
from benchmarks.errors import run_main


def _published(name: str, accuracy: str, g_ssim: str, gain: str) -> list[str]:
    cells = [name, "honest", "onnx", "logits", accuracy, g_ssim, "", "0.1", "0.0-0.2", "1.1", "1.1-1.2", "3.0"]
    return cells + [gain, "0.0", "0.0", "0.0"]


def _row(name: str, accuracy: float, g_ssim: float, gain: float) -> dict:
    z = {"inversion_gain": gain, "reconstruction_risk": 0.0, "within_class_variance": 0.0, "finetune_drift": 0.0}
    return {"name": name, "test_accuracy": accuracy, "decoder_ssim": g_ssim, "z": z}


def test_models_that_differ_and_evidence_moves_are_counted():
    published = {
        "a": _published("a", "0.970", "0.910", "1.0"),
        "b": _published("b", "0.950", "0.800", "2.0"),
    }
    rows = [_row("a", 0.9703, 0.9104, 1.5), _row("b", 0.9530, 0.8001, 4.0), _row("c", 0.9, 0.5, 0.0)]
    found = compare(rows, published)
    assert found["models"] == 2 and found["not in the table"] == ["c"]
    assert found["accuracy or G SSIM differ at three decimals"] == 1  # b: 0.953 against 0.950
    assert found["differ by more than 0.0015"] == 1
    assert found["median inversion-gain move, same shown model"] == 0.5
    assert found["largest inversion-gain move"] == ("b", 2.0)


def test_an_unknown_revision_is_one_line_and_exit_2(tmp_path, capsys):
    scans = tmp_path / "scans.json"
    scans.write_text("[]")
    code = run_main(lambda: main(["--revision", "no-such-rev", "--section", "x", "--scans", str(scans)]))
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: git show no-such-rev:docs/benchmarks.md failed") and "\n" not in err
