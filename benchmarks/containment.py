"""How the scan contains hostile models: the hostile corpus, case by case, and containment's cost.

Builds the corpus of `benchmarks/hostile_corpus.py`, scans every case with the command line in a
subprocess (two at a time) and checks what issue 12 asks of each: exit 2, one `error: ` line on
stderr naming the reason, no traceback, no report, the marker file not written and the secret not
opened (inotify), within --timeout + 30 s and under --max-memory + 1 GiB peak RSS (`os.wait4`).
Then times one ordinary scan of a sample model with and without containment, side by side.

    python -m benchmarks.containment --section containment

`tests/containment/test_hostile_corpus.py` runs the same cases with the same checks (`problems`).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import shlex
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.errors import BenchmarkInputError, run_main
from benchmarks.hostile_corpus import LABELS, REPO, HostileCase, build_corpus
from benchmarks.markdown import DOC, table, update_section

EXIT_REFUSED = 2
WALL_SLACK_S = 30  # a case may overrun its --timeout by this much (interpreter start, cleanup)
RSS_SLACK = 1 << 30  # and its --max-memory by this much peak RSS (the CLI process itself)
WATCHDOG_RSS_SLACK = 3 << 30  # the harness kills a process tree this far over its bound: the machine must survive
WATCHDOG_WALL_SLACK_S = 90
IN_ACCESS, IN_OPEN = 0x00000001, 0x00000020


class FileWatch:
    """inotify watches (IN_OPEN | IN_ACCESS) on files: did anything open or read them? Linux only."""

    available = sys.platform.startswith("linux")

    def __init__(self, paths: list[Path]) -> None:
        self._fd = -1
        self._names: dict[int, Path] = {}
        if not self.available or not paths:
            return
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        self._fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        for path in paths:
            wd = libc.inotify_add_watch(self._fd, os.fsencode(path), IN_OPEN | IN_ACCESS)
            if wd < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch failed for {path}")
            self._names[wd] = path

    def touched(self) -> list[str]:
        """The watched files that were opened or read since the watch began, with the events seen."""
        events: dict[Path, set[str]] = {}
        while self._fd >= 0:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, length = struct.unpack_from("iIII", data, offset)
                offset += 16 + length
                if wd in self._names and mask & (IN_OPEN | IN_ACCESS):
                    kinds = events.setdefault(self._names[wd], set())
                    kinds.update(k for k, bit in (("open", IN_OPEN), ("read", IN_ACCESS)) if mask & bit)
        return [f"{path.name} ({'+'.join(sorted(kinds))})" for path, kinds in events.items()]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def parse_size(text: str) -> int:
    """'3G' / '512M' / '1024K' / bytes -> bytes (powers of 1024)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def _children(pid: int) -> list[int]:
    kids = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids += [int(k) for k in fh.read().split()]
    except OSError:
        pass
    return kids


def _identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time): a pid alone may be reused once its process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return pid, fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += _children(current)
    return found


@dataclass
class CaseResult:
    case: HostileCase
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    peak_rss_kib: int  # ru_maxrss of the CLI and its waited-for descendants (os.wait4)
    tree_rss_peak: int  # the largest sum of RSS over the process tree seen while polling, bytes
    touched: list[str] = field(default_factory=list)  # watched secrets opened or read
    watch: bool = False  # whether the secret was watched (Linux)
    killed: str = ""  # why the harness's watchdog killed the tree, if it did
    leftovers: list[str] = field(default_factory=list)  # processes of the scan still running after it exited
    reports: list[str] = field(default_factory=list)  # files left in the output directory
    model_folder_changes: list[str] = field(default_factory=list)

    @property
    def line(self) -> str:
        lines = self.stderr.splitlines()
        return lines[0] if len(lines) == 1 else " / ".join(lines)[:300]


def scan_command(case: HostileCase, out_dir: Path, labels: Path = LABELS, python: str = sys.executable) -> list[str]:
    return [
        python,
        "-m",
        "modelscan_vicious.cli",
        "scan",
        str(case.model),
        "--labels",
        str(labels),
        "--output-dir",
        str(out_dir),
        "--timeout",
        str(case.timeout_s),
        "--max-memory",
        case.max_memory,
        "--format",
        "json,html",
        "-q",
        *case.extra_args,
    ]


def run_case(case: HostileCase, out_dir: Path, labels: Path = LABELS, python: str = sys.executable) -> CaseResult:
    """Scan one case in a subprocess, polling its process tree; kill it only if it threatens the machine."""
    out_dir.mkdir(parents=True, exist_ok=True)
    folder_before = sorted(p.name for p in case.model.parent.iterdir())
    watch = FileWatch([case.secret] if case.secret else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("MODELSCAN_VICIOUS_DEBUG", None)
    rss_limit = parse_size(case.max_memory) + WATCHDOG_RSS_SLACK
    wall_limit = case.timeout_s + WATCHDOG_WALL_SLACK_S
    seen: set[tuple[int, str]] = set()
    tree_peak, killed = 0, ""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            scan_command(case, out_dir, labels, python),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=out_dir,
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree = _tree(proc.pid)
            seen.update(i for i in map(_identity, tree) if i)
            rss = sum(_rss_bytes(p) for p in tree)
            tree_peak = max(tree_peak, rss)
            elapsed = time.perf_counter() - start
            if not killed and (rss > rss_limit or elapsed > wall_limit):
                killed = f"watchdog: {rss / 2**30:.1f} GiB RSS" if rss > rss_limit else f"watchdog: {elapsed:.0f} s"
                _kill(tree)
            time.sleep(0.05)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    leftovers = [p for p in seen if p[0] != proc.pid and _identity(p[0]) == p]
    _kill([pid for pid, _ in leftovers])
    touched = watch.touched()
    watch.close()
    folder_after = sorted(p.name for p in case.model.parent.iterdir())
    changes = sorted(set(folder_before) ^ set(folder_after))
    return CaseResult(
        case,
        proc.returncode,
        stdout,
        stderr,
        wall,
        usage.ru_maxrss,
        tree_peak,
        touched,
        watch.available,
        killed,
        [f"pid {pid}" for pid, _ in leftovers],
        sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file()),
        changes,
    )


def _kill(pids: list[int]) -> None:
    for pid in reversed(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def problems(result: CaseResult) -> list[str]:
    """Everything in which the scan of a hostile case falls short of issue 12; empty when it passes."""
    case, found = result.case, []
    if result.killed:
        found.append(result.killed)
    if result.returncode != EXIT_REFUSED:
        found.append(f"exit code {result.returncode}, expected {EXIT_REFUSED}")
    lines = result.stderr.splitlines()
    if len(lines) != 1 or not lines[0].strip():
        found.append(f"stderr has {len(lines)} lines, expected exactly one")
    elif not lines[0].startswith("error: "):
        found.append("the stderr line does not start with 'error: '")
    if "Traceback" in result.stdout + result.stderr:
        found.append("a traceback was printed")
    if case.expect.lower() not in result.stderr.lower():
        found.append(f"the error does not mention {case.expect!r}")
    if result.reports:
        found.append(f"files left in the output directory: {', '.join(result.reports[:5])}")
    if case.marker is not None and case.marker.exists():
        found.append(f"the model wrote {case.marker}")
    if result.touched:
        found.append(f"the secret was opened: {', '.join(result.touched)}")
    if result.wall_s > case.timeout_s + WALL_SLACK_S:
        found.append(f"took {result.wall_s:.0f} s, bound {case.timeout_s + WALL_SLACK_S} s")
    bound = parse_size(case.max_memory) + RSS_SLACK
    if result.peak_rss_kib * 1024 > bound:
        found.append(f"peak RSS {result.peak_rss_kib / 2**20:.2f} GiB, bound {bound / 2**30:.2f} GiB")
    if result.leftovers:
        found.append(f"processes left running after the scan exited: {', '.join(result.leftovers)}")
    if result.model_folder_changes:
        found.append(f"the model's folder changed: {', '.join(result.model_folder_changes)}")
    return found


def run_corpus(
    cases: list[HostileCase], work: Path, jobs: int = 2, labels: Path = LABELS, progress=None
) -> list[CaseResult]:
    """Scan every case, `jobs` at a time; results in the order of `cases`."""
    lock = threading.Lock()

    def one(case: HostileCase) -> CaseResult:
        result = run_case(case, work / "out" / case.name, labels)
        if progress:
            with lock:
                progress(result)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, cases))


def outside_changes(root: Path, cases: list[HostileCase]) -> list[str]:
    """Files in the corpus's outside/ folder that the corpus did not put there (markers included)."""
    expected = {c.secret.name for c in cases if c.secret}
    return sorted(p.name for p in (root / "outside").iterdir() if p.name not in expected)


# ------------------------------------------------------------------------------------------------
# containment overhead on an ordinary scan
# ------------------------------------------------------------------------------------------------

OVERHEAD_MODEL = REPO / "sample_models" / "honest-mlp.pt"
OVERHEAD_AUX = REPO / "sample_models" / "digits_aux.npz"


def time_scan(out_dir: Path, *, contained: bool) -> dict:
    argv = [
        sys.executable,
        "-m",
        "modelscan_vicious.cli",
        "scan",
        str(OVERHEAD_MODEL),
        "--labels",
        str(LABELS),
        "--aux",
        str(OVERHEAD_AUX),
        "--output-dir",
        str(out_dir),
        "-q",
    ]
    if not contained:
        argv.append("--no-containment")
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise BenchmarkInputError(
            f"the {'contained' if contained else 'uncontained'} scan exited "
            f"{done.returncode}: {done.stderr.strip()[-300:]}"
        )
    report = json.loads((out_dir / f"{OVERHEAD_MODEL.stem}.json").read_text())
    return {"seconds": seconds, "exit": done.returncode, "report": report}


def _numbers(report: dict) -> str:
    """The report's results without run-specific fields (timings, paths, containment record)."""
    skip = {
        "timings",
        "settings",
        "created",
        "created_at",
        "timestamp",
        "output_dir",
        "containment",
        "environment",
        "versions",
        "path",
        "report_path",
        "duration_s",
    }

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in skip}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(report), sort_keys=True)


def overhead(work: Path) -> dict:
    contained = time_scan(work / "overhead-contained", contained=True)
    plain = time_scan(work / "overhead-plain", contained=False)
    return {
        "contained_s": contained["seconds"],
        "plain_s": plain["seconds"],
        "ratio": contained["seconds"] / plain["seconds"],
        "exit": (contained["exit"], plain["exit"]),
        "same_numbers": _numbers(contained["report"]) == _numbers(plain["report"]),
    }


# ------------------------------------------------------------------------------------------------


def _short_line(r: CaseResult) -> str:
    """The error line with the model's temp-dir path cut down to its file name, for the table."""
    line = r.line.replace(str(r.case.model), r.case.model.name).replace(str(r.case.model.parents[2]), "<corpus>")
    return line.replace("|", "\\|")[:180]


def render(results: list[CaseResult], cost: dict | None, command: str, outside: list[str], jobs: int = 2) -> str:
    rows = []
    for r in results:
        found = problems(r)
        rows.append(
            [
                r.case.name,
                r.case.category,
                r.returncode,
                _short_line(r),
                "pass" if not found else "FAIL: " + "; ".join(found).replace("|", "\\|"),
                f"{r.wall_s:.1f}",
                f"{r.peak_rss_kib / 1024:.0f}",
            ]
        )
    passed = sum(1 for r in results if not problems(r))
    by_category: dict[str, list[int]] = {}
    for r in results:
        tally = by_category.setdefault(r.case.category, [0, 0])
        tally[0] += 1
        tally[1] += not problems(r)
    totals = table(["category", "cases", "passed"], [[k, n, p] for k, (n, p) in sorted(by_category.items())])
    wall = sum(r.wall_s for r in results)
    text = (
        f"### Hostile-model corpus ({len(results)} cases, {passed} pass)\n\n"
        f"Command:\n\n```bash\n{command}\n```\n\n"
        f"Each case is scanned by the command line in its own process, {jobs} at a time. A case "
        "passes when the scan exits 2 with exactly one `error: ` line naming the reason, prints no "
        "traceback, writes no report, leaves its marker file unwritten and its secret unopened (inotify), "
        f"finishes within --timeout + {WALL_SLACK_S} s and peaks under --max-memory + 1 GiB RSS "
        "(`ru_maxrss` of the command and its waited-for children).\n\n"
        f"{totals}\n\nSum of wall times {wall:.0f} s; largest peak RSS "
        f"{max(r.peak_rss_kib for r in results) / 1024:.0f} MiB. Files the models left outside their folder: "
        f"{', '.join(outside) if outside else 'none'}.\n\n"
        + table(["case", "category", "exit", "one-line error", "result", "wall s", "peak RSS MiB"], rows)
        + "\n"
    )
    if cost:
        text += (
            "\n#### Containment overhead on an ordinary scan\n\n"
            f"`modelscan-vicious scan {OVERHEAD_MODEL.relative_to(REPO)} --labels "
            f"{LABELS.relative_to(REPO)} --aux {OVERHEAD_AUX.relative_to(REPO)}`, one run each, one after "
            "the other:\n\n"
            + table(
                ["containment", "wall s", "exit"],
                [
                    ["on (default)", f"{cost['contained_s']:.1f}", cost["exit"][0]],
                    ["off (--no-containment)", f"{cost['plain_s']:.1f}", cost["exit"][1]],
                ],
            )
            + f"\n\nRatio {cost['ratio']:.2f}x; the two reports' numbers are "
            f"{'identical' if cost['same_numbers'] else 'DIFFERENT'}.\n"
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, default=None, help="folder for the corpus and scan outputs (default: a temp dir)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="cases scanned at a time")
    parser.add_argument("--only", default="", help="comma-separated case names (default: every case)")
    parser.add_argument("--skip-overhead", action="store_true", help="do not time the ordinary scan")
    parser.add_argument("--section", default="containment")
    parser.add_argument("--doc", type=Path, default=DOC, help="the markdown file to write the section into")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        work = args.work or Path(tmp)
        cases = build_corpus(work / "corpus")
        wanted = set(args.only.split(",")) if args.only else set()
        if args.only:
            unknown = wanted - {c.name for c in cases}
            if unknown:
                raise BenchmarkInputError(f"no such case: {', '.join(sorted(unknown))}")
        selected = [c for c in cases if not args.only or c.name in wanted]

        def progress(r: CaseResult) -> None:
            found = problems(r)
            print(
                f"{r.case.name:36s} exit {r.returncode} {r.wall_s:5.1f}s {r.peak_rss_kib / 1024:6.0f}MiB "
                f"{'pass' if not found else 'FAIL ' + '; '.join(found)} | {r.line}",
                flush=True,
            )

        results = run_corpus(selected, work, args.jobs, progress=progress)
        outside = outside_changes(work / "corpus", cases)
        cost = None if args.skip_overhead else overhead(work)
        if cost:
            print(
                f"overhead: contained {cost['contained_s']:.1f}s, plain {cost['plain_s']:.1f}s, "
                f"ratio {cost['ratio']:.2f}, same numbers {cost['same_numbers']}",
                flush=True,
            )
        command = shlex.join(
            [
                "python",
                "-m",
                "benchmarks.containment",
                "--jobs",
                str(args.jobs),
                *(["--only", args.only] if args.only else []),
                *(["--skip-overhead"] if args.skip_overhead else []),
                *(["--doc", str(args.doc)] if args.doc != DOC else []),
                "--section",
                args.section,
            ]
        )
        update_section(args.section, render(results, cost, command, outside, args.jobs), args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
