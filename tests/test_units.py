"""Unit tests of the layer-0 modules: units, theory, distributions, calendar, rng."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import zlib
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from labelsim import theory
from labelsim.calendar import ACTIVITY_PRESETS, hour_segments, rate_segments, shift_intervals
from labelsim.distributions import CountDistribution, Distribution
from labelsim.rng import RandomStreams, buffered, stable_key
from labelsim.units import (
    format_duration,
    micro_to_usd,
    parse_duration,
    parse_rate,
    parse_timestamp,
    usd_to_micro,
)

H, D = 3600.0, 86400.0
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.timezone.utc

# --------------------------------------------------------------------------- units: durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("10m", 600.0),
        ("10min", 600.0),
        ("2h", 7200.0),
        ("2.5h", 9000.0),
        (".5h", 1800.0),
        ("1d", D),
        ("1w", 7 * D),
        ("1d4h", D + 4 * H),
        ("1d4h30m", D + 4 * H + 1800.0),
        ("1d 4h", D + 4 * H),
        (" 10M ", 600.0),  # units are case-insensitive, surrounding blanks ignored
        ("+5m", 300.0),
        ("0s", 0.0),
        ("0h", 0.0),
        (0, 0.0),  # the bare number 0 needs no unit
        (0.0, 0.0),
        (dt.timedelta(hours=2), 7200.0),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0", " 0 ", "0.0", "00", "+0", "-0"])
def test_parse_duration_zero_as_text_needs_no_unit(text):
    assert parse_duration(text) == 0.0


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "such as 10m"),
        ("   ", "such as 10m"),
        ("-", "such as 10m"),
        ("10", "use a number with a unit"),
        ("10x", "use a number with a unit"),
        ("h", "use a number with a unit"),
        ("1.2.3h", "use a number with a unit"),
        ("1e3s", "use a number with a unit"),
        ("1d,4h", "use a number with a unit"),
        ("ten minutes", "use a number with a unit"),
        (90, "needs a unit, e.g. '90s'"),
        (1.5, "needs a unit"),
        (float("nan"), "needs a unit"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        ([1], "expected a duration"),
        ("-2h", "must not be negative"),
        (dt.timedelta(seconds=-1), "must not be negative"),
        ("9" * 400 + "s", "not finite"),
    ],
)
def test_parse_duration_rejects_with_a_helpful_message(value, fragment):
    with pytest.raises(ValueError, match=r"duration|expected|unit") as info:
        parse_duration(value)
    message = str(info.value)
    assert fragment in message
    if isinstance(value, str) and value.strip():
        assert repr(value) in message  # the message quotes what was given


def test_parse_duration_negative_when_allowed():
    assert parse_duration("-2h", allow_negative=True) == -7200.0
    assert parse_duration("-1d4h", allow_negative=True) == -(D + 4 * H)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.4, "59s"), (61, "1m 01s"), (3 * H + 300, "3h 05m"), (2 * D + 4 * H, "2d 04h"), (-5, "0s")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
    assert format_duration(math.inf) == "—"


# --------------------------------------------------------------------------- units: rates, money, timestamps


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("2/s", 2.0),
        ("200/min", 200 / 60),
        ("200/m", 200 / 60),
        ("100/h", 100 / 3600),
        ("100 / H", 100 / 3600),
        ("2.5/h", 2.5 / 3600),
        (".5e3/h", 500 / 3600),
        ("24/d", 24 / D),
        ("7/w", 1 / D),
    ],
)
def test_parse_rate(text, per_second):
    assert parse_rate(text) == pytest.approx(per_second, rel=1e-15)


# Scenario.to_mapping writes rates as repr(per second), e.g. 8.333333333333333e-05/s for 0.3/h
@pytest.mark.parametrize(
    ("text", "per_second"),
    [("1e3/h", 1000 / 3600), ("1.5E3/h", 1500 / 3600), ("8.333333333333333e-05/s", 0.3 / 3600)],
)
def test_parse_rate_scientific_notation(text, per_second):
    assert parse_rate(text) == pytest.approx(per_second, rel=1e-15)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("0/h", "must be positive"),
        ("0.0/s", "must be positive"),
        ("-5/h", "bad rate"),
        ("100", "bad rate"),
        ("100/x", "bad rate"),
        ("/h", "bad rate"),
        ("100/h/h", "bad rate"),
        (100, "bad rate"),
        (None, "bad rate"),
    ],
)
def test_parse_rate_rejects(value, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        parse_rate(value)
    assert "N/h" in str(info.value) or "positive" in str(info.value)


@pytest.mark.parametrize(
    ("usd", "micro"),
    [
        (0, 0),
        (0.01, 10_000),
        (0.07, 70_000),
        (0.005, 5_000),
        (1.005, 1_005_000),
        (120, 120_000_000),
        (123.456789, 123_456_789),
        (1e9, 10**15),
        (-0.5, -500_000),
        (0.0000004, 0),
        (0.0000006, 1),
    ],
)
def test_usd_to_micro(usd, micro):
    value = usd_to_micro(usd)
    assert value == micro and isinstance(value, int)


def test_money_sums_are_exact_in_micro_usd():
    # 0.1 + 0.2 != 0.3 in floats; in micro-USD it is
    assert usd_to_micro(0.1) + usd_to_micro(0.2) == usd_to_micro(0.3)
    assert sum(usd_to_micro(0.013) for _ in range(1000)) == usd_to_micro(13.0)
    for usd in (0.0, 0.01, 0.07, 19.99, 184.73, 1234567.891011):
        assert micro_to_usd(usd_to_micro(usd)) == pytest.approx(usd, abs=5e-7)


def test_parse_timestamp():
    assert parse_timestamp("2026-12-01T09:00:00Z", BERLIN) == dt.datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert parse_timestamp("2026-12-01T09:00:00+01:00", UTC) == dt.datetime(2026, 12, 1, 8, tzinfo=UTC)
    naive = parse_timestamp("2026-12-01T09:00:00", BERLIN)
    assert naive.tzinfo is BERLIN and naive == dt.datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert parse_timestamp(dt.date(2026, 12, 1), UTC) == dt.datetime(2026, 12, 1, tzinfo=UTC)
    for bad in ("tomorrow", "2026-13-01", 5):
        with pytest.raises(ValueError, match="ISO 8601"):
            parse_timestamp(bad, UTC)


# --------------------------------------------------------------------------- theory


@pytest.mark.parametrize("rho", [0.01, 0.3, 0.5, 0.9, 0.999])
def test_erlang_c_mm1_is_rho(rho):
    assert theory.erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)
    assert theory.erlang_b(1, rho) == pytest.approx(rho / (1 + rho), rel=1e-12)
    mu = 1 / 60.0
    assert theory.mmc_wait(1, rho * mu, mu) == pytest.approx(rho / (mu - rho * mu), rel=1e-12)  # ρ/(μ−λ)


@pytest.mark.parametrize("rho", [0.05, 0.4, 0.75, 0.95])
def test_erlang_c_mm2_closed_form(rho):
    # M/M/2 with per-server utilisation ρ (offered load 2ρ): C = 2ρ²/(1+ρ)
    assert theory.erlang_c(2, 2 * rho) == pytest.approx(2 * rho**2 / (1 + rho), rel=1e-12)


def test_erlang_c_textbook_value_and_limits():
    # direct sum: C = (a^c/c!)(c/(c−a)) / (Σ_{k<c} a^k/k! + (a^c/c!)(c/(c−a)))
    c, a = 5, 4.0
    top = a**c / math.factorial(c) * c / (c - a)
    assert theory.erlang_c(c, a) == pytest.approx(top / (sum(a**k / math.factorial(k) for k in range(c)) + top))
    assert theory.erlang_c(3, 0.0) == 0.0
    for servers, load in ((1, 1.0), (4, 4.0), (4, 5.0)):
        with pytest.raises(ValueError, match="unstable"):
            theory.erlang_c(servers, load)
    with pytest.raises(ValueError):
        theory.erlang_b(0, 1.0)


@pytest.mark.parametrize(("servers", "rho"), [(1, 0.7), (3, 0.5), (8, 0.9)])
def test_priority_waits_one_class_is_mmc(servers, rho):
    mu = 1 / 45.0
    lam = rho * servers * mu
    (wait,) = theory.priority_mmc_waits(servers, [lam], mu)
    assert wait == pytest.approx(theory.mmc_wait(servers, lam, mu), rel=1e-12)


@pytest.mark.parametrize(
    ("servers", "shares", "rho"),
    [(1, (0.5, 0.5), 0.6), (4, (0.3, 0.3, 0.4), 0.8), (10, (0.1, 0.2, 0.3, 0.4), 0.95), (3, (0.9, 0.1), 0.5)],
)
def test_priority_waits_conservation_law_and_order(servers, shares, rho):
    mu = 1 / 60.0
    rates = [s * rho * servers * mu for s in shares]
    waits = theory.priority_mmc_waits(servers, rates, mu)
    # the priority order only reorders the queue: the λ-weighted mean wait is the FCFS M/M/c wait
    weighted = math.fsum(r * w for r, w in zip(rates, waits, strict=True)) / math.fsum(rates)
    assert weighted == pytest.approx(theory.mmc_wait(servers, sum(rates), mu), rel=1e-12)
    assert waits == sorted(waits) and len(set(waits)) == len(waits)


def test_priority_waits_mm1_match_the_mg1_formula():
    # M/G/1 non-preemptive priority (Cobham): W_k = (Σ λ_i E[S²]/2) / ((1 − σ_{k−1})(1 − σ_k)), E[S²] = 2/μ²
    mu, rates = 1 / 30.0, [0.004, 0.01, 0.012]
    residual = sum(rates) * (2 / mu**2) / 2
    sigma = np.cumsum([0.0, *rates]) / mu
    expected = [residual / ((1 - sigma[k]) * (1 - sigma[k + 1])) for k in range(3)]
    assert theory.priority_mmc_waits(1, rates, mu) == pytest.approx(expected, rel=1e-12)


def test_harmonic_and_makespan():
    assert theory.harmonic(1) == 1.0
    assert theory.harmonic(4) == pytest.approx(25 / 12)
    assert theory.harmonic(0) == 0.0
    m = 60.0
    for jobs in range(1, 10):  # N < c: the maximum of N exponentials, m·H_N (for any c > N)
        assert theory.makespan_exponential(jobs, 10, m) == pytest.approx(m * theory.harmonic(jobs))
    assert theory.makespan_exponential(4, 4, m) == pytest.approx(m * 25 / 12)  # N = c: both forms agree
    assert theory.makespan_exponential(5, 4, m) == pytest.approx(m / 4 + m * 25 / 12)
    assert theory.makespan_exponential(200, 4, m) == pytest.approx(196 * m / 4 + m * 25 / 12)
    assert theory.makespan_exponential(0, 4, m) == 0.0
    assert theory.makespan_exponential(7, 1, m) == pytest.approx(7 * m)  # one server: the sum


# --------------------------------------------------------------------------- distributions

REAL = TypeAdapter(Distribution)
COUNT = TypeAdapter(CountDistribution)
N_DRAWS = 200_000


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "exponential", "mean": 12.5},
        {"dist": "lognormal", "median": 12.0, "sigma": 0.8},
        {"dist": "lognormal", "median": 3.0, "sigma": 0.0},
        {"dist": "gamma", "mean": 20.0, "cv": 0.5},
        {"dist": "gamma", "mean": 5.0, "cv": 2.0},
        {"dist": "uniform", "low": 2.0, "high": 10.0},
        {"dist": "empirical", "values": [1.0, 2.0, 2.0, 7.5]},
        {"dist": "constant", "value": 4.2},
    ],
)
def test_sample_mean_matches_analytic_mean(spec):
    dist = REAL.validate_python(spec)
    x = dist.sample(np.random.default_rng(20261201), N_DRAWS)
    assert x.shape == (N_DRAWS,) and np.all(x >= 0)
    se = x.std(ddof=1) / math.sqrt(N_DRAWS)
    # 5 SE: a correct sampler fails with probability < 1e-6; se = 0 for degenerate ones
    assert abs(x.mean() - dist.mean) <= 5 * se + 1e-12 * dist.mean, (x.mean(), dist.mean, se)


def test_distribution_shapes():
    rng = np.random.default_rng(7)
    logn = REAL.validate_python({"dist": "lognormal", "median": 12.0, "sigma": 0.8})
    assert np.median(logn.sample(rng, N_DRAWS)) == pytest.approx(12.0, rel=0.01)
    gamma = REAL.validate_python({"dist": "gamma", "mean": 20.0, "cv": 0.5})
    x = gamma.sample(rng, N_DRAWS)
    assert x.std() / x.mean() == pytest.approx(0.5, rel=0.02)
    uni = REAL.validate_python({"dist": "uniform", "low": 2.0, "high": 10.0})
    x = uni.sample(rng, N_DRAWS)
    assert x.min() >= 2.0 and x.max() <= 10.0
    emp = REAL.validate_python({"dist": "empirical", "values": [1, 2, 7.5]})
    assert set(np.unique(emp.sample(rng, 1000))) == {1.0, 2.0, 7.5}
    assert np.all(REAL.validate_python({"dist": "constant", "value": 4.2}).sample(rng, 10) == 4.2)


@pytest.mark.parametrize("mean", [1.0, 1.5, 4.0, 25.0])
def test_geometric_counts(mean):
    dist = COUNT.validate_python({"dist": "geometric", "mean": mean})
    x = dist.sample(np.random.default_rng(3), N_DRAWS)
    assert np.issubdtype(x.dtype, np.integer) and x.min() >= 1
    se = x.std(ddof=1) / math.sqrt(N_DRAWS)
    assert abs(x.mean() - mean) <= 5 * se + 1e-12
    if mean == 1.0:
        assert np.all(x == 1)


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "exponential", "mean": 0},
        {"dist": "exponential", "mean": -1},
        {"dist": "lognormal", "median": 0, "sigma": 1},
        {"dist": "lognormal", "median": 1, "sigma": -0.1},
        {"dist": "gamma", "mean": 1, "cv": 0},
        {"dist": "uniform", "low": 5, "high": 1},
        {"dist": "uniform", "low": -1, "high": 1},
        {"dist": "empirical", "values": []},
        {"dist": "empirical", "values": [1, -2]},
        {"dist": "constant", "value": -1},
        {"dist": "exponential", "mean": 1, "sigma": 2},  # unknown key
        {"dist": "weibull", "scale": 1},
        {"mean": 1},
    ],
)
def test_invalid_distributions_are_refused(spec):
    with pytest.raises(ValidationError):
        REAL.validate_python(spec)


def test_geometric_is_a_count_distribution_only():
    with pytest.raises(ValidationError):
        COUNT.validate_python({"dist": "geometric", "mean": 0.5})  # mean ≥ 1
    with pytest.raises(ValidationError):
        REAL.validate_python({"dist": "geometric", "mean": 3})


# --------------------------------------------------------------------------- calendar


def _local_hours(start: dt.datetime, horizon_s: float) -> list[int]:
    return [hour for _t0, _t1, _day, hour in hour_segments(start, BERLIN, horizon_s)]


@pytest.mark.parametrize("as_utc", [False, True], ids=["local-start", "utc-start"])
def test_hour_segments_spring_forward_skips_2am(as_utc):
    # Sunday 29 March 2026: 02:00 CET jumps to 03:00 CEST; six real hours from local midnight
    start = dt.datetime(2026, 3, 29, tzinfo=BERLIN)
    start = start.astimezone(UTC) if as_utc else start
    segments = hour_segments(start, BERLIN, 6 * H)
    assert [hour for *_, hour in segments] == [0, 1, 3, 4, 5, 6]
    assert [t1 - t0 for t0, t1, _, _ in segments] == [H] * 6
    assert {day for _, _, day, _ in segments} == {6}  # Sunday


@pytest.mark.parametrize("as_utc", [False, True], ids=["local-start", "utc-start"])
def test_hour_segments_fall_back_repeats_2am(as_utc):
    # Sunday 25 October 2026: 03:00 CEST goes back to 02:00 CET; the local hour 2 happens twice
    start = dt.datetime(2026, 10, 25, tzinfo=BERLIN)
    start = start.astimezone(UTC) if as_utc else start
    segments = hour_segments(start, BERLIN, 6 * H)
    assert [hour for *_, hour in segments] == [0, 1, 2, 2, 3, 4]
    assert [t1 - t0 for t0, t1, _, _ in segments] == [H] * 6


def test_hour_segments_partial_hours_and_coverage():
    # start at 10:20 local, horizon ends mid-hour; a half-hour zone (Asia/Kolkata, UTC+05:30) too
    start = dt.datetime(2026, 12, 1, 10, 20, tzinfo=BERLIN)
    segments = hour_segments(start, BERLIN, 3 * H)
    assert segments[0] == (0.0, 40 * 60.0, 1, 10)  # Tuesday 10:20-11:00
    assert segments[-1] == (3 * H - 20 * 60.0, 3 * H, 1, 13)
    for (_, t1, _, _), (t0, _, _, _) in itertools.pairwise(segments):
        assert t1 == t0
    kolkata = hour_segments(dt.datetime(2026, 12, 1, tzinfo=UTC), ZoneInfo("Asia/Kolkata"), 2 * H)
    assert kolkata[0] == (0.0, 1800.0, 1, 5) and kolkata[1] == (1800.0, 5400.0, 1, 6)
    week = hour_segments(dt.datetime(2026, 11, 30, tzinfo=BERLIN), BERLIN, 7 * D)
    assert len(week) == 168 and week[0][0] == 0.0 and week[-1][1] == 7 * D


@pytest.mark.parametrize("preset", sorted(ACTIVITY_PRESETS))
def test_rate_segments_average_to_the_mean_rate_over_a_week(preset):
    hourly, weekly = ACTIVITY_PRESETS[preset]
    mean_rate = 10 / H
    start = dt.datetime(2026, 12, 2, 13, 30, tzinfo=UTC)  # any start: a whole week averages out
    segments = rate_segments(start, ZoneInfo("America/New_York"), 7 * D, mean_rate, hourly, weekly)
    total = math.fsum((t1 - t0) * rate for t0, t1, rate in segments)
    assert total / (7 * D) == pytest.approx(mean_rate, rel=1e-12)
    assert rate_segments(start, BERLIN, D, mean_rate, (0.0,) * 24, (1.0,) * 7) == [(0.0, D, 0.0)]


WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))


def test_shift_intervals_weekdays_nine_to_six():
    start = dt.datetime(2026, 12, 7, tzinfo=BERLIN)  # Monday 00:00, no DST change within two weeks
    intervals = shift_intervals(start, BERLIN, 14 * D, [(WEEKDAYS, dt.time(9), dt.time(18))])
    days = [0, 1, 2, 3, 4, 7, 8, 9, 10, 11]
    assert intervals == [(d * D + 9 * H, d * D + 18 * H) for d in days]


def test_shift_intervals_start_mid_shift_and_horizon_clip():
    start = dt.datetime(2026, 12, 7, 12, tzinfo=BERLIN)  # Monday noon: the shift is half over
    intervals = shift_intervals(start, BERLIN, 2 * D, [(WEEKDAYS, dt.time(9), dt.time(18))])
    assert intervals == [(0.0, 6 * H), (D - 3 * H, D + 6 * H), (2 * D - 3 * H, 2 * D)]


def test_shift_intervals_overnight():
    # 22:00-06:00 every night; the shift from Sunday night is already running at Monday 00:00
    start = dt.datetime(2026, 12, 7, tzinfo=BERLIN)
    intervals = shift_intervals(start, BERLIN, 3 * D, [(EVERY_DAY, dt.time(22), dt.time(6))])
    assert intervals == [(0.0, 6 * H), (22 * H, 30 * H), (46 * H, 54 * H), (70 * H, 72 * H)]
    # only Friday nights: the shift runs into Saturday although Saturday is not a shift day
    fri = shift_intervals(start, BERLIN, 7 * D, [(frozenset({4}), dt.time(22), dt.time(6))])
    assert fri == [(4 * D + 22 * H, 5 * D + 6 * H)]
    # end == start is a 24-hour shift
    full = shift_intervals(start, BERLIN, 2 * D, [(frozenset({0}), dt.time(8), dt.time(8))])
    assert full == [(8 * H, D + 8 * H)]


def test_shift_intervals_merge_overlapping_and_adjacent():
    start = dt.datetime(2026, 12, 7, tzinfo=BERLIN)
    shifts = [
        (frozenset({0}), dt.time(9), dt.time(13)),
        (frozenset({0}), dt.time(12), dt.time(18)),  # overlaps the first
        (frozenset({0}), dt.time(18), dt.time(20)),  # touches the second
        (frozenset({1}), dt.time(9), dt.time(10)),
    ]
    assert shift_intervals(start, BERLIN, 7 * D, shifts) == [(9 * H, 20 * H), (D + 9 * H, D + 10 * H)]
    assert shift_intervals(start, BERLIN, 7 * D, []) == []


# Python subtracts datetimes that share a tzinfo object on wall-clock time: with a start given in the
# scenario's own zone (a timestamp without offset) shifts after a DST change used to be off by an hour.


@pytest.mark.parametrize("as_utc", [False, True], ids=["local-start", "utc-start"])
def test_shift_intervals_across_spring_forward(as_utc):
    # Saturday 28 March 2026 00:00 CET; the clocks go forward on Sunday at 02:00, so Sunday's and Monday's
    # 09:00 local are 32 h and 56 h after the start (not 33 h and 57 h as wall-clock arithmetic says)
    start = dt.datetime(2026, 3, 28, tzinfo=BERLIN)
    start = start.astimezone(UTC) if as_utc else start
    intervals = shift_intervals(start, BERLIN, 3 * D, [(EVERY_DAY, dt.time(9), dt.time(18))])
    assert intervals == [(9 * H, 18 * H), (32 * H, 41 * H), (56 * H, 65 * H)]


@pytest.mark.parametrize("as_utc", [False, True], ids=["local-start", "utc-start"])
def test_shift_intervals_across_fall_back_overnight(as_utc):
    # Saturday 24 October 2026 00:00 CEST; the night of Sat→Sun has 25 hours: 22:00 CEST to 06:00 CET is 9 h
    start = dt.datetime(2026, 10, 24, tzinfo=BERLIN)
    start = start.astimezone(UTC) if as_utc else start
    intervals = shift_intervals(start, BERLIN, 2 * D, [(EVERY_DAY, dt.time(22), dt.time(6))])
    assert intervals == [(0.0, 6 * H), (22 * H, 31 * H), (47 * H, 48 * H)]


# --------------------------------------------------------------------------- rng


def test_generator_is_reproducible_and_named():
    a1 = RandomStreams(1).generator("a").random(8)
    a2 = RandomStreams(1).generator("a").random(8)
    assert np.array_equal(a1, a2)
    assert not np.array_equal(a1, RandomStreams(1).generator("b").random(8))
    assert not np.array_equal(a1, RandomStreams(2).generator("a").random(8))
    # a stream does not depend on which other streams were created before it
    streams = RandomStreams(1)
    streams.generator("b").random(100)
    assert np.array_equal(streams.generator("a").random(8), a1)


def test_child_streams_differ_and_are_reproducible():
    root = RandomStreams(1)
    draws = {i: root.child(i).generator("a").random(8) for i in range(5)}
    assert np.array_equal(draws[3], RandomStreams(1).child(3).generator("a").random(8))
    assert np.array_equal(draws[3], RandomStreams(1, (3,)).generator("a").random(8))
    parent = root.generator("a").random(8)
    flat = [parent, *draws.values()]
    assert len({x.tobytes() for x in flat}) == len(flat)
    grandchild = root.child(1).child(2)
    assert grandchild.key == (1, 2) and grandchild.entropy == 1
    assert not np.array_equal(grandchild.generator("a").random(8), root.child(2).child(1).generator("a").random(8))


def test_stable_key_and_fresh_entropy():
    assert stable_key("a") == zlib.crc32(b"a") == 0xE8B7BE43  # the same in every process and version
    assert stable_key("team/task-seconds") != stable_key("team/outcomes")
    fresh = RandomStreams(None)
    assert isinstance(fresh.entropy, int) and fresh.entropy != RandomStreams(None).entropy


def test_buffered_yields_the_same_numbers_as_one_draw():
    rng = np.random.default_rng(5)
    it = buffered(lambda n: rng.random(n), block=4)
    first = [next(it) for _ in range(10)]
    assert first == np.random.default_rng(5).random(12)[:10].tolist()
