"""Scan settings: one frozen dataclass built once (settings.py: defaults, config file, flags), then only read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from modelscan_vicious.data.scaling import InputScaling
from modelscan_vicious.errors import UsageError

# Default probability gate, chosen on the calibration zoos only (docs/benchmarks.md, README "Thresholds"):
# above the highest P(vicious) an honest model got when its architecture was left out of the fit
# (0.642; the next multiple of 0.05 above it).
DEFAULT_FAIL_ON_PROBABILITY = 0.65
# The default risk gate is relative: R at least the highest R of the scan's own honest references plus
# this margin. R depends on the data, the image size and the attacker's data, so no one absolute number
# means the same everywhere (1.20 flagged both honest samples without --aux). 0.03 is the smallest margin
# that flagged no honest model on the calibration zoos nor the held-out zoos (benchmarks/risk_gate.py).
RELATIVE_RISK_MARGIN = 0.03


@dataclass(frozen=True)
class Budget:
    """How much work each stage may do; `fast` is for CI, `thorough` for a release decision."""

    name: str
    n_references: int  # honest reference copies (seeds)
    reference_epochs: int  # epochs to train each reference from scratch
    finetune_steps: int  # honest fine-tuning steps for the drift evidence
    attack_epochs: int  # epochs of the surrogate inverse network
    max_aux: int  # auxiliary inputs used at most
    n_bootstrap: int  # bootstrap resamples for the probability interval
    rmle_steps: int  # optimisation steps of the white-box rMLE attack
    rmle_samples: int  # held-out inputs the rMLE attack inverts
    timeout_s: float  # default wall-clock limit of one model's scan (--timeout)


BUDGETS = {
    "fast": Budget("fast", n_references=3, reference_epochs=20, finetune_steps=30, attack_epochs=40, max_aux=2000,
                   n_bootstrap=200, rmle_steps=200, rmle_samples=32, timeout_s=1800),
    "standard": Budget("standard", n_references=4, reference_epochs=30, finetune_steps=50, attack_epochs=80,
                       max_aux=5000, n_bootstrap=500, rmle_steps=500, rmle_samples=64, timeout_s=3600),
    "thorough": Budget("thorough", n_references=6, reference_epochs=40, finetune_steps=80, attack_epochs=200,
                       max_aux=20000, n_bootstrap=1000, rmle_steps=2000, rmle_samples=128, timeout_s=14400),
}  # fmt: skip

# RLIMIT_AS counts address space, not resident memory: the worker's imports (PyTorch, onnxruntime,
# scikit-learn) map 0.9 GiB before the first tensor, and a fast digits scan peaked at 1.0 GiB (0.5 GiB
# resident, one thread). The default leaves room for RGB models at 224 px.
DEFAULT_MAX_MEMORY = "8G"
RELEASE_CHOICES = ("logits", "softmax", "label")  # plus "top-K" for K >= 1
DEVICES = ("auto", "cpu", "cuda")
FORMATS = ("json", "html", "sarif")
EXECUTORS = ("local", "ray")
# How honest references are made (scanning/references.py): trained from scratch, the suspect with its head
# (last two weight layers) re-trained (training/head.py; for models too large to train from scratch in the time
# given), or `auto`: from scratch when it fits --timeout, else the head method; where the calibration file has
# a head fit, also the head method when from-scratch references would take over 10 minutes (scanning/cost.py).
REFERENCE_METHODS = ("auto", "scratch", "head")


@dataclass(frozen=True)
class ScanConfig:
    labels: Path
    aux: Path | None = None
    release: str = "logits"
    output_dir: Path = Path("modelscan-report")
    formats: tuple[str, ...] = ("json", "html")
    fail_on_probability: float = DEFAULT_FAIL_ON_PROBABILITY
    fail_on_risk: float | None = None  # an absolute R gate; None: relative to the honest references
    seed: int = 0
    device: str = "cpu"  # resolved: "cpu" or "cuda"
    budget: Budget = field(default_factory=lambda: BUDGETS["fast"])
    input_shape: tuple[int, int, int] | None = None
    scaling: InputScaling = field(default_factory=InputScaling)
    pixel_range: str = "auto"
    mitigate: bool = False
    references: str = "auto"  # REFERENCE_METHODS; the scan resolves auto to the method it ran
    jobs: int = 1  # models scanned in parallel worker processes
    quiet: bool = False
    timeout: float | None = None  # seconds per model; None: the budget's default
    max_memory_bytes: int = field(default_factory=lambda: parse_memory(DEFAULT_MAX_MEMORY))
    containment: bool = True  # False only for measuring its overhead (--no-containment)
    allow_weak_containment: bool = False
    sources: tuple[tuple[str, str], ...] = ()  # (setting, "default" | "file <path>" | "flag"), for the report
    # Batch scans (none of these changes a report's numbers, so settings_dict leaves them out):
    cache_dir: Path | None = None  # the reference cache; None: no cache (--no-cache)
    executor: str = "local"  # "local" (--jobs processes) | "ray"
    ray_address: str | None = None  # --ray-address; None: a local Ray cluster
    force: bool = False  # rescan models whose reports are up to date

    def __post_init__(self) -> None:
        parse_release(self.release)
        if not 0.0 <= self.fail_on_probability <= 1.0:
            raise UsageError(f"--fail-on-probability must be in [0, 1], got {self.fail_on_probability}")
        if self.fail_on_risk is not None and not self.fail_on_risk > 0:  # also refuses NaN, which no R reaches
            raise UsageError(f"--fail-on-risk must be positive, got {self.fail_on_risk}")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise UsageError(f"--format takes a comma list of {', '.join(FORMATS)}, got {','.join(self.formats)!r}")
        if str(self.output_dir) == "-" and self.formats != ("json",):
            raise UsageError("--output - writes the JSON report to stdout; use it with --format json")
        if self.executor not in EXECUTORS:
            raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.references not in REFERENCE_METHODS:
            raise UsageError(f"--references must be one of {', '.join(REFERENCE_METHODS)}, got {self.references!r}")
        if self.jobs < 1:
            raise UsageError(f"--jobs must be at least 1, got {self.jobs}")
        if self.pixel_range not in ("auto", "0-1", "0-255"):
            raise UsageError(f"--pixel-range must be auto, 0-1 or 0-255, got {self.pixel_range!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise UsageError(f"--timeout must be a positive number of seconds, got {self.timeout}")
        if self.max_memory_bytes < MIN_MEMORY_BYTES:
            raise UsageError(
                f"--max-memory must be at least {MIN_MEMORY_BYTES >> 30} GiB (the worker's libraries "
                f"alone map 0.9 GiB), got {self.max_memory_bytes / 2**30:.2f} GiB"
            )

    @property
    def to_stdout(self) -> bool:
        """`--output -`: the JSON report goes to stdout and no file is written."""
        return str(self.output_dir) == "-"

    @property
    def timeout_s(self) -> float:
        return self.timeout if self.timeout is not None else self.budget.timeout_s

    def settings_dict(self) -> dict:
        return {
            "seed": self.seed,
            "device": self.device,
            "budget": asdict(self.budget),
            "release": self.release,
            "thresholds": {
                "fail_on_probability": self.fail_on_probability,
                "fail_on_risk": self.fail_on_risk if self.fail_on_risk is not None else "auto",
            },
            "labels": str(self.labels),
            "aux": str(self.aux) if self.aux else None,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "scaling": self.scaling.to_dict(),
            "pixel_range": self.pixel_range,
            "mitigate": self.mitigate,
            "references": self.references,
            "sources": dict(self.sources),
        }


def parse_release(release: str) -> tuple[str, int | None]:
    """'logits' | 'softmax' | 'label' | 'top-K' -> (kind, K)."""
    if release in RELEASE_CHOICES:
        return release, None
    if release.startswith("top-") and release[4:].isdigit() and int(release[4:]) >= 1:
        return "top-k", int(release[4:])
    raise UsageError(f"--release must be logits, softmax, label or top-K (e.g. top-3), got {release!r}")


MIN_MEMORY_BYTES = 1 << 30
_MEMORY_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_memory(text: str) -> int:
    """'8G', '512M', '4096' (MiB), '2.5GiB' -> bytes."""
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = _MEMORY_UNITS.get(value[-1:], None)
    number = value[:-1] if unit else value
    try:
        amount = float(number)
    except ValueError:
        raise UsageError(f"--max-memory must be a size such as 8G or 512M, got {text!r}") from None
    if not amount > 0:
        raise UsageError(f"--max-memory must be positive, got {text!r}")
    return int(amount * (unit or _MEMORY_UNITS["M"]))


def parse_input_shape(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    parts = text.replace("x", ",").split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise UsageError(f"--input-shape must be C,H,W with positive integers, got {text!r}")
    return tuple(int(p) for p in parts)  # type: ignore[return-value]


def resolve_device(device: str) -> str:
    if device not in DEVICES:
        raise UsageError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise UsageError("--device cuda was requested but no CUDA device is available")
    return "cpu"
