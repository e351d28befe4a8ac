"""Runs of the reference attack, cached: after training the references, the scan's largest piece of
reusable work (with three references, the attack stage runs the same attack four times).

An attack run sees the model only through the outputs it inverts, so a run is keyed by those outputs
(the oracle's features on the attacker's training and evaluation inputs, which cover the re-tempering
of a probability-output reference and the release), the attack and its settings, the attacker's data,
the seed and the execution environment. Rescanning a model reuses the runs on its references and on
the model itself; another model with the same outputs would too. An entry holds the outcome's arrays
(`.npz`, read with `allow_pickle=False`), its numbers (JSON; floats round-trip exactly) and PyTorch's
global random state after the run, which a hit restores, so later stages draw what they would have
drawn after a fresh run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from modelscan_vicious import __version__
from modelscan_vicious.attacks.base import Attack, AttackData, AttackOutcome, FeatureOracle
from modelscan_vicious.config import ScanConfig
from modelscan_vicious.scanning.reference_cache import OUTCOMES, CacheEntryError, active_cache, read_json
from modelscan_vicious.scanning.reference_key import array_digest, code_digest, execution_environment, reference_key
from modelscan_vicious.scanning.stages import LoadedInputs, ReferenceSet
from modelscan_vicious.training.classifier import module_predictor

Run = Callable[[Callable, str, str], AttackOutcome]  # (predict, output kind, release) -> outcome
_ARRAYS = ("reconstructions", "per_sample_risk", "originals")
_NUMBERS = ("R", "psnr", "ssim", "prototype_ssim")


def reference_outcomes(
    attack: Attack, loaded: LoadedInputs, references: ReferenceSet, config: ScanConfig, run: Run
) -> tuple[list[AttackOutcome], list[AttackOutcome]]:
    """The attack on every reference's full outputs and as released."""
    full, released = [], []
    for reference in references.references:
        predict = module_predictor(reference.module, config.device)
        full.append(run(predict, reference.output_kind, "logits"))
        released.append(full[-1] if config.release == "logits" else run(predict, reference.output_kind, config.release))
    return full, released


def cached_attack_run(
    attack: Attack, oracle: FeatureOracle, data: AttackData, *, seed: int, device: str
) -> AttackOutcome:
    """`attack.run(oracle, data, seed=seed)`, from the active cache when it holds the same run."""
    import torch

    cache = active_cache()
    if cache is None:
        return attack.run(oracle, data, seed=seed)
    key = _key(attack, oracle, data, seed, device)
    folder = cache.lookup(key, OUTCOMES)
    if folder is not None:
        try:
            outcome, cpu_state, cuda_state = _read(folder)
        except CacheEntryError as err:
            cache.reject(key, OUTCOMES, err)
        else:
            torch.set_rng_state(cpu_state)
            if cuda_state is not None and device == "cuda":
                torch.cuda.set_rng_state(cuda_state)
            return outcome
    outcome = attack.run(oracle, data, seed=seed)
    states = (torch.get_rng_state(), torch.cuda.get_rng_state() if device == "cuda" else None)
    cache.store(key, OUTCOMES, lambda folder: _write(folder, outcome, states))
    return outcome


def _key(attack: Attack, oracle: FeatureOracle, data: AttackData, seed: int, device: str) -> str:
    settings = {k: v for k, v in sorted(vars(attack).items()) if isinstance(v, (bool, int, float, str))}
    return reference_key(
        {
            "kind": OUTCOMES,
            "tool_version": __version__,
            "code": code_digest(),
            "attack": [type(attack).__qualname__, attack.name, settings],
            "outputs": [array_digest(np.asarray(oracle(data.train))), array_digest(np.asarray(oracle(data.eval)))],
            "data": [array_digest(data.train), array_digest(data.eval), array_digest(data.covariance_samples)],
            "seed": seed,
            "execution": execution_environment(device),
        }
    )


def _write(folder: Path, outcome: AttackOutcome, states: tuple[Any, Any]) -> None:
    arrays = {name: np.asarray(getattr(outcome, name)) for name in _ARRAYS if getattr(outcome, name) is not None}
    arrays["random_state"] = states[0].numpy()
    if states[1] is not None:
        arrays["cuda_random_state"] = states[1].numpy()
    np.savez(folder / "outcome.npz", **arrays)  # type: ignore[arg-type]
    numbers = {name: _number(getattr(outcome, name)) for name in _NUMBERS}
    (folder / "outcome.json").write_text(json.dumps(numbers), encoding="utf-8")


def _read(folder: Path) -> tuple[AttackOutcome, Any, Any]:
    import torch

    numbers = read_json(folder / "outcome.json")
    known = {f.name for f in fields(AttackOutcome)}
    try:
        with np.load(folder / "outcome.npz", allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        kwargs: dict[str, Any] = {name: float(numbers[name]) for name in _NUMBERS if name in known}
        kwargs.update({name: arrays[name] for name in _ARRAYS if name in arrays})
        outcome = AttackOutcome(**kwargs)
        states = [
            torch.from_numpy(arrays[name].astype(np.uint8)) if name in arrays else None
            for name in ("random_state", "cuda_random_state")
        ]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CacheEntryError(f"outcome unreadable ({type(err).__name__})") from None
    if states[0] is None:
        raise CacheEntryError("outcome without its random state")
    return outcome, states[0], states[1]


def _number(value: Any) -> float | str:
    value = float(value)
    return value if math.isfinite(value) else repr(value)  # "nan", "inf": strict JSON, float() reads them back
