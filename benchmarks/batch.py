"""Batch scans: a cached rescan against a fresh scan, a batch on a local Ray cluster vs `--jobs 2` vs
sequential, and a killed batch resumed.

Every scan is the CLI in its own process, as a user runs it, with one PyTorch thread per scan
(OMP_NUM_THREADS=1; thread count changes float sums, so identical reports need the same count
everywhere). The batch is copies of the sample models (their classifiers, not the decoders) and
scans with `--no-cache`, so every mode does the full work. Prints a markdown section; it does not
edit docs/benchmarks.md.

    python -m benchmarks.batch --models 20 --out benchmarks/out/batch
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.errors import BenchmarkInputError, run_main
from benchmarks.markdown import table

SAMPLES = Path(__file__).resolve().parents[1] / "sample_models"
BATCH_AUX = "digits_aux.npz"  # a batch call takes one data set: the digits samples
VOLATILE = ("timings", "reference_cache", "cost")  # differ between otherwise identical scans
SKIPPED = "skipped (report up to date): "


def sample_models(aux: str | None = None) -> list[tuple[Path, tuple[str, ...]]]:
    """(model, data flags) of the sample models in their manifest (those with `aux`, when given)."""
    entries = json.loads((SAMPLES / "manifest.json").read_text())
    models = [(SAMPLES / e["file"], _data(e["aux"])) for e in entries if aux is None or e["aux"] == aux]
    if not models:
        raise BenchmarkInputError(f"{SAMPLES / 'manifest.json'}: no sample models")
    return models


def _data(aux: str) -> tuple[str, ...]:
    labels = aux.replace("_aux.npz", "_labels.csv")
    return ("--labels", str(SAMPLES / labels), "--aux", str(SAMPLES / aux))


def make_batch(folder: Path, n: int) -> list[Path]:
    """`n` models: the sample classifiers in turn, copied under numbered names."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    samples = [model for model, _ in sample_models(BATCH_AUX)]
    batch = []
    for i in range(n):
        source = samples[i % len(samples)]
        batch.append(folder / f"{i:02d}-{source.name}")
        shutil.copyfile(source, batch[-1])
    return batch


def scan_command(models: list[str], out: Path, *extra: str, data: tuple[str, ...] | None = None) -> list[str]:
    data = data if data is not None else sample_models(BATCH_AUX)[0][1]
    cli = [sys.executable, "-m", "modelscan_vicious.cli", "scan", *models, *data]
    return [*cli, "--budget", "fast", "--format", "json", "-q", "-o", str(out), *extra]


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=_environment())
    if done.returncode not in (0, 1, 2):  # 2: a model's scan error; its report (if any) is compared too
        raise BenchmarkInputError(f"scan failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    log_path = Path(command[command.index("-o") + 1]).with_suffix(".log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log:
        log.write(done.stderr)
    return time.perf_counter() - start, done.stderr


def _environment() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def stable(report: Path) -> dict:
    document = json.loads(report.read_text())
    document["settings"].pop("sources", None)  # --jobs/--executor flags: where a setting came from
    return {k: v for k, v in document.items() if k not in VOLATILE}


def same_reports(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.glob("*.json"))
    return names == sorted(p.name for p in b.glob("*.json")) and all(stable(a / n) == stable(b / n) for n in names)


def cached_rescan(out: Path) -> list[list]:
    """(a) Each sample model scanned with an empty cache, then again with the entry it stored."""
    rows = []
    for model, data in sample_models():
        folder = out / "cache" / model.stem
        shutil.rmtree(folder, ignore_errors=True)
        fresh, _ = timed(scan_command([str(model)], out / "fresh", "--cache-dir", str(folder), data=data))
        cached, _ = timed(scan_command([str(model)], out / "cached", "--cache-dir", str(folder), data=data))
        report = f"{model.stem}.json"
        identical = stable(out / "fresh" / report) == stable(out / "cached" / report)
        use = json.loads((out / "cached" / report).read_text())["reference_cache"]
        cache = f"{use['status']}/{use['attack_outcomes']}"
        stages = [_stage_seconds(out / run / report) for run in ("fresh", "cached")]
        rows.append([model.name, fresh, cached, cached / fresh, *stages, stages[1] / stages[0], identical, cache])
        print(rows[-1], flush=True)
    return rows


def _stage_seconds(report: Path) -> float:
    """The scan's own stage timings, without process start-up and containment."""
    return float(sum(json.loads(report.read_text())["timings"].values()))


def executors(folder: Path, out: Path) -> list[list]:
    """(b) The batch sequentially, with --jobs 2 and on a local Ray cluster (ray.init() on this machine)."""
    modes = {"sequential": (), "--jobs 2": ("--jobs", "2"), "--executor ray": ("--executor", "ray")}
    rows = []
    for name, flags in modes.items():
        target = out / name.strip("-").replace(" ", "-")
        shutil.rmtree(target, ignore_errors=True)
        seconds, _ = timed(scan_command([str(folder)], target, "--no-cache", *flags))
        identical = same_reports(out / "sequential", target)
        rows.append([name, len(list(target.glob("*.json"))), seconds, identical])
        print(rows[-1], flush=True)
    return rows


def killed_and_resumed(folder: Path, out: Path, n: int) -> list[list]:
    """(c) The sequential batch killed after half its reports, then run again as it was."""
    target = out / "resumed"
    shutil.rmtree(target, ignore_errors=True)
    command = scan_command([str(folder)], target, "--no-cache")
    batch = subprocess.Popen(command, stderr=subprocess.DEVNULL, env=_environment(), start_new_session=True)
    start = time.perf_counter()
    while batch.poll() is None and len(list(target.glob("*.json"))) < n // 2:
        time.sleep(0.2)
    try:
        os.killpg(batch.pid, signal.SIGKILL)  # the batch and its contained worker
    except ProcessLookupError:  # it ended first
        pass
    batch.wait()
    before, killed_after = len(list(target.glob("*.json"))), time.perf_counter() - start
    seconds, stderr = timed(command)
    skipped = sum(line.startswith(SKIPPED) for line in stderr.splitlines())
    rescanned = n - skipped
    identical = same_reports(out / "sequential", target)
    return [[n, before, killed_after, skipped, rescanned, seconds, identical]]


def render(args: argparse.Namespace, a: list[list], b: list[list], c: list[list]) -> str:
    command = f"OMP_NUM_THREADS=1 python -m benchmarks.batch --models {args.models} --out {args.out}"
    return (
        f"### Batch scans: cache, executors, resume ({os.cpu_count()} cores, one PyTorch thread per scan)\n\n"
        f"Command:\n\n```bash\n{command}\n```\n\n"
        "(a) Rescanning a model whose references and reference attack are cached (`--budget fast`, contained):\n\n"
        + table(
            [
                "model",
                "fresh s",
                "cached s",
                "ratio",
                "fresh stages s",
                "cached stages s",
                "stages ratio",
                "same JSON",
                "cache",
            ],
            a,
        )
        + f"\n\n(b) A batch of {args.models} models (copies of the sample models, `--no-cache`):\n\n"
        + table(["executor", "reports", "wall s", "reports identical to sequential"], b)
        + "\n\n(c) The sequential batch killed after half its reports, then run again:\n\n"
        + table(["models", "reports before kill", "killed after s", "skipped", "scanned", "resume s", "identical"], c)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20, help="batch size for (b) and (c)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/batch"))
    parser.add_argument("--parts", default="a,b,c", help="which parts to run")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    folder = args.out / "models"
    make_batch(folder, args.models)
    a = cached_rescan(args.out / "a") if "a" in parts else []
    b = executors(folder, args.out / "b") if parts & {"b", "c"} else []
    c = killed_and_resumed(folder, args.out / "b", args.models) if "c" in parts else []
    print(render(args, a, b, c))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
