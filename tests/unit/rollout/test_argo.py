"""The Argo Rollouts export, checked against Argo's published CRD schemas (tests/fixtures/argo)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker

from launchdeck.errors import UsageError
from launchdeck.rollout.argo import Json, Manifest, argo_duration, export_argo, to_yaml
from launchdeck.rollout.strategy import StrategySpec, parse_strategy

ROOT = Path(__file__).parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "argo"
BLACK_FRIDAY = ROOT / "examples" / "black-friday" / "rollouts" / "landing-pages-canary.yaml"
URL = "https://launchdeck.example"
JUDGE = f"{URL}/api/v1/releases/landing-pages/production/judge?metrics={{{{args.metrics}}}}"

BLUE_GREEN = """\
strategy: blue-green
analysis:
  interval: 30s
  count: 4
  background: [error_rate, conversion_rate]
blue_green:
  post_promotion: 10m
  keep_previous: 2h
"""

MANUAL_PAUSES = """\
strategy: canary
steps:
  - pause: {}
  - set_weight: 20
  - pause: {}
  - analysis: {metrics: [error_rate], count: 3}
  - set_weight: 60
  - pause: {duration: 90s}
analysis:
  interval: 2m
  initial_delay: 30s
  failure_limit: 2
  inconclusive_limit: 1
  consecutive_error_limit: 3
"""


# ------------------------------------------------------------------------- schema validation


def published_schema(crd_file: str) -> dict[str, Any]:
    """The `openAPIV3Schema` of the CRD's v1alpha1 version, as vendored."""
    crd = yaml.safe_load((FIXTURES / crd_file).read_text())
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1alpha1"
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def strict(schema: Json) -> Json:
    """`schema` refusing unknown fields, as `kubectl apply --validate=strict` does (server-side
    field validation, KEP-2885): published CRD schemas only list fields, and the API server
    otherwise drops unknown ones silently, so a misspelt `setweight` would vanish on apply."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        closed["additionalProperties"] = False
    return closed


def strict_schema(crd_file: str) -> dict[str, Any]:
    schema = strict(published_schema(crd_file))
    assert isinstance(schema, dict)
    return schema


FORMATS = FormatChecker()


@FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


VALIDATORS = {
    "Rollout": Draft7Validator(strict_schema("rollout-crd.yaml"), format_checker=FORMATS),
    "AnalysisTemplate": Draft7Validator(
        strict_schema("analysis-template-crd.yaml"), format_checker=FORMATS
    ),
}


def schema_errors(manifest: Manifest) -> list[str]:
    """Each violation of Argo's schema for the manifest's kind, as `path: message`."""
    kind = manifest["kind"]
    assert isinstance(kind, str)
    errors = VALIDATORS[kind].iter_errors(manifest)
    return sorted(f"{error.json_path}: {error.message}" for error in errors)


def pruned_paths(node: Json, path: str = "$") -> Iterator[str]:
    if isinstance(node, dict):
        if "x-launchdeck-pruned" in node:
            yield path
        for key, value in node.items():
            yield from pruned_paths(value, f"{path}.{key}")


def dig(node: Json, *keys: str | int) -> Any:
    """The value at `keys` under `node` (KeyError or IndexError when it is not there)."""
    value: Any = node
    for key in keys:
        value = value[key]
    return value


def strategy(text: str) -> StrategySpec:
    return parse_strategy(text, source="strategy.yaml")


def black_friday() -> StrategySpec:
    return parse_strategy(BLACK_FRIDAY.read_text(), source=str(BLACK_FRIDAY))


def export(spec: StrategySpec, **options: Any) -> list[Manifest]:
    arguments: dict[str, Any] = {
        "system": "landing-pages",
        "environment": "production",
        "image": "registry.example/landing-pages:2026.11.27",
        "launchdeck_url": URL,
    }
    return export_argo(spec, **(arguments | options))


def test_the_vendored_schemas_are_argos_crds_with_only_the_pod_spec_pruned() -> None:
    rollout = yaml.safe_load((FIXTURES / "rollout-crd.yaml").read_text())
    template = yaml.safe_load((FIXTURES / "analysis-template-crd.yaml").read_text())

    assert (rollout["metadata"]["name"], template["metadata"]["name"]) == (
        "rollouts.argoproj.io",
        "analysistemplates.argoproj.io",
    )
    # only the core/v1 PodSpec may be cut (README.md); a file vendored whole has no cut
    assert set(pruned_paths(published_schema("rollout-crd.yaml"))) <= {
        "$.properties.spec.properties.template.properties.spec"
    }
    assert set(pruned_paths(published_schema("analysis-template-crd.yaml"))) <= {
        "$.properties.spec.properties.metrics.items.properties.provider.properties.job"
        ".properties.spec.properties.template.properties.spec"
    }
    for crd_file in ("rollout-crd.yaml", "analysis-template-crd.yaml"):
        Draft7Validator.check_schema(strict_schema(crd_file))


@pytest.mark.parametrize(
    ("text", "expected_count"),
    [(BLACK_FRIDAY.read_text(), 3), (BLUE_GREEN, 2), (MANUAL_PAUSES, 3)],
    ids=["the black-friday canary", "a blue-green release", "a canary with manual pauses"],
)
def test_every_exported_manifest_is_valid_for_argo(text: str, expected_count: int) -> None:
    manifests = export(strategy(text), namespace="shop")
    checked = [(dig(m, "kind"), dig(m, "metadata", "name"), schema_errors(m)) for m in manifests]

    assert checked == [(kind, name, []) for kind, name, _ in checked]
    assert [kind for kind, _, _ in checked] == ["Rollout"] + ["AnalysisTemplate"] * (
        len(checked) - 1
    )
    assert len(checked) == expected_count
    assert {m["apiVersion"] for m in manifests} == {"argoproj.io/v1alpha1"}


def test_the_published_schema_alone_would_let_a_misspelt_field_through() -> None:
    """Why `strict`: without it Kubernetes prunes unknown fields and the validator accepts them."""
    rollout = export(black_friday())[0]
    mutated: Any = copy.deepcopy(rollout)
    mutated["spec"]["strategy"]["canary"]["steps"][0] = {"setweight": 10}
    lenient = Draft7Validator(published_schema("rollout-crd.yaml"))

    assert list(lenient.iter_errors(mutated)) == []
    assert schema_errors(mutated) == [
        "$.spec.strategy.canary.steps[0]: Additional properties are not allowed "
        "('setweight' was unexpected)"
    ]


def _set(path: tuple[str | int, ...], value: object) -> Callable[[Any], None]:
    def mutate(manifest: Any) -> None:
        node = manifest
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _drop(path: tuple[str | int, ...]) -> Callable[[Any], None]:
    def mutate(manifest: Any) -> None:
        node = manifest
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


CANARY = ("spec", "strategy", "canary")
STEPS = (*CANARY, "steps")
METRIC = ("spec", "metrics", 0)
WEB = (*METRIC, "provider", "web")
NOT_INTEGER = "is not of type 'integer'"
NOT_ARRAY = "is not of type 'array'"
NONE_OF = "is not valid under any of the given schemas"


def required(name: str) -> str:
    return f"'{name}' is a required property"


MUTATIONS = [
    pytest.param(
        0, _set((*STEPS, 0), {"setWeight": "10"}), "$.spec.strategy.canary.steps[0].setWeight",
        NOT_INTEGER, id="a weight given as text",
    ),
    pytest.param(
        0, _set((*STEPS, 0), {"setWeight": 12.5}), "$.spec.strategy.canary.steps[0].setWeight",
        NOT_INTEGER, id="a fractional weight",
    ),
    pytest.param(
        0, _set((*STEPS, 1), {"pause": {"duration": ["10m"]}}),
        "$.spec.strategy.canary.steps[1].pause.duration", NONE_OF,
        id="a pause duration that is a list",
    ),
    pytest.param(
        0, _set((*STEPS, 2, "analysis", "templates"), {"templateName": "x"}),
        "$.spec.strategy.canary.steps[2].analysis.templates", NOT_ARRAY,
        id="templates that are not a list",
    ),
    pytest.param(
        0, _drop((*STEPS, 2, "analysis", "args", 0, "name")),
        "$.spec.strategy.canary.steps[2].analysis.args[0]", required("name"),
        id="an analysis argument without a name",
    ),
    pytest.param(
        0, _set((*CANARY, "analysis", "startingStep"), "1"),
        "$.spec.strategy.canary.analysis.startingStep", NOT_INTEGER,
        id="a background starting step given as text",
    ),
    pytest.param(
        0, _set(("spec", "replicas"), 2**31), "$.spec.replicas", "is not a 'int32'",
        id="more replicas than int32 holds",
    ),
    pytest.param(
        0, _set(("spec", "strategy", "blueGreen"), {"previewService": "p"}),
        "$.spec.strategy.blueGreen", required("activeService"),
        id="a blue-green strategy without an active service",
    ),
    pytest.param(
        0, _drop(("spec", "template", "spec", "containers")), "$.spec.template.spec",
        required("containers"), id="a pod template without containers",
    ),
    pytest.param(
        1, _drop((*WEB, "url")), "$.spec.metrics[0].provider.web", required("url"),
        id="a web metric without a URL",
    ),
    pytest.param(
        1, _set((*WEB, "jsonpath"), "{$.verdict}"), "$.spec.metrics[0].provider.web",
        "('jsonpath' was unexpected)", id="a misspelt jsonPath",
    ),
    pytest.param(
        1, _set((*WEB, "headers"), {"Authorization": "Bearer x"}),
        "$.spec.metrics[0].provider.web.headers", NOT_ARRAY, id="headers given as a mapping",
    ),
    pytest.param(
        1, _drop((*METRIC, "provider")), "$.spec.metrics[0]", required("provider"),
        id="a metric without a provider",
    ),
    pytest.param(
        1, _set((*METRIC, "failureLimit"), 1.5), "$.spec.metrics[0].failureLimit", NONE_OF,
        id="a fractional failure limit",
    ),
    pytest.param(
        1, _drop(("spec", "args", 2, "valueFrom", "secretKeyRef", "key")),
        "$.spec.args[2].valueFrom.secretKeyRef", required("key"),
        id="a secret reference without its key",
    ),
    pytest.param(
        1, _drop(("spec", "metrics")), "$.spec", required("metrics"),
        id="a template without metrics",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("index", "mutate", "path", "message"), MUTATIONS)
def test_the_schema_catches_a_wrong_shape(
    index: int, mutate: Callable[[Any], None], path: str, message: str
) -> None:
    manifest = copy.deepcopy(export(black_friday())[index])
    assert schema_errors(manifest) == []

    mutate(manifest)

    (error,) = schema_errors(manifest)
    assert error.startswith(f"{path}: ")
    assert message in error


# ------------------------------------------------------------------------------ the mapping


def test_the_black_friday_canary_maps_step_by_step() -> None:
    rollout, step_template, background_template = export(black_friday())
    canary = dig(rollout, "spec", "strategy", "canary")
    analysis = {
        "analysis": {
            "templates": [{"templateName": "landing-pages-launchdeck"}],
            "args": [{"name": "metrics", "value": "error_rate,latency_p95_ms,conversion_rate"}],
        }
    }

    assert canary["steps"] == [
        {"setWeight": 10},
        {"pause": {"duration": "10m"}},
        analysis,
        {"setWeight": 50},
        {"pause": {"duration": "10m"}},
        analysis,
        {"setWeight": 100},
    ]
    assert canary["analysis"] == {
        "templates": [{"templateName": "landing-pages-launchdeck-background"}],
        "args": [{"name": "metrics", "value": "error_rate,conversion_rate"}],
    }
    assert (dig(step_template, "metadata"), dig(background_template, "metadata")) == (
        {
            "name": "landing-pages-launchdeck",
            "labels": {
                "app.kubernetes.io/name": "landing-pages",
                "app.kubernetes.io/managed-by": "launchdeck",
            },
        },
        {
            "name": "landing-pages-launchdeck-background",
            "labels": {
                "app.kubernetes.io/name": "landing-pages",
                "app.kubernetes.io/managed-by": "launchdeck",
            },
        },
    )


def test_the_rollout_runs_the_image_under_one_selector() -> None:
    rollout = export(black_friday(), replicas=4, image="registry.example/lp@sha256:ab12")[0]
    spec = dig(rollout, "spec")

    assert rollout["metadata"] == {
        "name": "landing-pages",
        "labels": {
            "app.kubernetes.io/name": "landing-pages",
            "app.kubernetes.io/managed-by": "launchdeck",
        },
    }
    assert spec["replicas"] == 4
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "landing-pages"}}
    assert spec["template"] == {
        "metadata": {"labels": {"app.kubernetes.io/name": "landing-pages"}},
        "spec": {
            "containers": [{"name": "landing-pages", "image": "registry.example/lp@sha256:ab12"}]
        },
    }


def test_the_template_metric_calls_the_judge_with_the_secret_token() -> None:
    _, step_template, background_template = export(
        black_friday(), launchdeck_url=f"{URL}/", token_secret="ld-token"
    )
    step = dig(step_template, "spec")
    background = dig(background_template, "spec")
    token = {
        "name": "api-token",
        "valueFrom": {"secretKeyRef": {"name": "ld-token", "key": "token"}},
    }
    web = {
        "method": "GET",
        "url": JUDGE,
        "headers": [{"key": "Authorization", "value": "Bearer {{args.api-token}}"}],
        "jsonPath": "{$.verdict}",
    }

    assert step["args"] == [{"name": "metrics"}, {"name": "count", "value": "5"}, token]
    assert step["metrics"] == [
        {
            "name": "launchdeck",
            "interval": "1m",
            "count": "{{args.count}}",
            "failureLimit": 1,
            "inconclusiveLimit": 0,
            "consecutiveErrorLimit": 4,
            "successCondition": 'result == "pass"',
            "failureCondition": 'result == "fail"',
            "provider": {"web": web},
        }
    ]
    assert background["args"] == [{"name": "metrics"}, token]
    assert "count" not in background["metrics"][0]  # Argo: no count, until the rollout ends
    assert background["metrics"][0]["provider"] == {"web": web}


def test_the_analysis_settings_become_the_metrics_limits_and_durations() -> None:
    rollout, step_template, background_template = export(strategy(MANUAL_PAUSES))
    metric = dig(step_template, "spec", "metrics", 0)
    canary = dig(rollout, "spec", "strategy", "canary")

    assert (metric["interval"], metric["initialDelay"]) == ("2m", "30s")
    assert (metric["failureLimit"], metric["inconclusiveLimit"]) == (2, 1)
    assert metric["consecutiveErrorLimit"] == 3
    assert canary["steps"][:4] == [
        {"pause": {}},
        {"setWeight": 20},
        {"pause": {}},
        {
            "analysis": {
                "templates": [{"templateName": "landing-pages-launchdeck"}],
                "args": [
                    {"name": "metrics", "value": "error_rate"},
                    {"name": "count", "value": "3"},
                ],
            }
        },
    ]
    assert canary["steps"][4:] == [{"setWeight": 60}, {"pause": {"duration": "1m30s"}}]
    # launchdeck starts the background analysis with the first weight, step 1 here
    assert canary["analysis"]["startingStep"] == 1
    assert dig(background_template, "metadata", "name") == "landing-pages-launchdeck-background"


def test_a_blue_green_release_maps_services_analyses_and_the_kept_colour() -> None:
    rollout, template = export(strategy(BLUE_GREEN))
    blue_green = dig(rollout, "spec", "strategy", "blueGreen")
    metrics = {"name": "metrics", "value": "error_rate,conversion_rate"}
    templates = [{"templateName": "landing-pages-launchdeck"}]

    assert blue_green == {
        "activeService": "landing-pages-active",
        "previewService": "landing-pages-preview",
        "autoPromotionEnabled": True,
        "scaleDownDelaySeconds": 7200,
        "prePromotionAnalysis": {"templates": templates, "args": [metrics]},
        # the post-promotion window of 10m at 30s intervals: 20 measurements
        "postPromotionAnalysis": {
            "templates": templates,
            "args": [metrics, {"name": "count", "value": "20"}],
        },
    }
    assert dig(template, "spec", "args", 1) == {"name": "count", "value": "4"}
    assert dig(template, "spec", "metrics", 0, "interval") == "30s"


def test_a_blue_green_release_without_settings_has_no_post_promotion_analysis() -> None:
    rollout, _template = export(strategy("strategy: blue-green\n"))
    blue_green = dig(rollout, "spec", "strategy", "blueGreen")

    assert "postPromotionAnalysis" not in blue_green
    assert blue_green["prePromotionAnalysis"]["args"] == [
        {"name": "metrics", "value": "error_rate"}
    ]
    assert blue_green["scaleDownDelaySeconds"] == 3600  # keep_previous's default, 1h


def test_only_the_templates_a_strategy_names_are_exported() -> None:
    no_background = (
        "strategy: canary\nsteps: [{set_weight: 50}, {analysis: {}}]\nanalysis: {background: []}\n"
    )
    no_analysis = "strategy: canary\nsteps: [{set_weight: 50}]\nanalysis: {background: []}\n"
    blue_green = "strategy: blue-green\nanalysis: {background: []}\n"

    assert [dig(m, "metadata", "name") for m in export(strategy(no_background))] == [
        "landing-pages",
        "landing-pages-launchdeck",
    ]
    assert [m["kind"] for m in export(strategy(no_analysis))] == ["Rollout"]
    assert "analysis" not in dig(export(strategy(no_analysis))[0], "spec", "strategy", "canary")
    assert [m["kind"] for m in export(strategy(blue_green))] == ["Rollout"]


def test_the_namespace_goes_on_every_manifest() -> None:
    manifests = export(black_friday(), namespace="shop-prod")

    assert [dig(m, "metadata", "namespace") for m in manifests] == ["shop-prod"] * 3


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(minutes=10), "10m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(days=2), "48h"),
        (timedelta(seconds=1.5), "1500ms"),
        (timedelta(microseconds=250), "250us"),
        (timedelta(0), "0s"),
    ],
    ids=["minutes", "hours and minutes", "minutes and seconds", "days as hours", "milliseconds",
         "microseconds", "zero"],
)  # fmt: skip
def test_durations_are_written_in_gos_notation(duration: timedelta, expected: str) -> None:
    assert argo_duration(duration) == expected


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        argo_duration(timedelta(seconds=-1))


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("strategy: canary\nsteps: [{set_weight: 12.5}]\n", {},
         "step 1 sets a weight of 12.5 %: Argo Rollouts takes whole percentages"),
        (BLUE_GREEN, {"system": "Landing_Pages"}, "'Landing_Pages' is not a Kubernetes name"),
        (BLUE_GREEN, {"system": "9-lives"}, "the Service name '9-lives-active' is not valid"),
        (BLUE_GREEN, {"namespace": "Shop"}, "'Shop' is not a Kubernetes namespace"),
        (BLUE_GREEN, {"token_secret": "a token"}, "'a token' is not a Secret name"),
        (BLUE_GREEN, {"launchdeck_url": "launchdeck.example"}, "not a launchdeck URL"),
        (BLUE_GREEN, {"launchdeck_url": f"{URL}/?x=1"}, "not a launchdeck URL"),
        (BLUE_GREEN, {"image": "app: 1"}, "not an image reference: 'app: 1'"),
        (BLUE_GREEN, {"replicas": 0}, "replicas must be from 1 to 2147483647, not 0"),
        (BLUE_GREEN, {"environment": ""}, "no environment to judge in"),
    ],
    ids=["a fractional weight", "a system name with capitals", "a service name with a digit first",
         "a namespace with capitals", "a secret name with a space", "a URL without a scheme",
         "a URL with a query", "an image with a space", "no replicas", "no environment"],
)  # fmt: skip
def test_what_argo_cannot_take_is_refused_with_a_hint(
    text: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as refused:
        export(strategy(text), **options)

    assert refused.value.message.startswith(message)
    assert refused.value.hint


def test_names_in_the_judge_url_are_escaped() -> None:
    manifests = export(black_friday(), environment="eu west")
    web = dig(manifests[1], "spec", "metrics", 0, "provider", "web")

    assert web["url"] == (
        f"{URL}/api/v1/releases/landing-pages/eu%20west/judge?metrics={{{{args.metrics}}}}"
    )


def test_the_yaml_stream_reads_back_as_the_manifests() -> None:
    manifests = export(black_friday())

    text = to_yaml(manifests)

    assert text.startswith("---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\n")
    assert text.count("\n---\n") == 2
    assert list(yaml.safe_load_all(text)) == manifests


def test_the_docs_show_the_current_export_of_the_black_friday_canary() -> None:
    docs = (ROOT / "docs" / "rollout.md").read_text()
    section = docs.split("## Kubernetes at scale: Argo Rollouts export", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert block == to_yaml(export(black_friday()))
