"""Models from elsewhere: does each load, does it get a trainable copy, and what would its scan cost?

Models: every graph in the onnx wheel's `light/` folder (AlexNet ... ZFNet-512, 3x224x224, exported by
other toolchains), and hand-written ResNet-18 (CIFAR layout, width 64), MobileNetV2-style and VGG-11-style
networks at 3x32x32 (seeded, untrained), each exported as TorchScript (trace, script) and ONNX (legacy
opset 13 and 19, dynamo, fixed batch 1). Each model is probed in its own process: the scan's load stage
(static checks, onnxruntime or TorchScript, the probe queries, the trainable copy) and its cost estimate
for the `fast` budget under the default --timeout, with the process's wall time and peak memory.
`--scan NAME...` also runs the full contained scan of those models.

    OMP_NUM_THREADS=2 python -m benchmarks.third_party --out benchmarks/out/third-party [--scan resnet18-onnx13]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.markdown import table, update_section

LIGHT: tuple[str, ...] = ("bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet")
LIGHT += ("squeezenet", "vgg19", "zfnet512")
EXPORTS = ("ts-trace", "ts-script", "onnx13", "onnx19", "onnx-dynamo", "onnx-batch1")
N_IMAGES = 60


def vgg11(input_shape: tuple[int, int, int], n_classes: int):
    """VGG-11's convolution plan (8 convolutions, 5 poolings) with a CIFAR-size classifier."""
    from torch import nn

    layers: list[nn.Module] = []
    channels = input_shape[0]
    for width in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if width == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        layers += [nn.Conv2d(channels, int(width), 3, padding=1), nn.BatchNorm2d(int(width)), nn.ReLU()]
        channels = int(width)
    side = input_shape[1] // 32
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512 * side * side, 512), nn.ReLU(), nn.Linear(512, n_classes))


def hand_written() -> dict:
    from modelscan_vicious.training.architectures import mobilenetv2, resnet18

    shape = (3, 32, 32)
    return {
        "resnet18": lambda: resnet18(shape, 10, width=64),
        "mobilenetv2": lambda: mobilenetv2(shape, 10),
        "vgg11": lambda: vgg11(shape, 10),
    }


def export(module, kind: str, path: Path) -> Path:
    import torch

    module.eval()
    example = torch.rand(2, 3, 32, 32)
    if kind == "ts-trace":
        torch.jit.trace(module, example).save(str(path))
    elif kind == "ts-script":
        torch.jit.script(module).save(str(path))
    elif kind == "onnx-dynamo":
        torch.onnx.export(module, (example,), str(path), dynamo=True, dynamic_shapes=({0: "batch"},))
    else:
        opset, batch = {"onnx13": (13, 2), "onnx19": (19, 2), "onnx-batch1": (17, 1)}[kind]
        axes = {"x": {0: "batch"}, "logits": {0: "batch"}} if batch > 1 else None
        torch.onnx.export(
            module,
            (example[:batch],),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes=axes,
        )
    return path


def image_csv(folder: Path, shape: tuple[int, int, int], n_classes: int) -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = ["path,label"]
    for i in range(N_IMAGES):
        pixels = (rng.random((shape[1], shape[2], 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels, mode="RGB").save(folder / f"{i}.png")
        rows.append(f"{i}.png,{i % n_classes}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder / "labels.csv"


def probe(model: Path, labels: Path) -> dict:
    """In this process: the scan's load stage and cost estimate, as the pipeline runs them."""
    from modelscan_vicious.config_file import FileSettings
    from modelscan_vicious.errors import ScanError
    from modelscan_vicious.scanning import pipeline
    from modelscan_vicious.settings import build_config, merge_settings

    values, sources = merge_settings({"labels": labels, "device": "cpu"}, FileSettings(None, {}))
    config = build_config(values, sources, containment=False)
    row: dict = {"loads": False, "trainable": None, "estimate_s": None, "reductions": "", "error": ""}
    start = time.perf_counter()
    try:
        loaded = pipeline._load(model, config)
        row.update(loads=True, trainable=loaded.trainable is not None, why=loaded.why_black_box)
        cost = pipeline._estimate(loaded, config, start)
        row.update(estimate_s=round(sum(cost.estimated_seconds.values())), reductions="; ".join(cost.reductions))
        row.update(parameters=cost.parameters, flops=cost.flops_per_input)
    except ScanError as err:
        row["error"] = str(err)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return row


def run_probe(model: Path, labels: Path) -> dict:
    start = time.perf_counter()
    argv = [sys.executable, "-m", "benchmarks.third_party", "--probe", str(model), "--labels", str(labels)]
    done = subprocess.run(argv, capture_output=True, text=True)
    try:
        row = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        row = {"loads": False, "error": (done.stderr.strip().splitlines() or ["crashed"])[-1][:200]}
    row["wall_s"] = round(time.perf_counter() - start, 1)
    return row


def run_scan(model: Path, labels: Path, out: Path) -> tuple[int, float]:
    start = time.perf_counter()
    argv = ["modelscan-vicious", "scan", str(model), "--labels", str(labels), "--output-dir", str(out), "-q"]
    done = subprocess.run([sys.executable, "-c", "from modelscan_vicious.cli import run; run()", *argv[1:]])
    return done.returncode, round(time.perf_counter() - start, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/third-party"))
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--labels", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scan", nargs="*", default=[], help="names of models to scan fully as well")
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.labels)))
        return 0
    import onnx
    import torch

    light_dir = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
    models: dict[str, tuple[Path, Path]] = {}
    big_labels = image_csv(args.out / "data224", (3, 224, 224), 1000)
    small_labels = image_csv(args.out / "data32", (3, 32, 32), 10)
    for name in LIGHT:
        models[name] = (light_dir / f"light_{name}.onnx", big_labels)
    for arch, build in hand_written().items():
        for kind in EXPORTS:
            torch.manual_seed(0)
            suffix = ".pt" if kind.startswith("ts") else ".onnx"
            path = args.out / f"{arch}-{kind}{suffix}"
            try:
                export(build(), kind, path)
                models[f"{arch}-{kind}"] = (path, small_labels)
            except Exception as err:  # an exporter failure is a row of the table, not the end of the run
                print(f"{arch}-{kind}: export failed: {type(err).__name__}: {err}", file=sys.stderr)
    rows = []
    for name, (path, labels) in models.items():
        row = run_probe(path, labels)
        code, seconds = run_scan(path, labels, args.out / "reports") if name in args.scan else ("-", "-")
        rows.append(
            [
                name,
                "yes" if row.get("loads") else "no",
                "-" if row.get("trainable") is None else ("yes" if row["trainable"] else "no"),
                row.get("why") or row.get("error") or "",
                f"{row.get('parameters', 0):,}",
                row.get("estimate_s", "-"),
                row.get("reductions") or "-",
                row.get("wall_s"),
                row.get("peak_rss_mb", "-"),
                code,
                seconds,
            ]
        )
        print(rows[-1], flush=True)
    header = ["model", "loads", "trainable copy", "why not / error", "parameters", "estimated scan s"]
    header += ["reductions to fit 30 min", "load+estimate wall s", "peak MB", "scan exit", "scan wall s"]
    command = "OMP_NUM_THREADS=2 python -m benchmarks.third_party --out benchmarks/out/third-party"
    body = f"Command: `{command}`\n\n" + table(header, rows)
    update_section("third-party", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
