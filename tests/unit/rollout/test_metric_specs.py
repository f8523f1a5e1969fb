"""Metric sources in strategy files: what each source and kind needs, refused at its position."""

from __future__ import annotations

import pytest

from launchdeck.errors import ValidationFailed
from launchdeck.notify.spec import SecretRef
from launchdeck.rollout.strategy import (
    MetricSpec,
    StrategySpec,
    ThresholdRange,
    fill_template,
    parse_json_path,
    parse_strategy,
)

HEAD = "strategy: canary\nsteps: [{set_weight: 10}]\nmetrics:\n"


def strategy(metrics: str) -> StrategySpec:
    return parse_strategy(HEAD + metrics, source="s.yaml")


def problems(metrics: str) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as failed:
        strategy(metrics)
    return [(p.where or "", p.message) for p in failed.value.problems]


def test_a_prometheus_threshold_and_a_prometheus_rate_parse() -> None:
    spec = strategy(
        "  - name: checkout_p99\n"
        "    kind: threshold\n"
        "    source: prometheus\n"
        "    address: http://prometheus:9090\n"
        '    query: histogram_quantile(0.99, sum by (le) (rate(x{variant="{{ variant }}"}'
        "[{{interval}}])))\n"
        "    threshold_range: {max: 0.8}\n"
        "  - name: errors\n"
        "    kind: error_rate\n"
        "    source: prometheus\n"
        '    total_query: sum(increase(req{variant="{{variant}}"}[{{elapsed}}]))\n'
        '    count_query: sum(increase(req{variant="{{variant}}",code=~"5.."}[{{elapsed}}]))\n'
    )

    p99, errors = spec.metrics
    assert (p99.source, p99.kind, p99.address) == (
        "prometheus",
        "threshold",
        "http://prometheus:9090",
    )
    assert p99.threshold_range == ThresholdRange(max=0.8)
    assert (errors.kind, errors.query, errors.threshold_range) == ("error_rate", None, None)
    assert errors.total_query is not None
    assert errors.count_query is not None


def test_a_web_threshold_with_a_secret_header_and_a_web_rate_parse() -> None:
    spec = strategy(
        "  - name: bounce\n"
        "    kind: threshold\n"
        "    source: web\n"
        "    url: https://stats.example.com/bounce?system={{system}}&env={{environment}}\n"
        "    headers: {Authorization: {env: STATS_TOKEN}, Accept: application/json, X-V: 2}\n"
        '    json_path: $.data.rates[0]["bounce.rate"]\n'
        "    threshold_range: {min: 0, max: 0.4}\n"
        "    no_data: fail\n"
        "  - name: orders\n"
        "    kind: conversion_rate\n"
        "    source: web\n"
        "    url: https://stats.example.com/orders/{{variant}}\n"
        "    total_json_path: $.visitors\n"
        "    count_json_path: $.orders\n"
    )

    bounce, orders = spec.metrics
    assert bounce.headers == {
        "Authorization": SecretRef(env="STATS_TOKEN"),
        "Accept": "application/json",
        "X-V": "2",
    }
    assert bounce.no_data == "fail"
    assert (orders.total_json_path, orders.count_json_path) == ("$.visitors", "$.orders")


def test_access_log_metrics_are_unchanged_by_default() -> None:
    spec = MetricSpec.model_validate({"name": "orders", "kind": "conversion_rate"})

    assert spec.source == "access_log"
    assert (spec.query, spec.url, spec.threshold_range) == (None, None, None)


PROM = "{name: m, kind: error_rate, source: prometheus"
TOTAL = "total_query: 'sum(a{v=\"{{variant}}\"})'"
COUNT = "count_query: 'sum(b{v=\"{{variant}}\"})'"


@pytest.mark.parametrize(
    ("metric", "at", "message"),
    [
        (
            "{name: m, kind: threshold, source: prometheus, threshold_range: {max: 1}}",
            "{name",
            "metrics[0]: threshold from prometheus needs query:",
        ),
        (
            f"{PROM}}}",
            "{name",
            "metrics[0]: error_rate from prometheus needs total_query: and count_query:",
        ),
        (
            f"{PROM}, {TOTAL}}}",
            "{name",
            "metrics[0]: error_rate from prometheus needs total_query: and count_query: "
            "(count_query missing)",
        ),
        (
            f"{PROM}, query: up, {TOTAL}, {COUNT}}}",
            "up,",
            "metrics[0].query: query is not for kind error_rate",
        ),
        (
            f"{PROM}, {TOTAL}, count_query: sum(b)}}",
            "sum(b)",
            "metrics[0].count_query: count_query does not tell the variants apart: use {{variant}}",
        ),
        (
            "{name: m, kind: threshold, source: prometheus, query: up}",
            "{name",
            "metrics[0]: a threshold metric needs threshold_range",
        ),
        (
            "{name: m, kind: threshold, source: prometheus, query: 'x[{{window}}]', "
            "threshold_range: {max: 1}}",
            "'x[",
            "metrics[0].query: unknown placeholder {{window}}",
        ),
        (
            "{name: m, kind: threshold, source: web, threshold_range: {max: 1}}",
            "{name",
            "metrics[0]: a web metric needs url:",
        ),
        (
            "{name: m, kind: threshold, source: web, url: 'https://x', threshold_range: {max: 1}}",
            "{name",
            "metrics[0]: threshold from web needs json_path:",
        ),
        (
            "{name: m, kind: threshold, source: web, url: 'https://x', json_path: a.b, "
            "threshold_range: {max: 1}}",
            "a.b",
            "metrics[0].json_path: a JSON path starts with $",
        ),
        (
            "{name: m, kind: threshold, source: web, url: 'https://x', json_path: '$.a[*]', "
            "threshold_range: {max: 1}}",
            "'$.a[*]'",
            "metrics[0].json_path: cannot read '[*]'",
        ),
        (
            "{name: m, kind: conversion_rate, source: web, url: 'https://x', "
            "total_json_path: $.a, count_json_path: $.b}",
            "'https://x'",
            "metrics[0].url: url does not tell the variants apart: use {{variant}}",
        ),
        (
            "{name: m, kind: threshold, source: web, url: 'ftp://x', json_path: $.a, "
            "threshold_range: {max: 1}}",
            "'ftp://x'",
            "metrics[0].url: url is not an http:// or https:// URL",
        ),
        (
            "{name: m, kind: latency, source: prometheus, query: up}",
            "latency",
            "metrics[0].kind: latency samples come from the access log only",
        ),
        (
            "{name: m, kind: threshold, threshold_range: {max: 1}}",
            "threshold,",
            "metrics[0].kind: the access log has no threshold metrics",
        ),
        (
            "{name: m, kind: error_rate, query: up}",
            "up}",
            "metrics[0].query: query is for source prometheus",
        ),
        (
            "{name: m, kind: error_rate, threshold_range: {max: 1}}",
            "{max",
            "metrics[0].threshold_range: threshold_range is not for error_rate",
        ),
        (
            "{name: m, kind: threshold, source: prometheus, query: up, threshold_range: {}}",
            "{}",
            "metrics[0].threshold_range: a threshold_range needs min:, max: or both",
        ),
        (
            "{name: m, kind: threshold, source: prometheus, query: up, "
            "threshold_range: {min: 2, max: 1}}",
            "1}",
            "metrics[0].threshold_range.max: max 1 is below min 2",
        ),
        (
            "{name: m, kind: threshold, source: prometheus, query: up, threshold_range: {max: 1}, "
            "no_data: later}",
            "later",
            "metrics[0].no_data:",
        ),
    ],
    ids=[
        "a prometheus threshold needs a query",
        "a prometheus rate needs a total and a count query",
        "a prometheus rate names the query it lacks",
        "a prometheus rate takes no single query",
        "a rate's query must tell the variants apart",
        "a threshold needs a range",
        "an unknown placeholder is refused",
        "a web metric needs a url",
        "a web threshold needs a json path",
        "a json path starts with a dollar",
        "a json path has no wildcards",
        "a web rate reads the url per variant",
        "a url is http or https",
        "latency is read from the access log only",
        "the access log has no thresholds",
        "a query belongs to prometheus",
        "a range belongs to thresholds",
        "an empty range is refused",
        "a range whose max is below its min is refused",
        "an unknown no-data policy is refused",
    ],
)
def test_bad_metric_sources_are_refused_where_they_are(metric: str, at: str, message: str) -> None:
    found = problems(f"  - {metric}\n")

    where = f"s.yaml:4:{len('  - ') + metric.index(at) + 1}"  # where the value at fault starts
    assert (where, message) in [(w, m[: len(message)]) for w, m in found], found


def test_a_literal_secret_header_is_refused_without_echoing_it() -> None:
    found = problems(
        "  - name: m\n"
        "    kind: threshold\n"
        "    source: web\n"
        "    url: https://stats.example.com/\n"
        "    json_path: $.value\n"
        "    threshold_range: {max: 1}\n"
        "    headers:\n"
        "      Accept: application/json\n"
        "      X-Api-Key: hunter2-very-secret\n"
    )

    assert found == [("s.yaml:12:18", "metrics[0].headers.X-Api-Key: header X-Api-Key is a secret")]
    assert "hunter2" not in repr(found)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("{env: not a name}", "env: takes the name of an environment variable"),
        ("{env: A, file: /run/a}", "give exactly one of env: or file:"),
        ("[1, 2]", "a header value is text or a secret reference"),
    ],
    ids=["an env value instead of a name", "both env and file", "a list"],
)
def test_a_bad_header_value_is_refused_at_the_header(header: str, message: str) -> None:
    found = problems(
        "  - {name: m, kind: threshold, source: web, url: 'https://x', json_path: $.v,\n"
        f"     threshold_range: {{max: 1}}, headers: {{X-Token: {header}}}}}\n"
    )

    assert [(w, m[: len(message) + 28]) for w, m in found] == [
        ("s.yaml:5:52", f"metrics[0].headers.X-Token: {message}")
    ]


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("$", ()),
        ("$.data.rate", ("data", "rate")),
        ("$.data.result[0].value[1]", ("data", "result", 0, "value", 1)),
        ('$["bounce.rate"]', ("bounce.rate",)),
        ("$['a b'][-1]", ("a b", -1)),
        ("$.p-99_ms", ("p-99_ms",)),
    ],
    ids=["the document", "keys", "indexes", "a quoted key", "single quotes, from the end", "dash"],
)
def test_json_paths_of_the_subset_are_read_step_by_step(
    path: str, steps: tuple[str | int, ...]
) -> None:
    assert parse_json_path(path) == steps


@pytest.mark.parametrize(
    "path", ["data.rate", "$..rate", "$.a[*]", "$.a[?(@.b)]", "$.", "$[x]"], ids=str
)
def test_other_json_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match=r"JSON path starts with \$|cannot read"):
        parse_json_path(path)


def test_templates_take_spaced_and_unspaced_placeholders() -> None:
    filled = fill_template(
        'sum(x{v="{{variant}}",s="{{ system }}"}[{{interval}}])',
        {"variant": "canary", "system": "landing-pages", "interval": "60s"},
    )

    assert filled == 'sum(x{v="canary",s="landing-pages"}[60s])'
