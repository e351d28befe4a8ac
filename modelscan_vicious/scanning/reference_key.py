"""The reference cache's key: a digest of everything that determines a scan's honest references.

From-scratch references are re-initialised copies of the suspect trained on data the scan prepares, so
their key covers what they start from and what they learn from, never the suspect's trained weights:

- the architecture: the trainable copy after `reinitialise(seed=0)` (parameter and buffer names, dtypes,
  shapes and values, so constants the re-initialisation keeps, such as the input scaling, count) and
  the code of every submodule (FX or TorchScript graphs);
- the training set the references consume: the labelled images plus the attacker's inputs, and their
  labels, pseudo-labels included (they come from the suspect's predictions);
- seed, recipes and epochs, device, thread count and CPU capability (they change the float sums),
  PyTorch and tool versions, and a digest of the package's sources.

Two models with the same architecture and the same predictions on the scan's data share a key. Head
references (`training/head.py`) keep the suspect's own weights outside the head, so their key also
covers those weights (`weights_digest`): no other model shares it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch import nn

KEY_FORMAT = 1
KEY_PATTERN = re.compile(r"^[0-9a-f]{64}$")
# TorchScript names classes `__torch__.___torch_mangle_N.Net`, N counting the loads in this process.
_MANGLE = re.compile(r"___torch_mangle_\d+\.?")


def reference_key(parts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of `parts` (plain values: strings, numbers, lists, dicts)."""
    canonical = json.dumps({"format": KEY_FORMAT, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def array_digest(array: np.ndarray) -> str:
    """sha256 over dtype, shape and the bytes of a C-contiguous copy."""
    contiguous = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{contiguous.dtype.str}{contiguous.shape}".encode())
    digest.update(contiguous.tobytes())
    return digest.hexdigest()


def architecture_fingerprint(module: nn.Module) -> str:
    """What a reference starts from: `module` (a fresh trainable copy, modified in place) re-initialised
    with a fixed seed, hashed with its submodules' code. Independent of the suspect's trained weights."""
    from modelscan_vicious.training.classifier import reinitialise

    digest = hashlib.sha256()
    reinitialise(module, 0)
    for name, submodule in module.named_modules():
        code = getattr(submodule, "code", "")
        kind = getattr(submodule, "original_name", type(submodule).__qualname__)
        _update(digest, "module", name, str(kind), _MANGLE.sub("", code if isinstance(code, str) else ""))
    for name, parameter in module.named_parameters():
        _update(digest, "trainable", name, str(parameter.requires_grad))
    _update_tensors(digest, module)
    return digest.hexdigest()


def weights_digest(module: nn.Module) -> str:
    """sha256 of `module`'s parameters and buffers as they are (names, dtypes, shapes, values)."""
    digest = hashlib.sha256()
    _update_tensors(digest, module)
    return digest.hexdigest()


def _update_tensors(digest: Any, module: nn.Module) -> None:
    import torch

    for name, tensor in module.state_dict(keep_vars=False).items():
        values = tensor.detach().cpu().contiguous()
        _update(digest, "tensor", name, str(values.dtype), str(tuple(values.shape)))
        digest.update(values.reshape(-1).view(torch.uint8).numpy().tobytes())


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 of this package's Python sources: a development checkout changes code without changing the
    version, and references trained by other code are not the references this code would train."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        _update(digest, path.relative_to(root).as_posix())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def execution_environment(device: str) -> dict[str, Any]:
    """What changes the references' float sums besides their inputs."""
    import torch

    environment: dict[str, Any] = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "device": device,
    }
    if device == "cuda":
        environment["cuda_device"] = torch.cuda.get_device_name()
        environment["cuda"] = torch.version.cuda
    return environment


def _update(digest: Any, *fields: str) -> None:
    for field in fields:
        encoded = field.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
