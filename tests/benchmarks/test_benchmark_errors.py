"""Benchmark scripts fail on bad input like the tool does: one line on stderr, exit 2."""

from __future__ import annotations

import json

import pytest

from benchmarks import calibrate, detect, scan_zoo
from benchmarks.errors import EXIT_BAD_INPUT, run_main


def run(module, argv: list[str]) -> int:
    return run_main(lambda: module.main(argv))


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_a_missing_scans_file_is_named(tmp_path, capsys):
    assert run(detect, ["--scans", str(tmp_path / "none.json"), "--section", "x"]) == EXIT_BAD_INPUT
    assert "none.json: no such file" in one_line_error(capsys)


def test_malformed_json_names_the_file(tmp_path, capsys):
    bad = tmp_path / "bad-scans.json"
    bad.write_text("{not json")
    assert run(calibrate, ["--scans", str(bad), "--out", str(tmp_path / "c.json")]) == EXIT_BAD_INPUT
    assert "bad-scans.json: not valid JSON" in one_line_error(capsys)
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize(
    ("flag", "aux", "said"),
    [
        ("--no-aux-scans", "aux.npz", "was scanned with --aux aux.npz"),
        ("--scans", None, "was scanned without --aux"),
        ("--scans", "noise", "was scanned with --aux noise"),
    ],
)
def test_calibrate_refuses_scans_of_the_other_kind(tmp_path, capsys, flag, aux, said):
    # A labelled-only fit made from scans with --aux (or the reverse) would score every scan of its mode
    # with evidence from another setting: refused before anything is fitted or written.
    report = tmp_path / "m.json"
    report.write_text(json.dumps({"settings": {"aux": aux}}))
    scans = tmp_path / "zoo-scans.json"
    scans.write_text(json.dumps([{"name": "m", "label": "honest", "report": str(report), "z": {}}]))
    out = tmp_path / "c.json"
    assert run(calibrate, [flag, str(scans), "--out", str(out)]) == EXIT_BAD_INPUT
    assert said in one_line_error(capsys)
    assert not out.exists()


def test_rebuilding_rows_without_the_reports_fails_cleanly(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text(json.dumps([{"name": "m", "file": "m.onnx"}]))
    out = tmp_path / "rows.json"
    assert run(scan_zoo, ["--zoo", str(tmp_path), "--out", str(out), "--from-reports"]) == EXIT_BAD_INPUT
    assert "m.json: no such file" in one_line_error(capsys)
    assert not out.exists()


def test_a_report_that_does_not_match_its_row_is_refused(tmp_path, capsys):
    report = tmp_path / "m.json"
    report.write_text(
        json.dumps(
            {
                "settings": {"seed": 0, "budget": {"n_bootstrap": 10}},
                "viciousness": {
                    "mode": "white-box",
                    "evidence": [
                        {
                            "name": "inversion_gain",
                            "suspect_value": 0.3,
                            "reference_values": [0.2, 0.21, 0.22],
                            "z_score": 5.0,
                        },
                    ],
                },
            }
        )
    )
    with pytest.raises(ValueError, match="not the report of the scan in this row"):
        detect.recompute({"report": str(report), "z": {"inversion_gain": 1.0}})


def test_an_unknown_zoo_recipe_is_named(tmp_path, capsys):
    from benchmarks import zoo

    assert run(zoo, ["--recipes", "honest,vicious-b9", "--out", str(tmp_path / "z")]) == EXIT_BAD_INPUT
    assert "unknown recipe vicious-b9" in one_line_error(capsys)
    assert not (tmp_path / "z").exists()


def test_speed_with_no_matching_model_is_named(tmp_path, capsys):
    from benchmarks import speed

    (tmp_path / "manifest.json").write_text(json.dumps([{"name": "cnn-honest", "architecture": "cnn"}]))
    assert run(speed, ["--zoo", str(tmp_path), "--recipes", "honest-nothing"]) == EXIT_BAD_INPUT
    assert "no model of recipes honest-nothing" in one_line_error(capsys)


def test_scan_files_merge_in_manifest_order_and_refuse_foreign_models(tmp_path, capsys):
    from benchmarks import scan_rows

    (tmp_path / "manifest.json").write_text(json.dumps([{"name": n} for n in ("a", "b", "c")]))
    (tmp_path / "p1.json").write_text(json.dumps([{"name": "c", "v": 1}, {"name": "a", "v": 1}]))
    (tmp_path / "p2.json").write_text(json.dumps([{"name": "c", "v": 2}]))
    out = tmp_path / "merged.json"
    argv = ["--zoo", str(tmp_path), "--parts", str(tmp_path / "p1.json"), str(tmp_path / "p2.json"), "--out", str(out)]
    assert run(scan_rows, argv) == 0
    assert json.loads(out.read_text()) == [{"name": "a", "v": 1}, {"name": "c", "v": 2}]
    (tmp_path / "p3.json").write_text(json.dumps([{"name": "z"}]))
    out.unlink()
    assert run(scan_rows, [*argv[:2], "--parts", str(tmp_path / "p3.json"), "--out", str(out)]) == EXIT_BAD_INPUT
    assert "no model named z" in one_line_error(capsys)
    assert not out.exists()


def test_folded_bias_needs_an_onnx_model_with_convolutions(tmp_path, capsys):
    from benchmarks import folded_bias

    (tmp_path / "manifest.json").write_text(json.dumps([{"name": "m", "file": "m.pt", "format": "torchscript"}]))
    assert run(folded_bias, ["--zoos", str(tmp_path), "--section", "x"]) == EXIT_BAD_INPUT
    assert "no ONNX model with a biased convolution" in one_line_error(capsys)


def test_folded_bias_counts_the_sample_cnn_as_plain(tmp_path):
    from pathlib import Path

    from benchmarks import folded_bias

    samples = Path(__file__).resolve().parents[2] / "sample_models"
    rows = folded_bias.architecture_rows([samples])
    cnn = [r for r in rows if r[0] == "cnn"]
    assert cnn and cnn[0][1] >= 2 and cnn[0][3] < 1.0 and cnn[0][4] == 0


def test_optional_recipe_groups_never_move_the_seeds_of_a_zoo_built_without_them(tmp_path, monkeypatch):
    from itertools import product

    from benchmarks import zoo

    def recorded(flags: tuple[bool, bool, bool]) -> dict[str, tuple[str, str]]:
        calls = []
        monkeypatch.setattr(zoo, "_make_fixture", calls.append)
        monkeypatch.setattr(zoo, "load_json", lambda path: [])
        chosen = frozenset(g for g, on in zip(zoo.OPTIONAL_GROUPS, flags) if on)
        zoo.build_zoo("digits", ["mlp", "cnn"], 100, tmp_path / "".join(map(str, flags)), groups=chosen)
        return {
            argv[argv.index("--name") + 1]: (argv[argv.index("--seed") + 1], argv[argv.index("--format") + 1])
            for argv in calls
        }

    groups = tuple(zoo.OPTIONAL_GROUPS.values())
    built = {flags: recorded(flags) for flags in product((False, True), repeat=3)}
    core, everything = built[(False, False, False)], built[(True, True, True)]
    assert len(core) == 2 * len(zoo.RECIPES)
    for flags, models in built.items():
        # Every zoo holds the core models and its groups' models, each with the seed and format it has
        # in a zoo holding everything: a group never moves another's.
        wanted = set(core) | {f"{a}-{r}" for on, g in zip(flags, groups) if on for a in ("mlp", "cnn") for r in g}
        assert set(models) == wanted
        assert models == {name: everything[name] for name in models}
    assert all("--release" in flags and "softmax" in flags for flags in zoo.HONEST_SOFTMAX_RECIPES.values())
    assert all(flags[-2:] == ["--decoder-input", "log"] for flags in zoo.LOG_DECODER_RECIPES.values())
    assert all(flags[:2] == ["--epochs", "1"] for flags in zoo.SHORT_HONEST_RECIPES.values())


def test_folded_bias_names_an_unreadable_onnx_file(tmp_path, capsys):
    from benchmarks import folded_bias

    (tmp_path / "manifest.json").write_text(json.dumps([{"name": "m", "file": "m.onnx", "format": "onnx"}]))
    (tmp_path / "m.onnx").write_text("not an ONNX model")
    assert run(folded_bias, ["--zoos", str(tmp_path), "--section", "x"]) == EXIT_BAD_INPUT
    assert "m.onnx: not a convertible ONNX model" in one_line_error(capsys)


@pytest.mark.parametrize("module_name", ["scan_zoo", "speed"])
def test_an_unknown_device_is_one_line_before_any_scan(tmp_path, capsys, module_name):
    import importlib

    module = importlib.import_module(f"benchmarks.{module_name}")
    (tmp_path / "manifest.json").write_text("[]")
    out = ["--out", str(tmp_path / "s.json")] if module_name == "scan_zoo" else []
    argv = ["--zoo", str(tmp_path), "--device", "tpu", *out]
    assert run(module, argv) == EXIT_BAD_INPUT
    assert "--device must be one of auto, cpu, cuda, got 'tpu'" in one_line_error(capsys)
    assert not (tmp_path / "s.json").exists()
