"""/api/v1/releases through the real HTTP API (uvicorn on loopback, SQLite and PostgreSQL) and
`RemoteRollouts`, on a real nginx: a `deploy` token releases v1 (the first release, served at
once) and a canary of v2 (at the default strategy's first weight), reads them, asks the judge
and aborts the canary, after which nginx serves v1 to everyone again. A `read` token may read
but not deploy; one release at a time is a 409 naming the active one; an unknown system or
environment is a 404.

The live server builds its release service from `Settings()`, so the workspace gives `shop` an
explicit target root under tmp_path: nothing is written into the repository."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_builders import IssueToken, assert_problem, bearer

from launchdeck.auth.model import Scope
from launchdeck.client.http import HttpTransport
from launchdeck.errors import Conflict, Forbidden, NotFound, UsageError
from launchdeck.rollout.release import Phase
from launchdeck.rollout.remote import RemoteRollouts
from launchdeck.rollout.strategy import SetWeight, default_strategy
from launchdeck.rollout.targets.nginx import NginxStatic
from launchdeck.rollout.views import ActionRequest, DeployRequest, JudgeView, ReleaseView
from launchdeck.store import Database
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

pytestmark = pytest.mark.xdist_group("nginx")

PAGES = {
    "v1": {"index.html": "v1", "buy/index.html": "buy v1"},
    "v2": {"index.html": "v2", "buy/index.html": "buy v2"},
    "v3": {"index.html": "v3"},
}
FIRST_WEIGHT = default_strategy("canary").steps[0]
assert isinstance(FIRST_WEIGHT, SetWeight)
CANARY_WEIGHT = FIRST_WEIGHT.set_weight
"""Where the default canary starts (10 %): what a deploy without a strategy serves at once."""
JUDGE_KEYS = {"release", "verdict", "metrics"}
METRIC_KEYS = {"name", "verdict", "reason", "numbers"}
VERDICTS = {"pass", "fail", "inconclusive", "no_data"}


def _workspace(site_root: Path) -> WorkspaceSpec:
    return WorkspaceSpec.model_validate(
        {
            "version": 1,
            "workspace": {"name": "releases-api", "timezone": "UTC"},
            "environments": [{"id": "production", "production_like": True}],
            "systems": [
                {
                    "id": "shop",
                    "tier": 1,
                    "environments": {"production": {"target": {"root": str(site_root)}}},
                }
            ],
        }
    )


def _site(site_root: Path) -> NginxStatic:
    """The shop's site as its target settings describe it (ports from its site.json)."""
    kept = json.loads((site_root / "site.json").read_text())
    return NginxStatic(site_root, port=kept["port"], preview_port=kept["preview_port"])


@pytest.fixture
def site_root(db: Database, clock: Any, tmp_path: Path) -> Iterator[Path]:
    """The applied workspace's shop site root; its nginx is stopped at the end."""
    root = tmp_path / "site"
    WorkspaceService(db, actor="gitops", clock=clock).apply(_workspace(root))
    yield root
    if (root / "site.json").exists():
        _site(root).stop()


@pytest.fixture
def deployer(issue_token: IssueToken) -> str:
    return issue_token("ci-deployer", Scope.DEPLOY)


def _remote(live_server: Any, token: str) -> Iterator[RemoteRollouts]:
    transport = HttpTransport(live_server.url, token)
    try:
        yield RemoteRollouts(transport)
    finally:
        transport.close()


@pytest.fixture
def rollouts(live_server: Any, deployer: str) -> Iterator[RemoteRollouts]:
    """The releases API as the CLI's remote mode calls it, with the deploy token."""
    yield from _remote(live_server, deployer)


@pytest.fixture
def reader(live_server: Any, read_token: str) -> Iterator[RemoteRollouts]:
    yield from _remote(live_server, read_token)


def _artifact(tmp_path: Path, version: str) -> Path:
    """tmp_path/builds/<version>/ holding the version's pages."""
    root = tmp_path / "builds" / version
    for name, content in PAGES[version].items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


def _deploy_request(tmp_path: Path, version: str, system: str = "shop", **extra: Any) -> Any:
    return DeployRequest(
        system=system, version=version, artifact=str(_artifact(tmp_path, version)), **extra
    ).model_dump(mode="json")


def _answers(url: str, visitors: int, *, prefix: str = "visitor") -> dict[str, int]:
    """What `visitors` distinct visitors get from the home page: page text -> how many."""
    seen: dict[str, int] = {}
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(visitors):
            page = client.get("/", headers={"Cookie": f"ld_uid={prefix}-{i}"})
            assert page.status_code == 200, page.text
            seen[page.text] = seen.get(page.text, 0) + 1
    return seen


def _v1_then_v2(rollouts: RemoteRollouts, tmp_path: Path) -> tuple[ReleaseView, ReleaseView]:
    first = rollouts.deploy(DeployRequest.model_validate(_deploy_request(tmp_path, "v1")))
    canary = rollouts.deploy(DeployRequest.model_validate(_deploy_request(tmp_path, "v2")))
    return first, canary


# --------------------------------------------------------------------------------- deploy


def test_a_deploy_token_releases_v1_at_once_then_a_canary_of_v2_at_the_first_weight(
    http: httpx.Client, deployer: str, site_root: Path, tmp_path: Path
) -> None:
    answer = http.post(
        "/api/v1/releases", json=_deploy_request(tmp_path, "v1"), headers=bearer(deployer)
    )
    assert answer.status_code == 201, answer.text
    first = ReleaseView.model_validate(answer.json())
    assert (first.version, first.previous, first.phase) == ("v1", None, Phase.PROMOTED)
    assert "first release" in first.reason
    assert (first.stable, first.canary, first.weight) == ("v1", None, 0)
    assert (first.created_by, first.change_type, first.strategy) == (
        "ci-deployer",
        "feature",
        "canary",
    )
    assert first.url is not None
    assert _answers(first.url, 20) == {"v1": 20}

    answer = http.post(
        "/api/v1/releases", json=_deploy_request(tmp_path, "v2"), headers=bearer(deployer)
    )

    assert answer.status_code == 201, answer.text
    canary = ReleaseView.model_validate(answer.json())
    assert canary.id != first.id
    assert (canary.version, canary.previous, canary.phase) == ("v2", "v1", Phase.PROGRESSING)
    assert (canary.stable, canary.canary, canary.weight) == ("v1", "v2", CANARY_WEIGHT)
    assert [s.state for s in canary.steps] == ["done", "current", "next", "next"]
    assert canary.steps[0].text == f"set weight {CANARY_WEIGHT:g} %"
    background = canary.background_analysis  # measured at once: no visitor yet, no data
    assert background is not None
    assert (background.phase, background.measurements, background.failures) == ("running", 1, 0)
    assert [(m.name, m.verdict) for m in background.last] == [("error_rate", "inconclusive")]
    assert background.last[0].numbers["canary_units"] == 0
    assert canary.url == first.url
    assert _site(site_root).served().weight == CANARY_WEIGHT
    served = _answers(canary.url or "", 200)
    assert set(served) == {"v1", "v2"}  # split by visitor
    assert served["v1"] > served["v2"]  # 10 % on the canary


def test_releases_are_listed_newest_first_and_read_by_system_and_environment(
    rollouts: RemoteRollouts,
    http: httpx.Client,
    deployer: str,
    site_root: Path,
    tmp_path: Path,
) -> None:
    first, canary = _v1_then_v2(rollouts, tmp_path)

    listed = http.get("/api/v1/releases", headers=bearer(deployer))
    active = rollouts.releases(system="shop", active=True)
    finished = rollouts.releases(environment="production", active=False)
    newest = rollouts.releases(limit=1)
    elsewhere = rollouts.releases(system="cms")
    status = http.get("/api/v1/releases/shop/production", headers=bearer(deployer))

    assert listed.status_code == 200
    body = listed.json()
    assert [(r["id"], r["version"], r["phase"]) for r in body] == [
        (canary.id, "v2", "progressing"),
        (first.id, "v1", "promoted"),
    ]
    assert [ReleaseView.model_validate(r) for r in body] == rollouts.releases()
    assert [r.id for r in active] == [canary.id]
    assert [r.id for r in finished] == [first.id]
    assert [r.id for r in newest] == [canary.id]
    assert elsewhere == []
    assert status.status_code == 200
    assert ReleaseView.model_validate(status.json()) == rollouts.status("shop", "production")
    assert (status.json()["id"], status.json()["weight"]) == (canary.id, CANARY_WEIGHT)


def test_the_status_of_a_system_never_released_is_a_404(
    rollouts: RemoteRollouts, http: httpx.Client, deployer: str, site_root: Path
) -> None:
    answer = http.get("/api/v1/releases/shop/production", headers=bearer(deployer))

    body = assert_problem(answer, status=404, code="not_found")
    assert body["detail"] == "no release of shop in production yet"
    with pytest.raises(NotFound, match="no release of shop"):
        rollouts.status("shop", "production")


# ---------------------------------------------------------------------------------- judge


def test_the_judge_answers_in_the_judge_view_shape_on_the_canary_traffic(
    rollouts: RemoteRollouts,
    http: httpx.Client,
    deployer: str,
    site_root: Path,
    tmp_path: Path,
) -> None:
    _, canary = _v1_then_v2(rollouts, tmp_path)
    served = _answers(canary.url or "", 120, prefix="judged")

    answer = http.get(
        "/api/v1/releases/shop/production/judge",
        params={"metrics": "error_rate"},
        headers=bearer(deployer),
    )
    remote = rollouts.judge("shop", "production", ["error_rate"])

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == JUDGE_KEYS
    assert body["release"] == canary.id
    assert body["verdict"] in VERDICTS
    [metric] = body["metrics"]
    assert set(metric) == METRIC_KEYS
    assert metric["name"] == "error_rate"
    assert metric["verdict"] in VERDICTS
    assert metric["verdict"] != "fail"  # every page answered 200
    numbers = metric["numbers"]
    assert numbers["canary_events"] == numbers["baseline_events"] == 0  # no 5xx
    assert numbers["canary_units"] == served["v2"]
    assert numbers["baseline_units"] == served["v1"]
    assert isinstance(remote, JudgeView)
    assert (remote.release, remote.verdict) == (canary.id, body["verdict"])
    assert [m.name for m in remote.metrics] == ["error_rate"]


def test_the_judge_refuses_a_metric_the_release_does_not_have(
    rollouts: RemoteRollouts,
    http: httpx.Client,
    deployer: str,
    site_root: Path,
    tmp_path: Path,
) -> None:
    _, canary = _v1_then_v2(rollouts, tmp_path)

    answer = http.get(
        "/api/v1/releases/shop/production/judge",
        params={"metrics": "error_rate,bounce_rate"},
        headers=bearer(deployer),
    )

    body = assert_problem(answer, status=400, code="usage")
    assert body["detail"] == f"release #{canary.id} has no metric 'bounce_rate'"
    assert "error_rate" in body["hint"]
    with pytest.raises(UsageError, match="no metric 'bounce_rate'"):
        rollouts.judge("shop", "production", ["bounce_rate"])


def test_the_judge_with_no_active_release_has_no_data(
    rollouts: RemoteRollouts, site_root: Path
) -> None:
    assert rollouts.judge("shop", "production", ["error_rate"]) == JudgeView(
        release=None, verdict="no_data", metrics=[]
    )


# ---------------------------------------------------------------------------------- abort


def test_aborting_the_canary_rolls_it_back_and_nginx_serves_v1_to_everyone_again(
    rollouts: RemoteRollouts,
    http: httpx.Client,
    deployer: str,
    site_root: Path,
    tmp_path: Path,
) -> None:
    _, canary = _v1_then_v2(rollouts, tmp_path)
    assert set(_answers(canary.url or "", 100)) == {"v1", "v2"}

    answer = http.post(
        "/api/v1/releases/shop/production/abort",
        json={"reason": "the hero copy is wrong"},
        headers=bearer(deployer),
    )

    assert answer.status_code == 200, answer.text
    aborted = ReleaseView.model_validate(answer.json())
    assert aborted.id == canary.id
    assert (aborted.phase, aborted.reason) == (Phase.ROLLED_BACK, "the hero copy is wrong")
    assert (aborted.stable, aborted.canary, aborted.weight) == ("v1", None, 0)
    assert aborted.finished_at is not None
    assert aborted.history[-1][1:] == (Phase.ROLLED_BACK, "the hero copy is wrong")
    assert aborted.url is not None
    assert _answers(aborted.url, 100) == {"v1": 100}
    served = _site(site_root).served()
    assert (served.stable, served.canary, served.weight) == ("v1", None, 0)
    assert rollouts.releases(active=True) == []
    assert rollouts.status("shop", "production").phase is Phase.ROLLED_BACK
    with pytest.raises(NotFound, match="no active release of shop in production"):
        rollouts.act("shop", "production", "abort", ActionRequest(reason="again"))


# ------------------------------------------------------------------------- refusals


def test_a_read_token_reads_releases_but_is_refused_a_deploy_naming_the_deploy_scope(
    http: httpx.Client,
    read_token: str,
    reader: RemoteRollouts,
    site_root: Path,
    tmp_path: Path,
) -> None:
    answer = http.post(
        "/api/v1/releases", json=_deploy_request(tmp_path, "v1"), headers=bearer(read_token)
    )

    body = assert_problem(answer, status=403, code="forbidden")
    assert "'deploy' scope" in body["detail"]
    assert body["hint"] == "create a token with --scope deploy"
    with pytest.raises(Forbidden, match="lacks the 'deploy' scope"):
        reader.deploy(DeployRequest.model_validate(_deploy_request(tmp_path, "v1")))
    refused = http.post(
        "/api/v1/releases/shop/production/abort", json={}, headers=bearer(read_token)
    )
    assert_problem(refused, status=403, code="forbidden")
    assert reader.releases() == []  # reading is allowed, and nothing was released
    assert not (site_root / "site.json").exists()  # nor any site installed


def test_a_second_deploy_while_one_is_active_is_a_409_naming_the_active_release(
    rollouts: RemoteRollouts,
    http: httpx.Client,
    deployer: str,
    site_root: Path,
    tmp_path: Path,
) -> None:
    _, canary = _v1_then_v2(rollouts, tmp_path)

    answer = http.post(
        "/api/v1/releases", json=_deploy_request(tmp_path, "v3"), headers=bearer(deployer)
    )

    body = assert_problem(answer, status=409, code="conflict")
    assert body["detail"] == (
        f"shop already has an active release in production: #{canary.id} v2 (progressing)"
    )
    assert "launchdeck release promote|abort shop" in body["hint"]
    with pytest.raises(Conflict, match=f"#{canary.id} v2"):
        rollouts.deploy(DeployRequest.model_validate(_deploy_request(tmp_path, "v3")))
    still = rollouts.status("shop", "production")
    assert (still.id, still.phase, still.weight) == (canary.id, Phase.PROGRESSING, CANARY_WEIGHT)
    assert len(rollouts.releases()) == 2
    assert set(_answers(still.url or "", 100)) == {"v1", "v2"}  # v3 is nowhere


def test_a_deploy_of_an_unknown_system_or_environment_is_a_404(
    rollouts: RemoteRollouts,
    http: httpx.Client,
    deployer: str,
    site_root: Path,
    tmp_path: Path,
) -> None:
    unknown_system = http.post(
        "/api/v1/releases",
        json=_deploy_request(tmp_path, "v1", system="warehouse"),
        headers=bearer(deployer),
    )
    unknown_environment = http.post(
        "/api/v1/releases",
        json=_deploy_request(tmp_path, "v1", environment="staging"),
        headers=bearer(deployer),
    )

    body = assert_problem(unknown_system, status=404, code="not_found")
    assert body["detail"] == "no system 'warehouse'"
    body = assert_problem(unknown_environment, status=404, code="not_found")
    assert body["detail"] == "no environment 'staging'"
    with pytest.raises(NotFound, match="no system 'warehouse'"):
        rollouts.deploy(
            DeployRequest.model_validate(_deploy_request(tmp_path, "v1", system="warehouse"))
        )
    assert rollouts.releases() == []
    assert not (site_root / "site.json").exists()
