"""Rich progress bars on stderr, silenced by --quiet and when stderr is not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(description: str, total: int, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """Yield an `advance(n)` callable; a no-op when quiet."""
    if quiet:

        def ignore(n: int = 1) -> None:
            return None

        yield ignore
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            progress.advance(task, n)

        yield advance


@contextmanager
def stage_progress(console, label: str, quiet: bool) -> Iterator[Callable[[str], None]]:
    """Follow one model's scan: its cost estimate as one line (also in CI logs), and on a terminal a bar
    over the stages, weighted by the estimate, with the time the estimate says is left."""
    from modelscan_vicious.scanning.stages import STAGES, read_estimate

    estimate: dict[str, float] = {}

    def print_estimate(seconds: dict[str, float]) -> None:
        estimate.update(seconds)
        if quiet:
            return
        ordered = [(stage, seconds[stage]) for stage in STAGES if seconds.get(stage, 0.0) >= 0.5]
        parts = ", ".join(f"{stage} {_duration(s)}" for stage, s in ordered)
        total = _duration(sum(seconds.values()))
        console.print(f"{label}: estimated {total} ({parts})", highlight=False, soft_wrap=True, markup=False)

    if quiet or not console.is_terminal:
        yield lambda message: print_estimate(seconds) if (seconds := read_estimate(message)) else None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), TextColumn("{task.fields[eta]}"))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{label}: starting", total=len(STAGES), eta="")

        def on_stage(message: str) -> None:
            seconds = read_estimate(message)
            if seconds is not None:
                print_estimate(seconds)
                progress.update(task, total=max(sum(seconds.values()), 1e-6), completed=0)
                return
            index = STAGES.index(message) if message in STAGES else 0
            done = sum(estimate.get(s, 0.0) for s in STAGES[:index]) if estimate else index
            left = sum(estimate.get(s, 0.0) for s in STAGES[index:])
            eta = f"about {_duration(left)} left" if estimate else ""
            progress.update(task, description=f"{label}: {message}", completed=done, eta=eta)

        yield on_stage


@contextmanager
def batch_progress(console, total: int, quiet: bool) -> Iterator[Callable[[], None]]:
    """Models finished out of `total`, with the time left at the pace so far (parallel scans too)."""
    if quiet or total < 2 or not console.is_terminal:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("models"), BarColumn(), MofNCompleteColumn(), TextColumn("left"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("models", total=total)
        yield lambda: progress.advance(task)


def _duration(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"
