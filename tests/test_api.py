"""The Python API, as the README shows it: the README's example is executed here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import modelscan_vicious
from modelscan_vicious.errors import DataLoadError, UsageError

REPO = Path(__file__).resolve().parents[1]
SAMPLES = ("vicious-mlp.pt", "digits_labels.csv", "digits_aux.npz")


def readme_example() -> str:
    section = REPO.joinpath("README.md").read_text().split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's Python API section has a python example"
    return match.group(1)


def test_api_names_resolve_lazily():
    assert callable(modelscan_vicious.scan) and callable(modelscan_vicious.write_reports)
    assert modelscan_vicious.ScanResult.__name__ == "ScanResult"
    with pytest.raises(AttributeError):
        modelscan_vicious.no_such_name  # noqa: B018


@pytest.mark.slow
def test_readme_example_runs_and_writes_reports(tmp_path, monkeypatch):
    (tmp_path / "sample_models").mkdir()
    for name in SAMPLES:
        shutil.copy(REPO / "sample_models" / name, tmp_path / "sample_models" / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.verdict.status == "failed" and result.verdict.exit_code == 1  # the vicious sample
    assert result.containment is not None and not result.containment.weak  # contained, as under the CLI
    assert sorted(p.name for p in namespace["written"]) == ["vicious-mlp.html", "vicious-mlp.json"]
    assert result.to_dict()["settings"]["sources"]["budget"] == "argument"


def test_api_errors_are_the_cli_errors(tmp_path):
    with pytest.raises(UsageError, match="unknown setting 'fail-on-rsik'"):
        modelscan_vicious.scan(REPO / "sample_models" / "vicious-mlp.pt", labels="x.csv", fail_on_rsik=1.0)
    with pytest.raises(UsageError, match="--labels is required"):
        modelscan_vicious.scan(REPO / "sample_models" / "vicious-mlp.pt")
    with pytest.raises(DataLoadError):
        modelscan_vicious.scan(REPO / "sample_models" / "vicious-mlp.pt", labels=tmp_path / "missing.csv")
