"""Carving the attacker's data out of what the user gave: auxiliary inputs, or the labelled set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelscan_vicious.attacks.base import AttackData
from modelscan_vicious.data.augment import augment
from modelscan_vicious.errors import DataLoadError

EVAL_FRACTION = 0.2
MAX_EVAL = 500
MIN_EVAL = 20
AUGMENT_COPIES = 8


@dataclass(frozen=True)
class PreparedData:
    attack: AttackData
    reference_images: np.ndarray  # inputs the honest references train on
    probe_images: np.ndarray  # inputs on which outputs are compared (never trained on by references)


NOISE_AUX = "noise"  # `--aux noise`: an attacker who knows nothing about the data


def prepare_attack_data(
    labelled: np.ndarray, aux: np.ndarray | None, aux_name: str | None, *, max_aux: int, seed: int
) -> PreparedData:
    """Shuffle with the seed, hold out evaluation inputs, and say what the attacker had."""
    rng = np.random.default_rng(seed)
    if aux is not None:
        pool = aux[rng.permutation(len(aux))[:max_aux]]
        if len(pool) < 2 * MIN_EVAL:
            raise DataLoadError(f"{aux_name}: {len(pool)} auxiliary inputs; the attack needs at least {2 * MIN_EVAL}")
        n_eval = int(np.clip(EVAL_FRACTION * len(pool), MIN_EVAL, MAX_EVAL))
        train, held_out = pool[n_eval:], pool[:n_eval]
        description = f"auxiliary inputs ({len(train)} from {aux_name}), same source as the evaluation inputs"
        attack = AttackData(train, held_out, train, description, lower_bound=False)
        return PreparedData(attack=attack, reference_images=train, probe_images=held_out)
    order = rng.permutation(len(labelled))
    n_eval = int(np.clip(EVAL_FRACTION * len(labelled), min(MIN_EVAL, len(labelled) // 2), MAX_EVAL))
    held_out, base = labelled[order[:n_eval]], labelled[order[n_eval:]]
    augmented = augment(base, AUGMENT_COPIES, rng)
    if aux_name == NOISE_AUX:
        noise = rng.random((min(max_aux, len(augmented)), *labelled.shape[1:]), dtype=np.float32)
        description = f"uniform noise only ({len(noise)} inputs): the attacker knows nothing of the data"
        attack = AttackData(noise, held_out, augmented, description, lower_bound=True)
    else:
        description = f"labelled set only ({len(base)} inputs, augmented x{AUGMENT_COPIES}); a real server has more"
        attack = AttackData(augmented, held_out, augmented, description, lower_bound=True)
    return PreparedData(attack=attack, reference_images=augmented, probe_images=held_out)
