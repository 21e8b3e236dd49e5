"""Running scenarios (layer 4): one run, replications, and executors.

:func:`simulate` runs a scenario once.  Random numbers come from one
:class:`numpy.random.SeedSequence` per run (``seed``), split into one stream
per source, so the same scenario and seed give identical frames.
"""

from __future__ import annotations

import functools
import math
import os
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from typing import Any

from .model import RawRun, run_model
from .replication import REPLICATION_FIELDS, run_chunk
from .results import SimulationResult, build_result
from .rng import RandomStreams
from .scenario import LabelsimError, Scenario
from .scenario.limits import MAX_HORIZON_S, MAX_JOBS, MAX_REPLICATIONS, MAX_SEED, check_run_size
from .units import parse_duration

#: Seconds to wait for a dask scheduler before giving up with one message.
SCHEDULER_TIMEOUT_S = 5.0
#: A dask scheduler address: protocol://host:port.
_ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")

__all__ = [
    "REPLICATION_FIELDS",
    "Replications",
    "as_scenario",
    "check_jobs",
    "check_replications",
    "check_scheduler",
    "check_seed",
    "check_until",
    "parse_until",
    "replicate",
    "run_chunk",
    "simulate",
]


def as_scenario(scenario: Scenario | Mapping[str, Any]) -> Scenario:
    """Accept a validated :class:`Scenario` or a mapping to validate."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return Scenario.from_mapping(scenario)
    raise LabelsimError(
        f"scenario: expected a Scenario or a mapping, got {type(scenario).__name__}; "
        "read files with labelsim.load_scenario(path)"
    )


def _short(value: object) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**60 else "a huge integer"
    return text if len(text) <= 60 else text[:59] + "…"


def check_seed(seed: object) -> int | None:
    """Validate a seed: None (fresh entropy) or an integer from 0 to 2**128 - 1."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise LabelsimError(f"seed: must be a non-negative integer below 2**128, got {_short(seed)}")
    return seed


def check_jobs(jobs: object) -> int | None:
    """Validate ``jobs``: None or 1..:data:`MAX_JOBS` parallel workers."""
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS):
        raise LabelsimError(f"jobs: must be an integer from 1 to {MAX_JOBS}, got {_short(jobs)}")
    return jobs


def check_replications(replications: object) -> int:
    """Validate ``replications``: 1..:data:`MAX_REPLICATIONS`."""
    if (
        isinstance(replications, bool) or not isinstance(replications, int)
        or not 1 <= replications <= MAX_REPLICATIONS
    ):
        raise LabelsimError(
            f"replications: must be an integer from 1 to {MAX_REPLICATIONS:,}, got {_short(replications)}"
        )
    return replications


def check_scheduler(scheduler: object, executor: object = None) -> str | None:
    """Validate a dask scheduler address (``tcp://host:port``) before connecting.

    A scheduler implies ``executor="dask"``; with ``serial`` or ``processes`` it is refused.
    """
    if scheduler is None:
        return None
    if isinstance(executor, str) and executor != "dask":
        raise LabelsimError(f"scheduler: a dask scheduler needs --executor dask, not {executor}")
    match = _ADDRESS.fullmatch(scheduler) if isinstance(scheduler, str) else None
    if match is None or not 1 <= int(match.group(3)) <= 65535:
        raise LabelsimError(
            f"scheduler: {_short(scheduler)} is not a scheduler address like tcp://10.0.0.5:8786 (protocol://host:port)"
        )
    return match.group(0)


def parse_until(until: str | float | None) -> float | None:
    """``until`` as seconds (a duration such as ``3d``, or seconds), or None; at most 3650 days (10 years)."""
    if until is None:
        return None
    is_number = isinstance(until, (int, float)) and not isinstance(until, bool)
    try:
        seconds = float(until) if is_number else parse_duration(until)
    except (ValueError, OverflowError) as exc:
        raise LabelsimError(f"until: {exc}") from None
    if not seconds > 0:
        raise LabelsimError(f"until: must be a positive duration, got {_short(until)}")
    if not seconds <= MAX_HORIZON_S:
        raise LabelsimError(f"until: {_short(until)} is longer than the limit of {MAX_HORIZON_S / 86400:g}d (10 years)")
    return seconds


def check_until(scenario: Scenario, until_s: float | None) -> None:
    """Refuse an ``until`` that makes the run too large (see :func:`labelsim.scenario.limits.check_run_size`)."""
    if until_s is None or until_s <= scenario.horizon:
        return
    try:
        check_run_size(scenario, until_s)
    except ValueError as exc:
        raise LabelsimError(f"until: {exc}") from None


def simulate(
    scenario: Scenario | Mapping[str, Any],
    seed: int | None = None,
    *,
    until: str | float | None = None,
    progress: Callable[[float], None] | None = None,
) -> SimulationResult:
    """Simulate ``scenario`` once.

    Args:
        scenario: a :class:`Scenario` (see :func:`labelsim.load_scenario`) or a mapping.
        seed: root seed; None draws fresh entropy (recorded in the provenance).
        until: simulate at most this long (a duration like ``3d`` or seconds)
            instead of the scenario's horizon.
        progress: called with the simulated fraction of the horizon (0..1).

    Returns:
        The frames, warnings and provenance of the run.

    A scenario with ``parameter_draws`` runs once with its base values (the draws
    are for replications: see :func:`replicate`).
    """
    spec = as_scenario(scenario)
    streams = RandomStreams(check_seed(seed))
    until_s = parse_until(until)
    check_until(spec, until_s)
    started = time.perf_counter()
    raw = run_model(spec, streams, until_s=until_s, progress=progress)
    wall = time.perf_counter() - started
    result = build_result(raw, spec, seed_entropy=streams.entropy, wall_time_s=wall)
    result.provenance["scenario_warnings"] = spec.lint(until_s)
    return result


# --------------------------------------------------------------------------- replications

ExecutorLike = Any  # "serial" | "processes" | "dask" | a dask.distributed.Client | None
ProgressFn = Callable[[int, int], None]


@dataclass
class Replications:
    """Compact results of many independent runs of one scenario.

    Attributes:
        scenario: the scenario.
        rows: per (replication, batch) tuples with :data:`REPLICATION_FIELDS`, ordered by replication.
        entropy: the root seed; replication ``r`` used ``RandomStreams(entropy, (r,))``.
        n: the number of replications.
        executor / jobs / chunk_size: how they were run.
        wall_time_s: elapsed seconds.
        runs: every replication's full records, in replication order (only with ``keep_runs``).
    """

    scenario: Scenario
    rows: list[tuple[Any, ...]]
    entropy: int
    n: int
    executor: str
    jobs: int
    chunk_size: int
    wall_time_s: float
    horizon_s: float
    runs: list[RawRun] | None = None


def replicate(
    scenario: Scenario | Mapping[str, Any],
    replications: int = 200,
    seed: int | None = None,
    *,
    executor: ExecutorLike = None,
    jobs: int | None = None,
    chunk_size: int | None = None,
    scheduler: str | None = None,
    until: str | float | None = None,
    progress: ProgressFn | None = None,
    keep_runs: bool = False,
    first: int = 0,
) -> Replications:
    """Run ``replications`` independent runs of ``scenario``, in chunks, on an executor.

    The same ``seed`` gives identical rows whatever the executor, ``jobs`` and
    ``chunk_size``: replication ``r`` always draws from ``RandomStreams(seed, (r,))``
    and runs ``scenario.for_replication(r)`` — with ``parameter_draws``, the scenario
    with draw ``r mod K`` applied (so a comparison's replication ``r`` uses the same
    draw on both sides).

    Args:
        executor: ``"serial"``, ``"processes"`` (this process and ``jobs - 1``
            joblib/loky workers; works from Jupyter),
            ``"dask"`` (a dask.distributed cluster: ``scheduler`` address, or a
            temporary local cluster of ``jobs`` workers), or a
            ``dask.distributed.Client``.  Default: serial for ``jobs`` None or 1,
            else processes.
        jobs: parallel workers (processes; local dask cluster size).
        chunk_size: replications per task (default: about sixteen tasks per worker).
        progress: called as ``progress(done, total)`` after each chunk.
        keep_runs: also bring back every run's full records (memory grows with the
            replications; by default tasks return a few compact rows per replication).
        first: number of the first replication (run ``first .. first + replications - 1``),
            to add replications to an earlier call with the same seed.
    """
    spec = as_scenario(scenario)
    check_replications(replications)
    check_jobs(jobs)
    check_scheduler(scheduler, executor)
    name, workers = _resolve_executor(executor, jobs, scheduler)
    if chunk_size is None:
        # small chunks balance the workers' load at the end; a task costs milliseconds, a replication more
        chunk_size = 1 if name == "serial" else max(1, math.ceil(replications / (16 * workers)))
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise LabelsimError(f"chunk_size: must be a positive integer, got {chunk_size!r}")
    entropy = RandomStreams(check_seed(seed)).entropy
    until_s = parse_until(until)
    check_until(spec, until_s)
    if isinstance(first, bool) or not isinstance(first, int) or first < 0:
        raise LabelsimError(f"first: must be a non-negative integer, got {first!r}")
    end = first + replications
    chunks = [list(range(i, min(i + chunk_size, end))) for i in range(first, end, chunk_size)]
    task = functools.partial(run_chunk, spec, entropy, until_s=until_s, keep_runs=keep_runs)
    done = 0

    def finished(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, replications)

    started = time.perf_counter()
    results = _MAPPERS[name](task, chunks, workers, executor, scheduler, finished)
    rows = [row for chunk_rows, _ in results for row in chunk_rows]
    rows.sort(key=lambda row: (row[0], row[1]))
    runs = [run for _, chunk_runs in results for run in chunk_runs] if keep_runs else None
    return Replications(
        scenario=spec,
        rows=rows,
        entropy=entropy,
        n=replications,
        executor=name,
        jobs=workers,
        chunk_size=chunk_size,
        wall_time_s=time.perf_counter() - started,
        horizon_s=until_s if until_s is not None else spec.horizon,
        runs=runs,
    )


def _resolve_executor(executor: ExecutorLike, jobs: int | None, scheduler: str | None) -> tuple[str, int]:
    cpus = os.cpu_count() or 1
    if executor is None:
        executor = "serial" if (jobs or 1) == 1 and scheduler is None else ("dask" if scheduler else "processes")
    if isinstance(executor, str):
        if executor not in _MAPPERS:
            raise LabelsimError(f"executor: expected serial, processes or dask, got {executor!r}")
        if executor == "serial":
            return "serial", 1
        if executor == "dask" and scheduler is None and jobs is None:
            return "dask", cpus
        return executor, jobs or cpus
    if type(executor).__name__ == "Client":  # a dask.distributed.Client
        workers = len(executor.scheduler_info().get("workers", {})) or 1
        return "dask", workers
    raise LabelsimError(f"executor: expected serial, processes, dask or a dask Client, got {executor!r}")


Task = Callable[[list[int]], list[tuple[Any, ...]]]
Chunks = list[list[int]]


def _map_serial(
    task: Task, chunks: Chunks, _workers: int, _executor: ExecutorLike, _scheduler: str | None,
    finished: Callable[[int], None],
) -> list[Any]:
    results = []
    for chunk in chunks:
        results.append(task(chunk))
        finished(len(chunk))
    return results


def _map_processes(
    task: Task, chunks: Chunks, workers: int, _executor: ExecutorLike, _scheduler: str | None,
    finished: Callable[[int], None],
) -> list[Any]:
    """Run chunks on ``workers`` processes: this one plus ``workers - 1`` loky workers.

    The calling process works too, so nothing waits while the workers start
    (about half a second each: a new interpreter importing numpy and the model);
    each worker is kept two chunks ahead so it never idles.
    """
    if workers == 1:
        return _map_serial(task, chunks, workers, None, None, finished)
    from joblib.externals.loky import get_reusable_executor

    pool = get_reusable_executor(max_workers=workers - 1)
    results: list[Any] = [None] * len(chunks)
    waiting = deque(range(len(chunks)))
    running: dict[Any, int] = {}
    while waiting or running:
        while waiting and len(running) < 2 * (workers - 1):
            index = waiting.popleft()
            running[pool.submit(task, chunks[index])] = index
        done = [future for future in running if future.done()]
        for future in done:
            index = running.pop(future)
            results[index] = future.result()
            finished(len(chunks[index]))
        if done:
            continue
        if waiting:  # work here rather than wait: take from the far end of the queue
            index = waiting.pop()
            results[index] = task(chunks[index])
            finished(len(chunks[index]))
        else:
            wait(list(running), return_when=FIRST_COMPLETED)
    return results


def _map_dask(
    task: Task, chunks: Chunks, workers: int, executor: ExecutorLike, scheduler: str | None,
    finished: Callable[[int], None],
) -> list[Any]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - depends on the installation
        raise LabelsimError("executor dask needs dask.distributed: pip install 'labelsim[dask]'") from None
    owned: list[Any] = []
    if executor is None or isinstance(executor, str):  # None: implied by a scheduler address
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
            except Exception as exc:  # OSError, TimeoutError, dask's own errors: all mean "not reachable"
                reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
                raise LabelsimError(
                    f"scheduler: cannot connect to {scheduler} within {SCHEDULER_TIMEOUT_S:g} s ({reason[:120]})"
                ) from None
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
            owned.append(cluster)
        owned.insert(0, client)
    else:
        client = executor
    try:
        futures = client.map(task, chunks, pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        results: list[Any] = [None] * len(chunks)
        for future in as_completed(futures):
            i = index[future.key]
            results[i] = future.result()
            finished(len(chunks[i]))
        return results
    finally:
        for resource in owned:
            resource.close()


_MAPPERS: dict[str, Callable[..., list[Any]]] = {
    "serial": _map_serial,
    "processes": _map_processes,
    "dask": _map_dask,
}
