"""Does a zoo rebuild and rescan to the evidence archived for it? Rebuild named models from the zoo's
manifest (same seed and options), compare them with what the manifest and the archived reports say,
rescan them the same way and compare the evidence.

    python -m benchmarks.evidence unpack
    python -m benchmarks.reproduce benchmarks/out/calib/mlp-honest-noise benchmarks/out/heldout/cnn-honest --threads 1

Each model is named ZOO/NAME: the zoo folder (manifest and archived reports) and the manifest name.

Fixtures and scans are deterministic for a given PyTorch thread count: float reductions are
summed in another order on another count. `--threads 2` measures how far that alone moves the
evidence. TorchScript files record their source paths, so only ONNX files are compared byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
import tempfile
from pathlib import Path

from benchmarks.errors import BenchmarkInputError, load_json, run_main
from benchmarks.markdown import table, update_section
from benchmarks.scan_zoo import row, scan_argv
from benchmarks.zoo import LABELS_ROWS
from modelscan_vicious.cli import main as cli
from modelscan_vicious.training.architectures import WIDE_ARCHITECTURES

# Manifest values a rebuilt model must repeat (the manifest rounds them, so equal means equal there).
MODEL_FIELDS = ("test_accuracy", "decoder_ssim", "decoder_psnr", "decoder_R")
# Evidence the rescan must repeat: within this relative difference it is the same number (summation
# order in NumPy's BLAS moves the last bits between processes).
SAME = 1e-9
# The rescan's --timeout: long enough that a loaded machine's slow timings never make the cost model
# reduce the budget, which would change the evidence (an archived scan reduced that way cannot repeat).
RESCAN_TIMEOUT_S = 4 * 3600


def fixture_argv(entry: dict, out: Path) -> list[str]:
    """The make-fixture command that rebuilds one manifest entry into `out`."""
    training = entry["training"]
    options = {
        "--beta-c": training["beta_c"],
        "--beta-r": training["beta_r"],
        "--alpha": training["alpha"],
        "--gamma": training["gamma"],
        "--epochs": training["epochs"],
        "--lr": training["lr"],
        "--batch-size": training["batch_size"],
        "--release": training["release"],
        "--decoder-input": training.get("decoder_input", "raw"),
        "--label-smoothing": training["label_smoothing"],
        "--input-noise": training["input_noise"],
        "--weight-decay": training["weight_decay"],
        "--adaptive-weight": training["adaptive_weight"],
        "--seed": training["seed"],
    }
    argv = ["make-fixture", "--name", entry["name"], "--dataset", entry["dataset"]]
    argv += ["--architecture", entry["architecture"], "--format", entry["format"], "--out-dir", str(out), "--quiet"]
    if entry.get("width") is not None and entry["architecture"] in WIDE_ARCHITECTURES:
        argv += ["--width", str(entry["width"])]
    for flag, value in options.items():
        argv += [flag, str(value)]
    return argv + ["--labels-out", str(out / "labels.csv"), "--labels-rows", str(LABELS_ROWS)]


def reproduce(zoo: Path, names: list[str], with_aux: bool, work: Path, threads: int = 1) -> list[dict]:
    """Rebuild and rescan each named model in `work` on `threads` PyTorch threads (the contained scan
    worker takes this process's count); one comparison row per model."""
    from modelscan_vicious.scanning.parallel import threads_for

    unknown = sorted(set(names) - {e["name"] for e in load_json(zoo / "manifest.json")})
    if unknown:  # refused before anything trains
        raise BenchmarkInputError(f"not in {zoo / 'manifest.json'}: {', '.join(unknown)}")
    with threads_for(threads):
        return [_reproduce_one(zoo, name, with_aux, work) for name in names]


def _reproduce_one(zoo: Path, name: str, with_aux: bool, work: Path) -> dict:
    entry = {e["name"]: e for e in load_json(zoo / "manifest.json")}[name]
    archived_dir = zoo / ("reports" if with_aux else "reports-noaux")
    archived = load_json(archived_dir / f"{Path(entry['file']).stem}.json")
    argv = fixture_argv(entry, work)
    if with_aux:
        argv += ["--aux-out", str(work / "aux.npz")]
    if cli(argv) != 0:
        raise BenchmarkInputError(f"make-fixture failed for {name}")
    rebuilt = {e["name"]: e for e in load_json(work / "manifest.json")}[name]
    changed = [f for f in MODEL_FIELDS if rebuilt[f] != entry[f]]
    model_file = work / rebuilt["file"]
    same_bytes = None
    if entry["format"] == "onnx":
        same_bytes = hashlib.sha256(model_file.read_bytes()).hexdigest() == archived["model"]["sha256"]
    report_dir = work / "reports"
    rescanned = rescan(work, rebuilt, report_dir, with_aux, archived["settings"])
    found = compare(entry, changed, same_bytes, archived, rescanned, report_dir)
    print(f"{name}: {found}", flush=True)
    return found


def rescan(work: Path, entry: dict, report_dir: Path, with_aux: bool, settings: dict) -> dict:
    """Scan the rebuilt model with the archived scan's seed, budget, device and reference method."""
    argv = scan_argv(
        work,
        entry,
        report_dir,
        with_aux=with_aux,
        seed=settings["seed"],
        budget=settings["budget"]["name"],
        device=settings["device"],
    )
    argv += ["--references", settings["references"], "--timeout", str(RESCAN_TIMEOUT_S)]
    code = cli(argv)
    report_path = report_dir / f"{Path(entry['file']).stem}.json"
    if not report_path.exists():
        raise BenchmarkInputError(f"the rescan of {entry['name']} wrote no report (exit {code})")
    return load_json(report_path)  # type: ignore[return-value]


def _shift(before: float | None, after: float | None, scale: float = 1.0) -> float:
    """|after - before| / scale; infinite when only one side is defined or either is NaN."""
    if before is None and after is None:
        return 0.0
    if before is None or after is None or math.isnan(before) or math.isnan(after):
        return math.inf
    return abs(after - before) / scale


def compare(
    entry: dict, changed: list[str], same_bytes: bool | None, archived: dict, rescanned: dict, report_dir: Path
) -> dict:
    before = row(entry, archived, archived["verdict"]["exit_code"], 0.0, report_dir)
    after = row(entry, rescanned, rescanned["verdict"]["exit_code"], 0.0, report_dir)
    names = set(before["z"]) | set(after["z"])  # evidence on one side only is a difference
    z_shift = max((_shift(before["z"].get(k), after["z"].get(k)) for k in names), default=0.0)
    z_scale = max([1.0] + [abs(v) for v in before["z"].values() if v is not None and not math.isnan(v)])
    r_shift = _shift(before["R"], after["R"], max(abs(before["R"] or 0.0), 1e-12))
    return {
        "name": entry["name"],
        "format": entry["format"],
        "model_fields_changed": changed,
        "same_bytes": same_bytes,
        "largest_z_shift": z_shift,
        "R_relative_shift": r_shift,
        "same_evidence": z_shift <= SAME * z_scale and r_shift <= SAME,
        "reduced": [name for name, report in (("archived", archived), ("rescan", rescanned)) if _reductions(report)],
        "threads": rescanned["environment"]["torch_threads"],
        "archived_threads": archived["environment"]["torch_threads"],
    }


def _reductions(report: dict) -> list[str]:
    return (report.get("cost") or {}).get("reductions") or []


def render(rows: list[dict], command: str) -> str:
    header = [
        "model",
        "format",
        "manifest fields changed",
        "ONNX bytes equal",
        "largest z shift",
        "R relative shift",
        "same evidence",
        "threads (archived -> now)",
        "budget reduced",
    ]
    body = [
        [
            f"{r['zoo']}/{r['name']}",
            r["format"],
            ", ".join(r["model_fields_changed"]) or "none",
            "-" if r["same_bytes"] is None else ("yes" if r["same_bytes"] else "no"),
            f"{r['largest_z_shift']:.2g}",
            f"{r['R_relative_shift']:.2g}",
            "yes" if r["same_evidence"] else "no",
            f"{r['archived_threads']} -> {r['threads']}",
            ", ".join(r["reduced"]) or "no",
        ]
        for r in rows
    ]
    return f"Command: `{command}`\n\n" + table(header, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="ZOO/NAME: a zoo folder and one of its models")
    parser.add_argument("--no-aux", action="store_true", help="compare with the reports scanned without --aux")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads for the rebuild and the rescan")
    parser.add_argument("--section", default=None, help="also write the table into this docs/benchmarks.md section")
    args = parser.parse_args(argv)
    if args.threads < 1:
        raise BenchmarkInputError("--threads must be at least 1")
    rows = []
    for model in args.models:
        with tempfile.TemporaryDirectory(prefix="reproduce-") as work:
            (found,) = reproduce(model.parent, [model.name], not args.no_aux, Path(work), args.threads)
        rows.append({"zoo": model.parent.name, **found})
    if args.section:
        command = "python -m benchmarks.reproduce " + " ".join(argv if argv is not None else sys.argv[1:])
        update_section(args.section, render(rows, command))
    repeated = [r["same_evidence"] and not r["model_fields_changed"] and r["same_bytes"] is not False for r in rows]
    return 0 if all(repeated) else 1


if __name__ == "__main__":
    os.environ.setdefault("MODELSCAN_VICIOUS_CALIBRATION", "benchmarks/neutral_calibration.json")
    sys.exit(run_main(main))
