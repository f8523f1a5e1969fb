"""A release strategy as Argo Rollouts resources: a `Rollout` and the `AnalysisTemplate`s whose
web metric asks launchdeck's judge. Pure.

At Kubernetes scale launchdeck does not move traffic itself: Argo Rollouts does, and every
analysis is an Argo `web` metric calling launchdeck's judge, so launchdeck's statistics and
campaign calendar still decide. The judge endpoint (served by the API, not here):

    GET {launchdeck_url}/api/v1/releases/{system}/{environment}/judge?metrics=error_rate,latency
    Authorization: Bearer <token>      (Secret `launchdeck-api`, key `token`, in the namespace)
    200 {"verdict": "pass" | "fail" | "inconclusive" | "no_data",
         "metrics": [{"name": "error_rate", "verdict": "pass", "reason": "…", "numbers": {…}}, …]}

Argo reads `{$.verdict}`: `result == "pass"` is a successful measurement, `result == "fail"` a
failed one, anything else (inconclusive, no_data) an inconclusive one; an answer that is not
2xx JSON, or none within Argo's timeout, is an Error measurement.

The mapping (`launchdeck release export` writes it as YAML):

    set_weight: 10                   setWeight: 10                  (whole percentages only)
    pause: {duration: 10m}           pause: {duration: 10m}         (Go duration notation)
    pause: {}                        pause: {}                      (until promoted)
    analysis: {metrics: [a, b]}      analysis: {templates: [<system>-launchdeck],
                                                args: [metrics=a,b (, count=N)]}
    analysis.background: [a]         canary.analysis: <system>-launchdeck-background, from the
                                     first weight on (startingStep), no count: until the end
    analysis.interval, count, initial_delay, failure_limit, inconclusive_limit,
    consecutive_error_limit          the metric's interval, count, initialDelay, failureLimit,
                                     inconclusiveLimit, consecutiveErrorLimit
    blue-green                       blueGreen: activeService <system>-active, previewService
                                     <system>-preview, autoPromotionEnabled, pre- and
                                     postPromotionAnalysis over the background metrics
                                     (post: post_promotion / interval measurements, as the
                                     controller counts them), scaleDownDelaySeconds = keep_previous

One Argo metric judges all of an analysis's metrics: launchdeck's limits count measurements
(the worst metric decides one, `rollout/analysis.py`), while Argo counts each metric's results
apart, so one Argo metric per launchdeck metric would tolerate failures that alternate between
metrics. One template cannot run a subset of its metrics either: steps name theirs in the
`metrics` argument. What launchdeck's own controller does and Argo cannot: an analysis that is
inconclusive only for want of data waits here, while Argo counts it against inconclusiveLimit;
preview checks (paths answering 200) and hooks are not exported; traffic routing (an ingress
or a mesh) is the cluster's, so without one Argo approximates weights by pod counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Final, TypeAlias
from urllib.parse import quote, urlsplit

import yaml

from launchdeck.errors import UsageError
from launchdeck.rollout.strategy import Analysis, BlueGreenSpec, Pause, SetWeight, StrategySpec

__all__ = ["API_VERSION", "Json", "Manifest", "argo_duration", "export_argo", "to_yaml"]

Json: TypeAlias = "dict[str, Json] | list[Json] | str | int | float | bool | None"
Manifest: TypeAlias = "dict[str, Json]"

API_VERSION: Final = "argoproj.io/v1alpha1"
_INT32_MAX: Final = 2**31 - 1
_DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # RFC 1123, ≤ 63
_SERVICE_NAME: Final = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # RFC 1035, ≤ 63
_SECRET_NAME: Final = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_SUCCESS_CONDITION: Final = 'result == "pass"'
_FAILURE_CONDITION: Final = 'result == "fail"'


def argo_duration(value: timedelta) -> str:
    """`value` in Go's duration notation, which Argo parses: `10m`, `1h30m`, `45s`, `1500ms`,
    `0s` (ValueError for a negative one)."""
    micros = value // timedelta(microseconds=1)
    if micros < 0:
        raise ValueError(f"a negative duration: {value}")
    if micros % 1_000_000:
        return f"{micros // 1000}ms" if micros % 1000 == 0 else f"{micros}us"
    hours, rest = divmod(micros // 1_000_000, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return "".join(parts) or "0s"


def export_argo(
    strategy: StrategySpec,
    *,
    system: str,
    environment: str,
    image: str,
    launchdeck_url: str,
    token_secret: str = "launchdeck-api",  # noqa: S107 - a Secret's name, not its value
    replicas: int = 10,
    namespace: str | None = None,
) -> list[Manifest]:
    """The `Rollout` of `system`, then the `AnalysisTemplate`s it names (none when it analyses
    nothing); UsageError for what Argo cannot take (a fractional weight, an invalid name)."""
    _check_names(system=system, namespace=namespace, token_secret=token_secret)
    if not environment:
        raise UsageError("no environment to judge in", hint="--env production")
    if not image or any(c.isspace() for c in image):
        raise UsageError(f"not an image reference: {image!r}", hint="e.g. registry/app:1.2.3")
    if not 1 <= replicas <= _INT32_MAX:
        raise UsageError(f"replicas must be from 1 to {_INT32_MAX}, not {replicas}", hint="e.g. 10")
    judge = _judge_url(launchdeck_url, system=system, environment=environment)
    step_template, background_template = f"{system}-launchdeck", f"{system}-launchdeck-background"
    if strategy.strategy == "canary":
        rollout_strategy: Manifest = {
            "canary": _canary(strategy, step_template, background_template)
        }
    else:
        rollout_strategy = {"blueGreen": _blue_green(strategy, system, step_template)}
    names = _template_names(rollout_strategy)
    templates = [
        _analysis_template(
            strategy,
            name=name,
            namespace=namespace,
            system=system,
            judge=judge,
            token_secret=token_secret,
            background=name == background_template,
        )
        for name in (step_template, background_template)
        if name in names
    ]
    return [_rollout(system, namespace, image, replicas, rollout_strategy), *templates]


def to_yaml(manifests: Sequence[Manifest]) -> str:
    """The manifests as one multi-document YAML stream, in order, for `kubectl apply -f`."""
    return yaml.safe_dump_all(
        list(manifests), explicit_start=True, sort_keys=False, allow_unicode=True, width=100
    )


# ---------------------------------------------------------------------------------- internals


def _check_names(*, system: str, namespace: str | None, token_secret: str) -> None:
    if len(system) > 63 or not _DNS_LABEL.match(system):
        raise UsageError(
            f"{system!r} is not a Kubernetes name",
            hint="lowercase letters, digits and '-', starting and ending alphanumeric, ≤ 63",
        )
    if namespace is not None and (len(namespace) > 63 or not _DNS_LABEL.match(namespace)):
        raise UsageError(f"{namespace!r} is not a Kubernetes namespace", hint="e.g. shop-prod")
    if len(token_secret) > 253 or not _SECRET_NAME.match(token_secret):
        raise UsageError(f"{token_secret!r} is not a Secret name", hint="e.g. launchdeck-api")


def _judge_url(base: str, *, system: str, environment: str) -> str:
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise UsageError(
            f"not a launchdeck URL: {base!r}",
            hint="the API's base URL as the cluster reaches it, e.g. https://launchdeck.example",
        )
    path = f"/api/v1/releases/{quote(system, safe='')}/{quote(environment, safe='')}/judge"
    return f"{base.rstrip('/')}{path}?metrics={{{{args.metrics}}}}"


def _analysis(template: str, metrics: Sequence[str], count: int | None = None) -> Manifest:
    args: list[Json] = [{"name": "metrics", "value": ",".join(metrics)}]
    if count is not None:
        args.append({"name": "count", "value": str(count)})
    return {"templates": [{"templateName": template}], "args": args}


def _canary(strategy: StrategySpec, step_template: str, background_template: str) -> Manifest:
    steps: list[Json] = []
    for index, step in enumerate(strategy.steps):
        if isinstance(step, SetWeight):
            if step.set_weight != int(step.set_weight):
                raise UsageError(
                    f"step {index + 1} sets a weight of {step.set_weight:g} %: "
                    "Argo Rollouts takes whole percentages",
                    hint=f"round it in the strategy file: set_weight: {round(step.set_weight)}",
                )
            steps.append({"setWeight": int(step.set_weight)})
        elif isinstance(step, Pause):
            duration = step.pause.duration
            steps.append(
                {"pause": {} if duration is None else {"duration": argo_duration(duration)}}
            )
        elif isinstance(step, Analysis):
            metrics, count = step.analysis.metrics, step.analysis.count
            steps.append({"analysis": _analysis(step_template, metrics, count)})
    canary: Manifest = {"steps": steps}
    first_weight = next(
        (i for i, step in enumerate(strategy.steps) if isinstance(step, SetWeight)), None
    )
    if strategy.analysis.background and first_weight is not None:
        background = _analysis(background_template, strategy.analysis.background)
        if first_weight > 0:  # launchdeck starts it with the first weight; Argo at step 0
            background["startingStep"] = first_weight
        canary["analysis"] = background
    return canary


def _blue_green(strategy: StrategySpec, system: str, step_template: str) -> Manifest:
    active, preview = f"{system}-active", f"{system}-preview"
    for service in (active, preview):
        if len(service) > 63 or not _SERVICE_NAME.match(service):
            raise UsageError(
                f"the Service name {service!r} is not valid",
                hint="a blue-green system's name starts with a letter and has ≤ 55 characters",
            )
    window = strategy.blue_green or BlueGreenSpec()
    delay = math.ceil(window.keep_previous.total_seconds())
    if delay > _INT32_MAX:
        raise UsageError(
            f"keep_previous is {delay} s, more than Argo's scaleDownDelaySeconds holds",
            hint="keep the previous colour for less than 68 years",
        )
    blue_green: Manifest = {
        "activeService": active,
        "previewService": preview,
        "autoPromotionEnabled": True,  # launchdeck switches once the preview's analysis passed
        "scaleDownDelaySeconds": delay,
    }
    metrics, spec = strategy.analysis.background, strategy.analysis
    if metrics:
        blue_green["prePromotionAnalysis"] = _analysis(step_template, metrics)
        if strategy.blue_green is not None:  # as the controller: no window, no post analysis
            count = max(1, int(strategy.blue_green.post_promotion / spec.interval))
            blue_green["postPromotionAnalysis"] = _analysis(step_template, metrics, count)
    return blue_green


def _template_names(strategy: Manifest) -> set[str]:
    """Every templateName the strategy refers to, wherever it sits."""
    names: set[str] = set()

    def visit(node: Json) -> None:
        if isinstance(node, dict):
            name = node.get("templateName")
            if isinstance(name, str):
                names.add(name)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(strategy)
    return names


def _metadata(name: str, namespace: str | None, system: str) -> Manifest:
    metadata: Manifest = {
        "name": name,
        "labels": {"app.kubernetes.io/name": system, "app.kubernetes.io/managed-by": "launchdeck"},
    }
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


def _rollout(
    system: str, namespace: str | None, image: str, replicas: int, strategy: Manifest
) -> Manifest:
    selector: Manifest = {"app.kubernetes.io/name": system}
    return {
        "apiVersion": API_VERSION,
        "kind": "Rollout",
        "metadata": _metadata(system, namespace, system),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": dict(selector)},
                "spec": {"containers": [{"name": system, "image": image}]},
            },
            "strategy": strategy,
        },
    }


def _analysis_template(
    strategy: StrategySpec,
    *,
    name: str,
    namespace: str | None,
    system: str,
    judge: str,
    token_secret: str,
    background: bool,
) -> Manifest:
    spec = strategy.analysis
    args: list[Json] = [{"name": "metrics"}]
    metric: Manifest = {"name": "launchdeck", "interval": argo_duration(spec.interval)}
    if not background:  # the background analysis has no count: it runs until the rollout ends
        args.append({"name": "count", "value": str(spec.count)})
        metric["count"] = "{{args.count}}"
    args.append(
        {"name": "api-token", "valueFrom": {"secretKeyRef": {"name": token_secret, "key": "token"}}}
    )
    if spec.initial_delay:
        metric["initialDelay"] = argo_duration(spec.initial_delay)
    metric |= {
        "failureLimit": spec.failure_limit,
        "inconclusiveLimit": spec.inconclusive_limit,
        "consecutiveErrorLimit": spec.consecutive_error_limit,
        "successCondition": _SUCCESS_CONDITION,
        "failureCondition": _FAILURE_CONDITION,
        "provider": {
            "web": {
                "method": "GET",
                "url": judge,
                "headers": [{"key": "Authorization", "value": "Bearer {{args.api-token}}"}],
                "jsonPath": "{$.verdict}",
            }
        },
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        "metadata": _metadata(name, namespace, system),
        "spec": {"args": args, "metrics": [metric]},
    }
