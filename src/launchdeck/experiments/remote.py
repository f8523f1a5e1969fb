"""RemoteExperiments: the experiment use cases over a launchdeck API (same ExperimentApi)."""

from __future__ import annotations

from launchdeck.client.http import HttpTransport, segment
from launchdeck.experiments.checks import Validation
from launchdeck.experiments.design import Design
from launchdeck.experiments.records import ExperimentInfo, Report, SqlText

__all__ = ["RemoteExperiments"]


class RemoteExperiments:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def list_experiments(self) -> list[ExperimentInfo]:
        return self.http.request("GET", "/api/v1/experiments", list[ExperimentInfo])

    def get(self, key: str) -> ExperimentInfo:
        return self.http.request("GET", f"/api/v1/experiments/{segment(key)}", ExperimentInfo)

    def plan(
        self,
        key: str,
        *,
        daily_units: float | None = None,
        baseline: float | None = None,
        mde: float | None = None,
    ) -> Design:
        return self.http.request(
            "GET",
            f"/api/v1/experiments/{segment(key)}/plan",
            Design,
            params={"daily_units": daily_units, "baseline": baseline, "mde": mde},
        )

    def analyse(self, key: str, *, daily: bool = True) -> Report:
        return self.http.request(
            "GET",
            f"/api/v1/experiments/{segment(key)}/analysis",
            Report,
            params={"daily": daily},
        )

    def validate(self, key: str) -> Validation:
        return self.http.request(
            "GET", f"/api/v1/experiments/{segment(key)}/validation", Validation
        )

    def sql(self, key: str, *, dialect: str = "postgres") -> list[SqlText]:
        return self.http.request(
            "GET",
            f"/api/v1/experiments/{segment(key)}/sql",
            list[SqlText],
            params={"dialect": dialect},
        )
