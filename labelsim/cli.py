"""The ``labelsim`` command line (layer 7): parse, call the API, render, write.

Bad input of any kind (scenario file, flag value, output folder) ends with one
short message on stderr and exit code 2; nothing is written.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .engine import check_seed, parse_until, simulate
from .io import check_output_folder, load_scenario, write_folder, write_json
from .report import batch_table, money_lines
from .results import SimulationResult
from .scenario import LabelsimError

app = typer.Typer(
    name="labelsim",
    help="Simulate and forecast batch data labeling on a crowdsourcing platform.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns; give it room.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


class SortBy(str, Enum):
    name = "name"
    eta = "eta"


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (YAML).", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario value, e.g. batches.week-49.labeling_queue=1 (repeatable)."),
]


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; return the exit to raise (code 2)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code=2)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn errors a user can fix into one message and exit code 2."""
    try:
        yield
    except LabelsimError as exc:
        raise fail(str(exc)) from None


@contextmanager
def progress_bar(description: str, total: float = 1.0) -> Iterator[Callable[[float], None]]:
    """A rich progress bar on stderr (only on a terminal); yields ``update(completed)``."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda completed: bar.update(task, completed=completed)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"labelsim {__version__}")
        raise typer.Exit()


@app.command()
def validate(scenario: ScenarioArg, overrides: SetOpt = None) -> None:
    """Check a scenario file; print a one-line summary or the first problem."""
    with user_errors():
        spec = load_scenario(scenario, overrides or ())
    n_batches = sum(len(p.batches) for p in spec.projects)
    out.print(
        f"ok: {spec.name} — {len(spec.projects)} project(s), {n_batches} batch(es), "
        f"{len(spec.performers)} performer group(s), {len(spec.events)} event(s)",
        highlight=False,
    )


@app.command()
def run(
    scenario: ScenarioArg,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: fresh, recorded in run.json).")] = None,
    until: Annotated[str | None, typer.Option(help="Simulate at most this long, e.g. 3d (default: horizon).")] = None,
    sort: Annotated[SortBy | None, typer.Option(help="Sort the table by name or eta.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write every frame as CSV plus run.json here.")] = None,
    force: Annotated[bool, typer.Option(help="Replace a non-empty --out folder.")] = False,
    overrides: SetOpt = None,
) -> None:
    """Simulate a scenario once and print the batch table and a money summary."""
    with user_errors():
        spec = load_scenario(scenario, overrides or ())
        seed = check_seed(seed)
        until_s = parse_until(until)
        if out_dir is not None:
            check_output_folder(out_dir, force=force)
        with progress_bar("simulating") as update:
            result = simulate(spec, seed=seed, until=until_s, progress=update)
        render_run(result, sort.value if sort else None)
        if out_dir is not None:
            written = write_run(result, out_dir, force=force, argv=sys.argv[1:])
            err.print(f"wrote {written}", highlight=False)


def render_run(result: SimulationResult, sort: str | None) -> None:
    """Print the batch table, the money summary and any refused actions."""
    out.print(rich_table(batch_table(result.batches, sort), title=result.scenario.name))
    money = Table(show_header=False, box=None, padding=(0, 2))
    for label, value in money_lines(result):
        money.add_row(label, value)
    out.print(money)
    for row in result.warnings.itertuples():
        out.print(f"warning: {row.at:%Y-%m-%d %H:%M} {row.action} {row.target}: {row.message}", highlight=False)
    end = result.provenance["end"]
    why = "nothing left to do" if result.provenance["stop_reason"] == "settled" else "horizon reached"
    seed = result.provenance["seed"]
    out.print(f"simulated until {end[:16].replace('T', ' ')} ({why}), seed {seed}", highlight=False)


def rich_table(frame: Any, title: str | None = None) -> Table:
    """A rich table of a small frame of strings and numbers."""
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        justify = "right" if frame[column].dtype.kind in "if" else "left"
        table.add_column(str(column), justify=justify, no_wrap=True)
    for row in frame.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    return table


def write_run(result: SimulationResult, folder: Path, *, force: bool, argv: list[str]) -> Path:
    """Write every frame as CSV and ``run.json`` atomically into ``folder``."""
    writers: dict[str, Callable[[Path], None]] = {
        f"{name}.csv": (lambda path, frame=frame: frame.to_csv(path, index=False))
        for name, frame in result.frames().items()
    }
    payload = {
        "provenance": result.provenance,
        "money": result.money,
        "command": ["labelsim", *argv],
        "scenario": result.scenario.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    writers["run.json"] = lambda path: write_json(path, payload)
    return write_folder(folder, writers, force=force)


def main() -> None:
    """Entry point of the ``labelsim`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
