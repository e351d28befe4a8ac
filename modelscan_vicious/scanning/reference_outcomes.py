"""The reference attack on the honest references, cached: after the references themselves, the scan's
largest piece of per-architecture work (three quarters of the attack stage with three references).

The key covers the references as they are attacked (graph code, weights, the temperature a
probability-output reference was re-tempered to), the attack and its settings, the attacker's data,
the release, the seed and the execution environment. An entry holds every outcome's arrays (`.npz`,
read with `allow_pickle=False`), its numbers (JSON; floats round-trip exactly), and PyTorch's global
random state after the last attack, which a hit restores, so later stages draw exactly what they would
have drawn after a fresh attack.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from modelscan_vicious import __version__
from modelscan_vicious.attacks.base import Attack, AttackOutcome
from modelscan_vicious.config import ScanConfig
from modelscan_vicious.scanning.reference_cache import OUTCOMES, CacheEntryError, active_cache, read_json
from modelscan_vicious.scanning.reference_key import array_digest, execution_environment, reference_key
from modelscan_vicious.scanning.stages import LoadedInputs, ReferenceSet
from modelscan_vicious.training.classifier import module_predictor

Run = Callable[[Callable, str, str], AttackOutcome]  # (predict, output kind, release) -> outcome
_ARRAYS = ("reconstructions", "per_sample_risk", "originals")
_NUMBERS = ("R", "psnr", "ssim", "prototype_ssim")


def reference_outcomes(
    attack: Attack, loaded: LoadedInputs, references: ReferenceSet, config: ScanConfig, run: Run
) -> tuple[list[AttackOutcome], list[AttackOutcome]]:
    """The attack on every reference's full outputs and as released; from the cache when it holds them."""
    import torch

    cache = active_cache()
    key = _key(attack, loaded, references, config) if cache is not None else ""
    folder = cache.lookup(key, OUTCOMES) if cache is not None else None
    if cache is not None and folder is not None:
        try:
            full, released, random_state = _read(folder, len(references.references), config.release == "logits")
        except CacheEntryError as err:
            cache.reject(key, OUTCOMES, err)
        else:
            torch.set_rng_state(random_state[0])
            if random_state[1] is not None:
                torch.cuda.set_rng_state(random_state[1])
            return full, released
    full, released = [], []
    for reference in references.references:
        predict = module_predictor(reference.module, config.device)
        full.append(run(predict, reference.output_kind, "logits"))
        released.append(full[-1] if config.release == "logits" else run(predict, reference.output_kind, config.release))
    if cache is not None:
        state = (torch.get_rng_state(), torch.cuda.get_rng_state() if config.device == "cuda" else None)
        cache.store(key, OUTCOMES, lambda folder: _write(folder, full, released, state))
    return full, released


def _key(attack: Attack, loaded: LoadedInputs, references: ReferenceSet, config: ScanConfig) -> str:
    settings = {k: v for k, v in sorted(vars(attack).items()) if isinstance(v, (bool, int, float, str))}
    data = loaded.prepared.attack
    return reference_key(
        {
            "kind": OUTCOMES,
            "tool_version": __version__,
            "attack": [type(attack).__qualname__, attack.name, settings],
            "references": [[_module_digest(r.module), r.output_kind] for r in references.references],
            "data": [array_digest(data.train), array_digest(data.eval), array_digest(data.covariance_samples)],
            "release": config.release,
            "seed": config.seed,
            "execution": execution_environment(config.device),
        }
    )


def _module_digest(module: Any) -> str:
    """A reference as attacked: its graph code, every tensor of its state, its temperature if re-tempered."""
    digest = hashlib.sha256(repr(getattr(module, "temperature", None)).encode())
    for name, submodule in module.named_modules():
        code = getattr(submodule, "code", "")
        digest.update(f"{name}:{type(submodule).__qualname__}:{code if isinstance(code, str) else ''}".encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(array_digest(tensor.detach().cpu().numpy()).encode())
    return digest.hexdigest()


def _write(folder: Path, full: list[AttackOutcome], released: list[AttackOutcome], random_state: Any) -> None:
    arrays: dict[str, np.ndarray] = {"random_state": random_state[0].numpy()}
    if random_state[1] is not None:
        arrays["cuda_random_state"] = random_state[1].numpy()
    numbers: dict[str, Any] = {"n": len(full), "released_is_full": all(r is f for r, f in zip(released, full))}
    for variant, outcomes in (("full", full), ("released", released)):
        for index, outcome in enumerate(outcomes):
            for name in _ARRAYS:
                value = getattr(outcome, name)
                if value is not None:
                    arrays[f"{variant}-{index}-{name}"] = np.asarray(value)
            numbers[f"{variant}-{index}"] = {name: _number(getattr(outcome, name)) for name in _NUMBERS}
    np.savez(folder / "outcomes.npz", **arrays)  # type: ignore[arg-type]
    (folder / "outcomes.json").write_text(json.dumps(numbers), encoding="utf-8")


def _read(
    folder: Path, n_references: int, released_is_full: bool
) -> tuple[list[AttackOutcome], list[AttackOutcome], Any]:
    import torch

    numbers = read_json(folder / "outcomes.json")
    if numbers.get("n") != n_references or numbers.get("released_is_full") != released_is_full:
        raise CacheEntryError("outcomes.json does not match this scan's references")
    try:
        with np.load(folder / "outcomes.npz", allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        variants = ("full",) if released_is_full else ("full", "released")
        outcomes = {v: [_outcome(arrays, numbers, f"{v}-{i}") for i in range(n_references)] for v in variants}
        random_state = tuple(
            torch.from_numpy(arrays[name].astype(np.uint8)) if name in arrays else None
            for name in ("random_state", "cuda_random_state")
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CacheEntryError(f"outcomes unreadable ({type(err).__name__})") from None
    return outcomes["full"], outcomes["full" if released_is_full else "released"], random_state


def _outcome(arrays: dict[str, np.ndarray], numbers: dict[str, Any], prefix: str) -> AttackOutcome:
    values = numbers[prefix]
    known = {f.name for f in fields(AttackOutcome)}
    kwargs: dict[str, Any] = {name: float(values[name]) for name in _NUMBERS if name in known}
    for name in _ARRAYS:
        if f"{prefix}-{name}" in arrays:
            kwargs[name] = arrays[f"{prefix}-{name}"]
    return AttackOutcome(**kwargs)


def _number(value: Any) -> float | str:
    value = float(value)
    return value if math.isfinite(value) else repr(value)  # "nan", "inf": strict JSON, float() reads them back
