"""The `reliability:` section of launchdeck.yaml: the error-budget policy and burn-rate alerting.

Pure Pydantic. Omitted, it means the documented defaults: the SRE Workbook's four alert tiers
and the policy "below 25 % left, features need an approval; exhausted, reliability work only".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from launchdeck.calendar.model import ChangeType
from launchdeck.durations import coerce_duration
from launchdeck.reliability.burn import DEFAULT_TIERS, AlertTier

__all__ = [
    "DEFAULT_THRESHOLDS",
    "AlertTierSpec",
    "AlertingSpec",
    "ErrorBudgetPolicy",
    "PolicyThreshold",
    "ReliabilitySpec",
]

Percent = Annotated[float, Field(ge=0, le=100)]


Window = Annotated[timedelta, BeforeValidator(coerce_duration), Field(gt=timedelta(0))]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PolicyThreshold(_Spec):
    """What applies once the budget left falls below `remaining_below` percent."""

    remaining_below: Percent
    """Percent of the budget left; 0 means exhausted (nothing or less than nothing left)."""
    require_approval: tuple[ChangeType, ...] = ()
    """These change types are blocked unless an admin's gate override approves them."""
    allow_only: tuple[ChangeType, ...] | None = None
    """Every other change type is blocked (an override still applies, with its reason)."""
    note: str | None = None

    def applies(self, remaining: float) -> bool:
        if self.remaining_below == 0:
            return remaining <= 0
        return remaining * 100 < self.remaining_below


DEFAULT_THRESHOLDS = (
    PolicyThreshold(
        remaining_below=25,
        require_approval=(ChangeType.FEATURE,),
        note="a quarter of the budget is left: new features need a second look",
    ),
    PolicyThreshold(
        remaining_below=0,
        allow_only=(ChangeType.ROLLBACK, ChangeType.HOTFIX, ChangeType.RELIABILITY),
        note="the budget is spent: reliability work only, until the SLO is back within objective",
    ),
)


class ErrorBudgetPolicy(_Spec):
    thresholds: tuple[PolicyThreshold, ...] = DEFAULT_THRESHOLDS


class AlertTierSpec(_Spec):
    """One burn-rate alert tier; the factor follows from the budget share and the SLO period."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    long: Window
    short: Window | None = None
    """1/12 of `long` when omitted."""
    budget_share: Annotated[float, Field(gt=0, le=1)]
    severity: Annotated[str, Field(min_length=1, max_length=40)] = "page"
    enabled: bool = True
    labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _short_within_long(self) -> AlertTierSpec:
        if self.short is not None and self.short >= self.long:
            raise ValueError("the short window must be shorter than the long one")
        return self

    def tier(self) -> AlertTier:
        return AlertTier(
            name=self.name,
            long=self.long,
            short=self.short if self.short is not None else self.long / 12,
            budget_share=self.budget_share,
            severity=self.severity,
            enabled=self.enabled,
            labels=dict(self.labels),
        )


_DEFAULT_TIER_SPECS = tuple(
    AlertTierSpec(
        name=t.name, long=t.long, short=t.short, budget_share=t.budget_share, severity=t.severity
    )
    for t in DEFAULT_TIERS
)


class AlertingSpec(_Spec):
    tiers: tuple[AlertTierSpec, ...] = _DEFAULT_TIER_SPECS
    min_events: Annotated[float, Field(ge=0)] = 100
    """A tier whose long window saw fewer events than this stays quiet: low traffic never pages."""


class ReliabilitySpec(_Spec):
    policy: ErrorBudgetPolicy = ErrorBudgetPolicy()
    alerting: AlertingSpec = AlertingSpec()
