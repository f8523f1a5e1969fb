"""OpenSLO v1, the SLO format launchdeck reads and writes natively. Pure: no clock, no network.

One frozen Pydantic model per kind (Service, SLO, SLI, DataSource, AlertPolicy, AlertCondition,
AlertNotificationTarget), with the spec's own field names, so a document and its model read the
same. Reference: the OpenSLO specification, README.md of github.com/OpenSLO/OpenSLO (v1).

This module is the public face: the SLO, Service and DataSource kinds live here, the others in
`openslo_sli` and `openslo_alerts`, an SLO's window and objectives in `openslo_objectives`, and
the field types (durations, names, metadata) in `openslo_types`.

Where launchdeck is stricter than the spec, it is because it computes with the document:
- `spec.timeWindow` is required (the spec makes it optional): a budget needs a window;
- `metadata.name` is an RFC 1123 label, or the spec's extended form (also `.`, `|`, `/`, `\\`,
  up to 255 characters);
- a `timeSliceWindow` counts in minutes, hours, days or weeks, never months or longer.

Cross-field problems are raised with a `problems` context, `(relative path, message, hint)`
each, so a loader (`launchdeck.yamlpos`) can point at the field at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, field_validator, model_validator

from launchdeck.reliability.model import BudgetingMethod
from launchdeck.reliability.openslo_alerts import (
    AlertCondition,
    AlertConditionRef,
    AlertConditionSpec,
    AlertNotificationTarget,
    AlertNotificationTargetRef,
    AlertNotificationTargetSpec,
    AlertPolicy,
    AlertPolicyRef,
    AlertPolicySpec,
    BurnRateCondition,
    PolicyItem,
)
from launchdeck.reliability.openslo_objectives import (
    Calendar,
    Objective,
    TimeWindow,
    slice_problems,
    threshold_problems,
)
from launchdeck.reliability.openslo_sli import SLI, Metric, MetricSource, RatioMetric, SLISpec
from launchdeck.reliability.openslo_types import (
    API_VERSION,
    UNION_TAGS,
    Description,
    Loc,
    Metadata,
    OpenSloModel,
    Ref,
    invalid,
    openslo_error,
)

__all__ = [
    "API_VERSION",
    "DOCUMENT_KINDS",
    "SLI",
    "SLO",
    "UNION_TAGS",
    "AlertCondition",
    "AlertConditionRef",
    "AlertConditionSpec",
    "AlertNotificationTarget",
    "AlertNotificationTargetRef",
    "AlertNotificationTargetSpec",
    "AlertPolicy",
    "AlertPolicyRef",
    "AlertPolicySpec",
    "BurnRateCondition",
    "Calendar",
    "DataSource",
    "DataSourceSpec",
    "Document",
    "Metadata",
    "Metric",
    "MetricSource",
    "Objective",
    "RatioMetric",
    "SLISpec",
    "SLOSpec",
    "Service",
    "ServiceSpec",
    "TimeWindow",
    "parse_document",
]


class SLOSpec(OpenSloModel):
    description: Description | None = None
    service: Annotated[str, Field(min_length=1)]
    indicator: SLI | None = None
    indicatorRef: Ref | None = None
    timeWindow: tuple[TimeWindow, ...]
    budgetingMethod: BudgetingMethod
    objectives: Annotated[tuple[Objective, ...], Field(min_length=1)]
    alertPolicies: tuple[PolicyItem, ...] = ()

    @field_validator("timeWindow")
    @classmethod
    def _one_window(cls, value: tuple[TimeWindow, ...]) -> tuple[TimeWindow, ...]:
        if len(value) != 1:
            raise invalid(
                f"timeWindow takes exactly one window, got {len(value)}",
                "e.g. timeWindow: [{duration: 28d, isRolling: true}]",
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SLOSpec:
        problems: list[tuple[Loc, str, str | None]] = []
        if self.indicator is not None and self.indicatorRef is not None:
            problems.append((("indicatorRef",), "give indicator or indicatorRef, not both", None))
        elif self.indicator is None and self.indicatorRef is None:
            problems.append(
                ((), "an SLO needs an indicator", "add indicatorRef: <SLI name> or indicator:")
            )
        problems += slice_problems(self.budgetingMethod, self.objectives)
        if self.indicator is not None:
            problems += threshold_problems(self.indicator.spec, self.objectives)
        if problems:
            raise openslo_error(*problems)
        return self

    @property
    def window(self) -> TimeWindow:
        """The one time window."""
        return self.timeWindow[0]


class SLO(OpenSloModel):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["SLO"] = "SLO"
    metadata: Metadata
    spec: SLOSpec


class ServiceSpec(OpenSloModel):
    description: Description | None = None


class Service(OpenSloModel):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["Service"] = "Service"
    metadata: Metadata
    spec: ServiceSpec = ServiceSpec()


class DataSourceSpec(OpenSloModel):
    type: Annotated[str, Field(min_length=1)]
    connectionDetails: dict[str, Any] = Field(default_factory=dict)
    description: Description | None = None


class DataSource(OpenSloModel):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["DataSource"] = "DataSource"
    metadata: Metadata
    spec: DataSourceSpec


Document = Annotated[
    Service | SLO | SLI | DataSource | AlertPolicy | AlertCondition | AlertNotificationTarget,
    Field(discriminator="kind"),
]
_KINDS = (Service, SLO, SLI, DataSource, AlertPolicy, AlertCondition, AlertNotificationTarget)
DOCUMENT_KINDS: Mapping[str, type[BaseModel]] = {
    model.model_fields["kind"].default: model for model in _KINDS
}
_DOCUMENT: TypeAdapter[Document] = TypeAdapter(Document)


def parse_document(data: Mapping[str, Any]) -> Document:
    """Validate one OpenSLO document (any kind); pydantic's ValidationError if it is invalid."""
    return _DOCUMENT.validate_python(data)
