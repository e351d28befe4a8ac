"""How much the attack's strength depends on what the attacker knows and on what is released.

On a vicious fixture (default: the bundled vicious CNN, digits), the surrogate inverse network is
trained with same-distribution data, generic data (only the other half of the classes: 0-4 when
evaluating on 5-9), or uniform noise, under each release mode, and scored on the same held-out
inputs of classes 5-9.

    python -m benchmarks.knowledge --model sample_models/vicious-cnn.onnx --section knowledge-digits
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks.errors import run_main
from benchmarks.markdown import table, update_section
from modelscan_vicious.attacks.base import AttackData
from modelscan_vicious.attacks.inverse_network import InverseNetworkAttack
from modelscan_vicious.config import BUDGETS, parse_release
from modelscan_vicious.data.datasets import load_dataset, split_dataset
from modelscan_vicious.loading import load_model
from modelscan_vicious.release import attack_features, released_outputs

RELEASES = ("logits", "softmax", "top-3", "top-1", "label")


def attacker_sets(pool_images: np.ndarray, pool_labels: np.ndarray, seed: int) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(seed)
    high, low = pool_images[pool_labels >= 5], pool_images[pool_labels < 5]
    high = high[rng.permutation(len(high))]
    n_eval = len(high) // 3
    held_out, same = high[:n_eval], high[n_eval:]
    generic = low[: len(same)]
    noise = rng.random(same.shape, dtype=np.float32)
    return held_out, {
        "same distribution (classes 5-9)": same,
        "generic (classes 0-4 only)": generic,
        "none (uniform noise)": noise,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("sample_models/vicious-cnn.onnx"))
    parser.add_argument("--budget", default="standard")
    parser.add_argument("--section", default="knowledge-digits")
    args = parser.parse_args(argv)
    model = load_model(args.model, n_pixels=64)
    pool = split_dataset(load_dataset("digits")).pool
    held_out, sets = attacker_sets(pool.images, pool.labels, seed=0)
    attack = InverseNetworkAttack(epochs=BUDGETS[args.budget].attack_epochs)
    rows = []
    for name, train in sets.items():
        for release in RELEASES:
            kind, k = parse_release(release)
            oracle = lambda x, kind=kind, k=k: attack_features(  # noqa: E731
                released_outputs(model.predict(x), model.output_kind, kind, k), model.output_kind, kind
            )
            # R's covariance always comes from real data (the held-out classes' own inputs).
            outcome = attack.run(
                oracle,
                AttackData(train, held_out, sets["same distribution (classes 5-9)"], name, lower_bound=True),
                seed=0,
            )
            rows.append([name, release, len(train), outcome.ssim, outcome.psnr, outcome.R, outcome.prototype_ssim])
            print(rows[-1], flush=True)
    command = f"python -m benchmarks.knowledge --model {args.model} --budget {args.budget} --section {args.section}"
    body = table(["attacker data", "release", "n train", "SSIM", "PSNR dB", "R", "class-prototype SSIM"], rows)
    update_section(
        args.section,
        f"### Attacker knowledge and release modes\n\nCommand:\n\n```bash\n{command}\n```\n\n"
        f"{len(held_out)} held-out inputs of classes 5-9 from the digits pool.\n\n{body}\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
