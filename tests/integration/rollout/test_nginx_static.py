"""The nginx-static target on a real nginx: releases, the cookie split measured from the access
log, stickiness, paid traffic, the QA header, blue-green by symlink swap, and crash safety."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nginx_sites import build, new_site

from launchdeck.errors import UsageError
from launchdeck.rollout.access_log import AccessLog
from launchdeck.rollout.targets.base import Served
from launchdeck.rollout.targets.nginx import NginxStatic

pytestmark = pytest.mark.xdist_group("nginx")


def _pages(version: str, body: str | None = None) -> dict[str, str]:
    return {"index.html": body or f"<h1>{version}</h1>", "buy/index.html": f"buy {version}"}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[NginxStatic]:
    target = new_site(tmp_path, {v: _pages(v) for v in ("v1", "v2", "v3")}, stable="v1")
    yield target
    target.stop()


def visit(
    site: NginxStatic, uid: str | None = None, path: str = "/", **options: object
) -> httpx.Response:
    cookies = {"ld_uid": uid} if uid else {}
    return httpx.get(site.url + path, cookies=cookies, timeout=10, **options)  # type: ignore[arg-type]


def _cookie(uid: str) -> dict[str, str]:
    return {"Cookie": f"ld_uid={uid}"}


def test_stable_is_served_and_a_new_visitor_gets_an_id(site: NginxStatic) -> None:
    first = visit(site)

    assert first.status_code == 200
    assert first.text == "<h1>v1</h1>"
    assert first.headers["x-launchdeck-variant"] == "stable"
    cookie = first.cookies["ld_uid"]
    assert len(cookie) == 32
    assert "ld_uid" not in visit(site, cookie).cookies  # set once
    assert site.served() == Served(stable="v1", canary=None, preview=None, weight=0.0)


def test_the_canary_split_matches_the_weight_and_visitors_stay_on_their_side(
    site: NginxStatic,
) -> None:
    site.point("canary", "v2")
    site.set_weight(20)
    log = AccessLog(site.layout.access_log)
    log.reset()
    visitors = [uuid.uuid4().hex for _ in range(2500)]
    with httpx.Client(base_url=site.url, timeout=10) as client:
        first = {uid: client.get("/", headers=_cookie(uid)).text for uid in visitors}
        traffic = log.read()  # the first visits only
        requests = {variant: t.requests for variant, t in traffic.items()}
        again = {uid: client.get("/buy/", headers=_cookie(uid)).text for uid in visitors[:300]}
        site.set_weight(50)
        later = {uid: client.get("/", headers=_cookie(uid)).text for uid in visitors}

    measured = requests["canary"] / (requests["canary"] + requests["stable"])
    assert abs(measured - 0.20) <= 0.02, measured  # from the access log, not the answers
    assert requests["canary"] == sum(page == "<h1>v2</h1>" for page in first.values())
    for uid, page in again.items():
        assert page == ("buy v2" if first[uid] == "<h1>v2</h1>" else "buy v1")
    on_canary = {uid for uid, page in first.items() if page == "<h1>v2</h1>"}
    assert all(later[uid] == "<h1>v2</h1>" for uid in on_canary)  # buckets only grow
    share = sum(page == "<h1>v2</h1>" for page in later.values()) / len(later)
    assert abs(share - 0.50) <= 0.03
    assert site.served().weight == 50.0


def test_paid_visitors_never_see_the_canary(site: NginxStatic) -> None:
    site.point("canary", "v2")
    site.set_weight(100)
    arrivals = [
        "gclid=EAIaIQ",
        "fbclid=IwAR3",
        "msclkid=7f3",
        "utm_medium=cpc",
        "utm_medium=paid&x=1",
    ]

    with httpx.Client(base_url=site.url, timeout=10) as client:
        for query in arrivals:
            client.cookies.clear()
            landing = client.get(f"/?{query}")
            next_page = client.get("/buy/")  # no click id any more: the ld_paid cookie holds
            assert (landing.text, next_page.text) == ("<h1>v1</h1>", "buy v1"), query
        client.cookies.clear()
        organic = client.get("/?utm_medium=email")

    assert organic.text == "<h1>v2</h1>"


def test_the_qa_header_forces_a_side(site: NginxStatic) -> None:
    assert visit(site, headers={"X-Canary": "always"}).text == "<h1>v1</h1>"  # no canary yet
    site.point("canary", "v2")
    site.set_weight(0)

    assert visit(site, headers={"X-Canary": "always"}).text == "<h1>v2</h1>"
    site.set_weight(100)
    assert visit(site, headers={"X-Canary": "never"}).text == "<h1>v1</h1>"


def test_the_beacon_counts_converting_visitors_per_variant(site: NginxStatic) -> None:
    site.point("canary", "v2")
    site.set_weight(50)
    log = AccessLog(site.layout.access_log)
    log.reset()
    with httpx.Client(base_url=site.url, timeout=10) as client:
        for i in range(400):
            uid = f"visitor-{i}"
            client.get("/", headers=_cookie(uid))
            if i % 4 == 0:
                client.post("/__ld/convert", headers=_cookie(uid))
                client.post("/__ld/convert", headers=_cookie(uid))  # twice: one visitor

    traffic = log.read()
    conversions = {variant: t.conversions() for variant, t in traffic.items()}
    assert sum(c.units for c in conversions.values()) == 400
    assert sum(c.events for c in conversions.values()) == 100
    assert sum(t.beacons for t in traffic.values()) == 200
    assert all(t.errors().events == 0 for t in traffic.values())


def test_blue_green_switches_by_symlink_without_a_reload_and_back(site: NginxStatic) -> None:
    site.point("preview", "v2")  # the idle colour, reachable before the switch
    master = site.running()
    workers_before = site.workers()

    preview = httpx.get(site.preview_url, timeout=10).text
    site.point("stable", "v2")
    switched = visit(site).text
    site.point("stable", "v1")  # instant rollback: v1 was kept
    back = visit(site).text

    assert (preview, switched, back) == ("<h1>v2</h1>", "<h1>v2</h1>", "<h1>v1</h1>")
    assert site.running() == master
    assert site.workers() == workers_before  # no reload happened


def test_releases_are_immutable(site: NginxStatic, tmp_path: Path) -> None:
    site.install("v2", tmp_path / "builds" / "v2")  # the same content: nothing to do
    other = build(tmp_path / "other", "v2", _pages("v2", body="<h1>not v2</h1>"))

    with pytest.raises(UsageError, match="releases are immutable"):
        site.install("v2", other)
    with pytest.raises(UsageError, match="not installed"):
        site.point("canary", "v9")


def test_what_is_served_survives_a_controller_that_dies(site: NginxStatic) -> None:
    site.point("canary", "v3")
    site.set_weight(30)

    # A new controller process knows nothing but the directory: it reads the state back,
    # and nginx kept serving meanwhile.
    fresh = NginxStatic(site.layout.root, port=site.port, preview_port=site.preview_port)
    assert fresh.running() == site.running()
    assert fresh.served() == Served(stable="v1", canary="v3", preview=None, weight=30.0)
    fresh.start()  # idempotent on a running site: rewrites the same config, reloads
    assert visit(site, headers={"X-Canary": "always"}).text == "<h1>v3</h1>"


def test_a_weight_nginx_refuses_leaves_the_running_split_alone(site: NginxStatic) -> None:
    site.point("canary", "v2")
    site.set_weight(25)

    with pytest.raises(ValueError, match="0 to 100"):
        site.set_weight(120)

    assert site.served().weight == 25.0


def test_stop_ends_nginx(site: NginxStatic) -> None:
    pid = site.running()
    assert pid is not None

    site.stop()

    assert site.running() is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
