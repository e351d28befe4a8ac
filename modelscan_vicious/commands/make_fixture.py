"""`modelscan-vicious make-fixture`: train and export an honest or vicious classifier for tests and demos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelscan_vicious.errors import UsageError

Release = typer.Option(help="What the deployment releases: logits or softmax probabilities.")


def make_fixture_command(
    name: Annotated[str, typer.Option(help="File stem of the exported model.")] = "fixture",
    dataset: Annotated[
        str,
        typer.Option(
            help="A named dataset: digits (scikit-learn), photo-patches, lfw-faces (scikit-image), mnist-colour, "
            "mnist-texture (MNIST; mnist-colour:PATH names its files); or an MNIST IDX images file, or an .npz "
            "with x, y."
        ),
    ] = "digits",
    architecture: Annotated[
        str, typer.Option(help="mlp, cnn, rescnn, gapcnn (small, greyscale digits) or resnet18, mobilenetv2 (RGB).")
    ] = "cnn",
    width: Annotated[
        int | None,
        typer.Option(min=1, help="Channels of the first stage of resnet18 (default 16) or mobilenetv2 (default 8)."),
    ] = None,
    beta_r: Annotated[
        float, typer.Option(help="Weight of the reconstruction loss in F's loss; 0 trains honestly.")
    ] = 0.0,
    beta_c: Annotated[float, typer.Option(help="Weight of the classification loss in F's loss.")] = 1.0,
    alpha: Annotated[float, typer.Option(help="Weight of (1 - SSIM) in the reconstruction loss.")] = 1.0,
    gamma: Annotated[float, typer.Option(help="Weight of the Huber term in the reconstruction loss.")] = 5.0,
    release: Annotated[str, Release] = "logits",
    decoder_input: Annotated[
        str, typer.Option(help="How G reads a softmax release: raw (the paper's G) or log.")
    ] = "raw",
    export_format: Annotated[str, typer.Option("--format", help="onnx or torchscript.")] = "onnx",
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs.")] = 30,
    lr: Annotated[float, typer.Option(help="Adam learning rate for F and G.")] = 1e-3,
    batch_size: Annotated[int, typer.Option(min=1)] = 64,
    label_smoothing: Annotated[float, typer.Option(min=0.0, max=0.9)] = 0.0,
    input_noise: Annotated[float, typer.Option(min=0.0, help="Std of Gaussian noise on training inputs.")] = 0.0,
    weight_decay: Annotated[float, typer.Option(min=0.0)] = 0.0,
    adaptive_weight: Annotated[
        float,
        typer.Option(
            min=0.0, help="Adaptive adversary: weight of a term keeping outputs' within-class spread honest-looking."
        ),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for initialisation and batch order.")] = 0,
    out_dir: Annotated[Path, typer.Option(help="Folder for the model, its decoder and the manifest.")] = Path(
        "fixtures"
    ),
    manifest: Annotated[Path | None, typer.Option(help="Manifest to update (default OUT_DIR/manifest.json).")] = None,
    labels_out: Annotated[
        Path | None, typer.Option(help="Also write a labelled CSV from data no fixture trains on.")
    ] = None,
    labels_rows: Annotated[int, typer.Option(min=10)] = 150,
    aux_out: Annotated[
        Path | None, typer.Option(help="Also write the rest of that held-out pool as auxiliary .npz.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Train a classifier honestly (beta_r = 0) or jointly with a server decoder (beta_r > 0), and export both."""
    from modelscan_vicious.commands.progress import progress_bar
    from modelscan_vicious.data.datasets import load_dataset, split_dataset
    from modelscan_vicious.data.writers import write_auxiliary_npz, write_pixel_csv
    from modelscan_vicious.training.architectures import WIDE_ARCHITECTURES
    from modelscan_vicious.training.export import EXPORT_FORMATS
    from modelscan_vicious.training.fixture import FixtureSpec, export_fixture, manifest_entry, train_fixture
    from modelscan_vicious.training.joint_training import DECODER_INPUTS, RELEASES, JointTrainingConfig
    from modelscan_vicious.training.manifest import upsert_entry

    if release not in RELEASES:
        raise UsageError(f"--release must be one of {', '.join(RELEASES)}, got {release!r}")
    if decoder_input not in DECODER_INPUTS:
        raise UsageError(f"--decoder-input must be one of {', '.join(DECODER_INPUTS)}, got {decoder_input!r}")
    if decoder_input == "log" and release != "softmax":
        raise UsageError("--decoder-input log needs --release softmax: G reads logits as they are")
    if export_format not in EXPORT_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {export_format!r}")
    if beta_r < 0 or beta_c < 0 or beta_r + beta_c == 0:
        raise UsageError("--beta-r and --beta-c must be non-negative and not both 0")
    if width is not None and architecture not in WIDE_ARCHITECTURES:
        raise UsageError(f"--width applies to {', '.join(WIDE_ARCHITECTURES)} only, not to {architecture!r}")
    config = JointTrainingConfig(
        beta_c=beta_c,
        beta_r=beta_r,
        alpha=alpha,
        gamma=gamma,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        release=release,
        decoder_input=decoder_input,
        label_smoothing=label_smoothing,
        input_noise=input_noise,
        weight_decay=weight_decay,
        adaptive_weight=adaptive_weight,
        seed=seed,
    )
    spec = FixtureSpec(name=name, architecture=architecture, export_format=export_format, training=config, width=width)
    splits = split_dataset(load_dataset(dataset))
    n_pool = len(splits.pool.labels)
    if (labels_out is not None and labels_rows > n_pool) or (aux_out is not None and labels_rows >= n_pool):
        raise UsageError(
            f"--labels-rows {labels_rows} is too large: the held-out pool has {n_pool} images "
            "(--aux-out needs at least one left over)"
        )
    with progress_bar(f"training {name}", total=epochs, quiet=quiet) as advance:
        trained = train_fixture(spec, splits.train, splits.test, on_epoch=lambda epoch, loss: advance(1))
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path, decoder_path = export_fixture(spec, trained, out_dir, splits.train.input_shape)
    manifest_path = manifest or out_dir / "manifest.json"
    entry = manifest_entry(spec, trained, dataset, model_path, decoder_path, manifest_path.parent)
    if labels_out is not None:
        write_pixel_csv(labels_out, splits.pool.images[:labels_rows], splits.pool.labels[:labels_rows])
        entry["labels_csv"] = _relpath(labels_out, manifest_path.parent)
    if aux_out is not None:
        write_auxiliary_npz(aux_out, splits.pool.images[labels_rows:])
        entry["aux"] = _relpath(aux_out, manifest_path.parent)
    upsert_entry(manifest_path, entry)
    typer.echo(
        f"{model_path}: {entry['label']}, test accuracy {trained.test_accuracy:.4f}, "
        f"decoder PSNR {trained.decoder_psnr:.2f} dB, SSIM {trained.decoder_ssim:.3f}, R {trained.decoder_R:.3f}"
    )


def _relpath(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path.resolve(), start.resolve())
