"""Sloth prometheus/v1 specs imported as OpenSLO v1: the mapping, and every refusal located."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.reliability.model import BudgetingMethod
from launchdeck.reliability.openslo import SLO, Service
from launchdeck.reliability.openslo_files import dump_openslo, parse_openslo, resolve
from launchdeck.reliability.sloth import import_sloth, parse_sloth

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "openslo"
CHECKOUT = FIXTURES / "sloth-checkout.yaml"
BAD = FIXTURES / "sloth-bad.yaml"
SOURCE = "sloth.yaml"


def problems_of(text: str) -> list[tuple[str | None, str, str | None]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_sloth(textwrap.dedent(text), source=SOURCE)
    return [(p.where, p.message, p.hint) for p in caught.value.problems]


def test_a_sloth_spec_becomes_a_service_and_one_slo_per_sloth_slo() -> None:
    service, availability, payments = import_sloth(CHECKOUT)
    assert isinstance(service, Service)
    assert service.metadata.name == "checkout-api"
    assert isinstance(availability, SLO)
    assert isinstance(payments, SLO)
    assert [availability.metadata.name, payments.metadata.name] == [
        "checkout-api-requests-availability",
        "checkout-api-payment-authorisation",
    ]
    spec = availability.spec
    assert spec.service == "checkout-api"
    assert spec.description == "Checkout requests answered without a server error."
    assert (spec.window.duration, spec.window.rolling) == ("30d", True)
    assert spec.budgetingMethod is BudgetingMethod.OCCURRENCES
    assert spec.objectives[0].targetPercent == 99.9
    assert spec.objectives[0].target_ratio == pytest.approx(0.999)
    assert availability.metadata.labels == {
        "owner": "payments",
        "repo": "northwind/checkout-api",
        "tier": "1",
    }
    assert payments.metadata.labels["category"] == "payments"


def test_events_become_bad_over_total_with_the_window_placeholder_kept() -> None:
    _, availability, _ = import_sloth(CHECKOUT)
    assert isinstance(availability, SLO)
    assert availability.spec.indicator is not None
    ratio = availability.spec.indicator.spec.ratioMetric
    assert ratio is not None
    assert ratio.counter is True
    assert ratio.good is None
    assert ratio.bad is not None
    assert ratio.total is not None
    assert ratio.bad.metricSource.type == "Prometheus"
    assert ratio.bad.metricSource.spec["query"] == (
        'sum(rate(http_request_duration_seconds_count{job="checkout-api",code=~"(5..|429)"}'
        "[{{.window}}]))"
    )
    assert ratio.total.metricSource.spec["query"] == (
        'sum(rate(http_request_duration_seconds_count{job="checkout-api"}[{{.window}}]))'
    )


def test_a_raw_error_ratio_becomes_a_raw_failure_ratio() -> None:
    _, _, payments = import_sloth(CHECKOUT)
    assert isinstance(payments, SLO)
    assert payments.spec.indicator is not None
    ratio = payments.spec.indicator.spec.ratioMetric
    assert ratio is not None
    assert ratio.raw is not None
    assert ratio.rawType == "failure"
    assert ratio.raw.metricSource.spec["query"].startswith("1 - (\n  sum(rate(")
    assert "[{{.window}}]" in ratio.raw.metricSource.spec["query"]


def test_alerting_settings_travel_as_annotations() -> None:
    _, availability, payments = import_sloth(CHECKOUT)
    assert availability.metadata.annotations == {
        "launchdeck.dev/source": "sloth/prometheus/v1",
        "launchdeck.dev/alert-name": "CheckoutHighErrorRate",
        "launchdeck.dev/alert-label.category": "availability",
        "launchdeck.dev/alert-annotation.summary": "High error rate on checkout requests",
        "launchdeck.dev/page-alert-label.severity": "pageteam",
        "launchdeck.dev/page-alert-label.routing_key": "payments",
        "launchdeck.dev/ticket-alert-label.severity": "slack",
        "launchdeck.dev/ticket-alert-label.slack_channel": "#alerts-payments",
    }
    assert payments.metadata.annotations["launchdeck.dev/page-alert"] == "disabled"
    assert "launchdeck.dev/ticket-alert" not in payments.metadata.annotations


def test_the_import_dumps_to_openslo_that_loads_back_and_resolves() -> None:
    documents = import_sloth(CHECKOUT)
    loaded = parse_openslo(dump_openslo(documents), source="imported.yaml")
    assert [d.document for d in loaded] == documents
    assert [r.slo.metadata.name for r in resolve(loaded)] == [
        "checkout-api-requests-availability",
        "checkout-api-payment-authorisation",
    ]


def test_camel_case_sloth_keys_are_read_too() -> None:
    (_, slo) = parse_sloth(
        textwrap.dedent("""\
            version: prometheus/v1
            service: wifi
            slos:
              - name: satisfaction
                objective: 95
                sli:
                  raw:
                    errorRatioQuery: 1 - avg(satisfaction_ratio[{{.window}}])
                alerting:
                  pageAlert: {disable: true, for: 5m}
            """),
        source=SOURCE,
    )
    assert slo.metadata.annotations["launchdeck.dev/page-alert"] == "disabled"
    assert slo.metadata.annotations["launchdeck.dev/page-alert-for"] == "5m"


def test_the_bad_fixture_lists_every_problem_with_its_position() -> None:
    with pytest.raises(ValidationFailed) as caught:
        import_sloth(BAD)
    source = str(BAD)
    assert [(p.where, p.message, p.hint) for p in caught.value.problems] == [
        (
            f"{source}:6:16",
            "slos[0].objective: objective 0.999 means 0.999 %, not 99.9 %",
            "write objective: 99.9",
        ),
        (
            f"{source}:9:9",
            "slos[0].sli.events.total_query: is required but missing",
            "add 'total_query:'",
        ),
        (
            f"{source}:10:9",
            "slos[0].sli.events.totl_query: unknown key 'totl_query'",
            "did you mean 'total_query'?",
        ),
        (
            f"{source}:15:9",
            "slos[1].sli.plugin: SLI plugins are not supported",
            "launchdeck cannot run Sloth plugins: write the SLI as sli.events "
            "(error_query and total_query) or sli.raw (error_ratio_query)",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            """\
            version: prometheus/v1
            service: checkout
            slo_plugins: {chain: [{id: sloth.dev/contrib/alert_for/v1}]}
            slos: [{name: a, objective: 99, sli: {raw: {error_ratio_query: q}}}]
            """,
            (
                f"{SOURCE}:3:14",
                "slo_plugins: SLO plugins are not supported",
                "launchdeck cannot run Sloth plugins: write the SLI as sli.events "
                "(error_query and total_query) or sli.raw (error_ratio_query)",
            ),
        ),
        (
            """\
            version: prometheus/v1
            service: checkout
            slos:
              - name: a
                objective: 100
                sli: {raw: {error_ratio_query: q}}
            """,
            (
                f"{SOURCE}:5:16",
                "slos[0].objective: objective 100 leaves no error budget",
                "e.g. objective: 99.99",
            ),
        ),
        (
            """\
            version: prometheus/v1
            service: checkout
            slos:
              - name: Requests_Availability
                objective: 99
                sli: {raw: {error_ratio_query: q}}
            """,
            (
                f"{SOURCE}:4:11",
                "slos[0].name: the SLO would be named 'checkout-Requests_Availability': "
                "'checkout-Requests_Availability' is not a valid name: use lowercase letters, "
                "digits and '-', starting and ending with a letter or digit",
                "rename it, e.g. name: requests-availability",
            ),
        ),
        (
            """\
            version: prometheus/v1
            service: checkout
            slos:
              - name: a
                objective: 99
                sli: {}
            """,
            (
                f"{SOURCE}:6:10",
                "slos[0].sli: an SLI needs exactly one of events or raw",
                "events: {error_query, total_query}, or raw: {error_ratio_query}",
            ),
        ),
        (
            """\
            version: prometheus/v2
            service: checkout
            slos: [{name: a, objective: 99, sli: {raw: {error_ratio_query: q}}}]
            """,
            (
                f"{SOURCE}:1:10",
                "version: Input should be 'prometheus/v1' (got 'prometheus/v2')",
                None,
            ),
        ),
        (
            """\
            apiVersion: openslo/v1
            kind: Service
            metadata: {name: checkout}
            """,
            (
                f"{SOURCE}:1:13",
                "apiVersion: this is an OpenSLO document, not a Sloth spec",
                "it is already OpenSLO: check it with 'launchdeck slo validate FILE'",
            ),
        ),
    ],
    ids=[
        "SLO plugins are refused",
        "an objective of 100 leaves no budget",
        "a name OpenSLO cannot hold",
        "an SLI of no kind",
        "another Sloth version",
        "an OpenSLO file",
    ],
)
def test_a_spec_launchdeck_cannot_import_says_where_and_why(
    text: str, expected: tuple[str, str, str | None]
) -> None:
    assert problems_of(text) == [expected]


def test_a_file_with_no_spec_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        import_sloth(tmp_path / "empty.yaml")
    assert (caught.value.where, caught.value.message) == (
        f"{tmp_path / 'empty.yaml'}:1:1",
        "no Sloth spec in this file",
    )
