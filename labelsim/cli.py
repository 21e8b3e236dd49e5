"""The ``labelsim`` command line (layer 7): parse, call the API, render, write.

Bad input of any kind (scenario file, flag value, output folder) ends with one
short message on stderr and exit code 2; nothing is written.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .engine import check_scheduler, check_seed, check_until, parse_until, simulate
from .forecasting import MIN_EFFECT_FRACTION, MIN_EFFECT_S, Comparison, Forecast, compare, forecast
from .io import (
    OutputTarget,
    check_output_folder,
    csv_writer,
    load_scenario,
    write_folder,
    write_frames,
    write_json,
)
from .logs import format_export, log_from_result
from .planning import Plan, Sweep, plan, sweep
from .report import (
    batch_table,
    build_report,
    comparison_figures,
    comparison_table,
    forecast_figures,
    forecast_table,
    format_stamp,
    money_lines,
    project_forecast_table,
    render_plan_report,
    resolve_deadline,
    result_figures,
)
from .results import SimulationResult
from .scenario import LabelsimError, Scenario
from .scenario.errors import one_line
from .scenario.limits import MAX_JOBS, MAX_REPLICATIONS
from .starter import bundled_scenarios, init_scenario
from .units import format_duration
from .yamlschema import scenario_json_schema

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
            err.print(f"[bold red]error:[/] {escape(one_line(where + message))}", highlight=False, soft_wrap=True)
            sys.exit(2)
        except typer.Abort:
            err.print("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="labelsim",
    cls=_Commands,
    help="Simulate and forecast batch data labeling on a crowdsourcing platform.",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns; give it room.
out = Console(width=None if sys.stdout.isatty() else 320)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


class SortBy(str, Enum):
    name = "name"
    eta = "eta"


class ExportFormat(str, Enum):
    toloka = "toloka"
    mturk = "mturk"
    figure_eight = "figure-eight"


#: File extension of each export format.
EXPORT_SUFFIX = {"toloka": "tsv", "mturk": "csv", "figure-eight": "csv"}


class ExecutorName(str, Enum):
    serial = "serial"
    processes = "processes"
    dask = "dask"


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (YAML).", show_default=False, metavar="SCENARIO")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario value, e.g. batches.week-49.labeling_queue=1 (repeatable)."),
]

PlotsOpt = Annotated[bool, typer.Option("--plots", help="Also save the figures as PNG files into --out.")]


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; return the exit to raise (code 2)."""
    err.print(f"[bold red]error:[/] {escape(one_line(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def preflight(spec: Scenario, until_s: float | None = None) -> None:
    """Before running: refuse a run too large for ``until_s``, then print the scenario's warnings.

    Warnings (:meth:`Scenario.lint`) are ``warning: ...`` lines on stderr, never fatal.
    """
    check_until(spec, until_s)
    for warning in spec.lint(until_s):
        err.print(f"warning: {one_line(warning)}", highlight=False, markup=False, soft_wrap=True)


def check_replicated_run(
    spec: Scenario, seed: int | None, until: str | None, out_dir: Path | None, force: bool,
    executor: ExecutorName | None, scheduler: str | None,
) -> tuple[int | None, float | None, OutputTarget | None]:
    """The checks of every command that runs replications, before any work: seed, ``--until`` and ``--out``
    (:func:`check_run_options`), the dask scheduler, the run's size and the scenario's warnings (:func:`preflight`)."""
    checked_seed, until_s, target = check_run_options(seed, until, out_dir, force)
    check_scheduler(scheduler, executor.value if executor else None)
    preflight(spec, until_s)
    return checked_seed, until_s, target


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn errors a user can fix into one message and exit code 2."""
    try:
        yield
    except LabelsimError as exc:
        raise fail(str(exc)) from None


def check_run_options(
    seed: int | None, until: str | None, out_dir: Path | None, force: bool
) -> tuple[int | None, float | None, OutputTarget | None]:
    """Validate the options shared by run, forecast and compare before any work starts.

    The ``--out`` folder is checked for real here (parents created, a file written and removed in its
    parent); the returned target lets the write detect a change made while the run was working.
    """
    checked_seed, until_s = check_seed(seed), parse_until(until)
    target = check_output_folder(out_dir, force=force) if out_dir is not None else None
    return checked_seed, until_s, target


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
    preflight(spec)
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
    plots: PlotsOpt = False,
    export: Annotated[
        ExportFormat | None,
        typer.Option(help="Also write the simulated assignments as the platform's export, one file per batch "
                          "(toloka TSV, mturk or figure-eight CSV) into --out."),
    ] = None,
) -> None:
    """Simulate a scenario once and print the batch table and a money summary."""
    with user_errors():
        spec = load_scenario(scenario, overrides or ())
        if export is not None and out_dir is None:
            raise LabelsimError("--export: give --out DIR to write the export files in")
        seed, until_s, target = check_run_options(seed, until, out_dir, force)
        preflight(spec, until_s)
        check_plots(plots, out_dir)
        with progress_bar("simulating") as update:
            result = simulate(spec, seed=seed, until=until_s, progress=update)
        render_run(result, sort.value if sort else None)
        if target is not None:
            written = write_run(result, target, force=force, argv=sys.argv[1:],
                                figures=result_figures(result) if plots else None,
                                export=export.value if export is not None else None)
            err.print(f"wrote {written}", highlight=False, markup=False)


def render_run(result: SimulationResult, sort: str | None) -> None:
    """Print the batch table, the money summary and any refused actions."""
    out.print(rich_table(batch_table(result.batches, sort), title=result.scenario.name))
    money = Table(show_header=False, box=None, padding=(0, 2))
    for label, value in money_lines(result):
        money.add_row(escape(label), escape(value))
    out.print(money)
    warnings = result.warnings
    for at, action, target, message in zip(
        warnings["at"], warnings["action"], warnings["target"], warnings["message"], strict=True
    ):
        text = f"warning: {format_stamp(at)} {action} {target}: {message}"
        out.print(text, highlight=False, markup=False)
    end = format_stamp(pd.Timestamp(result.provenance["end"]).tz_convert(result.start.tz))
    why = "nothing left to do" if result.provenance["stop_reason"] == "settled" else "horizon reached"
    seed = result.provenance["seed"]
    out.print(f"simulated until {end} ({why}), seed {seed}", highlight=False)


def rich_table(frame: Any, title: str | None = None) -> Table:
    """A rich table of a small frame of strings and numbers."""
    table = Table(title=escape(title) if title else None, title_justify="left")
    for column in frame.columns:
        justify: Literal["left", "right"] = "right" if frame[column].dtype.kind in "if" else "left"
        table.add_column(str(column), justify=justify, no_wrap=True)
    for row in frame.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
    return table


def write_run(
    result: SimulationResult, folder: Path | OutputTarget, *, force: bool, argv: list[str],
    figures: dict[str, bytes] | None = None, export: str | None = None,
) -> Path:
    """Write every frame as CSV, ``run.json``, any figures (PNG bytes by file name) and, with ``export``, the
    assignments as the platform's export files (``export-BATCH.tsv|csv``) atomically into ``folder``."""
    writers: dict[str, Callable[[Path], object]] = {
        f"{name}.csv": csv_writer(frame) for name, frame in result.frames().items()
    }
    command = ["labelsim", *argv]
    payload = {
        "provenance": result.provenance,
        "money": result.money,
        "command": command,
        "scenario": result.scenario.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    writers["run.json"] = lambda path: write_json(path, payload)
    writers.update(png_writers(figures or {}))
    if export is not None:
        writers.update(export_writers(result, export))
    return write_folder(folder, writers, force=force, command=command)


def export_writers(result: SimulationResult, fmt: str) -> dict[str, Callable[[Path], object]]:
    """Writers of one platform export file per batch (a Figure Eight report holds one job)."""
    log = log_from_result(result)
    writers: dict[str, Callable[[Path], object]] = {}
    for batch, rows in log.groupby("batch", sort=False):
        text = format_export(rows, fmt)
        stem = "export-" + str(batch).replace("/", "-")
        writers[f"{stem}.{EXPORT_SUFFIX[fmt]}"] = _text_writer(text)
    return writers


def _text_writer(text: str) -> Callable[[Path], object]:
    """A writer of ``text`` (UTF-8) at the path it is given."""
    return lambda path: path.write_text(text, encoding="utf-8")


def _bytes_writer(data: bytes) -> Callable[[Path], object]:
    """A writer of ``data`` at the path it is given."""
    return lambda path: path.write_bytes(data)


def check_plots(plots: bool, out_dir: Path | None) -> None:
    """``--plots`` needs ``--out`` (the figures are files in it)."""
    if plots and out_dir is None:
        raise LabelsimError("--plots: give --out DIR to save the figures in")


def png_writers(figures: dict[str, bytes]) -> dict[str, Callable[[Path], object]]:
    """Writers for figures given as PNG bytes by file name."""
    return {name: _bytes_writer(data) for name, data in figures.items()}


ReplicationsOpt = Annotated[
    int, typer.Option("--replications", "-n", min=1, max=MAX_REPLICATIONS, help="Number of replications.")
]
JobsOpt = Annotated[int | None, typer.Option(min=1, max=MAX_JOBS, help="Parallel workers (default: 1, serial).")]
ExecutorOpt = Annotated[
    ExecutorName | None,
    typer.Option(help="serial, processes (joblib) or dask (default: processes when --jobs > 1)."),
]
SchedulerOpt = Annotated[
    str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (implies --executor dask).")
]
SeedOpt = Annotated[int | None, typer.Option(help="Root seed (default: fresh, recorded in the output).")]
UntilOpt = Annotated[str | None, typer.Option(help="Simulate at most this long, e.g. 3d (default: horizon).")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write the frames (CSV, Parquet) and provenance here.")]
ForceOpt = Annotated[bool, typer.Option(help="Replace a non-empty --out folder.")]


PrecisionOpt = Annotated[
    str | None,
    typer.Option(help="Add replications until each batch's P50 ETA has a 95% CI this narrow, e.g. 10m."),
]
MaxReplicationsOpt = Annotated[
    int | None, typer.Option("--max-replications", min=1, help="Cap of --precision (default 4000).")
]


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
    precision: PrecisionOpt = None,
    max_replications: MaxReplicationsOpt = None,
    plots: PlotsOpt = False,
) -> None:
    """Forecast ETAs with uncertainty: P10/P50/P90 per batch and per project."""
    with user_errors():
        spec = load_scenario(scenario, overrides or ())
        seed, _, target = check_replicated_run(
            spec, seed, until, out_dir, force, executor, scheduler
        )
        check_plots(plots, out_dir)
        with progress_bar("replications") as update:
            result = forecast(
                spec, replications, seed, executor.value if executor else None, jobs,
                lambda done, total: update(done / total), scheduler=scheduler, until=until,
                precision=precision, max_replications=max_replications, keep_runs=plots,
            )
        render_forecast(result)
        if target is not None:
            written = write_forecast(result, target, force=force, argv=sys.argv[1:],
                                     figures=forecast_figures(result) if plots else None)
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
    if "precision_s" in p:
        out.print(precision_line(p), highlight=False)


def write_forecast(
    result: Forecast, folder: Path | OutputTarget, *, force: bool, argv: list[str],
    figures: dict[str, bytes] | None = None,
) -> Path:
    """Write the forecast frames (CSV, and Parquet when pyarrow is installed), forecast.json and any figures."""
    command = ["labelsim", *argv]
    payload = {"provenance": result.provenance, "command": command, "scenario": result.scenario.to_mapping()}
    writers = write_frames(result.frames(), payload, "forecast.json")
    writers.update(png_writers(figures or {}))
    return write_folder(folder, writers, force=force, command=command)


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
    plots: PlotsOpt = False,
) -> None:
    """What-if: compare a variant (a second file and/or --set changes) with the base, paired."""
    with user_errors():
        base_spec = load_scenario(base)
        if variant is None and not overrides:
            raise LabelsimError("compare: give a variant file or at least one --set change")
        variant_spec = load_scenario(variant if variant is not None else base, overrides or ())
        seed, _, target = check_replicated_run(
            variant_spec, seed, until, out_dir, force, executor, scheduler
        )
        check_plots(plots, out_dir)
        with progress_bar("replications", 2 * replications) as update:
            result = compare(
                base_spec, variant_spec, replications, seed, executor.value if executor else None, jobs,
                lambda done, _total: update(done), scheduler=scheduler, until=until,
            )
        render_comparison(result, overrides or [], variant)
        if target is not None:
            frames = {"comparison": result.batches, "project_comparison": result.projects,
                      "base_eta": result.base.eta, "variant_eta": result.variant.eta}
            command = ["labelsim", *sys.argv[1:]]
            payload = {"provenance": result.provenance, "command": command}
            writers = write_frames(frames, payload, "compare.json")
            writers.update(png_writers(comparison_figures(result) if plots else {}))
            written = write_folder(target, writers, force=force, command=command)
            err.print(f"wrote {written}", highlight=False, markup=False)


def render_comparison(result: Comparison, overrides: list[str], variant: Path | None) -> None:
    """Print the paired differences per batch and per project."""
    change = ", ".join([*([str(variant)] if variant else []), *overrides])
    out.print(rich_table(comparison_table(result.batches), title=f"Variant ({change}) − base, per batch"))
    out.print(rich_table(comparison_table(result.projects), title="Per project"))
    p = result.provenance
    out.print(
        f"{p['replications']} paired replications on common random numbers, seed {p['seed']}; "
        "a change is 'earlier'/'later' when its 95% confidence interval excludes 0 and its mean is at least "
        f"{MIN_EFFECT_S / 60:g} min and {100 * MIN_EFFECT_FRACTION:g}% of the base's time to finish",
        highlight=False,
    )


# --------------------------------------------------------------------------- calibrate


OpenWorkExponent = Annotated[float, typer.Option(
    "--open-work-exponent", help="β (0–2): sessions come at (open ÷ needed work)^β times the rate, a nearly done "
                                 "batch sinking in the task lists; given, not fitted (default 0).")]


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
    open_work_exponent: OpenWorkExponent = 0.0,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the scenario YAML here (a new file).")] = None,
) -> None:
    """Fit a scenario (live state + crowd, with uncertainty) to an assignment log up to --as-of."""
    from .calibration import calibrate
    from .io import write_text_new
    from .logs import read_log

    with user_errors():
        if out_file is not None and out_file.exists():
            raise LabelsimError(f"--out {out_file}: file exists; choose another name or remove it")
        frame = read_log(log)
        cal = calibrate(frame, as_of=as_of, items=items, overlap=overlap, time_limit=time_limit, reward=reward,
                        timezone=timezone, open_work_exponent=_open_work_exponent(open_work_exponent))
        text = cal.to_yaml()
        if out_file is not None:
            write_text_new(out_file, text)
            err.print(f"wrote {out_file}", highlight=False, markup=False)
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


def _open_work_exponent(value: float) -> float:
    if not 0.0 <= value <= 2.0:
        raise LabelsimError(f"--open-work-exponent: must be from 0 to 2, got {value:g}")
    return value


@app.command("backtest")
def backtest_command(
    logs: Annotated[list[Path], typer.Argument(help="Finished batches' logs (platform exports).")],
    at: Annotated[str, typer.Option("--at", help="Forecast origins: shares of the submitted assignments.")]
    = "25%,50%,75%",
    replications: Annotated[int, typer.Option("--replications", "-n", help="Replications per forecast.")] = 40,
    seed: Annotated[int, typer.Option("--seed", help="Root seed.")] = 0,
    open_work_exponent: OpenWorkExponent = 0.0,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write the tables and a plot into this new folder.")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out folder.")] = False,
) -> None:
    """Cut finished logs at past moments, calibrate and forecast from each cut, score against the real end."""
    import pandas as pd

    from .backtest import score
    from .calibration import forecaster
    from .logs import read_log

    with user_errors():
        origins = _parse_origins(at)
        beta = _open_work_exponent(open_work_exponent)
        if replications < 1:
            raise LabelsimError(f"--replications: must be at least 1, got {replications}")
        target = check_output_folder(out_dir, force=force) if out_dir is not None else None
        frames = []
        for path in logs:
            frame = read_log(path)
            single = frame["batch"].nunique() == 1  # one batch per file: name it by the file
            frame["batch"] = path.stem if single else f"{path.stem}:" + frame["batch"].astype(str)
            frames.append(frame)
        log = pd.concat(frames, ignore_index=True)
        result = score(log, forecaster(replications=replications, seed=seed, open_work_exponent=beta), at=origins)
        for reason in result.skipped:
            err.print(f"warning: left out {reason}", highlight=False, markup=False)
        if result.rows.empty:
            raise LabelsimError("backtest: nothing to score: no batch in the logs has finished assignments with "
                                "submit times")
    rows = result.rows.assign(as_of=result.rows["as_of"].dt.strftime("%Y-%m-%d %H:%M %Z"))
    out.print(rich_table(rows.round(2), title="Backtest: remaining hours per (batch, origin)"))
    out.print(rich_table(result.summary.round(3), title="Summary: labelsim beside the platform formula"))
    if target is not None:
        from .plots import plot_backtest
        from .report import figure_png

        command = ["labelsim", *sys.argv[1:]]
        writers = write_frames({"backtest": result.rows, "backtest_summary": result.summary},
                               {"command": command, "labelsim_version": __version__}, "backtest.json")
        writers.update(png_writers({"backtest.png": figure_png(plot_backtest, result.rows, (6, 6), dpi=120)}))
        with user_errors():
            written = write_folder(target, writers, force=force, command=command)
        err.print(f"wrote {written}", highlight=False, markup=False)


@app.command("init")
def init_command(
    path: Annotated[Path, typer.Argument(help="File to write (or a folder: scenario.yaml in it).")] = Path(
        "scenario.yaml"
    ),
    example: Annotated[
        str | None, typer.Option(help="Write a bundled example instead: " + ", ".join(bundled_scenarios()) + ".")
    ] = None,
) -> None:
    """Write a commented starter scenario (never overwrites a file)."""
    with user_errors():
        written = init_scenario(path, example)
    err.print(f"wrote {written}; next: labelsim validate {written}", highlight=False, markup=False)


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of scenario files as written in YAML (for editors)."""
    typer.echo(json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------- capacity planning


def precision_line(p: dict[str, Any]) -> str:
    """How adaptive replications ended (forecast ``--precision``)."""
    widest = format_duration(p["p50_ci_width_max_s"]) if math.isfinite(p["p50_ci_width_max_s"]) else "unbounded"
    target = format_duration(p["precision_s"])
    if p["precision_met"]:
        return f"precision {target} met: widest 95% CI of a P50 ETA {widest} after {p['replications']} replications"
    return (f"precision {target} NOT met: the cap of {p['max_replications']} replications was hit with the widest "
            f"95% CI of a P50 ETA {widest} (raise --max-replications)")


def parse_vary(text: str) -> tuple[str, tuple[float, float]]:
    """``KEY=LO..HI`` → ``(KEY, (LO, HI))``; whole numbers stay ints."""
    key, sep, span = text.partition("=")
    low, dots, high = span.partition("..")
    if not sep or not key.strip() or not dots:
        raise LabelsimError(f"--vary {text}: expected KEY=LO..HI, e.g. performers.crowd.sessions_per_hour=5..200")
    try:
        bounds = tuple(int(v) if v.strip().lstrip("-").isdigit() else float(v) for v in (low, high))
    except ValueError:
        raise LabelsimError(f"--vary {text}: LO and HI must be numbers, e.g. 5..200") from None
    if not bounds[0] < bounds[1]:
        raise LabelsimError(f"--vary {text}: LO must be below HI")
    return key.strip(), (bounds[0], bounds[1])


def parse_grid(texts: list[str]) -> dict[str, list[str]]:
    """``["KEY=V1,V2", …]`` → ``{KEY: [V1, V2]}`` (values read as YAML later)."""
    grid: dict[str, list[str]] = {}
    for text in texts:
        key, sep, values = text.partition("=")
        items = [v.strip() for v in values.split(",")]
        if not sep or not key.strip() or not all(items):
            raise LabelsimError(f"--grid {text}: expected KEY=V1,V2,..., e.g. performers.crowd.sessions_per_hour=20,40")
        if key.strip() in grid:
            raise LabelsimError(f"--grid {key.strip()}: given twice; list all its values in one --grid")
        grid[key.strip()] = items
    if not grid:
        raise LabelsimError("--grid: give at least one KEY=V1,V2,...")
    return grid


def frontier_table(result: Plan) -> Table:
    """The values tried, as a rich table (times in the scenario's zone, named)."""
    zone = result.scenario.timezone
    table = Table(title=escape(f"Frontier — {result.vary}"), title_justify="left")
    headers = ["value", "n", "P(on time)", "95% CI", f"ETA P50 ({zone})", f"ETA P90 ({zone})", "cost P50",
               "utilisation"]
    for header in headers:
        table.add_column(escape(header), justify="left" if header.startswith("ETA") else "right", no_wrap=True)

    def when(stamp: Any) -> str:
        return "not within horizon" if pd.isna(stamp) else f"{stamp:%a %m-%d %H:%M}"

    for row in result.frontier.itertuples(index=False):
        value = f"{row.value:.0f}" if result.integer else f"{row.value:.4g}"
        mark = " ←" if result.required is not None and row.value == result.required else ""
        table.add_row(
            value + mark, str(row.replications), f"{row.p_on_time:.2f}",
            f"[{row.p_on_time_lo:.2f}, {row.p_on_time_hi:.2f}]", when(row.eta_p50_at), when(row.eta_p90_at),
            f"{row.cost_p50_usd:.2f} USD", f"{row.utilisation:.2f}",
        )
    return table


def render_plan(result: Plan) -> None:
    """Print the answer, the analytic guess and the frontier."""
    out.print(("answer: " if result.reachable else "") + result.message, highlight=False, markup=False)
    guess = result.analytic
    if guess.value is not None:
        shown = f"{guess.value:.0f}" if result.integer else f"{guess.value:.4g}"
        out.print(f"analytic guess ({guess.method}): {shown} — {guess.note}", highlight=False, markup=False)
    else:
        out.print(f"analytic guess: none ({guess.note})", highlight=False, markup=False)
    out.print(frontier_table(result))
    p = result.provenance
    out.print(
        f"{p['values_tried']} values tried, {p['replications_run']} replications in all (common random numbers, "
        f"seed {p['seed']}), {p['wall_time_s']:.1f} s",
        highlight=False,
    )


def write_plan(result: Plan, folder: Path | OutputTarget, *, force: bool, argv: list[str]) -> Path:
    """Write the frontier (CSV, Parquet when pyarrow is installed) and plan.json atomically into ``folder``.

    With it go ``report.html`` (one self-contained page) and ``report.md``: the answer, the frontier table and
    figure, and the provenance.
    """
    command = ["labelsim", *argv]
    payload = {**result.to_dict(), "command": command, "scenario": result.scenario.to_mapping()}
    writers = write_frames(result.frames(), payload, "plan.json")
    document = render_plan_report(result, command=command)
    writers["report.html"] = lambda path: path.write_text(document.html, encoding="utf-8")
    writers["report.md"] = lambda path: path.write_text(document.markdown, encoding="utf-8")
    writers.update(png_writers(document.figures))
    return write_folder(folder, writers, force=force, command=command)


@app.command("plan")
def plan_command(
    scenario: ScenarioArg,
    vary: Annotated[str, typer.Option(help="KEY=LO..HI, e.g. performers.crowd.sessions_per_hour=5..200.")],
    deadline: Annotated[
        str | None, typer.Option(help="When the batches must be Completed: 3d or 2026-12-04T18:00 (scenario zone).")
    ] = None,
    confidence: Annotated[float, typer.Option(help="Required probability of meeting the deadline.")] = 0.9,
    batch: Annotated[
        list[str] | None, typer.Option("--batch", help="A batch that must finish (repeatable; default: all launched).")
    ] = None,
    replications: Annotated[
        int, typer.Option("--replications", "-n", min=1, help="Replications per value tried.")
    ] = 100,
    precision: PrecisionOpt = None,
    max_replications: MaxReplicationsOpt = None,
    jobs: JobsOpt = None,
    executor: ExecutorOpt = None,
    scheduler: SchedulerOpt = None,
    seed: SeedOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write the frontier and plan.json here.")] = None,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Capacity plan: the smallest value of a parameter that meets a deadline with the given confidence."""
    with user_errors():
        spec = load_scenario(scenario, overrides or ())
        key, between = parse_vary(vary)
        seed, _, target = check_replicated_run(
            spec, seed, None, out_dir, force, executor, scheduler
        )
        with progress_bar("planning") as update:
            result = plan(
                spec, key, between, deadline, confidence, batch or None, replications, seed,
                executor.value if executor else None, jobs, scheduler=scheduler, precision=precision,
                max_replications=max_replications, progress=lambda done, total: update(done / total),
            )
        render_plan(result)
        if target is not None:
            written = write_plan(result, target, force=force, argv=sys.argv[1:])
            err.print(f"wrote {written}", highlight=False, markup=False)


@app.command("sweep")
def sweep_command(
    scenario: ScenarioArg,
    grid: Annotated[
        list[str], typer.Option("--grid", help="KEY=V1,V2,... (repeatable: the Cartesian product is run).")
    ],
    replications: ReplicationsOpt = 100,
    jobs: JobsOpt = None,
    executor: ExecutorOpt = None,
    scheduler: SchedulerOpt = None,
    seed: SeedOpt = None,
    until: UntilOpt = None,
    out_dir: OutOpt = None,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Run every combination of parameter values, each with the same replications (long-format rows)."""
    with user_errors():
        spec = load_scenario(scenario, overrides or ())
        values = parse_grid(grid)
        seed, _, target = check_replicated_run(
            spec, seed, until, out_dir, force, executor, scheduler
        )
        with progress_bar("sweep") as update:
            result = sweep(
                spec, values, replications, seed, executor.value if executor else None, jobs,
                scheduler=scheduler, until=until, progress=lambda done, total: update(done / total),
            )
        render_sweep(result)
        if target is not None:
            command = ["labelsim", *sys.argv[1:]]
            payload = {"provenance": result.provenance, "grid": result.grid, "command": command,
                       "scenario": spec.to_mapping()}
            written = write_folder(
                target, write_frames(result.frames(), payload, "sweep.json"), force=force, command=command
            )
            err.print(f"wrote {written}", highlight=False, markup=False)


def render_sweep(result: Sweep) -> None:
    """Print one row per (point, batch): the parameters, ETA P50, P(complete), cost P50."""
    summary = result.summary
    frame = summary[["point", *result.grid]].copy()
    frame["batch"] = summary["batch"]
    frame["ETA P50"] = [("not within horizon" if pd.isna(s) else f"{s:%Y-%m-%d %H:%M %Z}") for s in summary["eta_p50"]]
    frame["P(complete)"] = [f"{p:.0%}" for p in summary["p_complete"]]
    frame["cost P50"] = [f"{c:.2f} USD" for c in summary["cost_p50_usd"]]
    frame["No money"] = [f"{p:.0%}" for p in summary["p_no_money"]]
    out.print(rich_table(frame, title=f"Sweep — {len(result.grid)} parameter(s), {result.provenance['points']} points"))
    p = result.provenance
    out.print(
        f"{p['replications']} replications per point (common random numbers, seed {p['seed']}), "
        f"{p['wall_time_s']:.1f} s",
        highlight=False,
    )


#: Replications kept whole for the report's fans and timeline (memory grows with each kept run).
FAN_RUNS = 100


@app.command("report")
def report_command(
    scenario: ScenarioArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Write report.html, report.md and the figures here.")],
    replications: ReplicationsOpt = 100,
    deadline: Annotated[
        str | None, typer.Option(help="Deadline: a duration from the start (3d) or a date and time (2026-12-03T18:00).")
    ] = None,
    jobs: JobsOpt = None,
    executor: ExecutorOpt = None,
    scheduler: SchedulerOpt = None,
    seed: SeedOpt = None,
    until: UntilOpt = None,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Forecast a scenario and write a report: report.html (one self-contained page) and report.md."""
    with user_errors():
        spec = load_scenario(scenario, overrides or ())
        seed, _, target = check_replicated_run(
            spec, seed, until, out_dir, force, executor, scheduler
        )
        due = resolve_deadline(spec, deadline) if deadline is not None else None
        with progress_bar("replications", replications) as update:
            result = forecast(
                spec, replications, seed, executor.value if executor else None, jobs,
                lambda done, _total: update(done), scheduler=scheduler, until=until,
                keep_runs=replications <= FAN_RUNS,
            )
        if result.runs is None:  # the fans from the first FAN_RUNS replications (same seed: the same runs)
            result.runs = forecast(spec, FAN_RUNS, result.provenance["seed"], executor.value if executor else None,
                                   jobs, scheduler=scheduler, until=until, keep_runs=True).runs
        document = build_report(result, deadline=due, command=["labelsim", *sys.argv[1:]])
        writers: dict[str, Callable[[Path], object]] = {
            "report.html": lambda path: path.write_text(document.html, encoding="utf-8"),
            "report.md": lambda path: path.write_text(document.markdown, encoding="utf-8"),
        }
        writers.update(png_writers(document.figures))
        command = ["labelsim", *sys.argv[1:]]
        written = write_folder(target if target is not None else out_dir, writers, force=force, command=command)
        render_forecast(result)
        err.print(f"wrote {written / 'report.html'} and report.md", highlight=False, markup=False)


def main(prog_name: str | None = None) -> None:
    """Entry point of the ``labelsim`` console script (and of ``python -m labelsim``)."""
    app(prog_name=prog_name)


if __name__ == "__main__":  # pragma: no cover
    main()
