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
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .engine import check_seed, parse_until, simulate
from .forecast import Comparison, Forecast, compare, forecast
from .io import check_output_folder, load_scenario, write_folder, write_frames, write_json
from .report import (
    batch_table,
    comparison_table,
    forecast_table,
    money_lines,
    project_forecast_table,
)
from .results import SimulationResult
from .scenario import LabelsimError

# click's UsageError (typer >= 0.20 vendors click, older versions use the click package):
# typer.BadParameter derives from it in both.
_UsageError: type[Exception] = typer.BadParameter.__mro__[1]


class _Commands(typer.core.TyperGroup):
    """Click group whose usage errors (bad flag values…) are one ``error:`` line, exit code 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except _UsageError as exc:
            ctx = getattr(exc, "ctx", None)
            where = f"{ctx.command_path}: " if ctx is not None else ""
            message = exc.format_message().replace("Value error, ", "")  # type: ignore[attr-defined]
            err.print(f"[bold red]error:[/] {escape(where + message)}", highlight=False)
            sys.exit(2)
        except typer.Abort:
            err.print("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="labelsim",
    cls=_Commands,
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


class ExecutorName(str, Enum):
    serial = "serial"
    processes = "processes"
    dask = "dask"


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (YAML).", show_default=False, metavar="SCENARIO")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario value, e.g. batches.week-49.labeling_queue=1 (repeatable)."),
]


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; return the exit to raise (code 2)."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn errors a user can fix into one message and exit code 2."""
    try:
        yield
    except LabelsimError as exc:
        raise fail(str(exc)) from None


def check_run_options(
    seed: int | None, until: str | None, out_dir: Path | None, force: bool
) -> tuple[int | None, float | None]:
    """Validate the options shared by run, forecast and compare before any work starts."""
    checked_seed, until_s = check_seed(seed), parse_until(until)
    if out_dir is not None:
        check_output_folder(out_dir, force=force)
    return checked_seed, until_s


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
        seed, until_s = check_run_options(seed, until, out_dir, force)
        with progress_bar("simulating") as update:
            result = simulate(spec, seed=seed, until=until_s, progress=update)
        render_run(result, sort.value if sort else None)
        if out_dir is not None:
            written = write_run(result, out_dir, force=force, argv=sys.argv[1:])
            err.print(f"wrote {written}", highlight=False, markup=False)


def render_run(result: SimulationResult, sort: str | None) -> None:
    """Print the batch table, the money summary and any refused actions."""
    out.print(rich_table(batch_table(result.batches, sort), title=result.scenario.name))
    money = Table(show_header=False, box=None, padding=(0, 2))
    for label, value in money_lines(result):
        money.add_row(escape(label), escape(value))
    out.print(money)
    for row in result.warnings.itertuples():
        text = f"warning: {row.at:%Y-%m-%d %H:%M} {row.action} {row.target}: {row.message}"
        out.print(text, highlight=False, markup=False)
    end = result.provenance["end"]
    why = "nothing left to do" if result.provenance["stop_reason"] == "settled" else "horizon reached"
    seed = result.provenance["seed"]
    out.print(f"simulated until {end[:16].replace('T', ' ')} ({why}), seed {seed}", highlight=False)


def rich_table(frame: Any, title: str | None = None) -> Table:
    """A rich table of a small frame of strings and numbers."""
    table = Table(title=escape(title) if title else None, title_justify="left")
    for column in frame.columns:
        justify = "right" if frame[column].dtype.kind in "if" else "left"
        table.add_column(str(column), justify=justify, no_wrap=True)
    for row in frame.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
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


ReplicationsOpt = Annotated[int, typer.Option("--replications", "-n", min=1, help="Number of replications.")]
JobsOpt = Annotated[int | None, typer.Option(min=1, help="Parallel workers (default: 1, serial).")]
ExecutorOpt = Annotated[
    ExecutorName | None,
    typer.Option(help="serial, processes (joblib) or dask (default: processes when --jobs > 1)."),
]
SchedulerOpt = Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")]
SeedOpt = Annotated[int | None, typer.Option(help="Root seed (default: fresh, recorded in the output).")]
UntilOpt = Annotated[str | None, typer.Option(help="Simulate at most this long, e.g. 3d (default: horizon).")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write the frames (CSV, Parquet) and provenance here.")]
ForceOpt = Annotated[bool, typer.Option(help="Replace a non-empty --out folder.")]


@app.command("forecast")
def forecast_command(
    scenario: ScenarioArg,
    replications: ReplicationsOpt = 200,
    jobs: JobsOpt = None,
    executor: ExecutorOpt = None,
    scheduler: SchedulerOpt = None,
    seed: SeedOpt = None,
    until: UntilOpt = None,
    out_dir: OutOpt = None,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Forecast ETAs with uncertainty: P10/P50/P90 per batch and per project."""
    with user_errors():
        spec = load_scenario(scenario, overrides or ())
        seed, _ = check_run_options(seed, until, out_dir, force)
        with progress_bar("replications", replications) as update:
            result = forecast(
                spec, replications, seed, executor.value if executor else None, jobs,
                lambda done, _total: update(done), scheduler=scheduler, until=until,
            )
        render_forecast(result)
        if out_dir is not None:
            written = write_forecast(result, out_dir, force=force, argv=sys.argv[1:])
            err.print(f"wrote {written}", highlight=False, markup=False)


def render_forecast(result: Forecast) -> None:
    """Print the batch and project forecast tables."""
    out.print(rich_table(forecast_table(result.eta), title=f"{result.scenario.name} — forecast"))
    out.print(rich_table(project_forecast_table(result.project_eta), title="Projects"))
    p = result.provenance
    out.print(
        f"{p['replications']} replications, seed {p['seed']}, {p['executor']} × {p['jobs']}, "
        f"{p['wall_time_s']:.1f} s; ETA = when a batch is Completed; 'later' = beyond the horizon",
        highlight=False,
    )


def write_forecast(result: Forecast, folder: Path, *, force: bool, argv: list[str]) -> Path:
    """Write the forecast frames (CSV, and Parquet when pyarrow is installed) and forecast.json."""
    payload = {"provenance": result.provenance, "command": ["labelsim", *argv],
               "scenario": result.scenario.to_mapping()}
    return write_folder(folder, write_frames(result.frames(), payload, "forecast.json"), force=force)


@app.command("compare")
def compare_command(
    base: ScenarioArg,
    variant: Annotated[Path | None, typer.Argument(help="Variant scenario file (default: the base).")] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Change for the variant, e.g. account.balance=500 (repeatable).")
    ] = None,
    replications: ReplicationsOpt = 200,
    jobs: JobsOpt = None,
    executor: ExecutorOpt = None,
    scheduler: SchedulerOpt = None,
    seed: SeedOpt = None,
    until: UntilOpt = None,
    out_dir: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """What-if: compare a variant (a second file and/or --set changes) with the base, paired."""
    with user_errors():
        base_spec = load_scenario(base)
        if variant is None and not overrides:
            raise LabelsimError("compare: give a variant file or at least one --set change")
        variant_spec = load_scenario(variant if variant is not None else base, overrides or ())
        seed, _ = check_run_options(seed, until, out_dir, force)
        with progress_bar("replications", 2 * replications) as update:
            result = compare(
                base_spec, variant_spec, replications, seed, executor.value if executor else None, jobs,
                lambda done, _total: update(done), scheduler=scheduler, until=until,
            )
        render_comparison(result, overrides or [], variant)
        if out_dir is not None:
            frames = {"comparison": result.batches, "project_comparison": result.projects,
                      "base_eta": result.base.eta, "variant_eta": result.variant.eta}
            payload = {"provenance": result.provenance, "command": ["labelsim", *sys.argv[1:]]}
            written = write_folder(out_dir, write_frames(frames, payload, "compare.json"), force=force)
            err.print(f"wrote {written}", highlight=False, markup=False)


def render_comparison(result: Comparison, overrides: list[str], variant: Path | None) -> None:
    """Print the paired differences per batch and per project."""
    change = ", ".join([*([str(variant)] if variant else []), *overrides])
    out.print(rich_table(comparison_table(result.batches), title=f"Variant ({change}) − base, per batch"))
    out.print(rich_table(comparison_table(result.projects), title="Per project"))
    p = result.provenance
    out.print(
        f"{p['replications']} paired replications on common random numbers, seed {p['seed']}; "
        "a change is 'earlier'/'later' when its 95% confidence interval excludes 0",
        highlight=False,
    )


# --------------------------------------------------------------------------- calibrate


@app.command("calibrate")
def calibrate_command(
    log: Annotated[Path, typer.Argument(help="An assignment log: a platform export (Toloka, MTurk, Figure Eight).")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Forecast origin (ISO time; default: the log's last "
                                                               "timestamp).")] = None,
    items: Annotated[int | None, typer.Option("--items", help="Items in the batch (the log cannot tell).")] = None,
    overlap: Annotated[int | None, typer.Option("--overlap", help="Assignments per suite.")] = None,
    time_limit: Annotated[str | None, typer.Option("--time-limit", help="Assignment time limit, e.g. 10m.")] = None,
    reward: Annotated[float | None, typer.Option("--reward", help="USD per assignment.")] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="Zone of the hour-of-day profile.")] = "UTC",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the scenario YAML here (a new file).")] = None,
) -> None:
    """Fit a scenario (live state + crowd, with uncertainty) to an assignment log up to --as-of."""
    from .calibrate import calibrate
    from .io import write_text_new
    from .logs import read_log

    with user_errors():
        if out_file is not None and out_file.exists():
            raise LabelsimError(f"--out {out_file}: file exists; choose another name or remove it")
        frame = read_log(log)
        cal = calibrate(frame, as_of=as_of, items=items, overlap=overlap, time_limit=time_limit, reward=reward,
                        timezone=timezone)
        text = cal.to_yaml()
        if out_file is not None:
            write_text_new(out_file, text)
            out.print(f"wrote {out_file}", highlight=False)
        else:
            out.print(text, highlight=False, markup=False, soft_wrap=True)


# --------------------------------------------------------------------------- backtest


def _parse_origins(text: str) -> tuple[float, ...]:
    values = []
    for part in text.split(","):
        word = part.strip()
        try:
            value = float(word[:-1]) / 100 if word.endswith("%") else float(word)
        except ValueError:
            raise LabelsimError(f"--at: {word!r} is not a share such as 25% or 0.25") from None
        if not 0 < value < 1:
            raise LabelsimError(f"--at: {word!r} must be between 0% and 100%")
        values.append(value)
    return tuple(values)


@app.command("backtest")
def backtest_command(
    logs: Annotated[list[Path], typer.Argument(help="Finished batches' logs (platform exports).")],
    at: Annotated[str, typer.Option("--at", help="Forecast origins: shares of the submitted assignments.")]
    = "25%,50%,75%",
    replications: Annotated[int, typer.Option("--replications", "-n", help="Replications per forecast.")] = 40,
    seed: Annotated[int, typer.Option("--seed", help="Root seed.")] = 0,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write the tables and a plot into this new folder.")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out folder.")] = False,
) -> None:
    """Cut finished logs at past moments, calibrate and forecast from each cut, score against the real end."""
    import pandas as pd

    from .backtest import score
    from .calibrate import forecaster
    from .logs import read_log

    with user_errors():
        origins = _parse_origins(at)
        if replications < 1:
            raise LabelsimError(f"--replications: must be at least 1, got {replications}")
        if out_dir is not None:
            check_output_folder(out_dir, force=force)
        frames = []
        for path in logs:
            frame = read_log(path)
            single = frame["batch"].nunique() == 1  # one batch per file: name it by the file
            frame["batch"] = path.stem if single else f"{path.stem}:" + frame["batch"].astype(str)
            frames.append(frame)
        log = pd.concat(frames, ignore_index=True)
        result = score(log, forecaster(replications=replications, seed=seed), at=origins)
    rows = result.rows.assign(as_of=result.rows["as_of"].dt.strftime("%Y-%m-%d %H:%M"))
    out.print(rich_table(rows.round(2), title="Backtest: remaining hours per (batch, origin)"))
    out.print(rich_table(result.summary.round(3), title="Summary: labelsim beside the platform formula"))
    if out_dir is not None:
        from .plots import plot_backtest

        def plot(path: Path) -> None:
            ax = plot_backtest(result.rows)
            ax.figure.savefig(path, dpi=120)

        writers = write_frames({"backtest": result.rows, "backtest_summary": result.summary},
                               {"argv": sys.argv, "labelsim_version": __version__}, "backtest.json")
        writers["backtest.png"] = plot
        write_folder(out_dir, writers, force=force)
        out.print(f"wrote {out_dir}", highlight=False)


def main() -> None:
    """Entry point of the ``labelsim`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
