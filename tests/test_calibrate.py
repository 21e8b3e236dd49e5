"""Calibration from an assignment log: live state, censored work times, arrival decay, limits, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from labelsim.calibration import CalibrationError, calibrate
from labelsim.results import check_schema
from labelsim.scenario import Scenario

T0 = pd.Timestamp("2026-03-02T08:00:00Z")


def _log(rows: list[tuple[str, str, float, float | None, str]], **extra: object) -> pd.DataFrame:
    """rows: (performer, suite, accepted_s, submitted_s or None, status) -> a log frame."""
    frame = pd.DataFrame(rows, columns=["performer", "suite_id", "acc", "sub", "status"])
    frame["accepted_at"] = T0 + pd.to_timedelta(frame["acc"], unit="s")
    frame["submitted_at"] = T0 + pd.to_timedelta(frame["sub"].astype(float), unit="s")
    frame["batch"] = "b"
    frame["n_tasks"] = 1
    for key, value in extra.items():
        frame[key] = value
    return frame.drop(columns=["acc", "sub"])


def _synthetic(rng: np.random.Generator, *, n_sessions: int, rate_h: float, burst: float, half_h: float,
               median: float, sigma: float, limit_s: float, per_session: float = 3.0) -> pd.DataFrame:
    """Sessions from a decaying Poisson process (by thinning), each of geometric length, every one a new suite."""
    rows, t, k = [], 0.0, 0
    peak = rate_h * max(burst, 1.0) / 3600.0
    while k < n_sessions:
        t += rng.exponential(1.0 / peak)
        if rng.random() > (1 + (burst - 1) * 2 ** (-t / (half_h * 3600))) / max(burst, 1.0):
            continue
        k += 1
        s = t
        for _ in range(rng.geometric(1.0 / per_session)):
            work = rng.lognormal(math.log(median), sigma)
            if work > limit_s:
                rows.append((f"w{k}", f"s{len(rows)}", s, None, "expired"))
                break
            rows.append((f"w{k}", f"s{len(rows)}", s, s + work, "submitted"))
            s += work
    return _log(rows, time_limit_s=limit_s, max_assignments=1)


def test_live_state_from_a_small_log() -> None:
    rows = [
        ("a", "s1", 0, 10, "submitted"), ("b", "s1", 5, 30, "submitted"),  # s1 labeled (overlap 2)
        ("c", "s2", 20, 40, "submitted"), ("d", "s2", 50, None, "active"),  # s2: one done, one in flight
        ("a", "s3", 60, None, "active"),  # s3: only in flight
        ("e", "s4", 0, 200, "submitted"),  # after as_of: in flight at as_of
    ]
    cal = calibrate(_log(rows), as_of=T0 + pd.Timedelta(seconds=100), items=10, overlap=2, time_limit="10m",
                    draws=0)
    state = cal.scenario.projects[0].batches[0].state
    assert state is not None
    assert state.labeled_items == 1
    assert state.submitted == 3  # s1 twice + s2 once
    assert [s.submitted_by for s in state.suites] == [("c",), (), ()]
    held = {r.performer: (r.held, r.suite) for r in state.reservations}
    assert held == {"d": (50.0, 0), "e": (100.0, 1), "a": (40.0, 2)}  # listed in order of accept
    assert state.age == 100.0
    assert cal.scenario.start == (T0 + pd.Timedelta(seconds=100)).to_pydatetime()


def test_expired_by_as_of_is_not_in_flight() -> None:
    rows = [("a", "s1", 0, 10, "submitted"), ("b", "s2", 0, None, "active"), ("c", "s3", 5, 6, "submitted")]
    cal = calibrate(_log(rows), as_of=T0 + pd.Timedelta(seconds=700), items=3, overlap=1, time_limit="10m",
                    draws=0)
    state = cal.scenario.projects[0].batches[0].state
    assert state is not None and state.n_in_flight == 0


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"overlap": 1, "time_limit": "10m"}, "items"),
    ({"items": 5, "time_limit": "10m"}, "overlap"),
    ({"items": 5, "overlap": 1}, "time_limit"),
    ({"items": 5, "overlap": 1, "time_limit": "10m", "as_of": "2020-01-01T00:00:00Z"}, "as_of"),
    ({"items": 1, "overlap": 1, "time_limit": "10m"}, "items"),
    ({"items": 5, "overlap": 0, "time_limit": "10m"}, "overlap"),
    ({"items": 5, "overlap": 1, "time_limit": "soon"}, "time_limit"),
])
def test_bad_options_are_one_line_errors(kwargs: dict[str, object], needle: str) -> None:
    log = _log([("a", "s1", 0, 10, "submitted"), ("b", "s2", 3, 9, "submitted")])
    with pytest.raises(CalibrationError) as info:
        calibrate(log, draws=0, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(needle) and "\n" not in message


def test_missing_column_is_named() -> None:
    log = _log([("a", "s1", 0, 10, "submitted")]).drop(columns=["performer"])
    with pytest.raises(CalibrationError, match="performer"):
        calibrate(log, items=1, overlap=1, time_limit="10m", draws=0)


def test_censored_work_times_recover_the_median() -> None:
    """Cut while many assignments are in flight: the censored fit recovers the true median, the naive one does not."""
    rng = np.random.default_rng(11)
    median, sigma, limit = 120.0, 1.0, 3600.0
    log = _synthetic(rng, n_sessions=400, rate_h=200, burst=1.0, half_h=1.0, median=median, sigma=sigma,
                     limit_s=limit, per_session=1.0)
    as_of = log["accepted_at"].quantile(0.5)
    cal = calibrate(log, as_of=as_of, items=len(log), draws=12)
    row = cal.fitted.set_index("parameter").loc["seconds_per_task_median"]
    done = log[(log["submitted_at"] <= as_of)]
    naive = float((done["submitted_at"] - done["accepted_at"]).dt.total_seconds().median())
    assert abs(row["value"] - median) < 4 * row["se"] + 1e-9
    assert naive < row["value"]  # censoring drops the long ones from the naive sample


def _queued(rng: np.random.Generator, n_sessions: int, median: float, sigma: float) -> pd.DataFrame:
    """MTurk-style sessions: each worker accepts 1–6 HITs at once, then works them in turn (one at a time)."""
    rows, t = [], 0.0
    for k in range(n_sessions):
        t += rng.exponential(30.0)
        done = t
        for _ in range(int(rng.integers(1, 7))):
            done += rng.lognormal(math.log(median), sigma)
            rows.append((f"w{k}", f"s{len(rows)}", t, done, "submitted"))
    return _log(rows, time_limit_s=3600.0, max_assignments=1)


def test_a_queue_of_accepted_work_is_not_read_as_slow_or_abandoned_work() -> None:
    """Work starts when the worker's previous one ends: the fit recovers the median and sees no abandonment,
    and the live state hands the queue to the model in turn (the head worked since the last submit, the rest 0)."""
    log = _queued(np.random.default_rng(5), 300, median=60.0, sigma=0.4)
    as_of = log["submitted_at"].quantile(0.5)
    cal = calibrate(log, as_of=as_of, items=len(log), draws=8)
    fitted = cal.fitted.set_index("parameter")
    done = log[log["submitted_at"] <= as_of]
    naive = float((done["submitted_at"] - done["accepted_at"]).dt.total_seconds().median())
    assert abs(fitted.loc["seconds_per_task_median", "value"] - 60.0) < 4 * fitted.loc["seconds_per_task_median", "se"]
    assert naive > 100.0  # accept -> submit includes the wait in the queue
    assert fitted.loc["abandon_rate", "value"] < 0.02
    state = cal.scenario.projects[0].batches[0].state
    assert state is not None
    waiting = log[(log["accepted_at"] <= as_of) & (log["submitted_at"] > as_of)]
    queues = waiting.groupby("performer").size()
    head = queues[queues > 1].index[0]
    mine = [r for r in state.reservations if r.performer == head]
    last_submit = done.loc[done["performer"] == head, "submitted_at"].max()
    start = max(last_submit, waiting.loc[waiting["performer"] == head, "accepted_at"].min())
    assert len(mine) == queues[head]
    assert mine[0].worked == pytest.approx((as_of - start).total_seconds(), abs=1e-3)
    assert all(r.worked == 0.0 for r in mine[1:])


def _open_work_log(seed: int) -> pd.DataFrame:
    """A finished batch whose sessions come at 40/h × (open share of the work)^0.5 (no change with age)."""
    from simlog import log_from_result

    import labelsim

    scenario = Scenario.from_mapping({
        "start": "2026-03-02T08:00:00Z", "horizon": "30d", "account": {"balance": 1e6},
        "projects": [{"name": "p", "batches": [{"name": "b", "items": 600, "reward": 0.01, "time_limit": "10m",
                                                 "launch_at": "0s"}]}],
        "performers": [{"name": "crowd", "kind": "crowd", "sessions_per_hour": 40, "population": 100000,
                        "open_work_exponent": 0.5, "suites_per_session": {"dist": "geometric", "mean": 3},
                        "seconds_per_task": {"dist": "lognormal", "median": 30, "sigma": 0.5}}],
    })
    return log_from_result(labelsim.simulate(scenario, seed=seed))


def test_a_given_open_work_exponent_explains_the_falling_arrivals() -> None:
    """Calibrated at 75 % with the true β = 0.5 given, the rate's interval holds the true 40/h (the rate at full
    open work) and the arrivals need less of a change with age than with β = 0 (every one of 3 logs)."""
    for seed in (8, 9, 10):
        log = _open_work_log(seed)
        done = log[log["status"] == "submitted"].sort_values("submitted_at")
        as_of = done["submitted_at"].iloc[int(0.75 * len(done))]
        given = calibrate(log, as_of=as_of, items=600, draws=20, open_work_exponent=0.5)
        fitted = given.fitted.set_index("parameter")
        assert fitted.loc["sessions_per_hour", "low"] <= 40 <= fitted.loc["sessions_per_hour", "high"]
        plain = calibrate(log, as_of=as_of, items=600, draws=0).fitted.set_index("parameter")
        p_change = [float(f.loc["burst", "note"].split("=")[1]) for f in (fitted, plain)]
        assert p_change[0] < p_change[1], p_change
    assert given.scenario.performers[0].open_work_exponent == 0.5
    assert "open_work_exponent: 0.5 given (not fitted)" in given.to_yaml()
    with pytest.raises(CalibrationError, match=r"^open_work_exponent: must be a number from 0 to 2"):
        calibrate(log, as_of=as_of, items=600, draws=0, open_work_exponent=3.0)


def _fitted_rate_h(cal: object, age_s: float) -> float:
    """The calibrated crowd's session rate (per hour) at ``age_s`` after launch."""
    crowd = cal.scenario.performers[0]  # type: ignore[attr-defined]
    factor = crowd.decay.multiplier(age_s) if crowd.decay is not None else 1.0
    return float(crowd.sessions_per_hour * factor)


@pytest.mark.parametrize("truth", ["burst", "fade"])
def test_a_rate_that_changes_with_age_is_found(truth: str) -> None:
    """A burst fading to a floor, or a fade with no floor: over 500 sessions the posterior sees that the rate
    changes with age, and the fitted rate follows the true one at the log's end (where the forecast starts)."""
    close = 0
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        if truth == "burst":
            log = _synthetic(rng, n_sessions=500, rate_h=40, burst=6.0, half_h=1.0, median=30, sigma=0.5,
                             limit_s=600, per_session=1.0)
            true_rate = lambda age: 40 * (1 + 5 * 2 ** (-age / 3600))  # noqa: E731
        else:
            log = _synthetic_fade(rng, n_sessions=500, rate_h=300, exponent=1.0, scale_h=0.5, median=30)
            true_rate = lambda age: 300 / (1 + age / 1800)  # noqa: E731
        cal = calibrate(log, items=len(log), draws=8)
        fit = cal.fitted.set_index("parameter")
        assert float(fit.loc["burst", "note"].rsplit("=", 1)[1]) >= 0.9  # P(rate changes with age)
        age = (log["accepted_at"].max() - log["accepted_at"].min()).total_seconds()
        close += int(abs(math.log(_fitted_rate_h(cal, age) / true_rate(age))) < math.log(1.5))
    assert close >= 3


def _synthetic_fade(rng: np.random.Generator, *, n_sessions: int, rate_h: float, exponent: float, scale_h: float,
                    median: float) -> pd.DataFrame:
    """One-suite sessions from a Poisson process of rate ``rate_h·(1 + t/scale)^(−exponent)`` (by thinning)."""
    rows, t = [], 0.0
    while len(rows) < n_sessions:
        t += rng.exponential(3600.0 / rate_h)
        if rng.random() > (1 + t / (scale_h * 3600)) ** -exponent:
            continue
        work = rng.lognormal(math.log(median), 0.5)
        rows.append((f"w{len(rows)}", f"s{len(rows)}", t, t + work, "submitted"))
    return _log(rows, time_limit_s=600.0, max_assignments=1)


def test_limit_detected_from_mass_at_one_count() -> None:
    rng = np.random.default_rng(5)
    rows, t = [], 0.0
    for k in range(40):
        n = 15 if k < 16 else int(rng.integers(1, 12))
        t += rng.exponential(60)
        for j in range(n):
            rows.append((f"w{k}", f"s{k}-{j}", t + 30 * j, t + 30 * j + 20, "submitted"))
    cal = calibrate(_log(rows), items=2000, overlap=1, time_limit="10m", draws=0)
    group = cal.scenario.performers[0]
    assert group.limits is not None and group.limits.per_batch == 15


def test_yaml_round_trip_with_comments() -> None:
    rng = np.random.default_rng(3)
    log = _synthetic(rng, n_sessions=60, rate_h=30, burst=1.0, half_h=1.0, median=40, sigma=0.6, limit_s=600)
    as_of = log["accepted_at"].quantile(0.6)
    cal = calibrate(log, as_of=as_of, items=len(log) + 10, draws=5)
    assert check_schema(cal.fitted, "calibration_fitted") == []
    text = cal.to_yaml()
    assert text.startswith("#") and "seconds_per_task_median" in text
    again = Scenario.from_mapping(yaml.safe_load(text))
    assert again == cal.scenario


def test_forecast_to_a_target_count_of_submitted_assignments() -> None:
    """Same runs, two questions: until Completed, or until a number of assignments is submitted (a batch stopped
    early, as in a backtest).  The target is reached no later than completion in every run, at once if already."""
    rng = np.random.default_rng(3)
    log = _synthetic(rng, n_sessions=60, rate_h=40, burst=1.0, half_h=1.0, median=30, sigma=0.5, limit_s=600)
    n = len(log)
    cal = calibrate(log, items=2 * n, draws=0)  # as many suites again to go
    state = cal.scenario.projects[0].batches[0].state
    assert state is not None and state.submitted is not None
    full = cal.forecast(20, seed=1)
    half = cal.forecast(20, seed=1, target_assignments=state.submitted + n // 2)
    now = cal.forecast(20, seed=1, target_assignments=state.submitted)
    assert np.all(now.remaining_s == 0)
    assert np.all(half.remaining_s <= full.remaining_s) and half.p50_s < full.p50_s
    with pytest.raises(CalibrationError, match="target_assignments"):
        cal.forecast(5, target_assignments=2.5)  # type: ignore[arg-type]


def test_people_who_ran_out_of_work_leave_the_exposure() -> None:
    """A person who did every suite no longer comes to the batch: from their last suite on, the share of the
    crowd's sessions that could take work drops by their weight, the Zipf weight the simulation gives the
    busiest named performer (ranked by assignments done, as the warm start maps names to people)."""
    from labelsim.calibration import _available_share, _cut, _sim_weights
    from labelsim.model.performers import zipf_exponent

    rows = [("a", f"s{k}", 100.0 * k, 100.0 * k + 50, "submitted") for k in range(3)]  # a does all 3 suites
    rows += [("b", "s0", 1000.0, 1050.0, "submitted"), ("c", "s1", 2000.0, 2050.0, "submitted")]
    cut = _cut(_log(rows, time_limit_s=600.0, max_assignments=3), None, 600.0)
    weights = _sim_weights(cut, population=10, top10_share=0.4)
    zipf = np.arange(1, 11, dtype=float) ** -zipf_exponent(10, 0.4)
    assert weights["a"] == pytest.approx(zipf[0] / zipf.sum())  # a did the most: the heaviest weight
    assert weights["b"] == pytest.approx(zipf[1] / zipf.sum())  # b and c tie: by name
    available = _available_share(cut, 3, weights)
    before, after = available(np.array([200.0, 260.0]))
    assert before == 1.0 and after == pytest.approx(1.0 - weights["a"])


def test_a_session_never_needs_more_suites_than_the_batch_has() -> None:
    """Three people each doing all ten suites in one run, still going at as_of (every session censored): the
    censored estimate doubles the mean seen, but nobody takes a suite twice, so the mean stays ≤ the suites."""
    rows = []
    for person in ("a", "b", "c"):
        for k in range(10):
            end = 60.0 * k + 50 if k < 9 else None
            rows.append((person, f"s{k}", 60.0 * k, end, "submitted" if end is not None else "active"))
    cal = calibrate(_log(rows, time_limit_s=600.0, max_assignments=3), as_of=T0 + pd.Timedelta(seconds=560),
                    items=10, draws=4)
    crowd = cal.scenario.performers[0]
    assert crowd.suites_per_session.mean <= 10
    assert all(d.performers[0].suites_per_session.mean <= 10 for d in cal.draws)
