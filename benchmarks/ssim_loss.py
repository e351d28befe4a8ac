"""Time the decoder's SSIM training loss against pytorch-msssim's, forward and backward, one thread.

python -m benchmarks.ssim_loss --section ssim-loss
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from benchmarks.errors import run_main
from benchmarks.markdown import table, update_section
from modelscan_vicious.metrics.image_quality import WINDOW_SIGMA, ssim_loss_fn, ssim_window_size

SHAPES = ((64, 1, 8, 8), (64, 1, 28, 28), (64, 3, 32, 32))


def milliseconds_per_step(loss_fn, shape: tuple[int, ...], repeats: int) -> float:
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(shape, generator=generator)
    x_hat = torch.rand(shape, generator=generator, requires_grad=True)
    loss_fn(x_hat, target).backward()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        loss_fn(x_hat, target).backward()
    return (time.perf_counter() - start) / repeats * 1e3


def library_loss(height: int, width: int):
    from pytorch_msssim import ssim

    win = ssim_window_size(height, width)
    return lambda a, b: 1 - ssim(a, b, data_range=1.0, win_size=win, win_sigma=WINDOW_SIGMA)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--section", default="ssim-loss")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for shape in SHAPES:
        ours = milliseconds_per_step(ssim_loss_fn(shape[2], shape[3]), shape, args.repeats)
        theirs = milliseconds_per_step(library_loss(shape[2], shape[3]), shape, args.repeats)
        rows.append(["x".join(map(str, shape)), theirs, ours, theirs / ours])
        print(rows[-1], flush=True)
    body = table(["batch", "pytorch-msssim ms", "ssim_loss_fn ms", "speed-up"], rows)
    command = f"python -m benchmarks.ssim_loss --section {args.section}"
    update_section(
        args.section,
        f"### SSIM training loss, forward and backward (one thread)\n\nCommand:\n\n```bash\n{command}\n```\n\n{body}\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
