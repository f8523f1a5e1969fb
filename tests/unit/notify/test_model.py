"""The message model and the wording shared by the renderers."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from launchdeck.notify import Audience, Fact, Link
from launchdeck.notify.model import SEVERITIES, encode_json, severity_rank
from launchdeck.notify.wording import facts_of, footer, join_names
from unit.notify.builders import a_message


def test_sev1_is_the_most_severe() -> None:
    assert [severity_rank(s) for s in SEVERITIES] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "ftp://files.example/a", "/relative/path", "https://a b.example"],
    ids=["javascript", "ftp", "relative", "a space"],
)
def test_a_link_is_an_absolute_http_url(url: str) -> None:
    with pytest.raises(ValidationError):
        Link(text="open", url=url)


@pytest.mark.parametrize(
    "fields",
    [
        {"occurred_at": datetime(2026, 11, 27, 9, 45)},
        {"severity": "P1"},
        {"kind": "Incident Opened"},
        {"title": ""},
        {"colour": "red"},
    ],
    ids=["a naive time", "an unknown severity", "a kind with spaces", "no title", "extra field"],
)
def test_a_malformed_message_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        a_message(**fields)


def test_a_message_is_frozen() -> None:
    message = a_message()

    with pytest.raises(ValidationError):
        message.title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("names", "said"),
    [
        (("A",), "A"),
        (("A", "B"), "A and B"),
        (("A", "B", "C"), "A, B and C"),
        (("A", "B", "C", "D"), "A, B, C and 1 more"),
    ],
    ids=["one", "two", "three", "four"],
)
def test_names_read_like_a_sentence(names: tuple[str, ...], said: str) -> None:
    assert join_names(names) == said


def test_engineers_get_severity_and_environment_owners_get_impact() -> None:
    fields = {
        "severity": "SEV3",
        "environment": "production",
        "systems": ("cms", "checkout-api"),
        "facts": (Fact(label="Burn rate", value="14.9"),),
    }

    engineers = facts_of(a_message(**fields))
    owners = facts_of(a_message(audience=Audience.CAMPAIGN_OWNERS, **fields))

    assert [(f.label, f.value) for f in engineers] == [
        ("Severity", "SEV3"),
        ("Environment", "production"),
        ("Systems", "cms, checkout-api"),
        ("Burn rate", "14.9"),
    ]
    assert [(f.label, f.value) for f in owners] == [
        ("Impact", "minor"),
        ("Affected systems", "cms, checkout-api"),
        ("Burn rate", "14.9"),
    ]


def test_the_footer_is_in_utc_whatever_the_zone_of_the_time() -> None:
    at = datetime(2026, 11, 27, 10, 45, tzinfo=ZoneInfo("Europe/Paris"))

    assert footer(a_message(occurred_at=at)) == "incident.opened · 2026-11-27 09:45 UTC"
    owners = a_message(occurred_at=at, audience=Audience.CAMPAIGN_OWNERS)
    assert footer(owners) == "2026-11-27 09:45 UTC"


def test_wire_json_is_compact_utf8() -> None:
    assert encode_json({"a": ["é", 1, None]}) == '{"a":["é",1,null]}'.encode()


def test_the_package_and_the_spec_import_no_http_client() -> None:
    """workspace/spec.py imports notify.spec: loading a workspace must not load httpx."""
    code = (
        "import sys, launchdeck.notify, launchdeck.notify.spec, launchdeck.notify.slack, "
        "launchdeck.notify.teams, launchdeck.notify.webhook; "
        "print(sorted(m for m in ('httpx', 'tenacity', 'sqlalchemy') if m in sys.modules))"
    )
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
