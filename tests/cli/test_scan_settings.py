"""Settings from a config file (defaults < file < flags), JSON on stdout, and folders given as MODEL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelscan_vicious.config_file import load_settings
from modelscan_vicious.errors import EXIT_NOTHING_SCANNED, EXIT_USAGE_ERROR, UsageError
from modelscan_vicious.settings import DEFAULTS, build_config, merge_settings

from scan_helpers import HIGH_RISK_GATE, report, scan


def test_file_settings_sit_between_defaults_and_flags(tmp_path):
    (tmp_path / "modelscan-vicious.toml").write_text('labels = "data/small.csv"\nfail_on_risk = 1.3\nseed = 7\n')
    file = load_settings(None, tmp_path)
    values, sources = merge_settings({"seed": 3}, file)
    config = build_config(values, sources)
    assert config.labels == tmp_path / "data" / "small.csv"  # relative to the file's folder
    assert (config.fail_on_risk, config.seed, config.release) == (1.3, 3, DEFAULTS["release"])
    recorded = config.settings_dict()["sources"]
    assert recorded["fail-on-risk"] == f"file {tmp_path / 'modelscan-vicious.toml'}"
    assert (recorded["seed"], recorded["release"]) == ("flag", "default")


def test_pyproject_table_is_read_and_other_pyprojects_are_ignored(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(None, tmp_path).path is None
    (tmp_path / "pyproject.toml").write_text('[tool.modelscan-vicious]\nformat = ["json", "sarif"]\n')
    assert load_settings(None, tmp_path).values == {"format": "json,sarif"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fail-on-rsik = 1.3\n", "unknown setting 'fail-on-rsik'"),
        ('seed = "seven"\n', "setting 'seed' must be a int, got 'seven'"),
        ("mitigate = 1\n", "setting 'mitigate' must be a bool"),
        ("seed = 1\nseed = 2\n", "not valid TOML"),
        ("seed = 1\n[tool]\n", "setting 'tool'"),
    ],
)
def test_bad_files_are_usage_errors_naming_key_and_file(tmp_path, text, message):
    path = tmp_path / "modelscan-vicious.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message) as caught:
        load_settings(None, tmp_path)
    assert str(path) in str(caught.value)


def test_cli_reads_the_config_file_and_flags_win(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, monkeypatch):
    settings = tmp_path / "ci.toml"
    settings.write_text(f'labels = "{labels_csv}"\naux = "{aux_npz}"\nfail-on-risk = {HIGH_RISK_GATE}\nseed = 5\n')
    model = tiny_models.honest_torchscript.path
    out = tmp_path / "out"
    argv = [str(model), "--config", str(settings), "--seed", "2", "--no-containment", "--format", "json"]
    assert scan_cli(argv, out) in (0, 1)
    document = report(out, model.stem)
    assert document["settings"]["seed"] == 2 and document["settings"]["thresholds"]["fail_on_risk"] == 100.0
    assert document["settings"]["sources"]["seed"] == "flag"
    assert document["settings"]["sources"]["labels"] == f"file {settings}"


def test_cli_usage_error_for_a_bad_config_file(tiny_models, tmp_path, capsys):
    settings = tmp_path / "bad.toml"
    settings.write_text("budget = 3\n")
    assert scan_cli([str(tiny_models.honest_torchscript.path), "--config", str(settings)], tmp_path) == EXIT_USAGE_ERROR
    assert f"{settings}: setting 'budget' must be a str" in capsys.readouterr().err


def test_json_report_on_stdout_and_nothing_written(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, capsys):
    model = tiny_models.honest_torchscript.path
    monkey_cwd = tmp_path / "cwd"
    monkey_cwd.mkdir()
    rc = scan([model], Path("-"), "--no-containment", "--format", "json", labels=labels_csv, aux=aux_npz)
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert rc == document["verdict"]["exit_code"] and document["model"]["path"] == str(model)
    assert "PASSED" in captured.err or "FAILED" in captured.err  # the summary stays on stderr
    assert not Path("-").exists()


def test_stdout_takes_json_only(tiny_models, labels_csv, tmp_path, capsys):
    rc = scan([tiny_models.honest_torchscript.path], Path("-"), "--format", "json,html", labels=labels_csv)
    assert rc == EXIT_USAGE_ERROR and "use it with --format json" in capsys.readouterr().err


def test_a_folder_is_scanned_recursively_and_an_empty_one_is_nothing(
    tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, capsys
):
    folder = tmp_path / "models"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "a.pt").write_bytes(tiny_models.honest_torchscript.path.read_bytes())
    (folder / "b.onnx").write_bytes(tiny_models.honest_onnx.path.read_bytes())
    (folder / "notes.txt").write_text("not a model")
    out = tmp_path / "out"
    rc = scan([folder], out, "--no-containment", "--format", "json,sarif", labels=labels_csv, aux=aux_npz)
    assert rc in (0, 1)
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "b.json", "modelscan-vicious.sarif"]
    assert f"SARIF for all models: {out / 'modelscan-vicious.sarif'}" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert scan([empty], out, labels=labels_csv) == EXIT_NOTHING_SCANNED
    assert f"nothing to scan in {empty}" in capsys.readouterr().err


def scan_cli(argv: list[str], out: Path) -> int:
    from modelscan_vicious.cli import main

    return main(["scan", *argv, "--output-dir", str(out), "--budget", "fast", "-q"])
