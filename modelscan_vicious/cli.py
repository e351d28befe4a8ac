"""The `modelscan-vicious` command line: the Typer app and its one place for error -> exit code mapping."""

from __future__ import annotations

import os
import sys

import typer

from modelscan_vicious import __version__
from modelscan_vicious.errors import EXIT_SCAN_ERROR, EXIT_USAGE_ERROR, ScanError

app = typer.Typer(
    name="modelscan-vicious",
    help="Scan image classifiers for vicious training: outputs that let a server reconstruct the inputs.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"modelscan-vicious {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version.", metavar=""
    ),
) -> None:
    """Scan image classifiers for vicious training."""


# Command modules import only Typer at module level; heavy work is imported inside each command.
from modelscan_vicious.commands import make_fixture, scan  # noqa: E402

app.command("scan", epilog=scan.EXAMPLES)(scan.scan_command)
app.command("make-fixture")(make_fixture.make_fixture_command)


def _click_exceptions():
    """Typer >= 0.29 vendors Click as typer._click; older Typer depends on Click itself."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - depends on the installed Typer
        from click import exceptions
    return exceptions


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every expected failure becomes one line on stderr and a documented exit code."""
    click = _click_exceptions()
    try:
        result = app(args=argv, standalone_mode=False, prog_name="modelscan-vicious")
    except click.UsageError as err:  # Click uses 2 for usage; ours is 4 (2 means scan error)
        typer.echo(f"error: {err.format_message()}", err=True)
        return EXIT_USAGE_ERROR
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except ScanError as err:
        typer.echo(f"error: {err}", err=True)
        return err.exit_code
    except OSError as err:
        typer.echo(f"error: {err.strerror or err}: {getattr(err, 'filename', '') or ''}".rstrip(": "), err=True)
        return EXIT_SCAN_ERROR
    except Exception as err:  # a bug of ours: still one line, unless the user asks for the traceback
        if os.environ.get("MODELSCAN_VICIOUS_DEBUG"):
            raise
        typer.echo(f"internal error: {type(err).__name__}: {err} (set MODELSCAN_VICIOUS_DEBUG=1 for details)", err=True)
        return EXIT_SCAN_ERROR
    return int(result or 0)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
