"""Speed of labelsim's engine against a bare SimPy model of the same workload.

Workload: an M/M/c queue with three non-preemptive priority classes (class 1 highest, FIFO within a
class), ``c`` identical servers with exponential service of mean ``m`` seconds, load ``rho``; each
class is a Poisson stream of rate ``rho * c / m / 3`` and brings a third of the customers; the run
ends when the system is empty.  In labelsim the classes are three streaming batches (labeling queues
1, 2, 3, one-task suites, overlap 1) under the ``work_conserving`` queue policy, and the servers are a
team of ``c`` performers, so one customer = one suite = one assignment.

    python benchmarks/bench_engine.py                      # 200,000 suites, 3 interleaved reps
    python benchmarks/bench_engine.py --memory             # peak RSS for 1,000,000 assignments

Every run is a fresh interpreter (this script with the hidden ``--one ENGINE`` option, which prints
one JSON line); the engines alternate (labelsim, simpy, labelsim, simpy, ...).  Timed regions:

* labelsim: ``labelsim.simulate(scenario, seed)`` plus reading ``result.assignments`` (the
  per-assignment DataFrame, built lazily on first read).  labelsim draws its random numbers inside
  this region.  Validating the scenario (``labelsim.load_scenario``) is outside it.
* bare SimPy: ``env.run()`` only.  Inter-arrival gaps and service times are drawn with numpy before it,
  and the model (environment, resource, one source process per class) is built before it.

Both engines get the same random numbers (common random numbers): the SimPy trace is drawn from the
seed sequences labelsim derives for its stream and task-time sources (see :func:`source_generator`),
and services are handed out in order of service start, as labelsim does.  Same queue, same numbers,
so the per-customer waits should be identical; the sanity check reports whether they are and
compares the per-class mean waits with the exact non-preemptive priority M/M/c values.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Generator, Sequence
from importlib import metadata
from importlib import util as importlib_util
from typing import Any

import numpy as np

#: Mean work per task (seconds).
MEAN_SERVICE_S = 60.0
#: Number of priority classes (= streaming batches).
CLASSES = 3
#: Names used in the labelsim scenario (they also name labelsim's random sources).
PROJECT, TEAM = "p", "team"
#: Batches for the batch-means confidence intervals of the mean waits, and t(19 df, 0.975).
BATCH_MEANS, T_975 = 20, 2.093
#: The goal for labelsim's speed relative to bare SimPy (issue 8: at least 2× after the split into components).
GOAL_RATIO = 2.0
ENGINES = ("labelsim", "simpy")


# ---------------------------------------------------------------------------- workload


def class_sizes(n: int) -> list[int]:
    """Customers per class: ``n`` split as evenly as possible (the first classes get the remainder)."""
    return [n // CLASSES + (k < n % CLASSES) for k in range(CLASSES)]


def class_rate(c: int, rho: float, mean_s: float) -> float:
    """Arrival rate of one class (per second): the total ``rho * c / mean_s`` split equally."""
    return rho * c / mean_s / CLASSES


def batch_name(k: int) -> str:
    """Name of the batch of class ``k`` (0-based; labeling queue ``k + 1``)."""
    return f"class-{k + 1}"


def labelsim_scenario(n: int, c: int, rho: float, mean_s: float) -> dict[str, Any]:
    """The workload as a labelsim scenario mapping (for :func:`labelsim.load_scenario`)."""
    rate = class_rate(c, rho, mean_s)
    batches = [
        {
            "name": batch_name(k),
            "items": 0,
            "labeling_queue": k + 1,
            "reward": 0.01,
            "time_limit": "7d",
            "launch_at": 0,
            # repr() round-trips, so labelsim's rate is exactly ``rate`` (the same as the SimPy trace's)
            "stream": {"rate": f"{rate!r}/s", "items": size},
        }
        for k, size in enumerate(class_sizes(n))
    ]
    return {
        "name": "bench",
        "start": "2026-12-01T00:00:00Z",
        "horizon": "3650d",
        "account": {"balance": 1e9},
        "policy": {"queue": "work_conserving"},
        "projects": [{"name": PROJECT, "batches": batches}],
        "performers": [
            {
                "name": TEAM,
                "kind": "team",
                "size": c,
                "seconds_per_task": {"dist": "exponential", "mean": mean_s},
            }
        ],
    }


def source_generator(seed: int, name: str) -> np.random.Generator:
    """The numpy generator labelsim uses for random source ``name`` under root ``seed``.

    Mirrors ``labelsim.rng.RandomStreams(seed).generator(name)`` (PCG64 seeded by
    ``SeedSequence(seed, spawn_key=(crc32(name),))``) without importing labelsim, so the SimPy run's
    memory is not inflated by labelsim and pandas.  If labelsim changes its stream naming, the SimPy
    run still measures the same workload, only with different random numbers (the sanity check
    then reports ``identical waits: no``).
    """
    sequence = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode("utf-8")),))
    return np.random.Generator(np.random.PCG64(sequence))


def draw_trace(n: int, c: int, rho: float, mean_s: float, seed: int) -> tuple[list[list[float]], list[float]]:
    """Inter-arrival gaps per class and the service times in order of service start."""
    scale = 1.0 / class_rate(c, rho, mean_s)
    gaps = [
        source_generator(seed, f"stream/{PROJECT}/{batch_name(k)}").exponential(scale, size).tolist()
        for k, size in enumerate(class_sizes(n))
    ]
    services = source_generator(seed, f"{TEAM}/task-seconds").exponential(mean_s, n).tolist()
    return gaps, services


# ---------------------------------------------------------------------------- measurements


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def wait_stats(waits: Sequence[np.ndarray]) -> dict[str, Any]:
    """Per-class mean waits with 95 % batch-means half-widths, P(wait > 0) and a checksum.

    ``waits[k]`` holds class ``k``'s waits in arrival order; the confidence interval uses
    :data:`BATCH_MEANS` consecutive groups of customers (an indication: batch means understate the
    error when waiting is rare and bursty).
    """
    means, half_widths = [], []
    for w in waits:
        means.append(float(w.mean()))
        groups = np.array([g.mean() for g in np.array_split(w, BATCH_MEANS)])
        half_widths.append(float(T_975 * groups.std(ddof=1) / math.sqrt(BATCH_MEANS)))
    every = np.concatenate(list(waits))
    return {
        "wait_s": means,
        "wait_ci95_s": half_widths,
        "p_wait": float((every > 0).mean()),
        "wait_checksum": math.fsum(every.tolist()),
        "per_class": [len(w) for w in waits],
    }


def run_labelsim(n: int, c: int, rho: float, mean_s: float, seed: int) -> dict[str, Any]:
    """One labelsim run; times ``simulate`` plus building ``result.assignments``."""
    import labelsim

    started = time.perf_counter()
    scenario = labelsim.load_scenario(labelsim_scenario(n, c, rho, mean_s))
    load_s = time.perf_counter() - started
    # labelsim imports its submodules (and pandas, simpy) on first attribute access (PEP 562): resolve
    # ``simulate`` here so that one-time imports are not timed, as ``import simpy`` is not for SimPy.
    simulate = labelsim.simulate
    rss_before = peak_rss_mb()
    cpu0, t0 = time.process_time(), time.perf_counter()
    result = simulate(scenario, seed=seed)
    t1 = time.perf_counter()
    frame = result.assignments
    t2, cpu = time.perf_counter(), time.process_time() - cpu0
    peak = peak_rss_mb()
    # --- checks and statistics, outside the timed region
    if len(frame) != n or not (frame["outcome"] == "submitted").all():
        raise RuntimeError(f"labelsim: expected {n} submitted assignments, got {frame['outcome'].value_counts()}")
    means = frame.groupby("batch", observed=True)["wait_s"].mean()
    ordered = frame.sort_values(["batch", "suite"])  # suite number = arrival order within a batch
    waits = [ordered.loc[ordered["batch"] == batch_name(k), "wait_s"].to_numpy() for k in range(CLASSES)]
    stats = wait_stats(waits)
    stats["wait_s"] = [float(means[batch_name(k)]) for k in range(CLASSES)]  # the user's groupby
    return {
        "wall_s": t2 - t0,
        "cpu_s": cpu,
        "simulate_s": t1 - t0,
        "frame_s": t2 - t1,
        "load_scenario_s": load_s,
        "simpy_events": result.provenance["simpy_events"],
        "rss_before_run_mb": rss_before,
        "peak_rss_mb": peak,
        **stats,
    }


def simpy_model(
    c: int, gaps: list[list[float]], services: list[float]
) -> tuple[list[list[float]], float, float, int]:
    """Bare SimPy: a PriorityResource, one source process per class, one process per customer.

    Returns the waits per class (arrival order), the wall and CPU time of ``env.run()`` and SimPy's
    count of scheduled events.
    """
    import simpy

    env = simpy.Environment()
    servers = simpy.PriorityResource(env, capacity=c)
    waits = [[math.nan] * len(g) for g in gaps]
    next_service = iter(services).__next__  # services in order of service start, as in labelsim

    def customer(k: int, i: int, w: list[float]) -> Generator[Any, Any, None]:
        arrived = env.now
        with servers.request(priority=k) as req:  # lower value = served first; FIFO within a class
            yield req
            w[i] = env.now - arrived
            yield env.timeout(next_service())

    def source(k: int, class_gaps: list[float], w: list[float]) -> Generator[Any, Any, None]:
        for i, gap in enumerate(class_gaps):
            yield env.timeout(gap)
            env.process(customer(k, i, w))

    for k, (class_gaps, w) in enumerate(zip(gaps, waits, strict=True)):
        env.process(source(k, class_gaps, w))
    cpu0, t0 = time.process_time(), time.perf_counter()
    env.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if servers.count or servers.queue:
        raise RuntimeError("simpy: the system did not drain")
    return waits, wall, cpu, next(env._eid)


def run_simpy(n: int, c: int, rho: float, mean_s: float, seed: int) -> dict[str, Any]:
    """One bare SimPy run; times ``env.run()`` only (trace drawn and model built before)."""
    gaps, services = draw_trace(n, c, rho, mean_s, seed)
    rss_before = peak_rss_mb()
    waits, wall, cpu, events = simpy_model(c, gaps, services)
    peak = peak_rss_mb()
    arrays = [np.asarray(w, dtype=float) for w in waits]
    if any(np.isnan(a).any() for a in arrays):
        raise RuntimeError("simpy: some customers were never served")
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "simpy_events": events,
        "rss_before_run_mb": rss_before,
        "peak_rss_mb": peak,
        **wait_stats(arrays),
    }


def run_one(engine: str, args: argparse.Namespace, n: int) -> None:
    """The hidden ``--one ENGINE`` mode: one run, one JSON line on stdout."""
    runner = run_labelsim if engine == "labelsim" else run_simpy
    record = runner(n, args.c, args.rho, MEAN_SERVICE_S, args.seed)
    record.update(engine=engine, assignments=n, c=args.c, rho=args.rho, seed=args.seed)
    record["assignments_per_s"] = n / record["wall_s"]
    record["assignments_per_cpu_s"] = n / record["cpu_s"]
    print(json.dumps(record))


# ---------------------------------------------------------------------------- driver


def machine() -> dict[str, Any]:
    """Where the benchmark ran: CPU, cores, OS, Python and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = f"{names[0]} ({platform.machine()})"
    except OSError:
        pass

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cpu": cpu,
        "processor": platform.processor(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "labelsim": version("labelsim"),
        "simpy": version("simpy"),
        "numpy": version("numpy"),
        "pandas": version("pandas"),
        "labelsim_commit": labelsim_revision(),
        "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def labelsim_revision() -> str:
    """The git commit of the labelsim being measured (``+dirty`` if ``labelsim/`` has local changes)."""
    spec = importlib_util.find_spec("labelsim")  # locates the package without importing it
    if spec is None or spec.origin is None:
        return "labelsim not found"
    root = os.path.dirname(os.path.dirname(os.path.abspath(spec.origin)))

    def git(*argv: str) -> str:
        cmd = ["git", "-C", root, *argv]
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--", "labelsim")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return commit + ("+dirty" if dirty else "")


def spawn(engine: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run ``--one engine`` in a fresh interpreter; return its JSON record plus the process wall time."""
    cmd = [
        sys.executable, os.path.abspath(__file__), "--one", engine, "--suites", str(n),
        "--c", str(args.c), "--rho", repr(args.rho), "--seed", str(args.seed),
    ]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{engine} run failed (exit {proc.returncode}):\n{proc.stderr}")
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    record["process_s"] = time.perf_counter() - started
    return record


def run_interleaved(n: int, args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """``args.reps`` runs of each engine, alternating engines, each in a fresh interpreter."""
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in ENGINES}
    for rep in range(1, args.reps + 1):
        for engine in ENGINES:
            rec = spawn(engine, n, args)
            runs[engine].append(rec)
            print(
                f"  rep {rep} {engine:8s}: {rec['wall_s']:7.3f} s timed,"
                f" {rec['assignments_per_s']:10,.0f} assignments/s,"
                f" peak RSS {rec['peak_rss_mb']:7.1f} MB",
                flush=True,
            )
    return runs


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and range of one engine's runs."""
    rates = [r["assignments_per_s"] for r in runs]
    walls = [r["wall_s"] for r in runs]
    peaks = [r["peak_rss_mb"] for r in runs]
    out = {
        "median_assignments_per_s": statistics.median(rates),
        "min_assignments_per_s": min(rates),
        "max_assignments_per_s": max(rates),
        "median_wall_s": statistics.median(walls),
        "median_assignments_per_cpu_s": statistics.median(r["assignments_per_cpu_s"] for r in runs),
        "median_peak_rss_mb": statistics.median(peaks),
        "max_peak_rss_mb": max(peaks),
        "median_rss_before_run_mb": statistics.median(r["rss_before_run_mb"] for r in runs),
        "median_process_s": statistics.median(r["process_s"] for r in runs),
        "simpy_events": runs[0]["simpy_events"],
        "deterministic": len({r["wait_checksum"] for r in runs}) == 1,
    }
    if "simulate_s" in runs[0]:
        out["median_simulate_s"] = statistics.median(r["simulate_s"] for r in runs)
        out["median_frame_s"] = statistics.median(r["frame_s"] for r in runs)
    return out


def format_load(load: Sequence[float] | None) -> str:
    """A 1/5/15-minute load average for printing (other processes on the machine skew the timings)."""
    return "n/a" if load is None else "/".join(f"{x:.2f}" for x in load)


def paired_ratios(runs: dict[str, list[dict[str, Any]]]) -> list[float]:
    """labelsim / SimPy speed within each rep (the two runs of a rep are adjacent in time)."""
    return [
        a["assignments_per_s"] / b["assignments_per_s"] for a, b in zip(runs["labelsim"], runs["simpy"], strict=True)
    ]


def check_revision(info: dict[str, Any]) -> str:
    """Warn if labelsim's commit changed while the benchmark ran (the runs then mix two versions)."""
    now = labelsim_revision()
    if now != info["labelsim_commit"]:
        print(f"WARNING: labelsim changed during the benchmark ({info['labelsim_commit']} -> {now}); "
              "the runs mix versions, run again")
    return now


def print_header(title: str, info: dict[str, Any], args: argparse.Namespace, n: int) -> None:
    """Title, machine and workload lines."""
    lam = args.c * args.rho / MEAN_SERVICE_S
    print(title)
    print(
        f"machine: {info['cpu']}, {info['cpu_count']} CPUs, {info['platform']}; Python {info['python']}, "
        f"labelsim {info['labelsim']} (commit {info['labelsim_commit']}), simpy {info['simpy']}, "
        f"numpy {info['numpy']}, pandas {info['pandas']}; "
        f"load average at start {format_load(info['loadavg_at_start'])}"
    )
    print(
        f"workload: M/M/c, c={args.c}, rho={args.rho}, mean service {MEAN_SERVICE_S:g} s, "
        f"{CLASSES} priority classes at {lam / CLASSES:.6g}/s each, {n:,} customers (= assignments), "
        f"seed {args.seed}, {args.reps} interleaved reps, fresh interpreter per run"
    )


def print_speed_table(summary: dict[str, dict[str, Any]]) -> None:
    """The per-engine table."""
    print()
    print(f"{'engine':10s} {'median assignments/s':>21s} {'min-max assignments/s':>24s} {'median timed s':>15s}"
          f" {'peak RSS MB':>12s}")
    for engine in ENGINES:
        s = summary[engine]
        span = f"{s['min_assignments_per_s']:,.0f}-{s['max_assignments_per_s']:,.0f}"
        print(f"{engine:10s} {s['median_assignments_per_s']:>21,.0f} {span:>24s} {s['median_wall_s']:>15.3f}"
              f" {s['median_peak_rss_mb']:>12.1f}")
    ls = summary["labelsim"]
    print(f"labelsim timed split (medians): simulate {ls['median_simulate_s']:.3f} s + assignments frame "
          f"{ls['median_frame_s']:.3f} s")


def sanity_check(runs: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> dict[str, Any]:
    """Print both engines' per-class mean waits beside the exact values; return them for the JSON line."""
    from labelsim.theory import erlang_c, priority_mmc_waits

    lam = args.c * args.rho / MEAN_SERVICE_S
    exact = priority_mmc_waits(args.c, [lam / CLASSES] * CLASSES, 1.0 / MEAN_SERVICE_S)
    p_wait = erlang_c(args.c, lam * MEAN_SERVICE_S)
    first = {e: runs[e][0] for e in ENGINES}
    identical = first["labelsim"]["wait_checksum"] == first["simpy"]["wait_checksum"]
    print()
    print("sanity check: mean wait in queue per class, seconds (± 95 % batch-means half-width; exact = "
          "non-preemptive priority M/M/c, labelsim.theory.priority_mmc_waits)")
    print(f"{'class':6s} {'labelsim':>20s} {'bare SimPy':>20s} {'exact':>10s} {'labelsim/exact':>15s}")
    for k in range(CLASSES):
        cells = [f"{first[e]['wait_s'][k]:.5f} ± {first[e]['wait_ci95_s'][k]:.5f}" for e in ENGINES]
        ratio = first["labelsim"]["wait_s"][k] / exact[k]
        print(f"{k + 1:<6d} {cells[0]:>20s} {cells[1]:>20s} {exact[k]:>10.5f} {ratio:>15.3f}")
    print(f"P(wait > 0): labelsim {first['labelsim']['p_wait']:.5f}, bare SimPy {first['simpy']['p_wait']:.5f}, "
          f"Erlang C {p_wait:.5f}")
    print(f"identical waits in both engines (common random numbers, fsum checksum): {'yes' if identical else 'NO'}; "
          f"every rep repeated the same run: "
          f"{'yes' if all(summarize(runs[e])['deterministic'] for e in ENGINES) else 'NO'}")
    return {
        "exact_wait_s": exact,
        "labelsim_wait_s": first["labelsim"]["wait_s"],
        "simpy_wait_s": first["simpy"]["wait_s"],
        "labelsim_wait_ci95_s": first["labelsim"]["wait_ci95_s"],
        "simpy_wait_ci95_s": first["simpy"]["wait_ci95_s"],
        "p_wait": {"labelsim": first["labelsim"]["p_wait"], "simpy": first["simpy"]["p_wait"], "erlang_c": p_wait},
        "identical_waits": identical,
    }


def speed(args: argparse.Namespace) -> None:
    """The default mode: interleaved speed comparison plus the sanity check."""
    info = machine()
    n = args.suites
    print_header("labelsim vs bare SimPy: M/M/c with 3 non-preemptive priority classes", info, args, n)
    runs = run_interleaved(n, args)
    summary = {e: summarize(runs[e]) for e in ENGINES}
    print_speed_table(summary)
    ratio = summary["labelsim"]["median_assignments_per_s"] / summary["simpy"]["median_assignments_per_s"]
    verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
    pairs = paired_ratios(runs)
    print(f"ratio of medians labelsim / bare SimPy: {ratio:.2f}x (goal >= {GOAL_RATIO}x: {verdict}); "
          f"per-rep ratios {', '.join(f'{r:.2f}' for r in pairs)}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    cpu_ratio = (summary["labelsim"]["median_assignments_per_cpu_s"]
                 / summary["simpy"]["median_assignments_per_cpu_s"])
    print(f"same with process CPU time instead of wall time (less sensitive to other processes): "
          f"labelsim {summary['labelsim']['median_assignments_per_cpu_s']:,.0f}/s, "
          f"bare SimPy {summary['simpy']['median_assignments_per_cpu_s']:,.0f}/s, ratio {cpu_ratio:.2f}x")
    print(f"load average at end {format_load(load)} (a 2-vCPU machine with load > 1 means other work competed)")
    commit_at_end = check_revision(info)
    check = sanity_check(runs, args)
    print(json.dumps({
        "mode": "speed", "assignments": n, "c": args.c, "rho": args.rho, "mean_service_s": MEAN_SERVICE_S,
        "classes": CLASSES, "seed": args.seed, "reps": args.reps, "machine": info,
        "labelsim": summary["labelsim"], "simpy": summary["simpy"], "ratio": ratio, "goal": GOAL_RATIO,
        "goal_met": ratio >= GOAL_RATIO, "per_rep_ratios": pairs, "cpu_time_ratio": cpu_ratio,
        "loadavg_at_end": load, "labelsim_commit_at_end": commit_at_end, "sanity": check,
    }))


def memory(args: argparse.Namespace) -> None:
    """``--memory``: peak RSS and wall time of each engine for ``--assignments`` assignments."""
    info = machine()
    n = args.assignments
    print_header("labelsim vs bare SimPy: peak memory", info, args, n)
    runs = run_interleaved(n, args)
    summary = {e: summarize(runs[e]) for e in ENGINES}
    print()
    print(f"{'engine':10s} {'peak RSS MB':>12s} {'RSS before run MB':>18s} {'timed s':>9s} {'process s':>10s}"
          f" {'assignments/s':>14s}")
    for engine in ENGINES:
        s = summary[engine]
        print(f"{engine:10s} {s['max_peak_rss_mb']:>12.1f} {s['median_rss_before_run_mb']:>18.1f}"
              f" {s['median_wall_s']:>9.2f} {s['median_process_s']:>10.2f} {s['median_assignments_per_s']:>14,.0f}")
    print("peak RSS = max over reps of ru_maxrss; timed s = median of the timed region (labelsim: simulate + "
          "assignments frame; SimPy: env.run()); process s = the whole subprocess (start-up, imports, trace, checks)")
    ls = summary["labelsim"]
    print(f"labelsim timed split (medians): simulate {ls['median_simulate_s']:.2f} s + assignments frame "
          f"{ls['median_frame_s']:.2f} s")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"load average at end {format_load(load)}")
    commit_at_end = check_revision(info)
    print(json.dumps({
        "mode": "memory", "assignments": n, "c": args.c, "rho": args.rho, "mean_service_s": MEAN_SERVICE_S,
        "classes": CLASSES, "seed": args.seed, "reps": args.reps, "machine": info,
        "labelsim": summary["labelsim"], "simpy": summary["simpy"],
        "ratio": ls["median_assignments_per_s"] / summary["simpy"]["median_assignments_per_s"],
        "per_rep_ratios": paired_ratios(runs), "loadavg_at_end": load, "labelsim_commit_at_end": commit_at_end,
    }))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suites", type=int, default=200_000, help="customers (= one-task suites) per run (default 200000)")
    p.add_argument("--reps", type=int, default=3, help="runs per engine, interleaved (default 3)")
    p.add_argument("--c", type=int, default=50, help="servers = team size (default 50)")
    p.add_argument("--rho", type=float, default=0.8, help="load, 0 < rho < 1 (default 0.8)")
    p.add_argument("--seed", type=int, default=1, help="root seed, the same in every rep (default 1)")
    p.add_argument("--memory", action="store_true", help="measure peak memory for --assignments instead")
    p.add_argument("--assignments", type=int, default=1_000_000, help="size of the --memory runs (default 1000000)")
    p.add_argument("--one", choices=ENGINES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.suites < CLASSES or args.assignments < CLASSES:
        p.error(f"--suites and --assignments must be at least {CLASSES}")
    if args.reps < 1 or args.c < 1 or args.seed < 0:
        p.error("--reps and --c must be >= 1 and --seed >= 0")
    if not 0 < args.rho < 1:
        p.error("--rho must be between 0 and 1 (exclusive)")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    if args.one:
        run_one(args.one, args, args.suites)
    elif args.memory:
        memory(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
