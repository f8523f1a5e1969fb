"""Import Sloth `prometheus/v1` specs (github.com/slok/sloth) as OpenSLO v1 documents.

Each spec becomes one `Service` named after `service`, and each of its `slos` one `SLO` named
`<service>-<slo name>` with an inline SLI, a 30d rolling window (Sloth's default) and the
Occurrences budgeting method:
- `sli.events` -> `ratioMetric` with `bad` = error_query and `total` = total_query, counter true;
- `sli.raw` -> `ratioMetric.raw` = error_ratio_query with `rawType: failure`;
- `sli.plugin` and `slo_plugins` are refused: launchdeck cannot run Sloth plugins;
- `objective` (a percentage) -> `targetPercent`; `labels` (spec, then SLO) -> `metadata.labels`.
Queries are kept verbatim, `{{.window}}` included: launchdeck's Prometheus source fills it in.

Sloth's alerting settings travel as annotations of the SLO (launchdeck generates the alerts):
    launchdeck.dev/source                     sloth/prometheus/v1
    launchdeck.dev/alert-name                 alerting.name
    launchdeck.dev/alert-label.<key>          alerting.labels
    launchdeck.dev/alert-annotation.<key>     alerting.annotations
    launchdeck.dev/page-alert                 "disabled" when page_alert.disable is true
    launchdeck.dev/page-alert-for             page_alert.for
    launchdeck.dev/page-alert-label.<key>     page_alert.labels
    launchdeck.dev/page-alert-annotation.<key> page_alert.annotations
    launchdeck.dev/ticket-alert…              the same four for ticket_alert
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.reliability.openslo import SLO, Document, Service
from launchdeck.reliability.openslo_types import name_problem
from launchdeck.yamlpos import (
    Path,
    Positions,
    Problem,
    problem_error,
    read_documents,
    read_source,
    schema_problems,
    walk,
    without_echoes,
)

__all__ = ["ANNOTATION_PREFIX", "WINDOW", "import_sloth", "parse_sloth"]

ANNOTATION_PREFIX = "launchdeck.dev/"
WINDOW = "30d"
"""Sloth's default SLO period."""

_PLUGINS_HINT = (
    "launchdeck cannot run Sloth plugins: write the SLI as sli.events "
    "(error_query and total_query) or sli.raw (error_ratio_query)"
)


def _either(*names: str) -> Any:
    return Field(validation_alias=AliasChoices(*names))


def _refuse(message: str, hint: str, at: Path) -> PydanticCustomError:
    return PydanticCustomError(
        "sloth", "{message}", {"message": message, "problems": ((at, message, hint),)}
    )


class _Sloth(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class SlothAlert(_Sloth):
    disable: bool = False
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for_: str | None = Field(default=None, alias="for")


class SlothAlerting(_Sloth):
    name: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    page_alert: SlothAlert = Field(
        default=SlothAlert(), validation_alias=AliasChoices("page_alert", "pageAlert")
    )
    ticket_alert: SlothAlert = Field(
        default=SlothAlert(), validation_alias=AliasChoices("ticket_alert", "ticketAlert")
    )


class SlothEvents(_Sloth):
    error_query: Annotated[str, Field(min_length=1)] = _either("error_query", "errorQuery")
    total_query: Annotated[str, Field(min_length=1)] = _either("total_query", "totalQuery")


class SlothRaw(_Sloth):
    error_ratio_query: Annotated[str, Field(min_length=1)] = _either(
        "error_ratio_query", "errorRatioQuery"
    )


class SlothSli(_Sloth):
    events: SlothEvents | None = None
    raw: SlothRaw | None = None
    plugin: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> SlothSli:
        if self.plugin is not None:
            raise _refuse("SLI plugins are not supported", _PLUGINS_HINT, ("plugin",))
        if (self.events is None) == (self.raw is None):
            raise _refuse(
                "an SLI needs exactly one of events or raw",
                "events: {error_query, total_query}, or raw: {error_ratio_query}",
                (),
            )
        return self


class SlothSlo(_Sloth):
    name: Annotated[str, Field(min_length=1)]
    objective: float
    description: str | None = None
    labels: dict[str, str] = {}
    sli: SlothSli
    alerting: SlothAlerting = SlothAlerting()
    slo_plugins: dict[str, Any] | None = None

    @field_validator("objective")
    @classmethod
    def _percent(cls, value: float) -> float:
        if value == 100:
            raise _refuse("objective 100 leaves no error budget", "e.g. objective: 99.99", ())
        if 0 < value < 1:
            # Valid Sloth, but 0.999 % is never meant: it is a ratio written as a percentage.
            message = f"objective {value} means {value} %, not {value * 100:.10g} %"
            raise _refuse(message, f"write objective: {value * 100:.10g}", ())
        if not 0 < value < 100:
            message = f"objective {value} is not a percentage in (0, 100)"
            raise _refuse(message, "Sloth objectives are percentages: 99.9 for 99.9 %", ())
        return value

    @model_validator(mode="after")
    def _check(self) -> SlothSlo:
        if self.slo_plugins is not None:
            raise _refuse("SLO plugins are not supported", _PLUGINS_HINT, ("slo_plugins",))
        return self


class SlothSpec(_Sloth):
    version: Literal["prometheus/v1"]
    service: Annotated[str, Field(min_length=1)]
    labels: dict[str, str] = {}
    slos: Annotated[tuple[SlothSlo, ...], Field(min_length=1)]
    slo_plugins: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> SlothSpec:
        if self.slo_plugins is not None:
            raise _refuse("SLO plugins are not supported", _PLUGINS_HINT, ("slo_plugins",))
        return self


def import_sloth(path: FsPath | str) -> list[Document]:
    """The OpenSLO documents for the Sloth spec file at `path`; ValidationFailed lists problems."""
    return parse_sloth(read_source(path, what="Sloth spec file"), source=str(path))


def parse_sloth(text: str, *, source: str) -> list[Document]:
    """A Service per distinct Sloth `service`, then one SLO per Sloth SLO, in file order."""
    roots = read_documents(text, source=source)
    services: dict[str, Document] = {}
    slos: list[Document] = []
    errors: list[ConfigError] = []
    for node, data in roots:
        if data is None:
            continue
        positions = Positions()
        walk(node, (), positions)
        problems = [
            (Problem(p, f"duplicate key {p[-1]!r}", "a key may appear once per mapping"), True)
            for p in positions.duplicate_keys
        ]
        found, spec = _validate(data)
        problems += found
        if spec is not None:
            service, mapped, unmapped = _map(spec)
            problems += [(problem, False) for problem in unmapped]
            if service is not None:
                services.setdefault(service.metadata.name, service)
            slos += mapped
        errors += [problem_error(source, positions, p, key=key) for p, key in problems]
    if errors:
        raise ValidationFailed(errors, source=source)
    if not slos:
        raise ConfigError(
            "no Sloth spec in this file",
            where=f"{source}:1:1",
            hint="start with version: prometheus/v1",
        )
    return [*services.values(), *slos]


def _validate(data: Any) -> tuple[list[tuple[Problem, bool]], SlothSpec | None]:
    if not isinstance(data, dict):
        hint = "start with version: prometheus/v1"
        return [(Problem((), "a Sloth spec must be a mapping", hint), False)], None
    if data.get("apiVersion") == "openslo/v1":
        message = "this is an OpenSLO document, not a Sloth spec"
        hint = "it is already OpenSLO: check it with 'launchdeck slo validate FILE'"
        return [(Problem(("apiVersion",), message, hint), False)], None
    try:
        return [], SlothSpec.model_validate(data)
    except ValidationError as exc:
        return without_echoes(schema_problems(exc, data, SlothSpec)), None


def _map(spec: SlothSpec) -> tuple[Service | None, list[Document], list[Problem]]:
    """The Service and SLOs of one spec, and the problems that stopped any from mapping."""
    if (problem := name_problem(spec.service)) is not None:
        hint = "OpenSLO names use lowercase letters, digits and '-'"
        return None, [], [Problem(("service",), problem, hint)]
    service = Service.model_validate({"metadata": {"name": spec.service}})
    slos: list[Document] = []
    problems: list[Problem] = []
    for index, slo in enumerate(spec.slos):
        at = ("slos", index)
        name = f"{spec.service}-{slo.name}"
        if (problem := name_problem(name)) is not None:
            message = f"the SLO would be named {name!r}: {problem}"
            fixed = re.sub(r"[^a-z0-9-]+", "-", slo.name.lower()).strip("-")
            problems.append(Problem((*at, "name"), message, f"rename it, e.g. name: {fixed}"))
            continue
        try:
            slos.append(SLO.model_validate(_slo_document(spec, slo, name)))
        except ValidationError as exc:
            # Sloth allows what OpenSLO does not (label keys, annotation keys): say which.
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            message = f"could not map SLO {slo.name!r} to OpenSLO: {where}: {first['msg']}"
            problems.append(Problem(at, message, "change the Sloth SLO so it fits OpenSLO"))
    return service, slos, problems


def _slo_document(spec: SlothSpec, slo: SlothSlo, name: str) -> dict[str, Any]:
    def source(query: str) -> dict[str, Any]:
        return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}

    if slo.sli.events is not None:
        ratio: dict[str, Any] = {
            "counter": True,
            "bad": source(slo.sli.events.error_query),
            "total": source(slo.sli.events.total_query),
        }
    else:
        assert slo.sli.raw is not None
        ratio = {"raw": source(slo.sli.raw.error_ratio_query), "rawType": "failure"}
    return {
        "metadata": {
            "name": name,
            "displayName": slo.name,
            "labels": {**spec.labels, **slo.labels},
            "annotations": _annotations(slo),
        },
        "spec": {
            "description": slo.description,
            "service": spec.service,
            "indicator": {"metadata": {"name": name}, "spec": {"ratioMetric": ratio}},
            "timeWindow": [{"duration": WINDOW, "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [{"displayName": slo.name, "targetPercent": slo.objective}],
        },
    }


def _annotations(slo: SlothSlo) -> dict[str, str]:
    alerting = slo.alerting
    out = {f"{ANNOTATION_PREFIX}source": "sloth/prometheus/v1"}
    if alerting.name:
        out[f"{ANNOTATION_PREFIX}alert-name"] = alerting.name
    out |= _prefixed("alert-label.", alerting.labels)
    out |= _prefixed("alert-annotation.", alerting.annotations)
    for kind, alert in (
        ("page-alert", alerting.page_alert),
        ("ticket-alert", alerting.ticket_alert),
    ):
        if alert.disable:
            out[f"{ANNOTATION_PREFIX}{kind}"] = "disabled"
        if alert.for_:
            out[f"{ANNOTATION_PREFIX}{kind}-for"] = alert.for_
        out |= _prefixed(f"{kind}-label.", alert.labels)
        out |= _prefixed(f"{kind}-annotation.", alert.annotations)
    return out


def _prefixed(prefix: str, values: Mapping[str, str]) -> dict[str, str]:
    return {f"{ANNOTATION_PREFIX}{prefix}{key}": value for key, value in values.items()}
