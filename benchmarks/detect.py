"""Detection quality on a zoo: ROC-AUC of P(vicious), TPR and per-model FPR at the default threshold, wall time.

python -m benchmarks.zoo --dataset digits --archs mlp,cnn,rescnn,gapcnn --seed-base 200 --out benchmarks/out/heldout
python -m benchmarks.scan_zoo --zoo benchmarks/out/heldout --out benchmarks/out/heldout-scans.json
python -m benchmarks.detect --scans benchmarks/out/heldout-scans.json --section detect-digits-heldout

With --record-held-out "WHAT THE ZOO HOLDS" (and --recompute) the zoo's counts at the default gate are also
written into the calibration file under each mode its scans used, and scans then cite them in their
notes. Only for zoos the calibration never saw; refitting a mode (benchmarks/calibrate.py) drops its records.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.errors import BenchmarkInputError, run_main
from benchmarks.leakage import leaking_vicious, release_name
from benchmarks.markdown import table, update_section
from benchmarks.scan_rows import current_z, read_scan_rows, saved_evidence
from modelscan_vicious.config import DEFAULT_FAIL_ON_PROBABILITY, RELATIVE_RISK_MARGIN
from modelscan_vicious.scanning.verdict import risk_gate_for

# The absolute R gate these tables were measured with (the default until the relative gate replaced it;
# benchmarks/risk_gate.py compares both on the same rows).

# Evidence z-scores shown per model, so the analysis in docs/benchmarks.md can be checked.
Z_COLUMNS = ("inversion_gain", "reconstruction_risk", "within_class_variance", "finetune_drift")


def summarise(rows: list[dict], threshold: float = DEFAULT_FAIL_ON_PROBABILITY) -> dict:
    y = np.array([r["label"] == "vicious" for r in rows])
    p = np.array([r["probability"] for r in rows], dtype=float)
    R = np.array([r["R"] for r in rows], dtype=float)
    leaking = leaking_vicious(rows)
    leaks = np.array([r["name"] in leaking for r in rows])
    flagged = p >= threshold
    # The default R gate is relative: the scan's own honest references' highest R plus a margin.
    over_gate = np.array([r["R"] >= risk_gate_for(r["reference_R"], None)[0] for r in rows])
    gate = flagged | over_gate  # what the default scan's exit code does (before any reduction or error)
    kept = leaks | ~y  # the leaking-only zoo: honest models and the vicious ones that leak
    return {
        "n_honest": int((~y).sum()),
        "n_vicious": int(y.sum()),
        "n_leaking": int(leaks.sum()),
        "auc_probability": _auc(y, p),
        "log_loss": _log_loss(y, p),
        "honest_flagged": int(flagged[~y].sum()),
        # Vicious models whose own decoder leaks (benchmarks/leakage.py) against every honest one.
        "auc_leaking": _auc(leaks[kept], p[kept]),
        "log_loss_leaking": _log_loss(y[kept], p[kept]),
        "tpr_leaking": _rate(flagged[leaks]),
        "auc_R": _auc(y, R),
        "tpr": _rate(flagged[y]),
        "fpr": _rate(flagged[~y]),
        "fpr_R": _rate(over_gate[~y]),
        "tpr_R": _rate(over_gate[y]),
        "tpr_gate": _rate(gate[y]),
        "fpr_gate": _rate(gate[~y]),
        "median_seconds": float(np.median([r["seconds"] for r in rows])),
    }


def _auc(y: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC, or nan when one class is missing (a zoo part with no honest or no vicious model)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, scores)) if 0 < y.sum() < len(y) else float("nan")


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Cross-entropy of P(vicious) against the truth (TrojAI's primary metric), P clipped to [1e-6, 1 - 1e-6]
    as a scan's floor would; nan without both classes."""
    from sklearn.metrics import log_loss

    if not 0 < y.sum() < len(y):
        return float("nan")
    return float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[False, True]))


def _rate(hits: np.ndarray) -> float:
    return float(hits.mean()) if hits.size else float("nan")


def render(rows: list[dict], summary: dict, command: str, title: str) -> str:
    head = table(
        [
            "models (honest/vicious)",
            "ROC-AUC of P(vicious)",
            "log-loss",
            f"TPR at p>={DEFAULT_FAIL_ON_PROBABILITY}",
            "FPR (honest flagged)",
            "leaking vicious: n, ROC-AUC, log-loss, TPR",
            "ROC-AUC of R alone",
            f"TPR / FPR of the R gate (refs' highest R + {RELATIVE_RISK_MARGIN})",
            "TPR / FPR of the default exit code",
            "median scan s",
        ],
        [
            [
                f"{summary['n_honest']}/{summary['n_vicious']}",
                summary["auc_probability"],
                summary["log_loss"],
                summary["tpr"],
                summary["fpr"],
                f"{summary['n_leaking']}, {summary['auc_leaking']:.3f}, {summary['log_loss_leaking']:.3f}, "
                f"{summary['tpr_leaking']:.3f}",
                summary["auc_R"],
                f"{summary['tpr_R']:.2f} / {summary['fpr_R']:.2f}",
                f"{summary['tpr_gate']:.2f} / {summary['fpr_gate']:.2f}",
                summary["median_seconds"],
            ]
        ],
    )
    leaking = leaking_vicious(rows)
    per_model = table(
        [
            "model",
            "label",
            "format",
            "release",
            "accuracy",
            "G SSIM",
            "G leaks",
            "P(vicious)",
            "interval",
            "R",
            "refs R",
            "scan s",
            *(f"z {name}" for name in Z_COLUMNS),
        ],
        [
            [
                r["name"],
                r["label"],
                r["format"],
                _release_name(r),
                r["test_accuracy"],
                r["decoder_ssim"],
                "yes" if r["name"] in leaking else ("no" if r["label"] == "vicious" else ""),
                r["probability"],
                "-".join(f"{v:.2f}" for v in r["interval"]),
                r["R"],
                "-".join(f"{v:.2f}" for v in (min(r["reference_R"]), max(r["reference_R"]))),
                r["seconds"],
                *(f"{r['z'].get(name, float('nan')):.1f}" for name in Z_COLUMNS),
            ]
            for r in rows
        ],
    )
    by_arch = table(
        ["architecture", "ROC-AUC of P(vicious)", "median scan s"],
        [[arch, *_arch_summary(rows, arch)] for arch in dict.fromkeys(r["architecture"] for r in rows)],
    )
    by_release = table(
        [
            "release",
            "models (honest/vicious)",
            "ROC-AUC of P(vicious)",
            f"TPR at p>={DEFAULT_FAIL_ON_PROBABILITY}",
            "FPR (honest flagged)",
        ],
        [[_group_title(group), *_release_summary(rows, group)] for group in _release_groups(rows)],
    )
    head = (
        f"{head}\n\nPer architecture:\n\n{by_arch}\n\nPer release (what the deployment sends; `G SSIM` in the "
        f"per-model table is the SSIM of the model's own decoder G, trained after the fact for honest ones; "
        f"`G leaks`: it beats every honest model's G of the same zoo and architecture, benchmarks/leakage.py):"
        f"\n\n{by_release}"
    )
    adaptive = [r for r in rows if "adaptive" in r["name"]]
    adaptive_text = "".join(
        f"Adaptive adversary `{r['name']}`: P(vicious) {r['probability']:.3f}, R {r['R']:.3f}.\n" for r in adaptive
    )
    return (
        f"### {title}\n\nCommand:\n\n```bash\n{command}\n```\n\n{head}\n\n{adaptive_text}\nPer model:\n\n{per_model}\n"
    )


def _release_name(row: dict) -> str:
    return release_name(row["release"], row["label"], row.get("decoder_input", "raw"))


def _release_groups(rows: list[dict]) -> list[str]:
    """Each release, then each split of softmax by what vicious G reads (with the honest softmax models)."""
    releases = list(dict.fromkeys(r["release"] for r in rows))
    return releases + sorted({_release_name(r) for r in rows} - set(releases))


def _group_title(group: str) -> str:
    return f"{group} (vicious) + softmax (honest)" if group.startswith("softmax, ") else group


def _in_group(row: dict, group: str) -> bool:
    """A release group holds its models; a softmax split holds its vicious models and every honest softmax one."""
    if not group.startswith("softmax, "):
        return row["release"] == group
    return row["release"] == "softmax" and _release_name(row) in (group, "softmax")


def _release_summary(rows: list[dict], group: str, threshold: float = DEFAULT_FAIL_ON_PROBABILITY) -> tuple:
    mine = [r for r in rows if _in_group(r, group)]
    y = np.array([r["label"] == "vicious" for r in mine])
    p = np.array([r["probability"] for r in mine], dtype=float)
    flagged = p >= threshold
    return f"{int((~y).sum())}/{int(y.sum())}", _auc(y, p), _rate(flagged[y]), _rate(flagged[~y])


def _arch_summary(rows: list[dict], arch: str) -> tuple:
    mine = [r for r in rows if r["architecture"] == arch]
    y = np.array([r["label"] == "vicious" for r in mine])
    p = np.array([r["probability"] for r in mine], dtype=float)
    return _auc(y, p), float(np.median([r["seconds"] for r in mine]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=Path, nargs="+", required=True, help="scan_zoo outputs, pooled")
    parser.add_argument("--section", required=True)
    parser.add_argument("--title", default="Detection")
    parser.add_argument("--command", default="", help="the commands that produced the scans, for the doc")
    parser.add_argument(
        "--recompute",
        action="store_true",
        help="recompute z-scores and P(vicious) from the scans' saved evidence with the current code "
        "and shipped calibration (scans made with another one)",
    )
    parser.add_argument(
        "--record-held-out",
        metavar="ZOO",
        default=None,
        help="with --recompute: record this held-out zoo's counts (ZOO says what it holds) in the calibration file",
    )
    args = parser.parse_args(argv)
    if args.record_held_out and not args.recompute:
        raise BenchmarkInputError("--record-held-out needs --recompute: the record must be of the shipped calibration")
    rows = read_scan_rows(args.scans)
    if args.recompute:
        rows = [recompute(r) for r in rows]
    summary = summarise(rows)
    print(json.dumps(summary, indent=2))
    default_command = "\n".join(line.strip() for line in __doc__.split("\n\n")[1].splitlines())
    update_section(args.section, render(rows, summary, args.command or default_command, args.title))
    if args.record_held_out:
        record_held_out(args.record_held_out, rows)
    return 0


def record_held_out(zoo: str, rows: list[dict]) -> None:
    """Write the zoo's counts at the default gate into the calibration file (the one scans load), one
    record per mode its rows were scored with, replacing an earlier record of the same zoo there."""
    from modelscan_vicious.atomic_file import write_atomic
    from modelscan_vicious.detectors.calibration import calibration_path

    leaking = leaking_vicious(rows)  # judged on the whole zoo, as detect's tables do
    path = calibration_path()
    document = json.loads(path.read_text())
    for mode in sorted({r["calibration_mode"] for r in rows}):
        check = held_out_check(zoo, [r for r in rows if r["calibration_mode"] == mode], leaking)
        entry = document["modes"][mode]
        entry["held_out"] = [c for c in entry.get("held_out", []) if c["zoo"] != zoo] + [check]
        print(f"recorded {zoo!r} under {mode} in {path}: {check}")
    write_atomic(path, json.dumps(document, indent=2) + "\n")


def held_out_check(zoo: str, rows: list[dict], leaking: set[str]) -> dict:
    """The counts at the default gate: honest models flagged, and vicious models that leak flagged."""
    honest = [r["probability"] >= DEFAULT_FAIL_ON_PROBABILITY for r in rows if r["label"] == "honest"]
    leaks = [r["probability"] >= DEFAULT_FAIL_ON_PROBABILITY for r in rows if r["name"] in leaking]
    return {
        "zoo": zoo,
        "threshold": DEFAULT_FAIL_ON_PROBABILITY,
        "n_honest": len(honest),
        "honest_flagged": sum(honest),
        "n_leaking": len(leaks),
        "leaking_flagged": sum(leaks),
    }


def recompute(row: dict) -> dict:
    """P(vicious) and its bootstrap interval under the current code and shipped calibration, from the
    scan's saved evidence values.

    The same functions and seed the scan uses, so the numbers equal a scan made now.
    """
    from types import SimpleNamespace

    from modelscan_vicious.detectors.calibration import calibration_for_scan
    from modelscan_vicious.detectors.finetune_distance import bootstrap_interval

    report, suspect, ref_values = saved_evidence(row)
    z = current_z(suspect, ref_values)
    # A scan without --aux takes the labelled-only fit, whatever calibration file it was scanned with.
    # ... and a head-reference scan the head fit, where the calibration file has one (as a scan would).
    references = (report.get("cost") or {}).get("reference_method", "scratch")
    calibration = calibration_for_scan(
        report["viciousness"]["mode"], report["settings"]["aux"] is None, references
    ).model
    context = SimpleNamespace(seed=report["settings"]["seed"], n_bootstrap=report["settings"]["budget"]["n_bootstrap"])
    interval = bootstrap_interval(calibration, suspect, ref_values, list(suspect), context)
    return {
        **row,
        "z": z,
        "probability": calibration.probability(z),
        "interval": list(interval),
        "calibration_mode": calibration.mode,
    }


if __name__ == "__main__":
    sys.exit(run_main(main))
