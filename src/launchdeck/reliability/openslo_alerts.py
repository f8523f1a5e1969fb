"""The OpenSLO alerting kinds: AlertPolicy, AlertCondition, AlertNotificationTarget. Pure.

Each place that takes one of them takes it inline or as a reference (`conditionRef`,
`targetRef`, `alertPolicyRef`); the unions are tagged `INLINE`/`REF` by which key is present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

from launchdeck.reliability.openslo_types import (
    API_VERSION,
    INLINE,
    REF,
    Description,
    FixedDuration,
    Metadata,
    Op,
    OpenSloModel,
    Ref,
    duration_validator,
)

__all__ = [
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
    "PolicyItem",
]

_Delay = Annotated[str, duration_validator(allow_zero=True, calendar_units=False)]


class BurnRateCondition(OpenSloModel):
    kind: Literal["burnrate"] = "burnrate"
    op: Op | None = None
    threshold: Annotated[float, Field(gt=0)]
    lookbackWindow: FixedDuration
    alertAfter: _Delay | None = None


class AlertConditionSpec(OpenSloModel):
    description: Description | None = None
    severity: Annotated[str, Field(min_length=1)]
    condition: BurnRateCondition


class AlertCondition(OpenSloModel):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["AlertCondition"] = "AlertCondition"
    metadata: Metadata
    spec: AlertConditionSpec


class AlertConditionRef(OpenSloModel):
    conditionRef: Ref


class AlertNotificationTargetSpec(OpenSloModel):
    target: Annotated[str, Field(min_length=1)]
    description: Description | None = None


class AlertNotificationTarget(OpenSloModel):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["AlertNotificationTarget"] = "AlertNotificationTarget"
    metadata: Metadata
    spec: AlertNotificationTargetSpec


class AlertNotificationTargetRef(OpenSloModel):
    targetRef: Ref


def _inline_or(ref_key: str) -> Discriminator:
    def tag(value: object) -> str:
        if isinstance(value, Mapping):
            return REF if ref_key in value else INLINE
        return REF if hasattr(value, ref_key) else INLINE

    return Discriminator(tag)


ConditionItem = Annotated[
    Annotated[AlertCondition, Tag(INLINE)] | Annotated[AlertConditionRef, Tag(REF)],
    _inline_or("conditionRef"),
]
TargetItem = Annotated[
    Annotated[AlertNotificationTarget, Tag(INLINE)]
    | Annotated[AlertNotificationTargetRef, Tag(REF)],
    _inline_or("targetRef"),
]


class AlertPolicySpec(OpenSloModel):
    description: Description | None = None
    alertWhenNoData: bool = False
    alertWhenResolved: bool = False
    # Default on: a policy that never alerts on a breach would be a surprising default.
    alertWhenBreaching: bool = True
    conditions: Annotated[tuple[ConditionItem, ...], Field(min_length=1, max_length=1)]
    notificationTargets: tuple[TargetItem, ...]


class AlertPolicy(OpenSloModel):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["AlertPolicy"] = "AlertPolicy"
    metadata: Metadata
    spec: AlertPolicySpec


class AlertPolicyRef(OpenSloModel):
    alertPolicyRef: Ref


PolicyItem = Annotated[
    Annotated[AlertPolicy, Tag(INLINE)] | Annotated[AlertPolicyRef, Tag(REF)],
    _inline_or("alertPolicyRef"),
]
"""An SLO's alert policy: inline, or a reference to an AlertPolicy document."""
