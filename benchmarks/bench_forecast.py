"""Replications per second of a forecast: serial against local processes.

    python benchmarks/bench_forecast.py                      # quickstart, 200 replications, 3 rounds
    python benchmarks/bench_forecast.py --replications 400 --jobs 2 --reps 5

Each measurement runs in a fresh Python process (``--one``) so that every
parallel run pays for starting its worker processes, as ``labelsim forecast
--jobs 2`` does; serial and parallel runs are interleaved because the machine
is noisy.  Prints replications/s for each mode, the speed-up, the parallel
efficiency (speed-up ÷ jobs), the machine's own ceiling (how much faster
``jobs`` independent CPU-bound processes run than one: shared virtual
machines often give well under ``jobs``), and a JSON summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one(scenario: str, replications: int, jobs: int, seed: int) -> dict[str, float]:
    """Time one forecast in this process (import of labelsim excluded, worker start-up included)."""
    import labelsim

    spec = labelsim.load_scenario(scenario)
    executor = "serial" if jobs == 1 else "processes"
    started = time.perf_counter()
    result = labelsim.forecast(spec, replications, seed=seed, executor=executor, jobs=jobs)
    wall = time.perf_counter() - started
    return {"jobs": jobs, "wall_s": wall, "replications_per_s": replications / wall, "rows": len(result.replications)}


def spin(n: int = 20_000_000) -> float:
    """Seconds for a pure-Python loop: CPU work with no I/O, no memory traffic, no coordination."""
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - started


def hardware_ceiling(jobs: int) -> float:
    """The speed-up this machine gives ``jobs`` independent CPU-bound processes (the best any executor can do).

    On shared virtual machines it is often well below ``jobs``.
    """
    command = [sys.executable, __file__, "--spin"]
    alone = float(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    together = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(jobs)]
    slowest = max(float(p.communicate()[0]) for p in together)
    return jobs * alone / slowest


def measure(scenario: str, replications: int, jobs: int, seed: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--one", "--scenario", scenario, "--replications", str(replications),
               "--jobs", str(jobs), "--seed", str(seed)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "quickstart.yaml"))
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3, help="rounds of (serial, parallel) measurements")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.spin:
        print(spin())
        return
    if args.one:
        print(json.dumps(one(args.scenario, args.replications, args.jobs, args.seed)))
        return
    runs: dict[int, list[float]] = {1: [], args.jobs: []}
    ceilings: list[float] = []
    for round_ in range(args.reps):
        ceilings.append(hardware_ceiling(args.jobs))
        for jobs in (1, args.jobs):
            result = measure(args.scenario, args.replications, jobs, args.seed)
            runs[jobs].append(result["replications_per_s"])
            print(f"round {round_ + 1}: jobs={jobs}  {result['replications_per_s']:7.1f} replications/s"
                  f"  ({result['wall_s']:.2f} s)", flush=True)
    serial, parallel = statistics.median(runs[1]), statistics.median(runs[args.jobs])
    speedup = parallel / serial
    ceiling = statistics.median(ceilings)
    import labelsim

    summary = {
        "scenario": Path(args.scenario).name,
        "replications": args.replications,
        "jobs": args.jobs,
        "serial_replications_per_s": round(serial, 2),
        "parallel_replications_per_s": round(parallel, 2),
        "speedup": round(speedup, 3),
        "parallel_efficiency": round(speedup / args.jobs, 3),
        "hardware_ceiling": round(ceiling, 3),
        "hardware_ceilings": [round(c, 3) for c in ceilings],
        "speedup_vs_ceiling": round(speedup / ceiling, 3),
        "serial_min_max": [round(min(runs[1]), 2), round(max(runs[1]), 2)],
        "parallel_min_max": [round(min(runs[args.jobs]), 2), round(max(runs[args.jobs]), 2)],
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.platform()}",
        "python": platform.python_version(),
        "labelsim": labelsim.__version__,
    }
    print(f"\nserial   {serial:7.1f} replications/s (median of {args.reps})")
    print(f"jobs={args.jobs}   {parallel:7.1f} replications/s  speed-up {speedup:.2f}×, "
          f"parallel efficiency {speedup / args.jobs:.0%}")
    print(f"hardware ceiling: {args.jobs} independent pure-Python processes run {ceiling:.2f}× as fast as one "
          f"on this machine; the forecast reaches {speedup / ceiling:.0%} of that")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
