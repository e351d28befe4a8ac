"""Build a zoo of honest and vicious classifiers with `make-fixture`, for calibration and benchmarks.

An adaptive adversary (`adaptive-b3`) is vicious with an extra loss term that keeps its outputs'
within-class spread small, like an honest model's. Honest models are trained normally and unusually
(label smoothing, 3 epochs, input noise, heavy weight decay); vicious ones across beta_R/beta_C in
{0.3, 1, 3}, logits and softmax release; with `--honest-softmax`, honest models released as softmax
too; with `--log-decoder`, softmax vicious models whose G reads log-probabilities; with
`--short-honest`, honest models trained for one epoch.
Formats alternate between ONNX and TorchScript.

    python -m benchmarks.zoo --dataset digits --archs mlp,cnn,rescnn --seed-base 100 --out benchmarks/out/calib
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.errors import BenchmarkInputError, load_json, run_main
from modelscan_vicious.cli import main as cli

RECIPES: dict[str, list[str]] = {
    "honest": [],
    "honest-smooth": ["--label-smoothing", "0.1"],
    "honest-3ep": ["--epochs", "3"],
    "honest-noise": ["--input-noise", "0.1"],
    "honest-wd": ["--weight-decay", "0.001"],
    "vicious-b0.3": ["--beta-r", "0.3"],
    "vicious-b1": ["--beta-r", "1"],
    "vicious-b3": ["--beta-r", "3"],
    "vicious-b1-softmax": ["--beta-r", "1", "--release", "softmax"],
    "vicious-b3-softmax": ["--beta-r", "3", "--release", "softmax"],
    # Adaptive adversary: vicious, plus a term keeping within-class output spread honest-looking.
    "adaptive-b3": ["--beta-r", "3", "--adaptive-weight", "3"],
}
# Honest models released as softmax (`--honest-softmax`): a false-alarm check for the probability
# release, whose references all take the standard recipe. Not in the calibration zoos, which predate them.
HONEST_SOFTMAX_RECIPES: dict[str, list[str]] = {
    "honest-softmax": ["--release", "softmax"],
    "honest-3ep-softmax": ["--epochs", "3", "--release", "softmax"],
    "honest-wd-softmax": ["--weight-decay", "0.001", "--release", "softmax"],
}


# Softmax vicious models whose server decoder reads floored log-probabilities (`--log-decoder`): the
# paper's G reads raw probabilities, and on the 8-epoch MNIST zoos those decoders did no better than
# an honest model's, so the raw-softmax fixtures are vicious in training but not in effect.
LOG_DECODER_RECIPES: dict[str, list[str]] = {
    "vicious-b1-softmax-log": ["--beta-r", "1", "--release", "softmax", "--decoder-input", "log"],
    "vicious-b3-softmax-log": ["--beta-r", "3", "--release", "softmax", "--decoder-input", "log"],
}
# Honest models trained for a single epoch (`--short-honest`), released as logits and as softmax:
# the "1-2 epochs" recipe, a false-alarm check on the held-out zoos (core recipes train 3).
SHORT_HONEST_RECIPES: dict[str, list[str]] = {
    "honest-1ep": ["--epochs", "1"],
    "honest-1ep-softmax": ["--epochs", "1", "--release", "softmax"],
}
# Optional groups, each switched on by the `zoo` flag of its name, in the order they were added.
OPTIONAL_GROUPS: dict[str, dict[str, list[str]]] = {
    "honest-softmax": HONEST_SOFTMAX_RECIPES,
    "log-decoder": LOG_DECODER_RECIPES,
    "short-honest": SHORT_HONEST_RECIPES,
}
# Seeds (seed_base + 10 * architecture index + place) and formats follow a recipe's place in this
# full list, whichever optional groups a zoo holds. With 16 recipes a seed can recur for another
# architecture and recipe (mlp's 14th and cnn's 4th): different models, kept for reproducibility.
ALL_RECIPES = {**RECIPES, **{name: flags for group in OPTIONAL_GROUPS.values() for name, flags in group.items()}}


# Labelled rows every zoo model's scan gets (the rest of the held-out pool is its auxiliary data).
LABELS_ROWS = 200


def zoo_recipes(groups: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """The recipes a zoo with these optional groups holds, in seed order."""
    chosen = [RECIPES, *(recipes for name, recipes in OPTIONAL_GROUPS.items() if name in groups)]
    return {name: flags for group in chosen for name, flags in group.items()}


def build_zoo(
    dataset: str,
    archs: list[str],
    seed_base: int,
    out: Path,
    epochs: int | None = None,
    recipes: list[str] | None = None,
    jobs: int = 1,
    groups: frozenset[str] = frozenset(),
    names: list[str] | None = None,
) -> list[dict]:
    """Train every (architecture, recipe) pair once; returns the manifest entries.

    Seeds and formats depend on a model's place in `archs` and ALL_RECIPES only, so adding an
    optional group to an existing zoo, or a partial rebuild (`recipes`, or deleting some files),
    reproduces exactly the models a full build would. `names` (architecture-recipe) narrows the
    build further, seeds unchanged. Every fixture trains on one PyTorch thread, whatever `jobs` is:
    float reductions depend on the thread count, so the same command must give the same models.
    """
    out.mkdir(parents=True, exist_ok=True)
    selected = zoo_recipes(groups)
    jobs_argv = []
    for a, arch in enumerate(archs):
        for r, (recipe, flags) in enumerate(ALL_RECIPES.items()):
            name = f"{arch}-{recipe}"
            if recipe not in selected or (recipes is not None and recipe not in recipes):
                continue
            if names is not None and name not in names:
                continue
            if any(out.glob(f"{name}.onnx")) or any(out.glob(f"{name}.pt")):
                continue  # resumable: a killed build picks up where it stopped
            fmt = "onnx" if (a + r) % 2 == 0 else "torchscript"
            extra = ["--epochs", str(epochs)] if epochs and "--epochs" not in flags else []
            jobs_argv.append(
                [
                    "make-fixture",
                    "--name",
                    name,
                    "--dataset",
                    dataset,
                    "--architecture",
                    arch,
                    "--format",
                    fmt,
                    "--seed",
                    str(seed_base + 10 * a + r),
                    "--out-dir",
                    str(out),
                    "--quiet",
                    *flags,
                    *extra,
                    "--labels-out",
                    str(out / "labels.csv"),
                    "--labels-rows",
                    str(LABELS_ROWS),
                    "--aux-out",
                    str(out / "aux.npz"),
                ]
            )
    from modelscan_vicious.scanning.parallel import limit_threads, threads_for

    if jobs <= 1:
        with threads_for(1):
            for argv in jobs_argv:
                _make_fixture(argv)
    else:  # one thread per worker also keeps oversubscribed OpenMP threads from spin-waiting
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(
            jobs, mp_context=get_context("spawn"), initializer=limit_threads, initargs=(1,)
        ) as pool:
            list(pool.map(_make_fixture, jobs_argv))
    return load_json(out / "manifest.json")


def _make_fixture(argv: list[str]) -> None:
    code = cli(argv)
    if code != 0:
        raise SystemExit(f"make-fixture failed for {argv[2]} (exit {code})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--archs", default="mlp,cnn,rescnn")
    parser.add_argument("--seed-base", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs of normal recipes")
    parser.add_argument("--recipes", default=None, help="comma list of recipe names (default: all the zoo holds)")
    for group, group_recipes in OPTIONAL_GROUPS.items():
        parser.add_argument(f"--{group}", action="store_true", help=f"also build {', '.join(group_recipes)}")
    parser.add_argument(
        "--names", default=None, help="comma list of architecture-recipe names to build (seeds as in the full zoo)"
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="fixtures trained in parallel processes (each on one thread)"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    recipes = args.recipes.split(",") if args.recipes else None
    names = args.names.split(",") if args.names else None
    groups = frozenset(g for g in OPTIONAL_GROUPS if getattr(args, g.replace("-", "_")))
    known = zoo_recipes(groups)
    unknown = sorted(set(recipes or []) - set(known))
    if unknown:
        raise BenchmarkInputError(f"unknown recipe {', '.join(unknown)}; choose from {', '.join(known)}")
    archs = args.archs.split(",")
    unknown_names = sorted(set(names or []) - {f"{a}-{r}" for a in archs for r in known})
    if unknown_names:
        hints = sorted(
            f"--{group}"
            for group, group_recipes in OPTIONAL_GROUPS.items()
            if group not in groups and any(f"{a}-{r}" in unknown_names for a in archs for r in group_recipes)
        )
        hint = f" (its recipe needs {' '.join(hints)})" if hints else ""
        raise BenchmarkInputError(f"unknown model name {', '.join(unknown_names)} for --archs {args.archs}{hint}")
    if recipes is not None and names is not None and not any(n.split("-", 1)[1] in recipes for n in names):
        raise BenchmarkInputError("--names and --recipes select no model together")
    entries = build_zoo(args.dataset, archs, args.seed_base, args.out, args.epochs, recipes, args.jobs, groups, names)
    print(f"{len(entries)} models in {args.out / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
