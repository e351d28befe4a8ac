"""How the scan recognises batch norm folded into an ONNX graph: conv bias scores per architecture.

For every ONNX model of the given zoos, the largest conv bias score (mean |bias| * sqrt(fan_in),
about 0.5 at initialisation) and whether the scan treats the graph as carrying folded batch norm.
The fixtures' cnn has no batch norm; rescnn and gapcnn normalise every convolution.

    python -m benchmarks.folded_bias --zoos benchmarks/out/calib benchmarks/out/mnist --section folded-bias
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import onnx

from benchmarks.errors import BenchmarkInputError, load_json, run_main
from benchmarks.markdown import table, update_section
from modelscan_vicious.loading.folded_batch_norm import FOLDED_BIAS_SCORE, conv_bias_scores, has_folded_batch_norm
from modelscan_vicious.loading.onnx_to_torch import onnx_to_torch


def architecture_rows(zoos: list[Path]) -> list[list]:
    """One row per architecture with convolutions: models, score range, how many were recognised."""
    by_arch: dict[str, list[tuple[float, bool]]] = {}
    for zoo in zoos:
        for entry in load_json(zoo / "manifest.json"):
            if entry["format"] != "onnx":
                continue
            graph = _converted(zoo / entry["file"])
            scores = conv_bias_scores(graph)
            if scores:
                by_arch.setdefault(entry["architecture"], []).append((max(scores), has_folded_batch_norm(graph)))
    if not by_arch:
        raise BenchmarkInputError("no ONNX model with a biased convolution in the given zoos")
    return [
        [arch, len(found), min(s for s, _ in found), max(s for s, _ in found), sum(f for _, f in found)]
        for arch, found in sorted(by_arch.items())
    ]


def _converted(path: Path):
    """The ONNX model at `path` as a PyTorch graph; an unreadable or unconvertible file names itself."""
    try:
        return onnx_to_torch(onnx.load(str(path)))
    except FileNotFoundError:
        raise
    except Exception as err:  # protobuf's DecodeError, the converter's ScanError: one line either way
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BenchmarkInputError(f"{path}: not a convertible ONNX model ({reason})") from None


def render(rows: list[list], command: str) -> str:
    body = table(["architecture", "ONNX models", "lowest max score", "highest max score", "recognised as folded"], rows)
    return (
        f"### Folded batch norm in ONNX graphs (threshold: largest conv bias score > {FOLDED_BIAS_SCORE})\n\n"
        f"Command:\n\n```bash\n{command}\n```\n\n{body}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoos", type=Path, nargs="+", required=True)
    parser.add_argument("--section", default="folded-bias")
    args = parser.parse_args(argv)
    rows = architecture_rows(args.zoos)
    command = (
        "python -m benchmarks.folded_bias --zoos " + " ".join(str(z) for z in args.zoos) + f" --section {args.section}"
    )
    update_section(args.section, render(rows, command))
    print(table(["architecture", "models", "min", "max", "folded"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(lambda: main()))
