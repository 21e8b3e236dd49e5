"""Unit tests of the quality-control components (labelsim.model.qc_rules, labelsim.model.qc) and their schema.

Each rule is driven directly with stand-in workers and suites; the wiring (hooks installed only when used,
verdicts on the clock, bans and limits in the dispatcher) is checked on tiny scenarios.  Frequencies are
checked against their probabilities with a tolerance from the binomial standard error, never pinned draws.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np
import pytest

import labelsim
from labelsim.model import LabelingModel, QualityControl
from labelsim.model.entities import BatchRun, Suite
from labelsim.model.performers import Worker
from labelsim.model.qc import ScenarioQuality, build_quality
from labelsim.model.qc_rules import ControlRule, OverlapRule, Reviewer, TakeLimits, clip01, local_midnights
from labelsim.rng import RandomStreams
from labelsim.scenario import ScenarioError

START = "2026-12-01T00:00:00Z"


def _scenario(batch: dict[str, Any] | None = None, group: dict[str, Any] | None = None,
              project: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    return {
        "name": "qc-unit", "start": START, "horizon": "10d", "account": {"balance": 1000.0},
        "projects": [{"name": "p", **(project or {}), "batches": [{
            "name": "b", "items": 20, "reward": 0.01, "time_limit": "1h", "launch_at": 0, **(batch or {})}]}],
        "performers": [{"name": "team", "kind": "team", "size": 4,
                        "seconds_per_task": {"dist": "exponential", "mean": 30}, **(group or {})}],
        **top,
    }


class _Group:
    def __init__(self, name: str = "team", base_pid: int = 0) -> None:
        self.name, self.base_pid = name, base_pid


def _worker(pid: int, group: str | None = "team") -> Worker:
    return Worker(pid, _Group(group) if group is not None else None, 1.0)  # type: ignore[arg-type]


def _batch_spec(**fields: Any) -> Any:
    return labelsim.load_scenario(_scenario(fields)).projects[0].batches[0]


def _generator(seed: int = 1) -> Any:
    return RandomStreams(seed).generator


def _within(hits: int, n: int, p: float) -> bool:
    return abs(hits / n - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-12


# --------------------------------------------------------------------------- schema


def test_schema_defaults_and_checks():
    spec = _batch_spec(review={}, dynamic_overlap={"min": 2, "max": 4})
    assert spec.review.auto_accept_after == 7 * 86400 and spec.review.delay is None
    assert spec.overlap == 2  # the overlap starts at the dynamic minimum
    group = labelsim.load_scenario(_scenario()).performers[0]
    assert (group.acceptance_rate, group.agreement, group.control_accuracy) == (1.0, 1.0, None)
    per_item = _batch_spec(reward=None, price_per_item=0.002, tasks_per_suite=10)
    assert per_item.suite_reward == pytest.approx(0.02)
    control = labelsim.load_scenario(_scenario(project={"control": {"share": 0.2}})).projects[0].control
    assert (control.min_control, control.min_accuracy, control.min_seconds_per_task, control.max_fast) == (
        10, None, None, 1)


@pytest.mark.parametrize(("batch", "field", "words"), [
    ({"price_per_item": 0.01}, "batches[b]", "not both"),
    ({"reward": None}, "batches[b].reward", "missing"),
    ({"dynamic_overlap": {"min": 4, "max": 3}}, "dynamic_overlap", "below min"),
    ({"overlap": 2, "dynamic_overlap": {"min": 3, "max": 5}}, "batches[b]", "dynamic_overlap.min"),
    ({"review": {"auto_accept_after": "0s"}}, "review.auto_accept_after", "positive"),
    ({"review": {"dealy": 5}}, "review.dealy", "unknown key"),
])
def test_schema_errors_name_the_field(batch: dict[str, Any], field: str, words: str):
    data = _scenario(batch)
    data["projects"][0]["batches"][0] = {k: v for k, v in data["projects"][0]["batches"][0].items() if v is not None}
    with pytest.raises(ScenarioError) as info:
        labelsim.load_scenario(data)
    assert field in info.value.field and words in str(info.value), str(info.value)


# --------------------------------------------------------------------------- rules


def test_reviewer_auto_accepts_and_accepts_at_the_group_rate():
    auto = Reviewer("p", _batch_spec(review={"auto_accept_after": "2d"}), {"team": 0.0}, _generator())
    assert auto.verdict(_worker(1)) == (2 * 86400, True)  # no delay: everything auto-accepted
    late = Reviewer("p", _batch_spec(review={"delay": {"dist": "constant", "value": 90000},
                                            "auto_accept_after": "1d"}), {"team": 0.0}, _generator())
    assert late.verdict(_worker(1)) == (86400, True)  # reviewed after the auto-accept period: accepted then
    rate = 0.7
    reviewer = Reviewer("p", _batch_spec(review={"delay": {"dist": "exponential", "mean": 60}}),
                        {"team": rate}, _generator())
    verdicts = [reviewer.verdict(_worker(1)) for _ in range(4000)]
    assert all(0 <= delay < 7 * 86400 for delay, _ in verdicts)
    assert _within(sum(ok for _, ok in verdicts), len(verdicts), rate)
    assert reviewer.verdict(_worker(-1, group=None))[1] is True  # work from before the start: accepted


def _answers(rule: OverlapRule, suite: Suite, worker: Worker) -> int:
    """Feed accepted answers to ``rule`` until it says DONE; the overlap."""
    while True:
        suite.submitted += 1
        state = rule.decide(suite, worker)
        assert state != OverlapRule.MORE or suite.submitted >= rule.low
        if state == OverlapRule.DONE:
            return suite.submitted


def test_overlap_rule_extremes_and_distribution():
    spec = _batch_spec(dynamic_overlap={"min": 3, "max": 5})
    w = _worker(1)
    assert _answers(OverlapRule("p", spec, {"team": 1.0}, _generator()), Suite(0, 1, 3, 0.0), w) == 3
    assert _answers(OverlapRule("p", spec, {"team": 0.0}, _generator()), Suite(0, 1, 3, 0.0), w) == 5
    a = 0.6
    rule = OverlapRule("p", spec, {"team": a}, _generator())
    overlaps = np.array([_answers(rule, Suite(i, 1, 3, 0.0), w) for i in range(4000)])
    assert _within(int((overlaps == 3).sum()), len(overlaps), a**2)
    assert _within(int((overlaps == 4).sum()), len(overlaps), (1 - a**2) * a)
    assert not rule.disagreed  # nothing left behind once items are decided


def test_control_rule_bans_on_accuracy_and_on_fast_responses():
    project = labelsim.load_scenario(_scenario(project={"control": {
        "share": 1.0, "min_control": 5, "min_accuracy": 0.5, "min_seconds_per_task": "2s", "max_fast": 2}}
    )).projects[0]
    careless = ControlRule(project, lambda w: 0.0, _generator())
    assert not careless.ban(_worker(1), 4, 100.0)  # 4 wrong control answers: fewer than min_control
    assert careless.ban(_worker(1), 1, 100.0)  # the 5th: 0 % correct
    careful = ControlRule(project, lambda w: 1.0, _generator())
    assert not any(careful.ban(_worker(2), 10, 100.0) for _ in range(20))
    assert not careful.ban(_worker(2), 10, 19.0)  # one fast response (1.9 s per task)
    assert careful.ban(_worker(2), 10, 19.0)  # the second bans
    assert clip01(1.3) == 1.0 and clip01(-0.2) == 0.0 and clip01(math.nan) == 0.0


def test_local_midnights_follow_daylight_saving():
    spec = labelsim.load_scenario({**_scenario(), "timezone": "Europe/Berlin", "start": "2026-10-24T12:00:00+02:00"})
    midnights = local_midnights(spec, 3 * 86400)
    assert midnights[0] == 12 * 3600  # Sunday 00:00 CEST
    assert midnights[1] - midnights[0] == 25 * 3600  # the clocks go back on Sunday 25 October
    assert midnights[2] - midnights[1] == 24 * 3600


def test_take_limits_per_batch_and_per_day():
    b0, b1 = (BatchRun(i, "p", _batch_spec(), 10, 5) for i in range(2))
    limits = TakeLimits({"team": (2, 3)}, [86400.0, 2 * 86400.0])
    w, other = _worker(1), _worker(2, group="free")
    for _ in range(2):
        assert limits.allows(w, b0, 10.0)
        limits.count(w, b0, 10.0)
    assert not limits.allows(w, b0, 10.0)  # 2 per batch
    assert limits.allows(w, b1, 20.0)
    limits.count(w, b1, 20.0)
    assert not limits.allows(w, b1, 30.0)  # 3 a day over both batches
    assert limits.allows(w, b1, 86400.0)  # a new local day
    assert all(limits.allows(other, b0, 10.0) for _ in range(5))  # a group without limits


# --------------------------------------------------------------------------- wiring


def test_no_quality_control_installs_no_hooks():
    spec = labelsim.load_scenario(_scenario())
    assert type(build_quality(spec, RandomStreams(1))) is QualityControl
    model = LabelingModel(spec, RandomStreams(1))
    assert model.assignments.review is None and model.dispatch.may_take is None
    assert model.dispatch.start == model.assignments.start


def test_only_the_hooks_used_are_installed():
    limited = LabelingModel(labelsim.load_scenario(_scenario(group={"limits": {"per_batch": 3}})), RandomStreams(1))
    assert isinstance(limited.quality, ScenarioQuality)
    assert limited.assignments.review is None and limited.dispatch.may_take is not None
    reviewed = LabelingModel(labelsim.load_scenario(_scenario({"review": {}})), RandomStreams(1))
    assert reviewed.assignments.review is not None and reviewed.dispatch.may_take is None


def test_review_holds_money_until_the_verdict_and_completes_on_the_last_acceptance():
    result = labelsim.simulate(_scenario({"review": {"delay": {"dist": "constant", "value": 3600}}}), seed=2)
    a = result.assignments
    assert (a["review"] == "accepted").all()
    assert ((a["reviewed_at"] - a["ended_at"]) == _dt.timedelta(hours=1)).all()
    batch = result.batches.iloc[0]
    assert batch["completed_at"] == a["reviewed_at"].max()  # Processing while answers wait for review
    charges = result.ledger[result.ledger["kind"] == "charge"]
    assert sorted(charges["at"]) == sorted(a["reviewed_at"])


def test_rejected_work_is_released_and_redone_by_someone_else():
    result = labelsim.simulate(_scenario({"review": {"delay": {"dist": "constant", "value": 60}}},
                                         {"acceptance_rate": 0.5, "size": 30}), seed=3)
    a = result.assignments
    rejected = a[a["outcome"] == "rejected"]
    assert len(rejected) > 0 and (rejected["review"] == "rejected").all()
    assert result.batches.iloc[0]["rejected"] == len(rejected)
    ledger = result.ledger
    releases = ledger[ledger["kind"] == "release"]
    assert sorted(releases["at"]) == sorted(rejected["reviewed_at"])
    assert not a.duplicated(["suite", "performer"]).any()
    assert (a.groupby("suite")["review"].apply(lambda r: (r == "accepted").sum()) == 1).all()
    assert result.batches.iloc[0]["labeled_items"] == 20
    paid = a[a["review"] == "accepted"]
    assert result.money["spent_usd"] == pytest.approx((paid["reward_usd"] + paid["fee_usd"]).sum())


def test_pending_reviews_stay_reserved_at_the_end():
    result = labelsim.simulate(_scenario({"review": {"delay": {"dist": "constant", "value": 86400}}},
                                         horizon="6h"), seed=1)
    a = result.assignments
    pending = a[a["review"] == "pending"]
    assert len(pending) == 20 and pending["reviewed_at"].isna().all()
    assert result.batches.iloc[0]["status"] == "Processing"
    assert result.money["spent_usd"] == 0
    assert result.money["reserved_usd"] == pytest.approx((pending["reward_usd"] + pending["fee_usd"]).sum())


def test_bans_stop_work_in_the_project_and_show_in_the_performers_frame():
    result = labelsim.simulate(_scenario(
        {"items": 200}, {"control_accuracy": {"dist": "uniform", "low": 0.0, "high": 1.0}, "size": 10},
        project={"control": {"share": 0.5, "min_control": 4, "min_accuracy": 0.6}}), seed=4)
    performers = result.performers.set_index("performer")
    banned = performers["banned_at"].dropna()
    assert len(banned) > 0
    a = result.assignments
    for name, at in banned.items():
        assert not (a.loc[a["performer"] == name, "reserved_at"] > at).any(), name
    assert result.batches.iloc[0]["status"] in ("Completed", "Processing")


def test_limits_cap_suites_per_batch():
    result = labelsim.simulate(_scenario({"items": 40}, {"limits": {"per_batch": 3}, "size": 5}), seed=1)
    a = result.assignments
    assert a.groupby("performer", observed=True).size().max() == 3
    assert result.batches.iloc[0]["labeled_items"] == 15  # 5 people × 3 suites, then nobody may take more


def test_price_per_item_charges_each_suite_by_its_tasks():
    result = labelsim.simulate(_scenario({"items": 25, "tasks_per_suite": 10, "reward": None,
                                          "price_per_item": 0.01}), seed=1)
    a = result.assignments.set_index("suite")
    assert a.loc[0, "reward_usd"] == pytest.approx(0.10) and a.loc[2, "reward_usd"] == pytest.approx(0.05)
    fees = [max(r * 0.3, 0.005) for r in (0.10, 0.10, 0.05)]
    assert result.money["spent_usd"] == pytest.approx(0.25 + sum(fees))
