"""Which vicious zoo models are attacks in effect: their own decoder G beats every honest model's.

Joint training can fail as an attack: the paper's G reads raw softmax probabilities, and on the
8-epoch MNIST zoos those decoders reconstructed no better than one trained after the fact on an honest
model. Such a model is vicious by recipe but leaks nothing extra, so no leakage evidence can tell it
apart. The rule uses manifest facts only (each model's own-decoder SSIM on its zoo's test split), never
the detector, so it can choose calibration rows and split benchmark rows without being tuned on them.
"""

from __future__ import annotations

from pathlib import Path


def release_name(release: str, label: str, decoder_input: str = "raw") -> str:
    """The release, and for a vicious softmax model what its server's decoder G reads."""
    if release == "softmax" and label == "vicious":
        return f"softmax, G on {'log p' if decoder_input == 'log' else 'raw p'}"
    return release


def zoo_of(row: dict) -> str:
    """A row's zoo folder: scan_zoo writes reports to <zoo>/reports/."""
    return str(Path(row["report"]).parent.parent)


def leaking_vicious(rows: list[dict]) -> set[str]:
    """Names of vicious rows whose G SSIM exceeds that of every honest row of the same zoo and
    architecture, whatever its release: a vicious model must leak more than an honest model of its
    architecture can leak through any release (an honest logits model's decoder sees the most).

    A vicious row with no honest row to compare with counts as leaking: nothing shows that it does not.
    """
    honest_best: dict[tuple[str, str], float] = {}
    for r in rows:
        if r["label"] == "honest":
            key = (zoo_of(r), r["architecture"])
            honest_best[key] = max(honest_best.get(key, float("-inf")), r["decoder_ssim"])
    beaten = lambda r: honest_best.get((zoo_of(r), r["architecture"]), float("-inf"))  # noqa: E731
    return {r["name"] for r in rows if r["label"] == "vicious" and r["decoder_ssim"] > beaten(r)}
