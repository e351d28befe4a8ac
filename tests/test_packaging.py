"""What `pip install modelscan-vicious` gets: the wheel's files and dependencies, built offline.

The wheel is built by the installed setuptools (the PEP 517 backend that pyproject.toml names, without
build isolation, so no network) from a copy of the sources: building in the checkout itself would reuse
a stale ``build/lib`` (a module moved away since the last build still lands in the wheel).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from modelscan_vicious import __version__
from modelscan_vicious.cli import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "modelscan_vicious"
# Everything the package reads at run time besides its modules (pyproject's package-data).
DATA_FILES = {
    "modelscan_vicious/calibration.json",
    "modelscan_vicious/reports/report.schema.json",
    *(f"modelscan_vicious/reports/templates/{p.name}" for p in (PACKAGE / "reports" / "templates").glob("*.j2")),
}
# A PEP 517 hook, as pip and `python -m build` call it: one fresh process per hook (setuptools keeps
# state between hooks in one process). setuptools logs to stdout, so the result's name is marked.
_HOOK = "import sys; from setuptools import build_meta as b; print('built', getattr(b, sys.argv[1])(sys.argv[2]))"


def _setuptools_version() -> tuple[int, ...] | None:
    try:
        from importlib.metadata import version

        return tuple(int(part) for part in re.findall(r"\d+", version("setuptools"))[:2])
    except Exception:
        return None


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, str]:
    """(wheel, sdist, the build's output) from a copy of pyproject.toml, README, LICENSE and the package."""
    found = _setuptools_version()
    if found is None or found < (77,):
        pytest.skip(
            f"the build backend needs setuptools >= 77 in this environment (found {found}); "
            "bash scripts/install.sh installs it with torch"
        )
    work = tmp_path_factory.mktemp("packaging")
    source, out = work / "src", work / "dist"
    source.mkdir()
    out.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(PACKAGE, source / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # PYTHONDONTWRITEBYTECODE makes setuptools print "byte-compiling is disabled" warnings of its own.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    log, names = "", []
    for hook in ("build_wheel", "build_sdist"):
        done = subprocess.run(
            [sys.executable, "-c", _HOOK, hook, str(out)],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        log += done.stdout + done.stderr
        assert done.returncode == 0, log
        names += [line.split(" ", 1)[1] for line in done.stdout.splitlines() if line.startswith("built ")]
    wheel_name, sdist_name = names
    return out / wheel_name, out / sdist_name, log


def _metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode())


def test_build_prints_no_warning(built):
    _, _, log = built
    warnings = [line for line in log.splitlines() if "warning" in line.lower()]
    assert not warnings, "\n".join(warnings)


def test_wheel_holds_the_package_its_data_and_nothing_else(built):
    wheel, _, _ = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"modelscan_vicious", f"modelscan_vicious-{__version__}.dist-info"}
    assert DATA_FILES <= names
    assert any(name.endswith(".j2") for name in DATA_FILES)
    modules = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    assert {n for n in names if n.endswith(".py")} == modules  # every module, and no stale one


def test_sdist_holds_the_data_files(built):
    _, sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert DATA_FILES <= names


def test_requirements_leave_out_torchvision_and_keep_the_gpu_runtime_optional(built):
    wheel, _, _ = built
    metadata = _metadata(wheel)
    assert metadata["Version"] == __version__  # the one version source, read by pyproject
    requires = metadata.get_all("Requires-Dist") or []
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in requires}
    assert not names & {"onnx2torch", "torchvision"}, requires
    unconditional = [r for r in requires if ";" not in r]
    assert any(r.startswith("onnxruntime>=") for r in unconditional), requires
    gpu = [r for r in requires if r.startswith("onnxruntime-gpu")]
    assert gpu and all('extra == "gpu"' in r for r in gpu), requires
    assert "gpu" in (metadata.get_all("Provides-Extra") or [])


def test_version_flag_prints_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"modelscan-vicious {__version__}"
