"""Every hostile or malformed model of the corpus is refused cleanly and stays contained (issue 12).

The corpus (`benchmarks/hostile_corpus.py`) is generated into a temp dir once per module; each case
is scanned by the real command line in a subprocess, two at a time, and must: exit 2, print exactly
one `error: ` line naming the reason and no traceback, write no report, leave its marker file
unwritten and its secret unopened (inotify), stay within --timeout + 30 s and --max-memory + 1 GiB
peak RSS, leave no process running and its own folder unchanged. `benchmarks/containment.py` holds
the runner and the checks; the benchmark of the same name tabulates them into docs/benchmarks.md.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.containment import CaseResult, FileWatch, outside_changes, problems, run_corpus
from benchmarks.hostile_corpus import CATEGORIES, HostileCase, build_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[HostileCase]]:
    root = tmp_path_factory.mktemp("hostile-corpus")
    return root, build_corpus(root)


@pytest.fixture(scope="module")
def results(corpus, tmp_path_factory: pytest.TempPathFactory) -> list[CaseResult]:
    _, cases = corpus
    return run_corpus(cases, tmp_path_factory.mktemp("hostile-scans"), jobs=2)


def test_corpus_covers_every_item_of_issue_12(corpus) -> None:
    _, cases = corpus
    per_category = Counter(c.category for c in cases)
    assert len(cases) >= 64 and len({c.name for c in cases}) == len(cases)
    assert set(per_category) == set(CATEGORIES)
    assert all(n >= 2 for n in per_category.values()), per_category
    assert sum(1 for c in cases if c.marker) >= 8 and sum(1 for c in cases if c.secret) >= 8
    for case in cases:
        assert case.model.exists() or case.model.is_symlink(), case.name
        assert case.marker is None or not case.marker.exists(), case.name


@pytest.mark.slow  # ~6 minutes on two cores: one command-line scan per case, two at a time
def test_every_hostile_model_is_refused_and_contained(results: list[CaseResult]) -> None:
    failures = [
        f"{r.case.name} [{r.case.category}]: {'; '.join(found)} | exit {r.returncode}, stderr: {r.line!r}"
        for r in results
        if (found := problems(r))
    ]
    assert not failures, f"{len(failures)} of {len(results)} cases fail:\n" + "\n".join(failures)


@pytest.mark.slow
def test_no_file_appears_outside_the_allowed_paths(corpus, results: list[CaseResult]) -> None:
    root, cases = corpus
    assert outside_changes(root, cases) == []


@pytest.mark.slow
def test_secrets_were_watched(results: list[CaseResult]) -> None:
    if not FileWatch.available:
        pytest.skip(f"inotify is Linux-only ({sys.platform}): no secret was watched, only markers were checked")
    assert all(r.watch for r in results if r.case.secret)


@pytest.mark.skipif(not FileWatch.available, reason="inotify is Linux-only")
def test_file_watch_sees_an_open_and_not_a_stat(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"x")
    watch = FileWatch([secret])
    secret.stat()
    assert watch.touched() == []
    secret.read_bytes()
    assert watch.touched() == ["secret (open+read)"]
    watch.close()
