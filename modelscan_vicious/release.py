"""What the deployment sends to the server, and how an attacker turns it into decoder inputs.

Probabilities go through a log (Yang et al., CCS 2019): log p differs from the logits only by a
per-row constant, so an attacker loses almost nothing to softmax; top-K keeps the K largest
probabilities (others 0, floored in the log); label-only keeps a one-hot of the argmax.
"""

from __future__ import annotations

import numpy as np

PROBABILITY_FLOOR = 1e-6


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def to_probabilities(outputs: np.ndarray, output_kind: str) -> np.ndarray:
    return outputs if output_kind == "probabilities" else softmax(outputs.astype(np.float64))


def released_outputs(outputs: np.ndarray, output_kind: str, release: str, k: int | None = None) -> np.ndarray:
    """The values the server receives under `release` ('logits', 'softmax', 'top-k', 'label')."""
    if release == "logits":
        return outputs.astype(np.float32)  # a probability-output model releases its probabilities
    probs = to_probabilities(outputs, output_kind)
    if release == "softmax":
        return probs.astype(np.float32)
    if release == "top-k":
        keep = np.argsort(-probs, axis=1)[:, :k]
        truncated = np.zeros_like(probs)
        np.put_along_axis(truncated, keep, np.take_along_axis(probs, keep, axis=1), axis=1)
        return truncated.astype(np.float32)
    if release == "label":
        one_hot = np.zeros_like(probs, dtype=np.float32)
        one_hot[np.arange(len(probs)), probs.argmax(axis=1)] = 1.0
        return one_hot
    raise ValueError(f"unknown release {release!r}")


def releases_probabilities(output_kind: str, release: str) -> bool:
    """Whether the server receives probabilities (or a truncation of them), whatever the model's head."""
    return release in ("softmax", "top-k") or (release == "logits" and output_kind == "probabilities")


def attack_features(released: np.ndarray, output_kind: str, release: str) -> np.ndarray:
    """Decoder inputs from released values: log-rescale anything that is a probability."""
    if releases_probabilities(output_kind, release):
        return np.log(np.maximum(released, PROBABILITY_FLOOR)).astype(np.float32)
    return released.astype(np.float32)
