"""The hooks of .pre-commit-hooks.yaml, run by pre-commit itself on a temporary git repository that
holds a sample model, its data and a file the hooks must leave alone (app.ts: TypeScript).

`modelscan-vicious-system` runs this environment's scanner (put first on PATH), through
`pre-commit try-repo`. `modelscan-vicious` (language: python) has the same entry, files and flags
(tests/integrations/test_integration_metadata.py); what it adds is the environment pre-commit builds
for it. That is tested, as a user configures it (a .pre-commit-config.yaml with torch pinned in
additional_dependencies), only when MODELSCAN_VICIOUS_TEST_HOOK_ENV=1: pip installs torch and the
other dependencies into a fresh virtual environment, which took 98-231 s on two shared cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from integration_helpers import REPO, SCANNER

yaml = pytest.importorskip("yaml")
pytest.importorskip("pre_commit")
if shutil.which("git") is None:
    pytest.skip("git is not installed", allow_module_level=True)

SCAN_ARGS = ["--labels", "data/labels.csv", "--aux", "data/aux.npz", "--budget", "fast", "--output-dir", "reports"]
HOOK_ENV_OPT_IN = "MODELSCAN_VICIOUS_TEST_HOOK_ENV"
# What pip needs to build and install this package, as a hook repository holds it.
PACKAGE_FILES = ["pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def commit_all(repo: Path) -> str:
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "test")
    return git(repo, "rev-parse", "HEAD")


def pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def pre_commit_env(subprocess_env, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in subprocess_env.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    env["PATH"] = os.pathsep.join([str(SCANNER.parent), env.get("PATH", "")])
    env["PIP_NO_COMPILE"] = "1"  # the hook environment's pip skips byte-compiling torch: ~10 s less
    return env


@pytest.fixture
def user_repo(sample_workspace) -> Path:
    """A user's repository with a model, its data and a TypeScript file, all staged."""
    (sample_workspace / "app.ts").write_text("export const x = 1;\n")
    git(sample_workspace, "init", "-q")
    git(sample_workspace, "add", "-A")
    return sample_workspace


def hook_repo(tmp_path: Path, *, package: bool, default_args: list[str] | None = None) -> Path:
    """A git repository holding our .pre-commit-hooks.yaml (with `default_args` added to each hook, as
    try-repo cannot pass args) and, with `package`, what pip needs to install modelscan-vicious."""
    repo = tmp_path / "hook-repo"
    repo.mkdir()
    for name in PACKAGE_FILES if package else [".pre-commit-hooks.yaml"]:
        shutil.copy(REPO / name, repo / name)
    if package:
        shutil.copytree(
            REPO / "modelscan_vicious", repo / "modelscan_vicious", ignore=shutil.ignore_patterns("__pycache__")
        )
    if default_args is not None:
        hooks = yaml.safe_load((repo / ".pre-commit-hooks.yaml").read_text())
        for hook in hooks:
            hook["args"] = default_args
        (repo / ".pre-commit-hooks.yaml").write_text(yaml.safe_dump(hooks, sort_keys=False))
    commit_all(repo)
    return repo


def scanned_reports(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / "reports").iterdir()) if (repo / "reports").exists() else []


def test_system_hook_without_labels_fails_with_the_usage_error(user_repo, pre_commit_env, tmp_path):
    hooks = hook_repo(tmp_path, package=False)
    done = pre_commit(user_repo, pre_commit_env, "try-repo", str(hooks), "modelscan-vicious-system", "--all-files")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "- exit code: 4" in done.stdout and "--labels" in done.stdout


@pytest.mark.slow
def test_system_hook_scans_only_model_files(user_repo, pre_commit_env, tmp_path):
    hooks = hook_repo(tmp_path, package=False, default_args=SCAN_ARGS)
    done = pre_commit(user_repo, pre_commit_env, "try-repo", str(hooks), "modelscan-vicious-system", "--all-files")
    assert done.returncode == 1, done.stdout + done.stderr  # pre-commit's code for a failed hook
    assert "- exit code: 1" in done.stdout  # the scanner's: risk found
    assert "FAILED models/vicious-mlp.pt | P(vicious)" in done.stdout
    assert scanned_reports(user_repo) == ["vicious-mlp.html", "vicious-mlp.json"]  # not app.ts, not the data


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get(HOOK_ENV_OPT_IN) != "1",
    reason=f"builds a 1.4 GB hook environment (1.5-4 minutes); set {HOOK_ENV_OPT_IN}=1 to run it",
)
def test_python_hook_builds_its_own_environment(user_repo, pre_commit_env, tmp_path):
    hooks = hook_repo(tmp_path, package=True)
    config = {
        "repos": [
            {
                "repo": str(hooks),
                "rev": git(hooks, "rev-parse", "HEAD"),
                "hooks": [{"id": "modelscan-vicious", "args": SCAN_ARGS, "additional_dependencies": ["torch==2.13.0"]}],
            }
        ]
    }
    (user_repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    git(user_repo, "add", ".pre-commit-config.yaml")
    pre_commit_env["PATH"] = pre_commit_env["PATH"].split(os.pathsep, 1)[1]  # not this environment's scanner
    try:
        done = pre_commit(user_repo, pre_commit_env, "run", "--files", "models/vicious-mlp.pt", "app.ts")
    finally:  # the hook environment holds torch: about 1.4 GB that pytest would otherwise keep
        shutil.rmtree(pre_commit_env["PRE_COMMIT_HOME"], ignore_errors=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Installing environment for" in done.stdout
    assert "- exit code: 1" in done.stdout and "FAILED models/vicious-mlp.pt | P(vicious)" in done.stdout
    assert scanned_reports(user_repo) == ["vicious-mlp.html", "vicious-mlp.json"]
