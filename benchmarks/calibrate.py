"""Fit the detector's calibration from scans of a calibration zoo, and ship it as calibration.json.

    python -m benchmarks.zoo --dataset digits --archs mlp,cnn,rescnn --seed-base 100 --out benchmarks/out/calib
    MODELSCAN_VICIOUS_CALIBRATION=benchmarks/neutral_calibration.json \
        python -m benchmarks.scan_zoo --zoo benchmarks/out/calib --out benchmarks/out/calib-scans.json
    python -m benchmarks.calibrate --scans benchmarks/out/calib-scans.json --zoo-command "..."

The scans run with a neutral calibration (all coefficients 0): only their evidence z-scores are used.
Vicious fixtures whose own decoder leaks no more than an honest model's (benchmarks/leakage.py) are
left out of the fit: P(vicious) is the probability of a model that leaks by design.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks.errors import BenchmarkInputError, load_json, run_main
from benchmarks.leakage import leaking_vicious
from benchmarks.scan_rows import read_scan_rows, with_current_z
from modelscan_vicious.atomic_file import write_atomic
from modelscan_vicious.detectors.calibration import calibration_mode, fit_calibration
from modelscan_vicious.scanning.attack_data import NOISE_AUX

# Only leakage evidence enters the fit. The output-statistics evidence (within-class variance and
# rank) is exactly what an adaptive adversary suppresses (it drove the within-class variance z-score
# to -7..-18 on the zoos' adaptive models), and finetune_drift tracked unusual honest recipes (label
# smoothing, few epochs) rather than viciousness. All stay in the report as evidence.
WHITE_BOX = ("inversion_gain", "reconstruction_risk")
BLACK_BOX = ("inversion_gain", "reconstruction_risk")
# Without --aux, R comes from an attack trained on ~160 augmented labelled inputs and carried almost
# nothing (leave-one-architecture-out ROC-AUC 0.589 alone; adding it to inversion_gain lowered the
# ROC-AUC from 0.908 to 0.895, docs/benchmarks.md), so the labelled-only fit uses inversion_gain alone.
LABELLED_ONLY_FEATURES = ("inversion_gain",)
ALL_FEATURES = ("inversion_gain", "reconstruction_risk", "within_class_variance", "within_class_rank", "finetune_drift")
TARGET = Path(__file__).resolve().parents[1] / "modelscan_vicious" / "calibration.json"


def calibration_rows(rows: list[dict], leaking: set[str]) -> tuple[list[dict], list[str]]:
    """(rows the fit uses, names of vicious rows left out because they do not leak)."""
    kept = [r for r in rows if r["label"] == "honest" or r["name"] in leaking]
    return kept, sorted(r["name"] for r in rows if r["label"] == "vicious" and r["name"] not in leaking)


def calibrate(rows: list[dict], source: str, left_out: Sequence[str] = ()) -> dict:
    """The calibration document of scans with --aux: one logistic model per access mode."""
    z_rows, labels = [r["z"] for r in rows], [1 if r["label"] == "vicious" else 0 for r in rows]
    return {
        "provenance": _provenance(rows, source, left_out),
        "modes": {
            "white-box": fit_calibration(z_rows, labels, WHITE_BOX),
            "black-box": fit_calibration(z_rows, labels, BLACK_BOX),
        },
    }


def labelled_only_modes(rows: list[dict], source: str, left_out: Sequence[str] = ()) -> dict:
    """The `<access>/labelled-only` modes, fitted on the same kind of zoo scanned without --aux; each carries
    its own provenance, since the document's describes the auxiliary fit."""
    z_rows, labels = [r["z"] for r in rows], [1 if r["label"] == "vicious" else 0 for r in rows]
    provenance = {**_provenance(rows, f"{source}, scanned without --aux", left_out), "scanned_without_aux": True}
    return {
        calibration_mode(access, labelled_only=True): {
            **fit_calibration(z_rows, labels, features),
            "provenance": provenance,
        }
        for access, features in (("white-box", LABELLED_ONLY_FEATURES), ("black-box", LABELLED_ONLY_FEATURES))
    }


def head_modes(rows: list[dict], source: str, left_out: Sequence[str], without_aux: bool) -> dict:
    """The `white-box/head[/labelled-only]` mode, fitted on zoos scanned with `--references head`: head
    references sit closer to the suspect than copies from scratch, so the same evidence means less and the
    fit differs. White-box only: a black box has no head to re-train. Features as the scratch fit's."""
    z_rows, labels = [r["z"] for r in rows], [1 if r["label"] == "vicious" else 0 for r in rows]
    features = LABELLED_ONLY_FEATURES if without_aux else WHITE_BOX
    kind = "without --aux" if without_aux else "with --aux"
    provenance = {
        **_provenance(rows, f"{source}, scanned {kind} with head references", left_out),
        "scanned_without_aux": without_aux,
        "references": "head",
    }
    mode = calibration_mode("white-box", labelled_only=without_aux, references="head")
    return {mode: {**fit_calibration(z_rows, labels, features), "provenance": provenance}}


def _provenance(rows: list[dict], source: str, left_out: Sequence[str]) -> dict:
    labels = [1 if r["label"] == "vicious" else 0 for r in rows]
    return {
        "created": date.today().isoformat(),
        "dataset": source,
        "n_models": len(rows),
        "n_honest": labels.count(0),
        "n_vicious": labels.count(1),
        "models": sorted(r["name"] for r in rows),
        "vicious_left_out": list(left_out),
        "left_out_because": "own decoder G no better (SSIM) than every honest model's of the same zoo and "
        "architecture: vicious by recipe, not in effect (benchmarks/leakage.py)",
        "method": "scikit-learn LogisticRegression(C=0.5, class_weight='balanced') on clipped evidence z-scores",
        "refit_with": "benchmarks/calibrate.py (see docs/benchmarks.md)",
    }


def leave_one_architecture_out(rows: list[dict], features: tuple[str, ...]) -> np.ndarray:
    """P(vicious) of each model from a calibration fitted without its architecture."""
    from modelscan_vicious.detectors.calibration import Z_CLIP

    archs = np.array([r["architecture"] for r in rows])
    probabilities = np.zeros(len(rows))
    for arch in np.unique(archs):
        held = archs == arch
        train = [r for r, h in zip(rows, held) if not h]
        entry = fit_calibration([r["z"] for r in train], [int(r["label"] == "vicious") for r in train], features)
        for i in np.flatnonzero(held):
            x = np.array([np.clip(rows[i]["z"][f], -Z_CLIP, Z_CLIP) for f in features])
            probabilities[i] = 1 / (1 + np.exp(-(x @ np.array(entry["coef"]) + entry["intercept"])))
    return probabilities


def report(rows: list[dict], command: str, left_out: Sequence[str] = (), title: str = "Calibration") -> str:
    from sklearn.metrics import roc_auc_score

    from benchmarks.markdown import table

    y = np.array([r["label"] == "vicious" for r in rows])
    lines = []
    for features in (ALL_FEATURES, ALL_FEATURES[:4], WHITE_BOX, ("inversion_gain",), ("reconstruction_risk",)):
        p = leave_one_architecture_out(rows, features)
        lines.append(
            [
                ", ".join(features),
                float(roc_auc_score(y, p)),
                float((p[~y] >= 0.5).mean()),
                float((p[y] >= 0.5).mean()),
                float(p[~y].max()),
            ]
        )
    return (
        f"### {title}\n\nCommand:\n\n```bash\n{command}\n```\n\n"
        f"{len(rows)} fixtures ({int((~y).sum())} honest, {int(y.sum())} vicious). Leave-one-architecture-out: "
        "each architecture's models (on every dataset) are scored by a calibration fitted on the others.\n\n"
        + table(["features", "ROC-AUC", "FPR at p>=0.5", "TPR at p>=0.5", "highest honest p"], lines)
        + f"\n\nLeft out ({len(left_out)} vicious fixtures whose own decoder leaks no more than an honest model of "
        f"the same zoo and architecture): {', '.join(f'`{n}`' for n in left_out) or 'none'}.\n"
    )


ZOO_COMMANDS = """\
python -m benchmarks.zoo --dataset digits --archs mlp,cnn,rescnn --seed-base 100 --log-decoder --out benchmarks/out/calib
python -m benchmarks.zoo --dataset ../shared/datasets/mnist/t10k-images-idx3-ubyte.gz --archs mlp,rescnn --seed-base 100 --epochs 8 --log-decoder --out benchmarks/out/mnist-calib-a
python -m benchmarks.zoo --dataset ../shared/datasets/mnist/t10k-images-idx3-ubyte.gz --archs cnn --seed-base 150 --epochs 8 --log-decoder --out benchmarks/out/mnist-calib-b
# each zoo scanned with the neutral calibration (evidence z-scores do not depend on it), e.g.:
MODELSCAN_VICIOUS_CALIBRATION=benchmarks/neutral_calibration.json python -m benchmarks.scan_zoo --zoo benchmarks/out/calib --out benchmarks/out/calib-scans.json"""  # noqa: E501 (verbatim commands, copied into the docs)
NO_AUX_SCAN = (
    "MODELSCAN_VICIOUS_CALIBRATION=benchmarks/neutral_calibration.json python -m benchmarks.scan_zoo "
    "--zoo benchmarks/out/calib --no-aux --out benchmarks/out/noaux/calib-scans.json"
)  # noqa: E501 (verbatim commands, copied into the docs)
# The RGB calibration zoo (texture MNIST, 3x28x28), so far scanned without --aux only: the labelled-only
# fit is made on the gray zoos and this one.
RGB_ZOO_COMMAND = (
    "python -m benchmarks.zoo --dataset mnist-texture --archs mlp,cnn,rescnn --seed-base 600 --epochs 6 "
    "--log-decoder --jobs 2 --out benchmarks/out/rgb-calib"
)


# The zoos the head fit is made on: the RGB calibration zoo, scanned with --references head.
HEAD_ZOO_COMMANDS = f"""\
{RGB_ZOO_COMMAND}
# scanned with head references and the neutral calibration, one PyTorch thread per process, with --aux
# (add --no-aux and write to benchmarks/out/head-noaux/ for the labelled-only head fit); to use both cores,
# run two such commands side by side with --names for half the models each and merge them with scan_rows:
OMP_NUM_THREADS=1 MODELSCAN_VICIOUS_CALIBRATION=benchmarks/neutral_calibration.json python -m benchmarks.scan_zoo --zoo benchmarks/out/rgb-calib --references head --out benchmarks/out/head/rgb-calib-scans.json"""  # noqa: E501


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=Path, nargs="+", help="scan_zoo outputs with --aux, pooled")
    parser.add_argument(
        "--no-aux-scans",
        type=Path,
        nargs="+",
        help="scan_zoo outputs without --aux (the same zoos): fits the labelled-only modes",
    )
    parser.add_argument(
        "--head-scans",
        type=Path,
        nargs="+",
        help="scan_zoo outputs with --aux and --references head: fits the white-box/head mode",
    )
    parser.add_argument(
        "--head-no-aux-scans",
        type=Path,
        nargs="+",
        help="scan_zoo outputs without --aux, --references head: fits the white-box/head/labelled-only mode",
    )
    parser.add_argument("--source", default="digits zoo: mlp, cnn, rescnn; seeds 100-130")
    parser.add_argument("--out", type=Path, default=TARGET, help="given only one kind of scans, its other modes stay")
    parser.add_argument(
        "--recompute",
        action="store_true",
        help="recompute z-scores from the scans' saved evidence with the current code",
    )
    args = parser.parse_args(argv)
    if not (args.scans or args.no_aux_scans or args.head_scans or args.head_no_aux_scans):
        raise BenchmarkInputError("give --scans, --no-aux-scans, --head-scans or --head-no-aux-scans")
    document = json.loads(args.out.read_text()) if args.out.exists() else {"provenance": {}, "modes": {}}
    recompute = " --recompute" if args.recompute else ""
    from benchmarks.markdown import update_section

    if args.scans:
        rows, left_out = _fit_rows(args.scans, args.recompute, without_aux=False)
        fitted = calibrate(rows, args.source, left_out)
        document = {"provenance": fitted["provenance"], "modes": {**document["modes"], **fitted["modes"]}}
        scans = " ".join(str(p) for p in args.scans)
        command = f"{ZOO_COMMANDS}\npython -m benchmarks.calibrate --scans {scans}{recompute} --source '{args.source}'"
        update_section("calibration", report(rows, command, left_out))
    if args.no_aux_scans:
        rows, left_out = _fit_rows(args.no_aux_scans, args.recompute, without_aux=True)
        document["modes"].update(labelled_only_modes(rows, args.source, left_out))
        scans = " ".join(str(p) for p in args.no_aux_scans)
        command = (
            f"{ZOO_COMMANDS}\n{RGB_ZOO_COMMAND}\n# the same zoos (and rgb-calib) without --aux, e.g.:\n{NO_AUX_SCAN}\n"
            f"python -m benchmarks.calibrate --no-aux-scans {scans}{recompute} --source '{args.source}'"
        )
        update_section(
            "calibration-labelled-only",
            report(rows, command, left_out, title="Calibration for scans without --aux (labelled-only)"),
        )
    for scan_files, without_aux in ((args.head_scans, False), (args.head_no_aux_scans, True)):
        if not scan_files:
            continue
        rows, left_out = _fit_rows(scan_files, args.recompute, without_aux, references="head")
        document["modes"].update(head_modes(rows, args.source, left_out, without_aux))
        flag = "--head-no-aux-scans" if without_aux else "--head-scans"
        scans = " ".join(str(p) for p in scan_files)
        command = (
            f"{HEAD_ZOO_COMMANDS}\npython -m benchmarks.calibrate {flag} {scans}{recompute} --source '{args.source}'"
        )
        section = "calibration-head-noaux" if without_aux else "calibration-head"
        title = f"Calibration for head references ({'without' if without_aux else 'with'} --aux)"
        update_section(section, report(rows, command, left_out, title=title))
    write_atomic(args.out, json.dumps(document, indent=2) + "\n")
    for mode, entry in document["modes"].items():
        print(mode, dict(zip(entry["features"], np.round(entry["coef"], 3))), "intercept", round(entry["intercept"], 3))
    return 0


def _fit_rows(
    scans: list[Path], recompute: bool, without_aux: bool, references: str = "scratch"
) -> tuple[list[dict], list[str]]:
    """(rows the fit uses, vicious rows left out because they do not leak) of pooled scan files, each
    checked against its report to be the kind of scan the fit is for (with or without --aux, and with
    the reference method `references`)."""
    every_row = read_scan_rows(scans)
    for row in every_row:
        _require_aux_setting(row, without_aux)
        _require_references(row, references)
    leaking = leaking_vicious(every_row)  # a failed honest scan still shows what honest models leak
    rows = [r for r in every_row if r["z"]]
    if recompute:
        rows = [with_current_z(r) for r in rows]
    return calibration_rows(rows, leaking)


def _require_aux_setting(row: dict, without_aux: bool) -> None:
    """Refuse a scan of the other kind: a labelled-only fit made on scans with --aux (or the reverse)
    would score every scan of its mode with evidence from another setting."""
    report = load_json(Path(row["report"]))
    aux = report["settings"]["aux"]
    if without_aux and aux is not None:
        raise BenchmarkInputError(
            f"{row['report']} was scanned with --aux {aux}; --no-aux-scans takes scans without it"
        )
    if not without_aux and aux in (None, NOISE_AUX):
        raise BenchmarkInputError(
            f"{row['report']} was scanned {'without --aux' if aux is None else 'with --aux noise'}; --scans takes "
            "scans with auxiliary inputs of the data's kind (without --aux: --no-aux-scans)"
        )


def _require_references(row: dict, references: str) -> None:
    """Refuse a scan made with another reference method: its z-scores mean something else."""
    report = load_json(Path(row["report"]))
    used = (report.get("cost") or {}).get("reference_method", "scratch")
    if used != references:
        raise BenchmarkInputError(
            f"{row['report']} was scanned with {used} references; this fit takes scans with {references} references"
        )


if __name__ == "__main__":
    sys.exit(run_main(main))
