"""The releases API as the CLI sees it (`RolloutApi`), and its HTTP implementation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from launchdeck.client.http import HttpTransport
from launchdeck.rollout.views import ActionRequest, DeployRequest, JudgeView, ReleaseView

__all__ = ["ACTIONS", "Action", "RemoteRollouts", "RolloutApi"]

Action = Literal["promote", "pause", "resume", "abort", "rollback"]
ACTIONS: tuple[Action, ...] = ("promote", "pause", "resume", "abort", "rollback")


class RolloutApi(Protocol):
    def deploy(self, request: DeployRequest) -> ReleaseView: ...
    def releases(
        self,
        *,
        system: str | None = None,
        environment: str | None = None,
        active: bool | None = None,
        limit: int = 50,
    ) -> list[ReleaseView]: ...
    def status(self, system: str, environment: str) -> ReleaseView: ...
    def act(
        self, system: str, environment: str, action: Action, request: ActionRequest
    ) -> ReleaseView: ...
    def judge(self, system: str, environment: str, metrics: Sequence[str]) -> JudgeView: ...


class RemoteRollouts:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def deploy(self, request: DeployRequest) -> ReleaseView:
        return self.http.request(
            "POST", "/api/v1/releases", ReleaseView, json=request.model_dump(mode="json")
        )

    def releases(
        self,
        *,
        system: str | None = None,
        environment: str | None = None,
        active: bool | None = None,
        limit: int = 50,
    ) -> list[ReleaseView]:
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("system", system), ("environment", environment), ("active", active)):
            if value is not None:
                params[key] = value
        return self.http.request("GET", "/api/v1/releases", list[ReleaseView], params=params)

    def status(self, system: str, environment: str) -> ReleaseView:
        return self.http.request("GET", f"/api/v1/releases/{system}/{environment}", ReleaseView)

    def act(
        self, system: str, environment: str, action: Action, request: ActionRequest
    ) -> ReleaseView:
        return self.http.request(
            "POST",
            f"/api/v1/releases/{system}/{environment}/{action}",
            ReleaseView,
            json=request.model_dump(mode="json"),
        )

    def judge(self, system: str, environment: str, metrics: Sequence[str]) -> JudgeView:
        return self.http.request(
            "GET",
            f"/api/v1/releases/{system}/{environment}/judge",
            JudgeView,
            params={"metrics": ",".join(metrics)},
        )
