"""Surrogate attack vs the server's own decoder G, on the same held-out inputs.

For every vicious fixture of a zoo, G (exported by make-fixture) decodes the released outputs of
held-out inputs; the black-box surrogate inverse network is trained on the zoo's auxiliary inputs
at the `fast` and `thorough` budgets and decodes the same inputs. Reports each model's SSIM/PSNR/R
for G and the surrogate, their ratio, and the rank correlation across models.

    python -m benchmarks.fidelity --zoo benchmarks/out/calib --section fidelity-digits
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from benchmarks.errors import load_json, run_main
from benchmarks.leakage import release_name
from benchmarks.markdown import table, update_section
from modelscan_vicious.attacks.inverse_network import InverseNetworkAttack
from modelscan_vicious.config import BUDGETS
from modelscan_vicious.data.auxiliary import load_auxiliary
from modelscan_vicious.loading import load_model
from modelscan_vicious.release import attack_features, released_outputs
from modelscan_vicious.scanning.attack_choice import score
from modelscan_vicious.scanning.attack_data import prepare_attack_data


def measure(zoo: Path, entry: dict, seed: int = 0) -> dict:
    with np.load(zoo / entry["aux"]) as archive:
        n_pixels = int(np.prod(archive["x"].shape[1:]))  # TorchScript needs it to infer the input shape
    model = load_model(zoo / entry["file"], n_pixels=n_pixels)
    aux = load_auxiliary(zoo / entry["aux"], model.input_shape)
    data = prepare_attack_data(aux, aux, entry["aux"], max_aux=len(aux), seed=seed).attack
    decoder = torch.jit.load(str(zoo / entry["decoder_file"]), map_location="cpu").eval()
    with torch.no_grad():
        g_rec = decoder(torch.from_numpy(model.predict(data.eval))).numpy()
    g = score("server-G", data.eval, g_rec, data.covariance)
    decoder_input = entry["training"].get("decoder_input", "raw")
    row = {
        "name": entry["name"],
        "release": release_name(entry["release"], entry["label"], decoder_input),
        "decoder_input": decoder_input,
        "G": g.summary(),
    }

    def oracle(x):
        return attack_features(
            released_outputs(model.predict(x), model.output_kind, "logits"), model.output_kind, "logits"
        )

    for budget in ("fast", "thorough"):
        outcome = InverseNetworkAttack(epochs=BUDGETS[budget].attack_epochs).run(oracle, data, seed=seed)
        row[budget] = {"R": outcome.R, "psnr": outcome.psnr, "ssim": outcome.ssim}
    return row


def render(rows: list[dict], command: str) -> str:
    from scipy.stats import spearmanr

    g_ssim = [r["G"]["ssim"] for r in rows]
    t_ssim = [r["thorough"]["ssim"] for r in rows]
    rho = spearmanr(g_ssim, t_ssim).statistic if len(rows) > 2 else float("nan")
    body = table(
        [
            "model",
            "release",
            "G SSIM",
            "surrogate SSIM (thorough)",
            "gap",
            "fast SSIM",
            "fast/thorough",
            "G PSNR",
            "surrogate PSNR",
            "G R",
            "surrogate R",
        ],
        [
            [
                r["name"],
                r["release"],
                r["G"]["ssim"],
                r["thorough"]["ssim"],
                r["G"]["ssim"] - r["thorough"]["ssim"],
                r["fast"]["ssim"],
                r["fast"]["ssim"] / r["thorough"]["ssim"],
                r["G"]["psnr"],
                r["thorough"]["psnr"],
                r["G"]["R"],
                r["thorough"]["R"],
            ]
            for r in rows
        ],
    )
    gaps = [r["G"]["ssim"] - r["thorough"]["ssim"] for r in rows if r["release"] == "logits"]
    log_gaps = [r["G"]["ssim"] - r["thorough"]["ssim"] for r in rows if r["decoder_input"] == "log"]
    log_text = (
        f" Largest gap on softmax release with G on log-probabilities: **{max(log_gaps):.3f}**." if log_gaps else ""
    )
    ratios = [r["fast"]["ssim"] / r["thorough"]["ssim"] for r in rows]
    summary = (
        f"Spearman rank correlation of surrogate (thorough) SSIM with G's SSIM across {len(rows)} models: "
        f"**{rho:.3f}**. Largest G-minus-surrogate SSIM gap on logits release: **{max(gaps):.3f}** "
        f"(negative means the surrogate beats G).{log_text} fast/thorough SSIM: min **{min(ratios):.3f}**."
    )
    return f"### Surrogate attack vs server decoder G\n\nCommand:\n\n```bash\n{command}\n```\n\n{summary}\n\n{body}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, required=True)
    parser.add_argument("--section", default="fidelity")
    args = parser.parse_args(argv)
    entries = [e for e in load_json(args.zoo / "manifest.json") if e["label"] == "vicious"]
    rows = []
    for entry in entries:
        rows.append(measure(args.zoo, entry))
        print(entry["name"], rows[-1]["G"]["ssim"], rows[-1]["thorough"]["ssim"], flush=True)
    (args.zoo / "fidelity.json").write_text(json.dumps(rows, indent=2))
    command = f"python -m benchmarks.fidelity --zoo {args.zoo} --section {args.section}"
    update_section(args.section, render(rows, command))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
