"""Strategy files (every problem at its file:line:column) and the Argo-style analysis run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.rollout.analysis import AnalysisRun, Measurement, RunPhase
from launchdeck.rollout.judge import MetricResult, Verdict
from launchdeck.rollout.strategy import (
    AnalysisSpec,
    Pause,
    SetWeight,
    parse_strategy,
)

EXAMPLE = Path(__file__).parents[3] / "examples" / "black-friday" / "rollouts"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_the_example_strategy_parses() -> None:
    path = EXAMPLE / "landing-pages-canary.yaml"

    spec = parse_strategy(path.read_text(), source=str(path))

    assert spec.strategy == "canary"
    assert [s.set_weight for s in spec.steps if isinstance(s, SetWeight)] == [10, 50, 100]
    assert [s.pause.duration for s in spec.steps if isinstance(s, Pause)] == [
        timedelta(minutes=10)
    ] * 2
    assert spec.analysis.background == ("error_rate", "conversion_rate")
    assert spec.metrics[0].percentile_limits == {95.0: 1.2}


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as failed:
        parse_strategy(text, source="s.yaml")
    return [(p.where or "", p.message) for p in failed.value.problems]


def test_every_mistake_is_named_where_it_is() -> None:
    found = problems(
        "strategy: canary\n"
        "steps:\n"
        "  - set_weight: 50\n"
        "  - set_weight: 20\n"
        "  - analysis: {metrics: [error_rate, revenue]}\n"
        "analysis: {background: [nope]}\n"
    )

    assert found == [
        ("s.yaml:4:17", "steps[1].set_weight: the weight falls from 50 to 20"),
        ("s.yaml:5:38", "steps[2].analysis.metrics[1]: no metric 'revenue'"),
        ("s.yaml:6:25", "analysis.background[0]: no metric 'nope'"),
    ]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("strategy: canary\n", "s.yaml", "steps: a canary needs steps"),
        ("strategy: blue-green\nsteps: [{set_weight: 10}]\n", "s.yaml:2:8", "no steps"),
        ("strategy: linear\n", "s.yaml:1:11", "strategy"),
        ("strategy: canary\nsteps: [{set_weight: 150}]\n", "s.yaml:2:", "steps[0]"),
        ("strategy: canary\nsteps: [{pause: {duration: soon}}]\n", "s.yaml:2:", "duration"),
        (
            "strategy: canary\nsteps: [{set_weight: 5}]\nmetrics:\n"
            "  - {name: p, kind: latency}\n  - {name: p, kind: latency}\n",
            "s.yaml:5:",
            "metric 'p' twice",
        ),
    ],
)
def test_bad_strategies_are_refused(text: str, where: str, message: str) -> None:
    found = problems(text)

    assert any(w.startswith(where) and message in m for w, m in found), found


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="an empty strategy file"):
        parse_strategy("# nothing\n", source="s.yaml")


# ------------------------------------------------------------------------------- analysis


def result(verdict: Verdict, *, pauses: bool = False, name: str = "error_rate") -> MetricResult:
    return MetricResult(name, verdict, f"{name} said {verdict}", pauses=pauses)


def measured(run: AnalysisRun, *verdicts: Verdict | None) -> AnalysisRun:
    for verdict in verdicts:
        at = run.next_due()
        assert at is not None
        if verdict is None:
            run = run.record(Measurement(at, error="Prometheus timed out"))
        else:
            run = run.record(
                Measurement(at, (result(Verdict.PASS, name="latency"), result(verdict)))
            )
    return run


SPEC = AnalysisSpec(interval=timedelta(minutes=1), initial_delay=timedelta(seconds=30))


def test_measurements_are_due_after_the_delay_then_every_interval() -> None:
    run = AnalysisRun(SPEC, T0, count=3)

    assert run.next_due() == T0 + timedelta(seconds=30)
    assert not run.due(T0 + timedelta(seconds=29))
    run = measured(run, Verdict.PASS)
    assert run.next_due() == T0 + timedelta(seconds=90)
    run = measured(run, Verdict.PASS, Verdict.PASS)
    assert run.phase is RunPhase.SUCCESSFUL
    assert run.next_due() is None
    with pytest.raises(ValueError, match="the analysis is over"):
        run.record(Measurement(T0, (result(Verdict.PASS),)))


def test_the_second_failure_fails_it_by_default_like_argos_failure_limit() -> None:
    once = measured(AnalysisRun(SPEC, T0, count=5), Verdict.PASS, Verdict.FAIL)
    twice = measured(once, Verdict.FAIL)

    assert once.phase is RunPhase.RUNNING
    assert twice.phase is RunPhase.FAILED
    assert twice.reason() == (
        "2 failed measurements (more than the 1 tolerated): error_rate: error_rate said fail"
    )


def test_no_data_under_a_fail_policy_counts_as_a_failure() -> None:
    run = measured(AnalysisRun(SPEC, T0, count=5), Verdict.NO_DATA, Verdict.NO_DATA)

    assert run.phase is RunPhase.FAILED


def test_errors_end_it_only_when_consecutive_beyond_the_limit() -> None:
    broken = measured(AnalysisRun(SPEC, T0, count=None), None, None, None, None)
    recovered = measured(broken, Verdict.PASS, None, None)

    assert broken.phase is RunPhase.RUNNING  # 4 tolerated
    assert measured(broken, None).phase is RunPhase.ERROR
    assert (
        "5 measurements in a row could not be taken: Prometheus timed out"
        in measured(broken, None).reason()
    )
    assert recovered.phase is RunPhase.RUNNING


def test_inconclusive_pauses_and_a_pause_policy_pauses_at_once() -> None:
    tolerant = AnalysisSpec(inconclusive_limit=2)
    run = measured(
        AnalysisRun(tolerant, T0, count=None), Verdict.INCONCLUSIVE, Verdict.INCONCLUSIVE
    )
    paused = AnalysisRun(tolerant, T0, count=None).record(
        Measurement(T0, (result(Verdict.INCONCLUSIVE, pauses=True),))
    )

    assert run.phase is RunPhase.RUNNING
    assert measured(run, Verdict.INCONCLUSIVE).phase is RunPhase.INCONCLUSIVE
    assert paused.phase is RunPhase.INCONCLUSIVE
    assert "a person decides" in paused.reason()


def test_a_background_run_never_succeeds_on_its_own() -> None:
    run = measured(AnalysisRun(SPEC, T0, count=None), *([Verdict.PASS] * 50))

    assert run.phase is RunPhase.RUNNING
    assert run.due(T0 + timedelta(hours=2))


def test_too_little_data_extends_the_analysis_then_pauses_it() -> None:
    def waiting_measurement(at: datetime) -> Measurement:
        thin = MetricResult("conversion_rate", Verdict.INCONCLUSIVE, "120 units", waiting=True)
        return Measurement(at, (result(Verdict.PASS), thin))

    run = AnalysisRun(SPEC, T0, count=2)
    for _ in range(2):
        due = run.next_due()
        assert due is not None
        run = run.record(waiting_measurement(due))
    assert run.phase is RunPhase.RUNNING  # waiting measurements neither count nor pause
    assert (run.extensions, run.inconclusives) == (2, 0)

    enough = measured(run, Verdict.PASS, Verdict.PASS)
    assert enough.phase is RunPhase.SUCCESSFUL
    starved = run.record(waiting_measurement(T0 + timedelta(hours=1)))
    assert starved.phase is RunPhase.INCONCLUSIVE
    assert "still not enough traffic after 3 extra measurements" in starved.reason()
