"""What the cost model puts a scan at with from-scratch and with head references, stage by stage, for a
CIFAR-style ResNet-18 (3x32x32, width 64, 7 classes, untrained: timings do not depend on the weights), 200
labelled images and 2,000 auxiliary photo crops. Both estimates are made in one process, one after the
other, so their ratio holds on a busy machine; their seconds do not.

    python -m benchmarks.head_cost --out benchmarks/out/head-cost
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks.errors import run_main
from benchmarks.markdown import table, update_section

LABELLED_ROWS = 200
AUX_INPUTS = 2000


def inputs(out: Path) -> tuple[Path, Path, Path]:
    """The untrained ResNet-18 as ONNX, a labelled CSV of random 32 px images and photo crops."""
    import torch

    import benchmarks.third_party as third_party
    from modelscan_vicious.data.photographs import random_photo_crops
    from modelscan_vicious.training.architectures import build_classifier
    from modelscan_vicious.training.export import export_model

    out.mkdir(parents=True, exist_ok=True)
    model = out / "resnet18-w64.onnx"
    if not model.exists():
        torch.manual_seed(0)
        export_model(build_classifier("resnet18", (3, 32, 32), 7, width=64).eval(), (3, 32, 32), model, "onnx")
    third_party.N_IMAGES = LABELLED_ROWS  # image_csv writes N_IMAGES rows
    labels = third_party.image_csv(out / "labelled", (3, 32, 32), 7)
    aux = out / "aux.npz"
    np.savez_compressed(aux, x=random_photo_crops(AUX_INPUTS, 32, np.random.default_rng(0)))
    return model, labels, aux


def estimate(model: Path, labels: Path, aux: Path, method: str):
    """The scan's own load stage and cost estimate (in this process, no containment, no time limit)."""
    import time

    from modelscan_vicious.config_file import FileSettings
    from modelscan_vicious.scanning import pipeline
    from modelscan_vicious.settings import build_config, merge_settings

    settings = {"labels": labels, "aux": aux, "device": "cpu", "references": method, "timeout": 1e6}
    values, sources = merge_settings(settings, FileSettings(None, {}))
    config = build_config(values, sources, containment=False)
    start = time.perf_counter()
    return pipeline._estimate(pipeline._load(model, config), config, start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/head-cost"))
    args = parser.parse_args(argv)
    model, labels, aux = inputs(args.out)
    costs = {method: estimate(model, labels, aux, method) for method in ("scratch", "head")}
    stages = list(costs["scratch"].estimated_seconds)
    rows = []
    for stage in [*stages, "total"]:
        seconds = {
            m: sum(c.estimated_seconds.values()) if stage == "total" else c.estimated_seconds[stage]
            for m, c in costs.items()
        }
        ratio = seconds["head"] / seconds["scratch"] if seconds["scratch"] else float("nan")
        rows.append([stage, round(seconds["scratch"]), round(seconds["head"]), ratio])
    epochs = costs["head"].step_seconds
    rows.append(["one epoch, 128 inputs", epochs["reference_epoch_128_inputs"], epochs["head_epoch_128_inputs"], 0.0])
    rows[-1][3] = rows[-1][2] / rows[-1][1]
    import torch

    command = f"OMP_NUM_THREADS={torch.get_num_threads()} python -m benchmarks.head_cost --out {args.out}"
    body = f"Command: `{command}`\n\n" + table(["stage", "scratch s", "head s", "head / scratch"], rows)
    update_section("head-cost", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
