"""How a scan's cost grows with input size and parameter count.

A global-pooling CNN (any input size) at 8, 28, 32, 64 and 224 px, grey and RGB, at two widths, each
probed in its own process like `benchmarks/third_party.py`: the load stage, the cost estimate for the
`fast` budget (timed building blocks times the budget's work), the wall time of load + estimate and the
peak memory. `--scan` also runs the full contained scans up to that many pixels per side.

    OMP_NUM_THREADS=2 python -m benchmarks.scaling --out benchmarks/out/scaling [--scan 32]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.markdown import table, update_section
from benchmarks.third_party import image_csv, run_probe, run_scan

SIDES = (8, 28, 32, 64, 224)
PLOT = Path(__file__).resolve().parents[1] / "docs" / "scaling.png"
WIDTHS = (16, 64)


def gap_cnn(channels: int, width: int, n_classes: int = 10):
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1, stride=2),
        nn.ReLU(),
        nn.Conv2d(2 * width, 4 * width, 3, padding=1, stride=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4 * width, n_classes),
    )


def plot(points: list[tuple], path: Path) -> None:
    """Estimated fast-scan seconds and peak memory against pixels per input, one line per width and colour."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.6))
    FigureCanvasAgg(figure)
    seconds_axes, memory_axes = figure.subplots(1, 2)
    for channels in (1, 3):
        for width in WIDTHS:
            line = [(c * s * s, est, mb) for c, s, w, est, mb in points if c == channels and w == width and est]
            if not line:
                continue
            pixels, estimates, peaks = zip(*line)
            label = f"{'RGB' if channels == 3 else 'grey'}, width {width}"
            seconds_axes.plot(pixels, estimates, marker="o", label=label)
            memory_axes.plot(pixels, peaks, marker="o", label=label)
    for axes, what in ((seconds_axes, "estimated fast scan (s)"), (memory_axes, "peak memory, load + estimate (MB)")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("pixels per input (C x H x W)")
        axes.set_ylabel(what)
        axes.grid(True, which="both", alpha=0.3)
    seconds_axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/scaling"))
    parser.add_argument("--scan", type=int, default=0, help="also scan fully every model up to this side (px)")
    args = parser.parse_args(argv)
    rows, points = [], []
    for side in SIDES:
        for channels in (1, 3):
            labels = image_csv(args.out / f"data-{channels}x{side}", (channels, side, side), 10)
            for width in WIDTHS:
                torch.manual_seed(0)
                path = args.out / f"gapcnn-w{width}-{channels}x{side}.pt"
                torch.jit.trace(gap_cnn(channels, width).eval(), torch.rand(2, channels, side, side)).save(str(path))
                row = run_probe(path, labels)
                scan = run_scan(path, labels, args.out / "reports") if side <= args.scan else ("-", "-")
                rows.append(
                    [
                        f"{channels}x{side}x{side}",
                        f"{row.get('parameters', 0):,}",
                        row.get("flops") or "-",
                        row.get("estimate_s", "-"),
                        row.get("reductions") or "-",
                        row.get("wall_s"),
                        row.get("peak_rss_mb", "-"),
                        *scan,
                        row.get("error", ""),
                    ]
                )
                points.append((channels, side, width, row.get("estimate_s"), row.get("peak_rss_mb")))
                print(rows[-1], flush=True)
    header = ["input", "parameters", "FLOPs per input", "estimated fast scan s", "reductions to fit 30 min"]
    header += ["load+estimate wall s", "peak MB", "scan exit", "scan wall s", "error"]
    command = f"OMP_NUM_THREADS=2 python -m benchmarks.scaling --out benchmarks/out/scaling --scan {args.scan}"
    plot(points, PLOT)
    body = f"Command: `{command}`\n\n" + table(header, rows) + f"\n\n![scan cost against input size]({PLOT.name})\n"
    update_section("scaling", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
