"""Calibrate a scenario from an assignment log up to a moment (layer 4).

:func:`calibrate` turns a tidy assignment log (one row per assignment: ``performer``,
``accepted_at``, ``submitted_at``, ``status``, optionally ``batch``, ``suite_id``,
``n_tasks``, ``reward_usd``, ``time_limit_s``, ``max_assignments`` — the frame
:mod:`labelsim.logs` reads from platform exports) into a :class:`Calibration`:

- ``scenario``: a validated scenario whose ``start`` is ``as_of`` with the batch's live
  state at that moment (labeled items, submitted assignments, partially done suites
  and who did them, in-flight assignments with who holds them and for how long, each
  named performer's count) and one crowd group fitted from the log up to ``as_of`` only;
- ``fitted``: one row per fitted parameter with its value, standard error and a 95 %
  interval (from a bootstrap over performers);
- ``draws``: scenarios whose crowd parameters are bootstrap draws (same live state).  They
  travel with the scenario as its ``parameter_draws`` (the crowd values of each draw that
  differ from the point estimate, as ``--set`` keys), so any forecast of ``scenario`` — in
  Python, or ``labelsim forecast`` on the file :meth:`Calibration.to_yaml` writes — runs
  replication ``r`` with draw ``r mod K``: the P10–P90 range carries what the log cannot
  pin down, not only simulation noise.

What is fitted (all times in seconds):

- **work times** per task: a log-normal by maximum likelihood with right-censoring
  (in-flight assignments have lasted at least ``as_of − accepted_at``), mixed with
  abandonment (a share ``abandon_rate`` of assignments is held to the time limit and
  expires); expired assignments are censored at the limit;
- **sessions**: a performer's assignments split where the gap between one's end and the
  next accept exceeds the natural break in the log's pauses (at least 5 min, at most ``session_gap``,
  default 1 h);
  **suites per session** geometric, sessions still going at ``as_of`` (or cut short by a limit or by
  no open work) censored;
- **session arrivals**: a Poisson process ``rate · hourly(h) · multiplier(age)`` over the time
  open work was available (from the log's own open-slot count), where the multiplier is 1, a
  launch burst fading to a floor ``1 + (burst − 1) 2^(−age/half_life)``, or a fade with no floor
  ``(1 + age/scale)^(−exponent)`` (interest falls as the batch ages and sinks in the task lists).
  The three get a posterior on a grid (prior 1/3 each; log-uniform bursts 1.25–20 and half-lives
  5 min–3 days; fade exponents 0.25–1 and scales 5 min–3 days; the rate integrated out), the
  mode is the point estimate and the draws sample it, so a short log that cannot tell whether
  the crowd will thin out widens the forecast rather than betting on one answer; the hour-of-day profile is fitted
  only when the log spans a day or more, shrunk toward a flat profile;
- **population and skew**: ``population`` by the bias-corrected Chao1 (from the performers seen once
  and twice), at least twice the fewest people who could finish the batch (``overlap``, and the work
  ÷ the per-person cap), drawn log-normally (Chao's interval, at least a factor 2 at 95 %), and a
  Zipf law over it under which the number of distinct performers seen is expected;
- **skip rate** (skipped ÷ taken) and **per-batch limits** (many performers stopping at
  exactly the largest count).

Whatever the log cannot tell is an argument: ``items`` (suites nobody took yet do not
appear), ``overlap`` (unless a ``max_assignments`` column gives it), ``time_limit``
(unless ``time_limit_s`` gives it), ``reward`` (default: the log's, else 0).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import yaml
from numpy.typing import ArrayLike

from .engine import REPLICATION_FIELDS, replicate
from .model.performers import zipf_exponent
from .scenario import LabelsimError, Scenario
from .scenario.limits import MAX_SUITES_PER_SESSION
from .scenario.overrides import DRAWS_KEY
from .scenario.schema import MIN_REWARD_USD
from .units import format_duration, parse_duration, parse_timestamp
from .vocabulary import SUBMITTED

__all__ = ["CalibratedForecast", "Calibration", "CalibrationError", "calibrate", "forecaster"]

#: Statuses of a finished, paid (or at least done) assignment.
_DONE = frozenset({"submitted", "approved", "rejected", "accepted"})
_EXPIRED = frozenset({"expired", "abandoned"})
_SKIPPED = frozenset({"skipped"})
_ACTIVE = frozenset({"active", "in_flight", "in progress", "assigned"})
_REQUIRED = ("performer", "accepted_at", "status")

#: Hour-of-day weights are shrunk toward flat by this many sessions per hour.
_HOUR_PRIOR = 10.0
#: A session that ended this recently before as_of may still go on (seconds).
_NEXT_WITHIN_S = 120.0
#: Pauses shorter than this never split a session (seconds): real workers pause between tasks.
_MIN_SESSION_GAP_S = 300.0
#: The longest mean session a scenario may have (suites): a geometric session may reach ten times its mean,
#: and the scenario allows 10,000.  (A session never needs more suites than the batch has either: nobody
#: takes a suite twice.)
_MAX_SESSION_MEAN = MAX_SUITES_PER_SESSION / 10
#: Bootstrap draws of the crowd parameters.
DEFAULT_DRAWS = 20


#: Positions of the fields read from replication rows.
_BATCH, _COMPLETED = REPLICATION_FIELDS.index("batch_index"), REPLICATION_FIELDS.index("completed_s")


class CalibrationError(LabelsimError):
    """The log or an option cannot give a scenario (one line naming the problem)."""


# --------------------------------------------------------------------------- numerics


def _log_sf_normal(z: np.ndarray) -> np.ndarray:
    """log P(Z > z) for a standard normal, accurate in the far tail (erfc with relative error < 1.2e-7)."""
    x = np.asarray(z, dtype=float) / math.sqrt(2.0)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * a)
    poly = -a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    log_erfc_pos = np.log(t) + poly  # log erfc(|x|)
    out = np.where(x >= 0, log_erfc_pos, np.log(np.maximum(2.0 - np.exp(log_erfc_pos), 1e-300)))
    return out - math.log(2.0)


def _minimize(
    fn: Callable[[np.ndarray], float], x0: Sequence[float], *, iters: int = 400, step: float = 0.5
) -> np.ndarray:
    """Nelder–Mead minimisation of ``fn`` from ``x0`` (small dimensions; deterministic)."""
    n = len(x0)
    simplex = [np.asarray(x0, dtype=float)]
    for i in range(n):
        point = np.array(x0, dtype=float)
        point[i] += step
        simplex.append(point)
    values = [fn(p) for p in simplex]
    for _ in range(iters):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        spread = np.max(np.abs(simplex[-1] - simplex[0]))
        if abs(values[-1] - values[0]) < 1e-9 * (1 + abs(values[0])) and spread < 1e-6:
            break
        centroid = np.mean(simplex[:-1], axis=0)
        reflected = centroid + (centroid - simplex[-1])
        f_r = fn(reflected)
        if f_r < values[0]:
            expanded = centroid + 2.0 * (centroid - simplex[-1])
            f_e = fn(expanded)
            simplex[-1], values[-1] = (expanded, f_e) if f_e < f_r else (reflected, f_r)
        elif f_r < values[-2]:
            simplex[-1], values[-1] = reflected, f_r
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            f_c = fn(contracted)
            if f_c < values[-1]:
                simplex[-1], values[-1] = contracted, f_c
            else:
                best = simplex[0]
                simplex = [best + 0.5 * (p - best) for p in simplex]
                values = [fn(p) for p in simplex]
    return simplex[int(np.argmin(values))]


# --------------------------------------------------------------------------- the log at as_of


@dataclass
class _Cut:
    """The log as it looked at ``as_of``, in seconds since the first accept (``t0``)."""

    t0: pd.Timestamp
    as_of: pd.Timestamp
    elapsed_s: float
    performer: np.ndarray  # str per assignment
    suite: np.ndarray  # suite key per assignment
    accept_s: np.ndarray
    end_s: np.ndarray  # nan while active
    kind: np.ndarray  # "sub" | "exp" | "skip" | "act"
    n_tasks: np.ndarray
    work_start_s: np.ndarray  # when the work began (see _work_starts); ``elapsed_s`` for queued active ones


def _column(log: pd.DataFrame, name: str) -> pd.Series | None:
    return log[name] if name in log.columns else None


def _stamps(series: pd.Series, what: str) -> pd.Series:
    try:
        stamps = pd.to_datetime(series, utc=True)
    except (ValueError, TypeError) as exc:
        raise CalibrationError(f"log: column {what!r} holds values that are not timestamps ({exc})") from None
    return stamps


def _as_of(value: object, default: pd.Timestamp) -> pd.Timestamp:
    if value is None:
        return default
    try:
        moment = parse_timestamp(value, _dt.timezone.utc)
    except (ValueError, TypeError) as exc:
        raise CalibrationError(f"as_of: {exc}") from None
    return pd.Timestamp(moment).tz_convert("UTC")


def _cut(log: pd.DataFrame, as_of: object, time_limit_s: float) -> _Cut:
    missing = [c for c in _REQUIRED if c not in log.columns]
    if missing:
        columns = ", ".join(map(str, log.columns))
        raise CalibrationError(f"log: missing column(s) {', '.join(missing)} (columns: {columns})")
    if len(log) == 0:
        raise CalibrationError("log: no assignments")
    accepted = _stamps(log["accepted_at"], "accepted_at")
    if accepted.isna().any():
        raise CalibrationError(f"log: {int(accepted.isna().sum())} assignment(s) without accepted_at")
    submitted = _stamps(log["submitted_at"], "submitted_at") if "submitted_at" in log.columns else pd.Series(
        pd.NaT, index=log.index, dtype="datetime64[ns, UTC]")
    status = log["status"].astype(str).str.strip().str.lower()
    unknown = sorted(set(status) - _DONE - _EXPIRED - _SKIPPED - _ACTIVE)
    if unknown:
        raise CalibrationError(f"log: unknown status {unknown[0]!r} (expected submitted, approved, rejected, "
                               "expired, skipped or active)")
    last = max(accepted.max(), submitted.max()) if submitted.notna().any() else accepted.max()
    moment = _as_of(as_of, last)
    keep = (accepted <= moment).to_numpy()
    if not keep.any():
        raise CalibrationError(f"as_of: {moment.isoformat()} is before the first accept in the log "
                               f"({accepted.min().isoformat()})")
    t0 = accepted[keep].min()
    acc = ((accepted[keep] - t0).dt.total_seconds()).to_numpy()
    sub = ((submitted[keep] - t0).dt.total_seconds()).to_numpy()
    st = status[keep].to_numpy()
    now = (moment - t0).total_seconds()
    kind = np.full(len(acc), "act", dtype=object)
    end = np.full(len(acc), np.nan)
    done = np.isin(st, list(_DONE)) & np.isfinite(sub) & (sub <= now)
    kind[done], end[done] = "sub", np.maximum(sub[done], acc[done])
    if "ended_at" in log.columns:  # the end of expired and skipped assignments, when the log has it
        ended = ((_stamps(log["ended_at"], "ended_at")[keep] - t0).dt.total_seconds()).to_numpy()
        sub_or_end = np.where(np.isfinite(sub), sub, ended)
    else:
        sub_or_end = sub
    skipped = np.isin(st, list(_SKIPPED))
    skip_end = np.where(np.isfinite(sub_or_end), np.maximum(sub_or_end, acc), acc)
    skipped &= skip_end <= now
    kind[skipped], end[skipped] = "skip", skip_end[skipped]
    # expired in the log, or still open in the cut log but past the time limit: expired by as_of
    expired = (np.isin(st, list(_EXPIRED)) | (kind == "act")) & (acc + time_limit_s <= now) & ~done & ~skipped
    kind[expired], end[expired] = "exp", acc[expired] + time_limit_s
    performer = log["performer"][keep].astype(str).to_numpy()
    suite_col = _column(log, "suite_id")
    suite = (suite_col[keep].astype(str).to_numpy() if suite_col is not None
             else np.array([f"a{i}" for i in range(len(acc))], dtype=object))
    tasks_col = _column(log, "n_tasks")
    n_tasks = (pd.to_numeric(tasks_col[keep], errors="coerce").fillna(1).clip(lower=1).to_numpy(dtype=float)
               if tasks_col is not None else np.ones(len(acc)))
    return _Cut(t0, moment, now, performer, suite, acc, end, kind, n_tasks,
                _work_starts(performer, acc, end, kind, now))


def _work_starts(performer: np.ndarray, accept: np.ndarray, end: np.ndarray, kind: np.ndarray,
                 now: float) -> np.ndarray:
    """When each assignment's work began (seconds since ``t0``).

    A performer works on one assignment at a time: one accepted while an earlier one was
    still open (an MTurk worker's queue of accepted HITs) starts when the performer last
    finished one (submitted or skipped; assignments ending at the same moment, such as a page
    done together, run side by side).  Of a performer's active assignments only the earliest
    accepted is being worked on; the others wait in the queue and start ``now``.
    """
    start = accept.astype(float).copy()
    finished = np.isin(kind, ("sub", "skip"))
    active = kind == "act"
    order = np.argsort(performer, kind="stable")
    names = performer[order]
    bounds = np.flatnonzero(np.r_[True, names[1:] != names[:-1], True])
    for lo, hi in itertools.pairwise(bounds):
        idx = order[lo:hi]
        ends = np.sort(end[idx][finished[idx]])
        done = idx[finished[idx]]
        if len(ends):
            before = np.searchsorted(ends, end[done], side="left") - 1
            start[done] = np.where(before >= 0, np.maximum(accept[done], ends[np.maximum(before, 0)]), accept[done])
        waiting = idx[active[idx]]
        if len(waiting):
            waiting = waiting[np.argsort(accept[waiting], kind="stable")]
            start[waiting[0]] = max(float(accept[waiting[0]]), float(ends[-1]) if len(ends) else -math.inf)
            start[waiting[1:]] = now
    return start


# --------------------------------------------------------------------------- work times


def _fit_work(cut: _Cut, limit_s: float, start: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Censored log-normal per task, mixed with abandonment: ``mu``, ``sigma`` (log seconds), ``abandon``.

    ``abandon`` is the share of the assignments not skipped.  With ``start`` (a bootstrap refit) the search
    starts from the point estimate and ``abandon`` is drawn from its posterior (``start["rng"]``).
    """
    per = cut.n_tasks
    sub = cut.kind == "sub"
    x = np.maximum((cut.end_s[sub] - cut.work_start_s[sub]) / per[sub], 1e-3)
    act = cut.kind == "act"
    c_act = np.maximum((cut.elapsed_s - cut.work_start_s[act]) / per[act], 1e-3)
    n_exp = int(np.sum(cut.kind == "exp"))
    lim = limit_s / max(1.0, float(np.median(per))) if len(per) else limit_s
    logx = np.log(x)
    if len(x) == 0:
        raise CalibrationError("log: no submitted assignment before as_of: work times cannot be fitted")
    mu0 = float(np.median(logx))
    s0 = max(0.1, float(np.std(logx)) if len(x) > 1 else 0.5)

    def nll(theta: np.ndarray) -> float:
        mu, log_s, logit_a = theta
        s = math.exp(min(max(log_s, -5.0), 3.0))
        a = 1.0 / (1.0 + math.exp(-min(max(logit_a, -30.0), 30.0)))
        z = (logx - mu) / s
        ll = np.sum(-0.5 * z * z - math.log(s) - logx) + len(x) * math.log1p(-a)
        if n_exp:
            log_sf = float(_log_sf_normal(np.array([(math.log(lim) - mu) / s]))[0])
            ll += n_exp * math.log(a + (1 - a) * math.exp(log_sf))
        if len(c_act):
            sf = np.exp(_log_sf_normal((np.log(c_act) - mu) / s))
            ll += float(np.sum(np.log(a + (1 - a) * sf)))
        return -float(ll)

    if start is None:
        best = _minimize(nll, [mu0, math.log(s0), -4.0])
    else:  # a bootstrap refit: start from the point estimate, smaller steps
        x0 = [start["mu"], math.log(start["sigma"]), math.log(max(start["abandon"], 1e-4) / (1 - start["abandon"]))]
        best = _minimize(nll, x0, iters=150, step=0.2)
        mu, sigma = float(best[0]), float(math.exp(min(max(best[1], -5.0), 3.0)))
        grid, post = start["abandon_grid"]
        abandon = float(start["rng"].choice(grid, p=post))
        return {"mu": mu, "sigma": sigma, "abandon": abandon}
    mu, sigma = float(best[0]), float(math.exp(min(max(best[1], -5.0), 3.0)))
    # abandonment is seen late (an abandoned assignment shows only at the time limit): a posterior on a grid
    # (uniform prior on [0, 0.6], mu and sigma at their estimates); its median is the point estimate
    grid = np.linspace(0.0, 0.6, 121)
    log_like = np.array([-nll(np.array([mu, math.log(sigma), math.log(max(a, 1e-12) / (1 - a))])) for a in grid])
    post = np.exp(log_like - log_like.max())
    post /= post.sum()
    abandon = float(grid[min(int(np.searchsorted(np.cumsum(post), 0.5)), len(grid) - 1)])
    return {"mu": mu, "sigma": sigma, "abandon": abandon, "abandon_grid": (grid, post)}


def _per_task_lognormal(mu: float, sigma: float, tasks: float) -> tuple[float, float]:
    """Median and sigma of a per-task log-normal whose sum over ``tasks`` tasks matches the fitted average's moments."""
    if tasks <= 1:
        return math.exp(mu), sigma
    mean = math.exp(mu + sigma**2 / 2)
    cv2 = tasks * (math.exp(sigma**2) - 1.0)
    s2 = math.log1p(cv2)
    return mean / math.exp(s2 / 2), math.sqrt(s2)


# --------------------------------------------------------------------------- open work and sessions


def _open_slots(cut: _Cut, needed: int) -> tuple[np.ndarray, np.ndarray]:
    """Step function of open assignment slots: ``(times, open after each time)``."""
    times = np.concatenate([cut.accept_s, cut.end_s[np.isfinite(cut.end_s)]])
    ends_sub = cut.kind[np.isfinite(cut.end_s)] == "sub"
    # accept: one slot taken; end: submitted keeps it taken, expired/skipped gives it back
    delta = np.concatenate([-np.ones(len(cut.accept_s)), np.where(ends_sub, 0.0, 1.0)])
    order = np.argsort(times, kind="stable")
    return times[order], needed + np.cumsum(delta[order])


def _open_at(steps: tuple[np.ndarray, np.ndarray], t: np.ndarray, needed: int) -> np.ndarray:
    times, level = steps
    idx = np.searchsorted(times, t, side="right") - 1
    return np.where(idx >= 0, level[np.maximum(idx, 0)], needed)


@dataclass
class _Sessions:
    start_s: np.ndarray
    length: np.ndarray
    censored: np.ndarray
    performer: np.ndarray


def _sessions(cut: _Cut, gap_s: float, steps: tuple[np.ndarray, np.ndarray], needed: int,
              limit: int | None) -> _Sessions:
    order = np.lexsort((cut.accept_s, cut.performer))
    starts: list[float] = []
    lengths: list[int] = []
    censored: list[bool] = []
    who: list[str] = []
    totals: dict[str, int] = {}
    for p, k in zip(cut.performer, cut.kind, strict=True):
        if k != "skip":
            totals[p] = totals.get(p, 0) + 1
    prev_p, prev_end, n, s0 = None, -math.inf, 0, 0.0

    def close(p: str, end: float, ongoing: bool) -> None:
        # censored (the session could have gone on): still working, just finished (the next accept may
        # follow), ended by an expiry (abandonment ends a session), by nothing open or by the limit
        nothing_open = bool(_open_at(steps, np.array([end]), needed)[0] <= 0)
        at_limit = limit is not None and totals.get(p, 0) >= limit
        starts.append(s0)
        lengths.append(n)
        recent = cut.elapsed_s - end <= min(_NEXT_WITHIN_S, gap_s)
        censored.append(ongoing or recent or last_expired or nothing_open or at_limit)
        who.append(p)

    ongoing = last_expired = False
    for i in order:
        p, a = cut.performer[i], cut.accept_s[i]
        e = cut.end_s[i]
        if p != prev_p or (not ongoing and a - prev_end > gap_s):
            if prev_p is not None:
                close(prev_p, prev_end, ongoing)
            prev_p, n, s0, ongoing, prev_end = p, 0, a, False, -math.inf
        n += 1
        last_expired = cut.kind[i] == "exp"
        if math.isnan(e):
            ongoing = True
        else:
            prev_end = max(prev_end, e)
    if prev_p is not None:
        close(prev_p, prev_end, ongoing)
    return _Sessions(np.array(starts), np.array(lengths), np.array(censored, dtype=bool), np.array(who, dtype=object))


def _session_gap(cut: _Cut, max_gap_s: float) -> float:
    """The pause that separates sessions: the natural break in the log's pauses, at most ``max_gap_s``.

    The pauses between a performer's consecutive assignments (one's end to the next accept) mix the
    short pauses within a session with the long ones between sessions.  With a fixed threshold two
    sessions of an active person less than ``max_gap_s`` apart merge into one, which makes sessions
    look longer and fewer.  The break is found by Otsu's criterion on ``log(1 + pause)``: the threshold
    (on a log grid from 1 s to ``max_gap_s``) that best separates the two groups; among equally good
    thresholds (an empty stretch of pauses) the geometric middle of the stretch.
    """
    order = np.lexsort((cut.accept_s, cut.performer))
    p, a, e = cut.performer[order], cut.accept_s[order], cut.end_s[order]
    same = p[1:] == p[:-1]
    pauses = (a[1:] - e[:-1])[same]
    pauses = pauses[np.isfinite(pauses)]
    x = np.log1p(np.maximum(pauses, 0.0))
    if max_gap_s <= 1.0 or len(x) < 10:
        return max_gap_s
    candidates = np.geomspace(1.0, max_gap_s, 60)
    total = x.mean()
    scores = []
    for c in np.log1p(candidates):
        low = x <= c
        w = low.mean()
        if w in (0.0, 1.0):
            scores.append(0.0)
            continue
        m0, m1 = x[low].mean(), x[~low].mean()
        scores.append(w * (m0 - total) ** 2 + (1 - w) * (m1 - total) ** 2)
    s = np.asarray(scores)
    if s.max() <= 0:
        return max_gap_s
    best = np.flatnonzero(s >= s.max() * (1 - 1e-9))
    return float(math.sqrt(candidates[best[0]] * candidates[best[-1]]))


def _fit_session_length(s: _Sessions) -> float:
    """Geometric mean length with right-censoring: p = uncensored / (uncensored + Σ (k − 1))."""
    n_u = int(np.sum(~s.censored))
    extra = float(np.sum(s.length - 1))
    if n_u == 0:
        return max(1.0, float(np.mean(s.length)) * 2)
    p = n_u / (n_u + extra)
    return max(1.0, 1.0 / p)


# --------------------------------------------------------------------------- arrivals


def _cells(cut: _Cut, tz: str, steps: tuple[np.ndarray, np.ndarray], needed: int,
           available: Callable[[np.ndarray], np.ndarray] | None = None,
           open_work_exponent: float = 0.0) -> dict[str, np.ndarray]:
    """A grid over [0, elapsed]: cell edges, local hour, and the exposure: the share of the cell with open work,
    times the share of the crowd's sessions that could still take some (``available``, default all), times
    (open ÷ needed work)^``open_work_exponent`` (the crowd's ``open_work_exponent``, given)."""
    total = max(cut.elapsed_s, 1.0)
    n = int(min(1000, max(120, math.ceil(total / 600.0))))
    edges = np.linspace(0.0, total, n + 1)
    mids = (edges[:-1] + edges[1:]) / 2
    stamps = cut.t0 + pd.to_timedelta(mids, unit="s")
    hours = stamps.tz_convert(tz).hour.to_numpy()
    probes = edges[:-1, None] + (edges[1:] - edges[:-1])[:, None] * (np.arange(8) + 0.5)[None, :] / 8
    open_work = _open_at(steps, probes.ravel(), needed)
    weight = (open_work > 0).astype(float)
    if open_work_exponent > 0:
        weight = weight * np.clip(open_work / max(needed, 1), 0.0, 1.0) ** open_work_exponent
    if available is not None:
        weight = weight * available(probes.ravel())
    exposure = np.mean(weight.reshape(probes.shape), axis=1)
    return {"a": edges[:-1], "b": edges[1:], "hour": hours, "exposure": exposure}


def _sim_weights(cut: _Cut, population: int, top10_share: float) -> dict[str, float]:
    """Each named performer's share of the crowd's sessions as the simulation will give it: the Zipf weights
    over ``population`` people under which the busiest tenth holds ``top10_share``, the heaviest to whoever
    did the most (as the warm start maps names to people)."""
    finished = np.isin(cut.kind, ["sub", "exp"])
    done = pd.Series(cut.performer[finished]).value_counts().to_dict()
    for name in cut.performer:
        done.setdefault(name, 0)
    ranked = sorted(done, key=lambda name: (-done[name], str(name)))[:population]
    weights = np.arange(1, population + 1, dtype=float) ** -zipf_exponent(population, top10_share)
    weights /= weights.sum()
    return {name: float(weights[i]) for i, name in enumerate(ranked)}


def _available_share(cut: _Cut, capacity: int, weight_of: Mapping[str, float]) -> Callable[[np.ndarray], np.ndarray]:
    """The share of the crowd's sessions, as a function of time, from people who could still take a suite.

    A person who has done ``capacity`` suites (every suite, or the per-batch limit) no longer comes to the
    batch: the platform stops offering it, and in the simulation their sessions find nothing.  So a fall
    in session starts after the busiest people ran out of work is not a fall in the crowd's interest: from
    the moment a person ran out, their share of the sessions (``weight_of``, as the simulation gives it)
    leaves the exposure.
    """
    done = cut.kind == "sub"
    out_at, weight = [], []
    for person, ends in pd.Series(cut.end_s[done]).groupby(cut.performer[done]):
        if len(ends) >= capacity:
            out_at.append(float(np.sort(ends.to_numpy())[capacity - 1]))
            weight.append(weight_of.get(person, 0.0))
    order = np.argsort(out_at)
    times, lost = np.asarray(out_at, dtype=float)[order], np.cumsum(np.asarray(weight, dtype=float)[order])

    def available(t: np.ndarray) -> np.ndarray:
        k = np.searchsorted(times, t, side="right")
        gone = np.where(k > 0, lost[np.maximum(k - 1, 0)] if len(lost) else 0.0, 0.0)
        return np.maximum(1.0 - gone, 0.02)

    return available


def _multiplier_integral(a: ArrayLike, b: ArrayLike, burst: ArrayLike, half: ArrayLike, exponent: ArrayLike,
                         scale: ArrayLike) -> np.ndarray:
    """∫_a^b multiplier(t) dt per model (rows) and cell (columns), for a burst *or* a fade (seconds).

    Burst: ``1 + (burst − 1)·2^(−t/half)``; fade: ``(1 + t/scale)^(−exponent)``; neither: 1.
    """
    burst, half, exponent, scale = (np.asarray(x, dtype=float)[:, None] for x in (burst, half, exponent, scale))
    a, b = np.asarray(a, dtype=float)[None, :], np.asarray(b, dtype=float)[None, :]
    k = math.log(2.0) / np.where(np.isfinite(half), half, 1.0)
    bursty = (b - a) + (burst - 1.0) / k * (np.exp(-k * a) - np.exp(-k * b))
    s = np.where(np.isfinite(scale), scale, 1.0)
    one_minus = 1.0 - exponent
    near_one = np.abs(one_minus) < 1e-9
    power = np.where(near_one, 1.0, one_minus)
    faded = np.where(near_one, s * (np.log1p(b / s) - np.log1p(a / s)),
                     s / power * ((1.0 + b / s) ** power - (1.0 + a / s) ** power))
    return np.where(exponent > 0, faded, bursty)


def _log_multiplier(t: ArrayLike, burst: ArrayLike, half: ArrayLike, exponent: ArrayLike,
                    scale: ArrayLike) -> np.ndarray:
    """log multiplier(t) per model (rows) and moment (columns)."""
    burst, half, exponent, scale = (np.asarray(x, dtype=float)[:, None] for x in (burst, half, exponent, scale))
    t = np.asarray(t, dtype=float)[None, :]
    bursty = np.log1p((burst - 1.0) * np.exp2(-t / np.where(np.isfinite(half), half, 1.0)))
    faded = -exponent * np.log1p(t / np.where(np.isfinite(scale), scale, 1.0))
    return np.where(exponent > 0, faded, bursty)


#: The grid of the arrival posterior: bursts (1 = no decay) and half-lives (seconds) ...
_BURSTS = np.geomspace(1.25, 20.0, 13)
_HALF_LIVES_S = np.geomspace(300.0, 3 * 86400.0, 16)
#: ... and fades: exponents and scales (seconds).  Exponents stop at 1: a crowd fading faster would
#: bring a finite number of sessions in all, and a batch of the log's kind got done.
_FADE_EXPONENTS = np.array([0.25, 0.5, 0.75, 1.0])
_FADE_SCALES_S = np.geomspace(300.0, 3 * 86400.0, 16)
#: Prior probabilities: no change with the batch's age, a launch burst that fades to a floor, a fade with no
#: floor (interest falls as the batch ages); within a family, even over its (log) grid.
_P_NO_DECAY, _P_BURST, _P_FADE = 1 / 3, 1 / 3, 1 / 3


def _arrival_models() -> dict[str, np.ndarray]:
    """The models of the arrival posterior: one entry per model in each array, with its log prior."""
    n_b, n_f = len(_BURSTS) * len(_HALF_LIVES_S), len(_FADE_EXPONENTS) * len(_FADE_SCALES_S)
    nan_b, nan_f = np.full(n_b, math.nan), np.full(n_f, math.nan)
    return {
        "burst": np.concatenate([[1.0], np.repeat(_BURSTS, len(_HALF_LIVES_S)), np.ones(n_f)]),
        "half": np.concatenate([[math.nan], np.tile(_HALF_LIVES_S, len(_BURSTS)), nan_f]),
        "exponent": np.concatenate([[0.0], np.zeros(n_b), np.repeat(_FADE_EXPONENTS, len(_FADE_SCALES_S))]),
        "scale": np.concatenate([[math.nan], nan_b, np.tile(_FADE_SCALES_S, len(_FADE_EXPONENTS))]),
        "log_prior": np.log(np.concatenate([[_P_NO_DECAY], np.full(n_b, _P_BURST / n_b), np.full(n_f, _P_FADE / n_f)])),
    }


def _model_values(models: Mapping[str, np.ndarray], i: int) -> dict[str, float]:
    """Model ``i``'s burst, half-life, fade exponent and fade scale (nan where it has none)."""
    return {"burst": float(models["burst"][i]), "half_life": float(models["half"][i]),
            "fade_exponent": float(models["exponent"][i]), "fade_scale": float(models["scale"][i])}


def _fit_arrivals(starts: np.ndarray, cells: dict[str, np.ndarray], hourly: np.ndarray) -> dict[str, Any]:
    """Posterior over how the rate changes with the batch's age, on a grid, the rate integrated out.

    The models: no change; a launch burst fading to a floor (burst, half-life); a fade with no floor
    (exponent, scale).  With a flat prior on log(rate), given a model the likelihood of the session
    starts is ``rate^n·exp(−rate·E)·Π mult(t_i)`` (E: the expected sessions at rate 1 over the open
    time), so the marginal likelihood is ``Π mult(t_i) / E^n`` and the rate's posterior is Gamma(n, E).
    The mode is the point estimate; draws of (model, rate) carry what a short log cannot tell: whether
    and how fast the crowd's interest falls as the batch ages.
    """
    n = len(starts)
    if n == 0:
        raise CalibrationError("log: no session starts before as_of: arrivals cannot be fitted")
    models = _arrival_models()
    weight = hourly[cells["hour"]] * cells["exposure"]
    shape = (models["burst"], models["half"], models["exponent"], models["scale"])
    expected = np.maximum(_multiplier_integral(cells["a"], cells["b"], *shape) @ weight, 1e-12)
    log_mult = _log_multiplier(starts, *shape).sum(axis=1)
    log_post = log_mult - n * np.log(expected) + models["log_prior"]
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    mode = int(np.argmax(post))
    return {
        "rate": n / expected[mode], **_model_values(models, mode),
        "p_decay": float(1.0 - post[0]),
        "p_fade": float(post[models["exponent"] > 0].sum()),
        "grid": (models, expected, post, n),
    }


def _fit_hourly(starts: np.ndarray, cells: dict[str, np.ndarray], arrivals: dict[str, float], tz: str,
                t0: pd.Timestamp, elapsed: float) -> np.ndarray:
    """Hour-of-day weights (mean 1) shrunk toward flat; flat when the log spans less than a day."""
    if elapsed < 86400.0:
        return np.ones(24)
    shape = ([arrivals["burst"]], [arrivals["half_life"]], [arrivals["fade_exponent"]], [arrivals["fade_scale"]])
    expected_cell = arrivals["rate"] * cells["exposure"] * _multiplier_integral(cells["a"], cells["b"], *shape)[0]
    expected = np.bincount(cells["hour"], weights=expected_cell, minlength=24)
    hours = (t0 + pd.to_timedelta(starts, unit="s")).tz_convert(tz).hour.to_numpy()
    observed = np.bincount(hours, minlength=24).astype(float)
    weights = (observed + _HOUR_PRIOR) / (expected + _HOUR_PRIOR)
    return weights / weights.mean()


# --------------------------------------------------------------------------- population and skew


def _zipf_share(population: int, exponent: float) -> float:
    top = max(1, math.ceil(population * 0.1))
    w = np.arange(1, population + 1, dtype=float) ** -exponent
    return float(w[:top].sum() / w.sum())


def _least_crowd(overlap: int, needed: int, n_suites: int, limit: int | None) -> int:
    """The fewest people who could finish the batch at all: ``overlap`` different people per suite, each
    doing every suite at most once and at most ``limit`` of them."""
    per_person = min(limit, n_suites) if limit else n_suites
    return max(overlap, -(-needed // max(per_person, 1)))


#: Smallest spread (log scale) of the population's draws: a factor 2 either way at 95 %.
_POPULATION_LOG_SD = math.log(2.0) / 1.96


def _fit_population(counts: np.ndarray, least: int = 1) -> dict[str, float]:
    """Population size and the Zipf exponent under which D distinct people are expected.

    ``counts`` are sessions per performer seen; D distinct performers, F1 seen once, F2 twice.  The size
    is the bias-corrected Chao1 ``D + F1(F1 − 1)/(2(F2 + 1))`` — a lower bound, low when people return
    in several sessions — but at least twice the fewest people who could finish the batch (``least``):
    the batches a crowd finishes are not ones that need every member of it.  ``log_sd`` is the spread of
    its draws: Chao's log-normal interval for the unseen people, at least a factor 2 either way.
    """
    distinct = len(counts)
    f1, f2 = int(np.sum(counts == 1)), int(np.sum(counts == 2))
    unseen = f1 * (f1 - 1) / (2 * (f2 + 1))
    chao = distinct + unseen
    population = int(min(max(chao, distinct, 2 * least, 2), 50 * max(distinct, 1, least), 100_000))
    log_sd = _POPULATION_LOG_SD
    if unseen > 0:
        var = unseen + f1 * (2 * f1 - 1) ** 2 / (4 * (f2 + 1) ** 2) + f1**2 * f2 * (f1 - 1) ** 2 / (4 * (f2 + 1) ** 4)
        log_sd = max(log_sd, math.sqrt(math.log1p(var / unseen**2)))
    return {**_zipf_fit(counts, population), "log_sd": log_sd, "least": float(least)}


def _zipf_fit(counts: np.ndarray, population: int) -> dict[str, float]:
    """The Zipf exponent over ``population`` people under which ``len(counts)`` distinct ones are expected."""
    sessions, distinct = int(counts.sum()), len(counts)
    ranks = np.arange(1, population + 1, dtype=float)
    best = (math.inf, 0.0)
    for exponent in np.linspace(0.0, 2.0, 41):
        p = ranks**-exponent
        p /= p.sum()
        seen = float(np.sum(-np.expm1(sessions * np.log1p(-np.minimum(p, 1 - 1e-12)))))
        if abs(seen - distinct) < best[0]:
            best = (abs(seen - distinct), float(exponent))
    exponent = best[1]
    return {"population": population, "exponent": exponent,
            "top10_share": min(0.95, max(0.1, _zipf_share(population, exponent)))}


def _population_draw(fit: Mapping[str, Any], counts: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """A draw of the population (log-normal around the estimate, at least the people seen and twice the
    fewest who could finish, as the estimate) with its Zipf exponent."""
    size = float(fit["population"]) * math.exp(float(fit["log_sd"]) * float(rng.standard_normal()))
    size = min(max(size, len(counts), 2 * float(fit["least"]), 2.0), 100_000.0)
    return _zipf_fit(counts, round(size))


def _top10_share_of_work(cut: _Cut) -> float:
    counts = pd.Series(cut.performer[cut.kind != "skip"]).value_counts().to_numpy()
    if len(counts) == 0:
        return math.nan
    top = max(1, math.ceil(len(counts) * 0.1))
    return float(counts[:top].sum() / counts.sum())


def _fit_limit(cut: _Cut, n_suites: int) -> int | None:
    """A per-batch limit: many performers stopped at exactly the largest count."""
    counts = pd.Series(cut.performer[cut.kind != "skip"]).value_counts()
    if len(counts) < 5:
        return None
    top = int(counts.max())
    at_top = int(np.sum(counts == top))
    below = [int(np.sum(counts == k)) for k in range(max(1, top - 3), top)]
    if top >= n_suites or at_top < max(3, 0.1 * len(counts)):
        return None
    if below and at_top < 2 * max(float(np.mean(below)), 1.0):
        return None
    return top


# --------------------------------------------------------------------------- the crowd fit


@dataclass
class _Crowd:
    rate_per_s: float
    burst: float
    half_life_s: float
    hourly: np.ndarray
    session_mean: float
    mu: float
    sigma: float
    abandon: float
    skip: float
    population: int
    top10_share: float
    top10_work: float
    limit: int | None
    n_sessions: int
    p_decay: float = math.nan
    fade_exponent: float = 0.0
    fade_scale_s: float = math.nan
    p_fade: float = math.nan
    abandon_grid: tuple[np.ndarray, np.ndarray] | None = None
    open_work_exponent: float = 0.0

    def values(self, tasks: float) -> dict[str, float]:
        median, sigma = _per_task_lognormal(self.mu, self.sigma, tasks)
        return {
            "sessions_per_hour": self.rate_per_s * 3600.0,
            "burst": self.burst,
            "half_life_h": self.half_life_s / 3600.0 if self.burst != 1.0 else math.nan,
            "fade_exponent": self.fade_exponent,
            "fade_scale_h": self.fade_scale_s / 3600.0 if self.fade_exponent > 0 else math.nan,
            "suites_per_session": self.session_mean,
            "seconds_per_task_median": median,
            "seconds_per_task_sigma": sigma,
            "abandon_rate": self.abandon,
            "skip_rate": self.skip,
            "population": float(self.population),
            "top10_share": self.top10_share,
            "top10_share_of_work": self.top10_work,
        }


def _fit_crowd(cut: _Cut, *, needed: int, n_suites: int, limit_s: float, gap_s: float, limit: int | None,
               arrivals: Mapping[str, Any], population: Mapping[str, float],
               work_start: Mapping[str, Any] | None = None) -> _Crowd:
    """The crowd of ``cut`` with the given arrivals and population (fitted or drawn): sessions, work times,
    skip and abandon rates are fitted here."""
    sessions = _sessions(cut, gap_s, _open_slots(cut, needed), needed, limit)
    hourly = arrivals["hourly"]
    work = _fit_work(cut, limit_s, start=work_start)
    skip = float(np.sum(cut.kind == "skip") / max(len(cut.kind), 1))
    pop = population
    return _Crowd(
        rate_per_s=arrivals["rate"], burst=arrivals["burst"], half_life_s=arrivals["half_life"], hourly=hourly,
        session_mean=min(_fit_session_length(sessions), float(n_suites), _MAX_SESSION_MEAN),
        mu=work["mu"], sigma=work["sigma"],
        abandon=work["abandon"] * (1 - min(skip, 0.95)), skip=min(skip, 0.95),
        population=int(pop["population"]), top10_share=float(pop["top10_share"]),
        top10_work=_top10_share_of_work(cut), limit=limit, n_sessions=len(sessions.start_s),
        p_decay=float(arrivals.get("p_decay", math.nan)), fade_exponent=float(arrivals["fade_exponent"]),
        fade_scale_s=float(arrivals["fade_scale"]), p_fade=float(arrivals.get("p_fade", math.nan)),
        abandon_grid=work.get("abandon_grid"), open_work_exponent=float(arrivals.get("open_work_exponent", 0.0)),
    )


def _arrivals(cut: _Cut, sessions: _Sessions, steps: tuple[np.ndarray, np.ndarray], needed: int,
              tz: str, available: Callable[[np.ndarray], np.ndarray] | None = None,
              open_work_exponent: float = 0.0) -> dict[str, Any]:
    """Arrival fit (rate, burst, fade, their posterior grid, hourly weights); with ``available`` the exposure
    leaves out the sessions of people who ran out of work (:func:`_available_share`); a given
    ``open_work_exponent`` scales it by the open share of the work (the rate is then the one at full open work)."""
    cells = _cells(cut, tz, steps, needed, available, open_work_exponent)
    arrivals = _fit_arrivals(sessions.start_s, cells, np.ones(24))
    hourly = _fit_hourly(sessions.start_s, cells, arrivals, tz, cut.t0, cut.elapsed_s)
    if not np.allclose(hourly, 1.0):
        arrivals = _fit_arrivals(sessions.start_s, cells, hourly)
    arrivals["hourly"] = hourly
    arrivals["open_work_exponent"] = open_work_exponent
    return arrivals


def _arrival_draw(fit: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """A draw of (model, rate) from the arrival posterior."""
    models, expected, post, n = fit["grid"]
    i = int(rng.choice(len(post), p=post))
    out = dict(fit)
    out.update({**_model_values(models, i), "rate": float(rng.gamma(n, 1.0 / expected[i]))})
    return out


def _skew(crowd: _Crowd) -> dict[str, float]:
    """The crowd's skew as the scenario key: the session skew, the Zipf law under which the distinct people
    seen are expected after the sessions seen — it sets how often new people come, which the end of a batch
    waits for once the busiest people ran out of work."""
    return {"top10_share": float(f"{min(max(crowd.top10_share, 0.1), 0.99):.4g}")}


def _crowd_mapping(crowd: _Crowd, tasks: float, name: str = "crowd") -> dict[str, Any]:
    median, sigma = _per_task_lognormal(crowd.mu, crowd.sigma, tasks)
    group: dict[str, Any] = {
        "name": name,
        "kind": "crowd",
        "sessions_per_hour": float(f"{crowd.rate_per_s * 3600.0:.6g}"),
    }
    if not np.allclose(crowd.hourly, 1.0):
        group["activity"] = {"hourly": [round(float(w), 4) for w in crowd.hourly], "weekly": [1.0] * 7}
    decay: dict[str, Any] = {}
    if crowd.burst != 1.0:
        decay.update({"burst": float(f"{crowd.burst:.6g}"), "half_life": f"{crowd.half_life_s:.1f}s"})
    if crowd.fade_exponent > 0:
        decay.update({"fade_exponent": float(f"{crowd.fade_exponent:.6g}"), "fade_scale": f"{crowd.fade_scale_s:.1f}s"})
    if decay:
        group["decay"] = decay
    group.update({
        "population": int(crowd.population),
        **_skew(crowd),
        "suites_per_session": {"dist": "geometric", "mean": float(f"{max(1.0, crowd.session_mean):.6g}")},
        "seconds_per_task": {"dist": "lognormal", "median": float(f"{median:.6g}"), "sigma": float(f"{sigma:.6g}")},
        "skip_rate": float(f"{crowd.skip:.6g}"),
        "abandon_rate": float(f"{min(crowd.abandon, 0.9 - crowd.skip):.6g}"),
    })
    if crowd.limit is not None:
        group["limits"] = {"per_batch": int(crowd.limit)}
    if crowd.open_work_exponent > 0:
        group["open_work_exponent"] = float(crowd.open_work_exponent)
    return group


# --------------------------------------------------------------------------- live state


def _live_state(cut: _Cut, *, n_suites: int, overlap: int, tasks: int, items: int,
                limit_s: float) -> tuple[dict[str, Any], int]:
    """The batch's ``state`` at as_of and the number of suites already labeled."""
    sub = cut.kind == "sub"
    frame = pd.DataFrame({"suite": cut.suite, "performer": cut.performer, "kind": cut.kind,
                          "accept": cut.accept_s, "n_tasks": cut.n_tasks, "work_start": cut.work_start_s})
    done_by = frame[sub].groupby("suite", sort=False)["performer"].agg(lambda s: list(dict.fromkeys(s)))
    labeled_suites = [s for s, names in done_by.items() if len(names) >= overlap]
    labeled_items = min(items, len(labeled_suites) * tasks)
    if labeled_items == items and len(labeled_suites) < n_suites:
        labeled_items = items
    labeled_set = set(labeled_suites)
    partial_keys: list[str] = [s for s, names in done_by.items() if s not in labeled_set]
    active = frame[frame["kind"] == "act"].sort_values("accept")
    for s in active["suite"]:
        if s not in labeled_set and s not in partial_keys:
            partial_keys.append(s)
    partial_keys = partial_keys[: max(0, n_suites - len(labeled_suites))]
    index = {s: i for i, s in enumerate(partial_keys)}
    suites = [{"submitted_by": list(done_by.get(s, []))[: overlap - 1]} for s in partial_keys]
    in_flight: list[dict[str, Any]] = []
    holders: dict[int, set[str]] = {i: set(x["submitted_by"]) for i, x in enumerate(suites)}
    taken: dict[int, int] = {i: len(x["submitted_by"]) for i, x in enumerate(suites)}
    queues = set(active.loc[active["work_start"] > active["accept"], "performer"])  # work waited in a queue
    for suite_key, performer, accept, work_start in zip(active["suite"].tolist(), active["performer"].tolist(),
                                                        active["accept"].tolist(), active["work_start"].tolist(),
                                                        strict=True):
        i = index.get(suite_key)
        if i is None or performer in holders[i] or taken[i] >= overlap:
            continue
        held = max(min(cut.elapsed_s - float(accept), limit_s * (1 - 1e-9) - 1e-6), 0.0)
        item = {"performer": str(performer), "held": f"{held:.3f}s", "suite": i}
        if performer in queues:
            item["worked"] = f"{min(max(cut.elapsed_s - float(work_start), 0.0), held):.3f}s"
        in_flight.append(item)
        holders[i].add(str(performer))
        taken[i] += 1
    submitted = len(labeled_suites) * overlap + sum(len(x["submitted_by"]) for x in suites)
    finished = frame[frame["kind"].isin(["sub", "exp"])]
    done = {str(k): int(v) for k, v in finished["performer"].value_counts().items()}
    state: dict[str, Any] = {
        "status": "Completed" if labeled_items >= items and not in_flight else "Processing",
        "labeled_items": int(labeled_items),
        "submitted": int(submitted),
        "age": f"{cut.elapsed_s:.3f}s",
    }
    if state["status"] == "Processing":
        state["in_flight"] = in_flight
        state["suites"] = suites
    state["done"] = done
    return state, len(labeled_suites)


# --------------------------------------------------------------------------- public API


@dataclass
class CalibratedForecast:
    """Remaining time to completion over replications that drew their crowd from the fit's uncertainty.

    Attributes:
        start: the forecast origin (the calibration's ``as_of``).
        remaining_s: per replication, seconds from ``start`` to completion (inf: not within the horizon).
        draw: per replication, the index of the parameter draw it used.
    """

    start: pd.Timestamp
    remaining_s: np.ndarray
    draw: np.ndarray

    def quantile_s(self, q: float) -> float:
        """The ``q`` quantile of the remaining seconds (inf when it falls beyond the horizon)."""
        return float(np.quantile(self.remaining_s, q, method="inverted_cdf"))

    @property
    def p10_s(self) -> float:
        return self.quantile_s(0.1)

    @property
    def p50_s(self) -> float:
        return self.quantile_s(0.5)

    @property
    def p90_s(self) -> float:
        return self.quantile_s(0.9)

    def eta(self) -> pd.DataFrame:
        """One row: P10/P50/P90 remaining seconds and ETAs (NaT beyond the horizon)."""
        row: dict[str, Any] = {"replications": len(self.remaining_s)}
        for name in ("p10", "p50", "p90"):
            seconds = getattr(self, f"{name}_s")
            row[f"remaining_{name}_s"] = seconds
            row[f"eta_{name}"] = self.start + pd.Timedelta(seconds=seconds) if math.isfinite(seconds) else pd.NaT
        return pd.DataFrame([row])


@dataclass
class Calibration:
    """A scenario calibrated from a log, its fitted parameters and their bootstrap draws.

    Attributes:
        scenario: the calibrated scenario (``start`` = as_of, live state, fitted crowd).
        fitted: one row per parameter (schema ``calibration_fitted`` in ``labelsim.SCHEMAS``): ``value``,
            ``se``, ``low``/``high`` (95 % interval from the draws, corrected for few draws), ``unit``, ``note``.
        draws: scenarios whose crowd is a bootstrap draw (same live state): ``scenario.draw_scenarios``,
            the scenario's ``parameter_draws`` applied.
        notes: what was assumed (e.g. a default reward).
    """

    scenario: Scenario
    fitted: pd.DataFrame
    draws: list[Scenario] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def forecast(self, replications: int = 200, seed: int | None = None, *,
                 until: str | float | None = None, target_assignments: int | None = None) -> CalibratedForecast:
        """Replications spread over the parameter draws (replication r uses draw r mod K).

        The same as forecasting ``scenario`` (its ``parameter_draws``) with :func:`labelsim.forecast`.
        With ``target_assignments`` the remaining time is until that many assignments of the batch are
        submitted in all (those before the start included) instead of until it is Completed — e.g. a
        backtest of a batch that was stopped before every suite got its overlap.
        """
        if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
            raise CalibrationError(f"replications: must be a positive integer, got {replications!r}")
        if target_assignments is not None and (isinstance(target_assignments, bool) or
                                               not isinstance(target_assignments, (int, np.integer))):
            raise CalibrationError(f"target_assignments: must be an integer, got {target_assignments!r}")
        reps = replicate(self.scenario, replications, seed, until=until, keep_runs=target_assignments is not None)
        k_total = max(len(self.scenario.draw_scenarios), 1)
        remaining, draw = [], []
        if target_assignments is not None and reps.runs is not None:
            state = self.scenario.projects[0].batches[0].state
            still = int(target_assignments) - ((state.submitted or 0) if state is not None else 0)
            for r, run in enumerate(reps.runs):
                remaining.append(_time_to_submitted(run.table(), still))
                draw.append(r % k_total)
        else:
            for row in reps.rows:
                if row[_BATCH] != 0:
                    continue
                done = row[_COMPLETED]
                remaining.append(float(done) if done == done else math.inf)
                draw.append(row[0] % k_total)
        start = pd.Timestamp(self.scenario.start).tz_convert(self.scenario.timezone)
        return CalibratedForecast(start, np.asarray(remaining, dtype=float), np.asarray(draw, dtype=int))

    def to_yaml(self) -> str:
        """The scenario as YAML, with comments giving the fitted values and their uncertainty."""
        lines = [f"# {self.scenario.name}: calibrated by labelsim from an assignment log up to "
                 f"{self.scenario.start.isoformat()}",
                 "# fitted parameters (value ± standard error [95% interval], from a bootstrap over performers):"]
        for row in self.fitted.to_dict("records"):
            se = float(row["se"])
            low, high = _fmt(float(row["low"])), _fmt(float(row["high"]))
            spread = f" ± {_fmt(se)} [{low}, {high}]" if math.isfinite(se) else ""
            note = f"  ({row['note']})" if row["note"] else ""
            lines.append(f"#   {row['parameter']}: {_fmt(float(row['value']))}{spread} {row['unit']}{note}".rstrip())
        lines.extend(f"# note: {n}" for n in self.notes)
        data = self.scenario.to_mapping()
        draws = data.pop(DRAWS_KEY, None)
        body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120, default_flow_style=None)
        k = len(draws or ())
        if k:
            comment = (f"# parameter_draws: {k} bootstrap draws of the crowd (a bootstrap over performers, posterior\n"
                       "# draws of the arrivals and the abandon rate), each the values that differ from the point\n"
                       f"# estimate above. A forecast's replication r runs with draw r mod {k}, so its P10-P90 range\n"
                       "# carries the parameters' uncertainty; `labelsim run` uses the point estimate; delete the\n"
                       "# list to forecast with the point estimate only.\n")
            body += comment + yaml.safe_dump({DRAWS_KEY: draws}, sort_keys=False, allow_unicode=True, width=120,
                                             default_flow_style=False)
        return "\n".join(lines) + "\n" + body


def _time_to_submitted(records: np.ndarray, count: int) -> float:
    """Seconds from the start until ``count`` more assignments of batch 0 are submitted (inf: not in the run)."""
    if count <= 0:
        return 0.0
    batch, ended, outcome = records[:, 0], records[:, 5], records[:, 6]
    times = np.sort(ended[(batch == 0) & (outcome == SUBMITTED) & np.isfinite(ended)])
    return float(times[count - 1]) if len(times) >= count else math.inf


def _fmt(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def _option_duration(value: object, name: str) -> float:
    """A duration option: text with a unit (``10m``) or a number of seconds."""
    try:
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            seconds = float(value)
        else:
            seconds = parse_duration(value)
    except (ValueError, TypeError) as exc:
        raise CalibrationError(f"{name}: {exc}") from None
    if seconds <= 0:
        raise CalibrationError(f"{name}: must be positive, got {value!r}")
    return seconds


def _option_count(value: object, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise CalibrationError(f"{name}: must be a whole number ≥ {low}, got {value!r}")
    return int(value)


def _single(log: pd.DataFrame, column: str) -> float | None:
    if column not in log.columns:
        return None
    values = pd.to_numeric(log[column], errors="coerce").dropna()
    return float(values.median()) if len(values) else None


def calibrate(
    log: pd.DataFrame,
    *,
    as_of: object = None,
    items: int | None = None,
    overlap: int | None = None,
    time_limit: str | float | None = None,
    reward: float | None = None,
    timezone: str = "UTC",
    name: str | None = None,
    draws: int = DEFAULT_DRAWS,
    session_gap: str | float = "1h",
    open_work_exponent: float = 0.0,
    seed: int = 0,
) -> Calibration:
    """Fit a scenario to an assignment log up to ``as_of`` (default: the log's last timestamp).

    Args:
        log: the assignment log (see the module docstring for its columns).
        as_of: the forecast origin (timestamp; naive = UTC); later rows are ignored
            and later submissions count as still in flight.
        items: items in the batch (the log cannot tell while suites remain untaken).
        overlap: assignments per suite (default: the log's ``max_assignments``).
        time_limit: the assignment time limit: a duration (``"10m"``) or seconds (default: the log's
            ``time_limit_s``).
        reward: USD per assignment (default: the log's median ``reward_usd``, else 0).
        timezone: the scenario's zone (of the hour-of-day profile).
        name: the scenario's name (default: the batch's).
        draws: bootstrap draws of the crowd parameters (0: none, the forecast uses the point estimate).
        session_gap: the longest pause within a session; a shorter natural break in the log's pauses (see
            ``_session_gap``) is used when the log shows one, but never one under 5 min: real workers pause
            between tasks, and a visit cut at every pause looks like a person who keeps coming back.
        open_work_exponent: the crowd's β (0–2): sessions come at (open ÷ needed work)^β times the rate, a
            nearly done batch sinking in the task lists.  Given, not fitted (a log's prefix cannot tell it from
            a fade); the rate is fitted under it.  Backtest finished batches of your platform to choose it.
        seed: seed of the bootstrap (the calibration is deterministic).

    Raises:
        CalibrationError: a missing column or option, or a log that cannot be fitted.
    """
    if not isinstance(log, pd.DataFrame):
        raise CalibrationError(f"log: expected a pandas DataFrame, got {type(log).__name__}")
    batches = sorted(set(log["batch"].astype(str))) if "batch" in log.columns else []
    if len(batches) > 1:
        raise CalibrationError(f"log: holds {len(batches)} batches ({', '.join(batches[:5])}); calibrate one at a time")
    if time_limit is None:
        from_log = _single(log, "time_limit_s")
        if from_log is None:
            raise CalibrationError("time_limit: the log has no time limit; pass time_limit (e.g. '10m')")
        limit_s = from_log
    else:
        limit_s = _option_duration(time_limit, "time_limit")
    if overlap is None:
        from_log = _single(log, "max_assignments")
        if from_log is None:
            raise CalibrationError("overlap: the log cannot tell how many assignments each suite gets; pass overlap")
        overlap = round(from_log)
    overlap = _option_count(overlap, "overlap")
    max_gap_s = _option_duration(session_gap, "session_gap")
    if (isinstance(open_work_exponent, bool) or not isinstance(open_work_exponent, (int, float))
            or not 0.0 <= open_work_exponent <= 2.0):
        raise CalibrationError(f"open_work_exponent: must be a number from 0 to 2, got {open_work_exponent!r}")
    try:
        pd.Timestamp.now(tz=timezone)
    except Exception:
        raise CalibrationError(f"timezone: unknown time zone {timezone!r}") from None
    cut = _cut(log, as_of, limit_s)
    gap_s = max(_session_gap(cut, max_gap_s), min(_MIN_SESSION_GAP_S, max_gap_s))
    tasks = max(1, round(float(np.median(cut.n_tasks)))) if len(cut.n_tasks) else 1
    seen_suites = len(set(cut.suite))
    if items is None:
        raise CalibrationError(
            f"items: the log cannot tell how many items the batch has ({seen_suites} suites seen so far; "
            "suites nobody took do not appear); pass items")
    items = _option_count(items, "items")
    n_suites = -(-items // tasks)
    if seen_suites > n_suites:
        raise CalibrationError(f"items: {items} items make {n_suites} suites of {tasks}, but the log already "
                               f"shows {seen_suites} suites")
    notes: list[str] = []
    if open_work_exponent:
        notes.append(f"open_work_exponent: {float(open_work_exponent):g} given (not fitted)")
    if reward is None:
        reward = _single(log, "reward_usd")
        if reward is None:
            reward = 0.0
            notes.append("reward: not in the log, 0 USD assumed (money does not limit this forecast)")
    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or reward < 0 or not math.isfinite(reward):
        raise CalibrationError(f"reward: must be a number ≥ 0 (USD), got {reward!r}")
    needed = n_suites * overlap
    limit = _fit_limit(cut, n_suites)
    steps = _open_slots(cut, needed)
    sessions = _sessions(cut, gap_s, steps, needed, limit)
    people = pd.Series(sessions.performer).value_counts().to_numpy()
    population = _fit_population(people, _least_crowd(overlap, needed, n_suites, limit))
    weights = _sim_weights(cut, int(population["population"]), min(max(population["top10_share"], 0.1), 0.99))
    available = _available_share(cut, min(limit, n_suites) if limit else n_suites, weights)
    arrivals = _arrivals(cut, sessions, steps, needed, timezone, available, float(open_work_exponent))
    crowd = _fit_crowd(cut, needed=needed, n_suites=n_suites, limit_s=limit_s, gap_s=gap_s, limit=limit,
                       arrivals=arrivals, population=population)
    state, _ = _live_state(cut, n_suites=n_suites, overlap=overlap, tasks=tasks, items=items, limit_s=limit_s)
    batch_name = batches[0] if batches else "batch"
    title = name or f"{batch_name} (calibrated)"
    remaining = max(needed - state["submitted"], 0)
    cost = reward * 1.3 + 0.005
    base = {
        "name": title,
        "description": f"calibrated from {len(cut.accept_s)} assignments by {len(set(cut.performer))} performers "
                       f"over {format_duration(cut.elapsed_s)}",
        "timezone": timezone,
        "start": cut.as_of.tz_convert(timezone).isoformat(),
        "horizon": f"{max(30 * 86400.0, 50 * cut.elapsed_s):.0f}s",
        # a reward the batch ran with (or 0 assumed) is what its platform took: no minimum-reward check
        "account": {"balance": float(f"{max(1000.0, 10 * remaining * cost):.2f}"),
                    "min_reward": min(float(reward), MIN_REWARD_USD)},
        "projects": [{"name": "log", "batches": [{
            "name": _safe_name(batch_name),
            "items": int(items),
            "overlap": int(overlap),
            "tasks_per_suite": int(tasks),
            "reward": float(reward),
            "time_limit": f"{limit_s:g}s",
            "state": state,
        }]}],
        "performers": [_crowd_mapping(crowd, tasks)],
    }
    try:
        scenario = Scenario.from_mapping(base, source="calibration")
    except LabelsimError as exc:
        raise CalibrationError(f"calibration gave an invalid scenario: {exc}") from None
    point = crowd.values(tasks)
    work_start = {"mu": crowd.mu, "sigma": crowd.sigma, "abandon": crowd.abandon, "abandon_grid": crowd.abandon_grid}
    boot = _bootstrap(cut, draws, seed, arrivals, (population, people), work_start, needed=needed,
                      n_suites=n_suites, limit_s=limit_s, gap_s=gap_s, limit=limit)
    if boot:
        group = base["performers"][0]
        base[DRAWS_KEY] = [_differences(group, _crowd_mapping(c, tasks), f"performers.{group['name']}") for c in boot]
        try:
            scenario = Scenario.from_mapping(base, source="calibration")
        except LabelsimError as exc:
            raise CalibrationError(f"calibration gave an invalid parameter draw: {exc}") from None
    fitted = _fitted_frame(point, [c.values(tasks) for c in boot], crowd)
    return Calibration(scenario=scenario, fitted=fitted, draws=list(scenario.draw_scenarios), notes=notes)


def _safe_name(name: str) -> str:
    return name[:200] or "batch"


def _differences(point: Mapping[str, Any], draw: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """``draw`` as ``--set``-style overrides of ``point``: ``{prefix.key: value}`` for what differs.

    Mappings with the same keys on both sides are compared key by key (``decay.burst``); a key
    missing from ``draw`` is null (e.g. no launch burst in this draw).
    """
    out: dict[str, Any] = {}
    for key in [*point, *(k for k in draw if k not in point)]:
        a, b = point.get(key), draw.get(key)
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping) and set(a) == set(b):
            out.update(_differences(a, b, f"{prefix}.{key}"))
        else:
            out[f"{prefix}.{key}"] = b
    return out


def _bootstrap(cut: _Cut, draws: int, seed: int, arrivals: Mapping[str, Any],
               population: tuple[Mapping[str, Any], np.ndarray], work_start: Mapping[str, Any],
               **kwargs: Any) -> list[_Crowd]:
    """Refit the crowd on logs resampled by performer (with replacement; a repeat is a new performer).

    Arrivals are drawn from their posterior instead (resampled performers would duplicate
    session starts, which looks like a burst), the population from its log-normal spread
    (resampled performers would look like new people).
    """
    if draws <= 0:
        return []
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xCA1,)))
    work_start = {**work_start, "rng": rng}
    people = np.unique(cut.performer)
    rows = {p: np.flatnonzero(cut.performer == p) for p in people}
    out: list[_Crowd] = []
    for _ in range(draws):
        pick = rng.choice(people, size=len(people), replace=True)
        idx = np.concatenate([rows[p] for p in pick])
        names = np.concatenate([np.full(len(rows[p]), f"{p}#{j}", dtype=object) for j, p in enumerate(pick)])
        sample = _Cut(cut.t0, cut.as_of, cut.elapsed_s, names, cut.suite[idx], cut.accept_s[idx],
                      cut.end_s[idx], cut.kind[idx], cut.n_tasks[idx], cut.work_start_s[idx])
        try:
            out.append(_fit_crowd(sample, arrivals=_arrival_draw(arrivals, rng),
                                  population=_population_draw(population[0], population[1], rng),
                                  work_start=work_start, **kwargs))
        except CalibrationError:
            continue
    return out


_UNITS = {
    "sessions_per_hour": "sessions/h (base rate: long after launch with a burst, at launch with a fade)",
    "burst": "× base rate at launch",
    "half_life_h": "h",
    "fade_exponent": "(rate × (1 + age/scale)^-exponent; 0: no fade)",
    "fade_scale_h": "h",
    "suites_per_session": "suites (geometric mean)",
    "seconds_per_task_median": "s",
    "seconds_per_task_sigma": "(log scale)",
    "abandon_rate": "share of assignments",
    "skip_rate": "share of assignments",
    "population": "people",
    "top10_share": "share of sessions (Zipf fit to the distinct people seen; the scenario's skew)",
    "top10_share_of_work": "share of assignments (observed)",
}


#: Parameters that are shares (their intervals stay within [0, 1]).
_SHARES = frozenset({"abandon_rate", "skip_rate", "top10_share", "top10_share_of_work"})


def _t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (Cornish–Fisher; within 0.03 for df ≥ 3)."""
    z = 1.959963984540054
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2) + (
        3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)


def _interval(value: float, samples: np.ndarray, key: str) -> tuple[float, float]:
    """A 95 % interval from ``K`` bootstrap/posterior draws.

    The 2.5–97.5 % quantiles of K draws are a 95 % interval only for large K: with K = 8 they are the
    smallest and largest draw, which hold a further draw only 7 times in 9.  The interval is therefore
    the union of the draws' quantile range and a Student-t interval ``value ± t(K−1)·sd`` (on the log
    scale for positive values, so it stays positive; around the draws' median when the point estimate
    has no value); shares stay within [0, 1], bursts ≥ 1.
    """
    if len(samples) <= 2:
        return math.nan, math.nan
    if not math.isfinite(value):  # e.g. no half-life at the point estimate (no burst), but some draws have one
        value = float(np.median(samples))
    q_low, q_high = float(np.quantile(samples, 0.025)), float(np.quantile(samples, 0.975))
    t = _t975(len(samples) - 1)
    if value > 0 and np.all(samples > 0):
        spread = t * float(np.std(np.log(samples), ddof=1))
        t_low, t_high = value * math.exp(-spread), value * math.exp(spread)
    else:
        spread = t * float(np.std(samples, ddof=1))
        t_low, t_high = max(0.0, value - spread), value + spread
    low, high = min(q_low, t_low), max(q_high, t_high)
    if key in _SHARES:
        high = min(high, 1.0)
    if key == "burst":
        low = max(low, 1.0)
    if key == "top10_share":  # the busiest tenth holds at least a tenth
        low = max(low, 0.1)
    return low, high


def _fitted_frame(point: Mapping[str, float], boot: list[Mapping[str, float]], crowd: _Crowd) -> pd.DataFrame:
    rows = []
    for key, value in point.items():
        samples = np.array([b[key] for b in boot if math.isfinite(b[key])], dtype=float)
        se = float(np.std(samples, ddof=1)) if len(samples) > 2 else math.nan
        low, high = _interval(float(value), samples, key)
        note = ""
        if key == "burst":
            note = f"P(rate changes with age) = {crowd.p_decay:.2f}"
        if key == "fade_exponent":
            note = f"P(fade) = {crowd.p_fade:.2f}"
        rows.append({"parameter": key, "value": float(value), "se": se, "low": low, "high": high,
                     "unit": _UNITS.get(key, ""), "note": note})
    rows.append({"parameter": "limit_per_batch", "value": float(crowd.limit) if crowd.limit else math.nan,
                 "se": math.nan, "low": math.nan, "high": math.nan, "unit": "assignments per performer",
                 "note": "many performers stop at this count" if crowd.limit else "none detected"})
    rows.append({"parameter": "sessions_seen", "value": float(crowd.n_sessions), "se": math.nan, "low": math.nan,
                 "high": math.nan, "unit": "sessions", "note": ""})
    frame = pd.DataFrame(rows, columns=["parameter", "value", "se", "low", "high", "unit", "note"])
    return frame.astype({"value": "float64", "se": "float64", "low": "float64", "high": "float64"})


def forecaster(replications: int = 40, draws: int = 20, seed: int = 0,
               **options: Any) -> Callable[..., tuple[float, float, float]]:
    """A backtest forecaster: ``f(log_cut, as_of, **known) -> (p10, p50, p90)`` remaining seconds.

    ``known`` is what a requester knows without the log (``labelsim.backtest.known_from_log``): ``items``,
    ``overlap``, ``time_limit_s``, ``reward_usd`` and ``total_assignments``.  The remaining time is until
    ``total_assignments`` are submitted — the work the platform formula is given too — which is when the
    batch completes unless it was stopped before every suite got its overlap.  A missing time limit is
    taken as twice the longest work time seen (at least an hour) — the exports of some platforms do not
    carry it.
    """

    def run(log_cut: pd.DataFrame, as_of: object, **known: Any) -> tuple[float, float, float]:
        limit = known.get("time_limit_s")
        if limit is None or not math.isfinite(float(limit)):
            cut = _cut(log_cut, as_of, math.inf)
            done = cut.kind == "sub"
            longest = float(np.max(cut.end_s[done] - cut.accept_s[done])) if done.any() else 3600.0
            limit = max(3600.0, 2 * longest)
        cal = calibrate(log_cut, as_of=as_of, items=int(known["items"]), overlap=int(known["overlap"]),
                        time_limit=float(limit), reward=known.get("reward_usd"), draws=draws, seed=seed, **options)
        total = known.get("total_assignments")
        fc = cal.forecast(replications, seed=seed, target_assignments=int(total) if total is not None else None)
        return fc.p10_s, fc.p50_s, fc.p90_s

    return run
