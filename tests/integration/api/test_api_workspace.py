"""The workspace, the timeline and tokens through real HTTP: who did it is the token's name."""

from __future__ import annotations

from typing import Any

import httpx
from api_builders import IssueToken, bearer, example_body

from launchdeck.auth.model import Scope


def _timeline(http: httpx.Client, token: str, **params: Any) -> list[dict[str, Any]]:
    response = http.get("/api/v1/timeline", params={"limit": 500, **params}, headers=bearer(token))
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_apply_records_the_tokens_name_as_the_actor(
    http: httpx.Client, issue_token: IssueToken
) -> None:
    deployer = issue_token("ci-deployer", Scope.ADMIN)

    response = http.post("/api/v1/workspace/apply", json=example_body(), headers=bearer(deployer))

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["revision"] == 1
    # 1 workspace + 2 environments + 8 systems + 5 campaigns (a JSON body loads no calendar or
    # SLO file) + 2 flags, 4 metrics and 2 experiments.
    assert len(result["event_ids"]) == 24
    events = [e for e in _timeline(http, deployer) if e["id"] in result["event_ids"]]
    assert len(events) == 24
    assert {e["actor"] for e in events} == {"ci-deployer"}
    assert {e["payload"]["revision"] for e in events} == {1}


def test_plan_through_the_api_writes_nothing(http: httpx.Client, read_token: str) -> None:
    before = _timeline(http, read_token)

    response = http.post("/api/v1/workspace/plan", json=example_body(), headers=bearer(read_token))

    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["base_revision"] == 0
    assert len(plan["changes"]) == 24  # the resources an apply of this body adds
    assert {c["action"] for c in plan["changes"]} == {"add"}
    assert _timeline(http, read_token) == before
    workspace = http.get("/api/v1/workspace", headers=bearer(read_token)).json()
    assert (workspace["revision"], workspace["settings"]) == (0, None)


def test_resources_read_back_after_an_apply(http: httpx.Client, admin_token: str) -> None:
    http.post("/api/v1/workspace/apply", json=example_body(), headers=bearer(admin_token))

    systems = http.get("/api/v1/systems", headers=bearer(admin_token)).json()
    pixel = http.get("/api/v1/systems/tracking-pixel", headers=bearer(admin_token)).json()
    campaign = http.get("/api/v1/campaigns/black-friday", headers=bearer(admin_token)).json()
    workspace = http.get("/api/v1/workspace", headers=bearer(admin_token)).json()

    assert [s["id"] for s in systems] == sorted(s["id"] for s in example_body()["systems"])
    assert pixel["environments"]["production"]["config"] == {
        "sample_rate": 1.0,
        "consent_mode": "strict",
    }
    assert (campaign["starts_at"], campaign["ends_at"]) == (
        "2026-11-27T05:00:00Z",
        "2026-11-29T04:59:00Z",
    )
    assert campaign["revenue_per_hour"] == 185000.0
    assert workspace["revision"] == 1
    assert workspace["counts"] == {"environment": 2, "system": 8, "campaign": 5, "slo": 0}


def test_apply_with_the_current_expected_revision_succeeds(
    http: httpx.Client, admin_token: str
) -> None:
    response = http.post(
        "/api/v1/workspace/apply",
        params={"expected_revision": 0},
        json=example_body(),
        headers=bearer(admin_token),
    )

    assert response.status_code == 200, response.text
    assert response.json()["revision"] == 1


def test_the_timeline_filters_by_system_and_kind_over_http(
    http: httpx.Client, admin_token: str
) -> None:
    http.post("/api/v1/workspace/apply", json=example_body(), headers=bearer(admin_token))

    by_system = _timeline(http, admin_token, system="checkout-api")
    campaigns = _timeline(http, admin_token, kind="campaign")

    assert [(e["kind"], e["subject"]) for e in by_system] == [
        ("system.added", "system/checkout-api")
    ]
    assert sorted(e["subject"] for e in campaigns) == sorted(
        f"campaign/{c['id']}" for c in example_body()["campaigns"]
    )


def test_cursor_pagination_over_http_walks_every_event_once(
    http: httpx.Client, admin_token: str
) -> None:
    http.post("/api/v1/workspace/apply", json=example_body(), headers=bearer(admin_token))
    everything = [e["id"] for e in _timeline(http, admin_token)]
    seen: list[int] = []
    cursor: str | None = None

    while True:
        params: dict[str, Any] = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/v1/timeline", params=params, headers=bearer(admin_token)).json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == everything == sorted(everything, reverse=True)
    assert len(seen) == 25  # 24 resources and the admin token's creation


def test_a_token_created_over_http_is_shown_once_and_works(
    http: httpx.Client, admin_token: str
) -> None:
    created = http.post(
        "/api/v1/tokens",
        json={"name": "grafana", "scopes": ["read"]},
        headers=bearer(admin_token),
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]

    listed = http.get("/api/v1/tokens", headers=bearer(admin_token))
    used = http.get("/api/v1/workspace", headers=bearer(token))
    events = _timeline(http, admin_token, kind="token.created")

    assert token.startswith(f"ld_{created.json()['info']['id']}_")
    assert token not in listed.text
    assert token.split("_", 2)[2] not in listed.text
    assert [t["name"] for t in listed.json()] == ["admin-bot", "grafana"]
    assert used.status_code == 200
    assert [(e["actor"], e["payload"]["name"]) for e in events] == [
        ("admin-bot", "grafana"),
        ("test-setup", "admin-bot"),
    ]
