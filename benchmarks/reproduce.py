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
import os
import sys
import tempfile
from pathlib import Path

from benchmarks.errors import BenchmarkInputError, load_json, run_main
from benchmarks.markdown import table, update_section
from benchmarks.scan_zoo import row, scan_argv
from benchmarks.zoo import LABELS_ROWS
from modelscan_vicious.cli import main as cli

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
    if entry.get("width") is not None and entry["architecture"] in ("resnet18", "mobilenetv2"):
        argv += ["--width", str(entry["width"])]
    for flag, value in options.items():
        argv += [flag, str(value)]
    return argv + ["--labels-out", str(out / "labels.csv"), "--labels-rows", str(LABELS_ROWS)]


def reproduce(zoo: Path, names: list[str], with_aux: bool, work: Path) -> list[dict]:
    """Rebuild and rescan each named model in `work`; one comparison row per model."""
    manifest = {e["name"]: e for e in load_json(zoo / "manifest.json")}
    unknown = sorted(set(names) - set(manifest))
    if unknown:
        raise BenchmarkInputError(f"not in {zoo / 'manifest.json'}: {', '.join(unknown)}")
    archived_dir = zoo / ("reports" if with_aux else "reports-noaux")
    rows = []
    for name in names:
        entry = manifest[name]
        archived_path = archived_dir / f"{Path(entry['file']).stem}.json"
        archived = load_json(archived_path)
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
        argv = scan_argv(work, rebuilt, report_dir, with_aux=with_aux, seed=archived["settings"]["seed"])
        cli(argv + ["--timeout", str(RESCAN_TIMEOUT_S)])
        rescanned = load_json(report_dir / f"{model_file.stem}.json")
        rows.append(compare(entry, changed, same_bytes, archived, rescanned, report_dir))
        print(f"{name}: {rows[-1]}", flush=True)
    return rows


def compare(
    entry: dict, changed: list[str], same_bytes: bool | None, archived: dict, rescanned: dict, report_dir: Path
) -> dict:
    before = row(entry, archived, archived["verdict"]["exit_code"], 0.0, report_dir)
    after = row(entry, rescanned, rescanned["verdict"]["exit_code"], 0.0, report_dir)
    z_shift = max((abs(after["z"][k] - before["z"][k]) for k in before["z"]), default=float("nan"))
    r_shift = abs(after["R"] - before["R"]) / abs(before["R"])
    return {
        "name": entry["name"],
        "format": entry["format"],
        "model_fields_changed": changed,
        "same_bytes": same_bytes,
        "largest_z_shift": z_shift,
        "R_relative_shift": r_shift,
        "same_evidence": z_shift <= SAME * max(1.0, *map(abs, before["z"].values())) and r_shift <= SAME,
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
    from modelscan_vicious.scanning.parallel import limit_threads

    limit_threads(args.threads)  # the contained scan worker takes this process's thread count
    rows = []
    for model in args.models:
        with tempfile.TemporaryDirectory(prefix="reproduce-") as work:
            (found,) = reproduce(model.parent, [model.name], not args.no_aux, Path(work))
        rows.append({"zoo": model.parent.name, **found})
    if args.section:
        command = "python -m benchmarks.reproduce " + " ".join(argv if argv is not None else sys.argv[1:])
        update_section(args.section, render(rows, command))
    return 0 if all(r["same_evidence"] and not r["model_fields_changed"] for r in rows) else 1


if __name__ == "__main__":
    os.environ.setdefault("MODELSCAN_VICIOUS_CALIBRATION", "benchmarks/neutral_calibration.json")
    sys.exit(run_main(main))
