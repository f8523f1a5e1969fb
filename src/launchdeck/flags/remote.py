"""RemoteFlags: the flag use cases over a launchdeck API (the same FlagApi as FlagService)."""

from __future__ import annotations

from launchdeck.client.http import HttpTransport, segment
from launchdeck.flags.model import FlagSpec, ScheduledChange, SegmentSpec, Snapshot
from launchdeck.flags.records import (
    ChangeRequest,
    CreatedSdkKey,
    FlagVersion,
    SdkKeyInfo,
    StoredFlag,
    StoredSegment,
)
from launchdeck.flags.requests import ChangeBody, ChangeOutcome, EvalRequest, EvalResult
from launchdeck.flags.stale import StaleFlag

__all__ = ["RemoteFlags"]


class RemoteFlags:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def list_flags(self, *, archived: bool = False) -> list[StoredFlag]:
        return self.http.request(
            "GET", "/api/v1/flags", list[StoredFlag], params={"archived": archived}
        )

    def get_flag(self, key: str) -> StoredFlag:
        return self.http.request("GET", f"/api/v1/flags/{segment(key)}", StoredFlag)

    def create(self, spec: FlagSpec, *, comment: str | None = None) -> StoredFlag:
        return self.http.request(
            "POST",
            "/api/v1/flags",
            StoredFlag,
            json=spec.model_dump(mode="json", by_alias=True),
            params={"comment": comment},
        )

    def change(self, key: str, body: ChangeBody) -> ChangeOutcome:
        return self.http.request(
            "POST",
            f"/api/v1/flags/{segment(key)}/changes",
            ChangeOutcome,
            json=body.model_dump(mode="json", exclude_none=True, by_alias=True),
        )

    def replace(
        self, spec: FlagSpec, *, expected_version: int, comment: str | None = None
    ) -> ChangeOutcome:
        return self.http.request(
            "PUT",
            f"/api/v1/flags/{segment(spec.key)}",
            ChangeOutcome,
            json=spec.model_dump(mode="json", by_alias=True),
            params={"expected_version": expected_version, "comment": comment},
        )

    def schedule(
        self, key: str, environment: str, change: ScheduledChange, *, comment: str | None = None
    ) -> ChangeOutcome:
        body = {
            "environment": environment,
            "change": change.model_dump(mode="json", exclude_none=True, by_alias=True),
            "comment": comment,
        }
        return self.http.request(
            "POST", f"/api/v1/flags/{segment(key)}/schedule", ChangeOutcome, json=body
        )

    def unschedule(
        self, key: str, environment: str, index: int, *, comment: str | None = None
    ) -> ChangeOutcome:
        return self.http.request(
            "DELETE",
            f"/api/v1/flags/{segment(key)}/schedule/{segment(environment)}/{index}",
            ChangeOutcome,
            params={"comment": comment},
        )

    def archive(self, key: str, *, comment: str | None = None) -> StoredFlag:
        return self.http.request(
            "DELETE", f"/api/v1/flags/{segment(key)}", StoredFlag, params={"comment": comment}
        )

    def history(self, key: str) -> list[FlagVersion]:
        return self.http.request("GET", f"/api/v1/flags/{segment(key)}/history", list[FlagVersion])

    def restore(self, key: str, version: int, *, comment: str | None = None) -> StoredFlag:
        return self.http.request(
            "POST",
            f"/api/v1/flags/{segment(key)}/restore",
            StoredFlag,
            json={"version": version, "comment": comment},
        )

    def evaluate(self, request: EvalRequest) -> EvalResult:
        return self.http.request(
            "POST",
            "/api/v1/flags/evaluate",
            EvalResult,
            json=request.model_dump(mode="json", exclude_none=True),
        )

    def stale(self) -> list[StaleFlag]:
        return self.http.request("GET", "/api/v1/stale-flags", list[StaleFlag])

    def list_segments(self) -> list[StoredSegment]:
        return self.http.request("GET", "/api/v1/segments", list[StoredSegment])

    def put_segment(self, spec: SegmentSpec) -> StoredSegment:
        return self.http.request(
            "PUT",
            f"/api/v1/segments/{segment(spec.key)}",
            StoredSegment,
            json=spec.model_dump(mode="json", by_alias=True),
        )

    def change_requests(self, *, all: bool = False) -> list[ChangeRequest]:
        return self.http.request(
            "GET", "/api/v1/flag-change-requests", list[ChangeRequest], params={"all": all}
        )

    def approve(self, request_id: str, *, comment: str | None = None) -> ChangeRequest:
        return self.http.request(
            "POST",
            f"/api/v1/flag-change-requests/{segment(request_id)}/approve",
            ChangeRequest,
            json={"comment": comment},
        )

    def reject(self, request_id: str, *, comment: str | None = None) -> ChangeRequest:
        return self.http.request(
            "POST",
            f"/api/v1/flag-change-requests/{segment(request_id)}/reject",
            ChangeRequest,
            json={"comment": comment},
        )

    def apply_request(self, request_id: str) -> ChangeOutcome:
        return self.http.request(
            "POST", f"/api/v1/flag-change-requests/{segment(request_id)}/apply", ChangeOutcome
        )

    def create_sdk_key(self, name: str, environment: str) -> CreatedSdkKey:
        return self.http.request(
            "POST",
            "/api/v1/sdk-keys",
            CreatedSdkKey,
            json={"name": name, "environment": environment},
        )

    def sdk_keys(self) -> list[SdkKeyInfo]:
        return self.http.request("GET", "/api/v1/sdk-keys", list[SdkKeyInfo])

    def revoke_sdk_key(self, key_id: str) -> SdkKeyInfo:
        return self.http.request("DELETE", f"/api/v1/sdk-keys/{segment(key_id)}", SdkKeyInfo)

    def snapshot(self, environment: str) -> Snapshot:
        return self.http.request(
            "GET", "/api/v1/sdk/snapshot", Snapshot, params={"environment": environment}
        )
