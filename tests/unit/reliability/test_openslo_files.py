"""OpenSLO files: positions of every problem, references, the spec's traps, resolve and dump."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.reliability.openslo import (
    SLI,
    SLO,
    AlertCondition,
    AlertNotificationTarget,
    AlertPolicy,
    parse_document,
)
from launchdeck.reliability.openslo_files import (
    dump_openslo,
    load_openslo,
    parse_openslo,
    resolve,
    validate_openslo,
)
from strategies import property_settings

ROOT = Path(__file__).resolve().parents[3]
ALL_KINDS = ROOT / "tests" / "fixtures" / "openslo" / "checkout-all-kinds.yaml"
EXAMPLE = ROOT / "examples" / "black-friday" / "slos" / "checkout-api.yaml"
SOURCE = "slos.yaml"

SLO_TEXT = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout-api
  indicatorRef: {indicator_ref}
  budgetingMethod: {method}
  timeWindow:
    - duration: {duration}
      isRolling: true
  objectives:
    - displayName: {objective_name}
      {target}
"""
RATIO_SLI = """\
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: {name}
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{{code!~"5.."}}[5m]))
    total:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total[5m]))
"""
THRESHOLD_SLI = """\
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: {name}
spec:
  thresholdMetric:
    metricSource:
      type: Prometheus
      spec:
        query: {query}
"""


def an_slo_file(
    *,
    indicator_ref: str = "server-errors",
    method: str = "Occurrences",
    duration: str = "28d",
    objective_name: str = "Available",
    target: str = "target: 0.999",
    sli_name: str = "server-errors",
    threshold_query: str | None = None,
) -> str:
    """An SLO (lines 1-14) and its SLI (from line 15); each argument changes one field."""
    slo = SLO_TEXT.format(
        indicator_ref=indicator_ref,
        method=method,
        duration=duration,
        objective_name=objective_name,
        target=target,
    )
    if threshold_query is None:
        return slo + RATIO_SLI.format(name=sli_name)
    return slo + THRESHOLD_SLI.format(name=sli_name, query=threshold_query)


def problems_of(text: str) -> list[ConfigError]:
    with pytest.raises(ValidationFailed) as caught:
        parse_openslo(textwrap.dedent(text), source=SOURCE)
    return list(caught.value.problems)


def report_of(tmp_path: Path, *texts: str) -> Any:
    paths = []
    for index, text in enumerate(texts):
        path = tmp_path / f"file{index}.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        paths.append(path)
    return validate_openslo(paths)


def shown(problem: ConfigError) -> tuple[str | None, str, str | None]:
    """(where with the tmp directory dropped, message, hint)."""
    where = problem.where.rsplit("/", 1)[-1] if problem.where else None
    return where, problem.message, problem.hint


def test_every_kind_loads_with_the_line_it_starts_on() -> None:
    documents = load_openslo(ALL_KINDS)
    assert [(d.kind, d.name, d.line) for d in documents] == [
        ("Service", "checkout-api", 3),
        ("DataSource", "prometheus-main", 11),
        ("SLI", "checkout-api-server-errors", 20),
        ("AlertCondition", "fast-burn", 39),
        ("AlertNotificationTarget", "payments-on-call", 53),
        ("AlertPolicy", "checkout-page", 61),
        ("SLO", "checkout-api-availability", 76),
        ("SLO", "checkout-api-latency", 119),
    ]
    assert documents[0].source == str(ALL_KINDS)


def test_the_fixture_and_the_example_validate_without_errors_or_warnings() -> None:
    for path in (ALL_KINDS, EXAMPLE):
        report = validate_openslo([path])
        assert (report.errors, report.warnings, report.ok) == ([], [], True)


def test_the_same_file_given_twice_is_read_once() -> None:
    report = validate_openslo([ALL_KINDS, str(ALL_KINDS)])
    assert (report.errors, len(report.documents)) == ([], 8)


def test_a_top_level_list_of_documents_loads_like_separate_documents() -> None:
    text = "- {apiVersion: openslo/v1, kind: Service, metadata: {name: a}}\n" + (
        "- apiVersion: openslo/v1\n  kind: Service\n  metadata: {name: b, labels: {x: 1}}\n"
    )
    found = problems_of(text)
    assert [(p.where, p.field) for p in found] == [(f"{SOURCE}:4:35", "metadata.labels.x")]


CASES = [
    (
        "a target written as a percentage",
        an_slo_file(target="target: 99.9"),
        f"{SOURCE}:14:15",
        "spec.objectives[0].target",
        "target 99.9 is a percentage, but target is a ratio in [0, 1)",
        "write targetPercent: 99.9 (or target: 0.999)",
    ),
    (
        "a misspelt key",
        an_slo_file(target="targt: 0.999"),
        f"{SOURCE}:14:7",
        "spec.objectives[0].targt",
        "unknown key 'targt'",
        "did you mean 'target'?",
    ),
    (
        "a duplicate key",
        an_slo_file(target="target: 0.999\n      target: 0.99"),
        f"{SOURCE}:15:7",
        "spec.objectives[0].target",
        "duplicate key 'target'",
        "a key may appear once per mapping",
    ),
    (
        "an unknown budgeting method",
        an_slo_file(method="Occurences"),
        f"{SOURCE}:8:20",
        "spec.budgetingMethod",
        "Input should be 'Occurrences', 'Timeslices' or 'RatioTimeslices' (got 'Occurences')",
        None,
    ),
    (
        "an older apiVersion",
        "apiVersion: openslo/v1alpha\nkind: Service\nmetadata: {name: a}\n",
        f"{SOURCE}:1:13",
        "apiVersion",
        "apiVersion 'openslo/v1alpha' is not supported: launchdeck reads openslo/v1",
        "write apiVersion: openslo/v1 (and check the document against OpenSLO v1)",
    ),
    (
        "no apiVersion",
        "kind: Service\nmetadata: {name: a}\n",
        f"{SOURCE}:1:1",
        "(document)",
        "apiVersion is required but missing",
        "add 'apiVersion: openslo/v1'",
    ),
    (
        "a kind in the wrong case",
        "apiVersion: openslo/v1\nkind: slo\nmetadata: {name: a}\n",
        f"{SOURCE}:2:7",
        "kind",
        "unknown kind 'slo'",
        "did you mean 'SLO'? kinds are case-sensitive",
    ),
    (
        "a Sloth spec",
        "version: prometheus/v1\nservice: checkout\nslos: []\n",
        f"{SOURCE}:1:10",
        "version",
        "this is a Sloth prometheus/v1 spec, not an OpenSLO document",
        "convert it to OpenSLO with 'launchdeck slo import-sloth FILE'",
    ),
    (
        "a document that is not a mapping",
        "just some words\n",
        f"{SOURCE}:1:1",
        "(document)",
        "a document must be a mapping",
        "each document has apiVersion: openslo/v1, kind, metadata and spec",
    ),
]


@pytest.mark.parametrize(
    ("text", "where", "field", "message", "hint"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_problem_names_file_line_column_field_and_fix(
    text: str, where: str, field: str, message: str, hint: str | None
) -> None:
    found = problems_of(text)
    assert [(p.where, p.field, p.message, p.hint) for p in found] == [
        (where, field, f"{field}: {message}", hint)
    ]


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = an_slo_file(target="target: 99.9", duration="28 d")
    text += "---\napiVersion: openslo/v1\nkind: Service\nmetadata: {name: Checkout}\n"
    assert [p.where for p in problems_of(text)] == [
        f"{SOURCE}:10:17",
        f"{SOURCE}:14:15",
        f"{SOURCE}:36:18",
    ]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('apiVersion: "openslo/v1\nkind: SLO\n', f"{SOURCE}:3:1", "not valid YAML"),
        ("", f"{SOURCE}:1:1", "no OpenSLO documents in this file"),
        ("---\n---\n", f"{SOURCE}:1:1", "no OpenSLO documents in this file"),
    ],
    ids=["an unclosed quote", "an empty file", "only separators"],
)
def test_a_file_that_is_not_openslo_at_all_is_one_error(
    text: str, where: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_openslo(text, source=SOURCE)
    assert type(caught.value) is ConfigError
    assert caught.value.where == where
    assert caught.value.message.startswith(message)


def test_a_missing_file_is_an_error_of_the_report(tmp_path: Path) -> None:
    report = validate_openslo([tmp_path / "nope.yaml"])
    assert [(p.where, p.message) for p in report.errors] == [
        (str(tmp_path / "nope.yaml"), "no such OpenSLO file")
    ]


def test_references_resolve_across_files_and_misses_suggest_a_name(tmp_path: Path) -> None:
    policies = "\n  alertPolicies:\n    - alertPolicyRef: server-errors"
    report = report_of(
        tmp_path, an_slo_file(indicator_ref="server-error", target="target: 0.999" + policies)
    )
    assert [shown(p) for p in report.errors] == [
        (
            "file0.yaml:7:17",
            "spec.indicatorRef: unknown SLI 'server-error'",
            "did you mean 'server-errors'?",
        ),
        (
            "file0.yaml:16:23",
            "spec.alertPolicies[0].alertPolicyRef: unknown AlertPolicy 'server-errors'",
            "'server-errors' is an SLI, not an AlertPolicy",
        ),
    ]


def test_a_reference_to_a_document_in_another_file_is_found(tmp_path: Path) -> None:
    slo, sli = an_slo_file().split("---\n")
    assert report_of(tmp_path, slo, sli).errors == []


def test_a_reference_to_an_invalid_document_is_not_also_unknown(tmp_path: Path) -> None:
    slo, sli = an_slo_file().split("---\n")
    report = report_of(tmp_path, slo, sli.replace("counter: true", "counter: maybe"))
    assert [shown(p)[:2] for p in report.errors] == [
        (
            "file1.yaml:7:14",
            "spec.ratioMetric.counter: Input should be a valid boolean, unable to interpret "
            "input (got 'maybe')",
        )
    ]
    assert [d.kind for d in report.documents] == ["SLO"]


def test_a_duplicate_name_of_one_kind_is_an_error(tmp_path: Path) -> None:
    service = "apiVersion: openslo/v1\nkind: Service\nmetadata:\n  name: checkout\n"
    report = report_of(tmp_path, service, service)
    assert [shown(p) for p in report.errors] == [
        (
            "file1.yaml:4:9",
            f"metadata.name: duplicate Service 'checkout' (first at {tmp_path}/file0.yaml:1:1)",
            "names are unique per kind: rename one or remove it",
        )
    ]


def test_a_threshold_sli_by_reference_still_needs_op_and_value(tmp_path: Path) -> None:
    report = report_of(tmp_path, an_slo_file(threshold_query="latency_seconds"))
    assert [shown(p) for p in report.errors] == [
        (
            "file0.yaml:13:7",
            "spec.objectives[0]: a thresholdMetric objective needs op and value",
            "e.g. op: lte and value: 0.3 (good while the value is at most 0.3)",
        )
    ]


def test_dangling_data_sources_and_targets_are_errors(tmp_path: Path) -> None:
    report = report_of(
        tmp_path,
        """\
        apiVersion: openslo/v1
        kind: AlertPolicy
        metadata: {name: page}
        spec:
          conditions: [{conditionRef: fast-burn}]
          notificationTargets: [{targetRef: on-call}]
        ---
        apiVersion: openslo/v1
        kind: SLI
        metadata: {name: errors}
        spec:
          thresholdMetric:
            metricSource: {metricSourceRef: prometheus, spec: {query: q}}
        """,
    )
    assert [(p.field, p.message.split(": ", 1)[1]) for p in report.errors] == [
        ("spec.conditions[0].conditionRef", "unknown AlertCondition 'fast-burn'"),
        ("spec.notificationTargets[0].targetRef", "unknown AlertNotificationTarget 'on-call'"),
        ("spec.thresholdMetric.metricSource.metricSourceRef", "unknown DataSource 'prometheus'"),
    ]


WARNINGS = [
    (
        "a one-minute window",
        {"duration": "1m"},
        "10:17",
        "spec.timeWindow[0].duration: a 1m window means one minute, not one month",
        "write 1M for a month",
    ),
    (
        "a five-minute window",
        {"duration": "5m"},
        "10:17",
        "spec.timeWindow[0].duration: a 5m window means 5 minutes, not 5 months",
        "write 5M for 5 months",
    ),
    (
        "a window of hours",
        {"duration": "1h"},
        "10:17",
        "spec.timeWindow[0].duration: a 1h window is shorter than a day: its error budget is "
        "gone before anyone can act on it",
        "SLO windows are usually 28d, 30d, 4w or 1M",
    ),
    (
        "a slice target ignored by Occurrences",
        {"target": "target: 0.99\n      timeSliceTarget: 0.9"},
        "15:24",
        "spec.objectives[0].timeSliceTarget: timeSliceTarget is ignored with budgetingMethod "
        "Occurrences",
        "set budgetingMethod: Timeslices to count good time slices, or remove timeSliceTarget",
    ),
    (
        "an inverted ratio target",
        {"target": "target: 0.001"},
        "14:15",
        "spec.objectives[0].target: target 0.001 lets 99.9 % of events fail: it looks inverted",
        "did you mean target: 0.999?",
    ),
    (
        "a ratio written as targetPercent",
        {"target": "targetPercent: 0.999"},
        "14:22",
        "spec.objectives[0].targetPercent: targetPercent 0.999 means 0.999 %, not 99.9 %",
        "write target: 0.999 (or targetPercent: 99.9)",
    ),
    (
        "an inverted percentage",
        {"target": "targetPercent: 5"},
        "14:22",
        "spec.objectives[0].targetPercent: targetPercent 5 lets 95 % of events fail: "
        "it looks inverted",
        "did you mean targetPercent: 95?",
    ),
    (
        "gt on a latency query",
        {
            "threshold_query": "histogram_quantile(0.99, rate(request_duration_seconds[5m]))",
            "target": "target: 0.99\n      op: gt\n      value: 0.3",
        },
        "15:11",
        "spec.objectives[0].op: op: gt on a latency-like indicator counts a step as good when it "
        "is above 0.3: this may invert the objective",
        "use lt or lte: good while latency stays below the value",
    ),
    (
        "lte on an availability objective",
        {
            "threshold_query": "probe_ok",
            "objective_name": "Uptime",
            "target": "target: 0.99\n      op: lte\n      value: 0.99",
        },
        "15:11",
        "spec.objectives[0].op: op: lte on an availability-like indicator counts a step as good "
        "when it is below 0.99: this may invert the objective",
        "use gt or gte: good while availability stays above the value",
    ),
]


@pytest.mark.parametrize(
    ("changes", "at", "message", "hint"),
    [case[1:] for case in WARNINGS],
    ids=[case[0] for case in WARNINGS],
)
def test_a_known_trap_is_a_warning_at_its_field(
    tmp_path: Path, changes: dict[str, str], at: str, message: str, hint: str
) -> None:
    report = report_of(tmp_path, an_slo_file(**changes))
    assert report.errors == []
    assert [shown(p) for p in report.warnings] == [(f"file0.yaml:{at}", message, hint)]


@pytest.mark.parametrize(
    "changes",
    [
        {"duration": "1M"},
        {"duration": "1440m"},
        {"duration": "24h"},
        {"target": "targetPercent: 50"},
        {
            "threshold_query": "probe_uptime_ratio",
            "target": "target: 0.9\n      op: gte\n      value: 1",
        },
        {
            "threshold_query": "request_latency_seconds",
            "target": "target: 0.9\n      op: lt\n      value: 1",
        },
    ],
    ids=[
        "a month",
        "a day in minutes",
        "a day in hours",
        "half",
        "gte on uptime",
        "lt on latency",
    ],
)
def test_what_looks_like_a_trap_but_is_not_gives_no_warning(
    tmp_path: Path, changes: dict[str, str]
) -> None:
    report = report_of(tmp_path, an_slo_file(**changes))
    assert (report.errors, report.warnings) == ([], [])


def test_a_service_missing_from_the_services_given_is_a_warning(tmp_path: Path) -> None:
    service = "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: checkout-ap}\n"
    report = report_of(tmp_path, an_slo_file(), service)
    assert [shown(p) for p in report.warnings] == [
        (
            "file0.yaml:6:12",
            "spec.service: service 'checkout-api' is not one of the Service documents given",
            "did you mean 'checkout-ap'?",
        )
    ]


def test_resolve_inlines_the_indicator_policies_conditions_targets_and_data_source() -> None:
    availability, latency = resolve(load_openslo(ALL_KINDS))
    slo = availability.slo
    assert slo.spec.indicatorRef is None
    assert isinstance(slo.spec.indicator, SLI)
    assert slo.spec.indicator.metadata.name == "checkout-api-server-errors"
    assert availability.data_source is not None
    assert availability.data_source.spec.connectionDetails == {"url": "http://127.0.0.1:9090"}
    assert (availability.source, availability.line) == (str(ALL_KINDS), 76)
    page, ticket = slo.spec.alertPolicies
    assert isinstance(page, AlertPolicy)
    assert isinstance(ticket, AlertPolicy)
    (fast,) = page.spec.conditions
    assert isinstance(fast, AlertCondition)
    assert (fast.metadata.name, fast.spec.condition.threshold) == ("fast-burn", 14.4)
    assert [t.metadata.name for t in ticket.spec.notificationTargets] == ["payments-on-call"]
    assert all(isinstance(t, AlertNotificationTarget) for t in ticket.spec.notificationTargets)
    assert latency.slo.spec.indicator is not None
    assert latency.data_source is not None


def test_resolve_raises_at_a_dangling_reference() -> None:
    documents = parse_openslo(an_slo_file(indicator_ref="missing"), source=SOURCE)
    with pytest.raises(ConfigError) as caught:
        resolve(documents)
    assert (caught.value.where, caught.value.message) == (
        f"{SOURCE}:7:17",
        "spec.indicatorRef: unknown SLI 'missing'",
    )


def test_resolve_refuses_an_indicator_that_reads_two_data_sources() -> None:
    text = an_slo_file().replace("type: Prometheus", "metricSourceRef: a", 1)
    text = text.replace("type: Prometheus", "metricSourceRef: b", 1)
    with pytest.raises(ConfigError) as caught:
        resolve(parse_openslo(text, source=SOURCE))
    assert caught.value.where == f"{SOURCE}:30:26"
    assert "reads DataSource 'b' here and 'a' elsewhere" in caught.value.message


def test_dump_round_trips_every_kind_and_resolved_slos() -> None:
    documents = load_openslo(ALL_KINDS)
    again = parse_openslo(dump_openslo(documents), source="dumped.yaml")
    assert [d.document for d in again] == [d.document for d in documents]
    resolved = [r.slo for r in resolve(documents)]
    assert [d.document for d in parse_openslo(dump_openslo(resolved), source="r")] == resolved


def test_dump_writes_camel_case_keys_and_leaves_out_what_was_not_written() -> None:
    (slo,) = [d for d in load_openslo(EXAMPLE)]
    data = yaml.safe_load(dump_openslo([slo]))
    assert list(data) == ["apiVersion", "kind", "metadata", "spec"]
    assert data["spec"]["timeWindow"] == [{"duration": "28d", "isRolling": True}]
    assert "alertPolicies" not in data["spec"]
    assert "indicatorRef" not in data["spec"]


# --- property: load(dump(x)) == x -------------------------------------------------------

names = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")
texts = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=40)
queries = st.sampled_from(
    [
        'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
        "1 - (\n  sum(up)\n  /\n  count(up)\n)\n",
        "histogram_quantile(0.99, rate(x_bucket[5m]))",
        "'quoted': yes",
    ]
)
durations = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 400), st.sampled_from("mhdwMQY"))
fixed = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 400), st.sampled_from("mhdw"))


def _metric(ref: bool) -> st.SearchStrategy[dict[str, Any]]:
    source = st.fixed_dictionaries(
        {"spec": st.fixed_dictionaries({"query": queries})},
        optional={"type": st.just("Prometheus")} if ref else {},
    )
    if ref:
        source = source.map(lambda s: {**s, "metricSourceRef": "prometheus"})
    else:
        source = source.map(lambda s: {**s, "type": "Prometheus"})
    return st.fixed_dictionaries({"metricSource": source})


metrics = st.booleans().flatmap(_metric)
metadata = st.fixed_dictionaries(
    {"name": names},
    optional={
        "displayName": texts,
        "labels": st.dictionaries(
            st.from_regex(r"\A[a-zA-Z0-9]([-_.a-zA-Z0-9]{0,10}[a-zA-Z0-9])?\Z"),
            texts | st.lists(texts, max_size=3),
            max_size=3,
        ),
        "annotations": st.dictionaries(
            st.from_regex(r"\A(launchdeck\.dev/)?[a-z]{1,12}\Z"), texts, max_size=3
        ),
    },
)
ratio = st.one_of(
    st.fixed_dictionaries({"good": metrics, "total": metrics}, optional={"counter": st.booleans()}),
    st.fixed_dictionaries({"bad": metrics, "total": metrics}),
    st.fixed_dictionaries({"raw": metrics, "rawType": st.sampled_from(["success", "failure"])}),
)
indicator = st.fixed_dictionaries(
    {"metadata": metadata, "spec": st.fixed_dictionaries({"ratioMetric": ratio})},
    optional={"kind": st.just("SLI")},
)
windows = st.one_of(
    st.fixed_dictionaries({"duration": durations, "isRolling": st.just(True)}),
    st.fixed_dictionaries(
        {
            "duration": durations,
            "calendar": st.fixed_dictionaries(
                {
                    "startTime": st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1)).map(
                        lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
                    ),
                    "timeZone": st.sampled_from(["UTC", "Europe/Paris", "America/New_York"]),
                }
            ),
        },
        optional={"isRolling": st.just(False)},
    ),
)
targets = st.one_of(
    st.fixed_dictionaries({"target": st.floats(0, 1, exclude_max=True)}),
    st.fixed_dictionaries({"targetPercent": st.floats(0, 100, exclude_max=True)}),
)
slices = st.fixed_dictionaries(
    {
        "timeSliceTarget": st.floats(0, 1, exclude_min=True),
        "timeSliceWindow": st.integers(1, 60) | fixed,
    }
)
condition = st.fixed_dictionaries(
    {
        "metadata": metadata,
        "spec": st.fixed_dictionaries(
            {
                "severity": st.sampled_from(["page", "ticket"]),
                "condition": st.fixed_dictionaries(
                    {"threshold": st.floats(0.1, 100), "lookbackWindow": fixed},
                    optional={"kind": st.just("burnrate"), "alertAfter": fixed},
                ),
            }
        ),
    }
)
policy = st.fixed_dictionaries(
    {
        "metadata": metadata,
        "spec": st.fixed_dictionaries(
            {
                "conditions": st.lists(
                    condition | st.builds(dict, conditionRef=names), min_size=1, max_size=1
                ),
                "notificationTargets": st.lists(st.builds(dict, targetRef=names), max_size=2),
            },
            optional={"alertWhenNoData": st.booleans(), "alertWhenBreaching": st.booleans()},
        ),
    }
)


@st.composite
def slo_documents(draw: st.DrawFn) -> dict[str, Any]:
    method = draw(st.sampled_from(["Occurrences", "Timeslices", "RatioTimeslices"]))
    objectives = [
        {
            **draw(targets),
            **(draw(slices) if method != "Occurrences" else {}),
            **({"displayName": draw(texts)} if draw(st.booleans()) else {}),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    spec = {
        "service": draw(names),
        "timeWindow": [draw(windows)],
        "budgetingMethod": method,
        "objectives": objectives,
        "alertPolicies": draw(st.lists(policy | st.builds(dict, alertPolicyRef=names), max_size=2)),
    }
    if draw(st.booleans()):
        spec["indicator"] = draw(indicator)
    else:
        spec["indicatorRef"] = draw(names)
    if draw(st.booleans()):
        spec["description"] = draw(texts)
    return {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": draw(metadata), "spec": spec}


@property_settings(max_examples=60)
@given(st.lists(slo_documents(), min_size=1, max_size=3))
def test_dumped_documents_load_back_equal(documents: list[dict[str, Any]]) -> None:
    models = [parse_document(document) for document in documents]
    assert all(isinstance(model, SLO) for model in models)
    loaded = parse_openslo(dump_openslo(models), source="dumped.yaml")
    assert [d.document for d in loaded] == models
