"""`WorkspaceApi` over HTTP: the same calls as `WorkspaceService`, sent to /api/v1."""

from __future__ import annotations

from launchdeck.client.http import HttpTransport, segment
from launchdeck.workspace.model import Campaign, Environment, System
from launchdeck.workspace.plan import Plan
from launchdeck.workspace.service import ApplyResult, WorkspaceInfo
from launchdeck.workspace.spec import WorkspaceSpec

__all__ = ["RemoteWorkspace"]


class RemoteWorkspace:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def info(self) -> WorkspaceInfo:
        return self.http.request("GET", "/api/v1/workspace", WorkspaceInfo)

    def plan(self, spec: WorkspaceSpec) -> Plan:
        return self.http.request(
            "POST", "/api/v1/workspace/plan", Plan, json=spec.model_dump(mode="json")
        )

    def apply(self, spec: WorkspaceSpec, *, expected_revision: int | None = None) -> ApplyResult:
        return self.http.request(
            "POST",
            "/api/v1/workspace/apply",
            ApplyResult,
            json=spec.model_dump(mode="json"),
            params={"expected_revision": expected_revision},
        )

    def systems(self) -> list[System]:
        return self.http.request("GET", "/api/v1/systems", list[System])

    def system(self, system_id: str) -> System:
        return self.http.request("GET", f"/api/v1/systems/{segment(system_id)}", System)

    def environments(self) -> list[Environment]:
        return self.http.request("GET", "/api/v1/environments", list[Environment])

    def environment(self, environment_id: str) -> Environment:
        return self.http.request(
            "GET", f"/api/v1/environments/{segment(environment_id)}", Environment
        )

    def campaigns(self) -> list[Campaign]:
        return self.http.request("GET", "/api/v1/campaigns", list[Campaign])

    def campaign(self, campaign_id: str) -> Campaign:
        return self.http.request("GET", f"/api/v1/campaigns/{segment(campaign_id)}", Campaign)
