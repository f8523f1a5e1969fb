"""The generic webhook: its JSON body, and signatures receivers can check."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from launchdeck.notify import Audience, Fact, Link, Message, Tone
from launchdeck.notify.webhook import render_generic, sign, verify
from unit.notify.builders import a_message

SECRET = "whsec_test"
AT = 1_795_600_000
BODY = b'{"version":1,"message":{"kind":"gate.blocked"}}'
# Computed independently: printf '%s' "1795600000.$BODY" | openssl dgst -sha256 -hmac whsec_test
VECTOR = "v1=3cad3a669cab2986dd61ca47e64effbc7b5b48c4d5152a174a2a5dacaa1c0cd3"


def test_the_body_is_compact_json_holding_every_field_of_the_message() -> None:
    message = a_message(
        summary="<script>& 😀",
        tone=Tone.DANGER,
        severity="SEV1",
        systems=("checkout-api",),
        campaigns=("black-friday",),
        facts=(Fact(label="Error rate", value="7.2 %"),),
        links=(Link(text="Incident", url="https://ld.example/i/1"),),
        audience=Audience.CAMPAIGN_OWNERS,
        owners=("ana@example.com",),
        dedupe_key="incident-1-opened",
    )

    body = render_generic(message)

    document = json.loads(body)
    assert document["version"] == 1
    assert document["message"]["occurred_at"] == "2026-11-27T09:45:00Z"
    assert document["message"]["summary"] == "<script>& 😀"
    assert Message.model_validate(document["message"]) == message
    assert body == json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def test_the_signature_matches_an_independently_computed_vector() -> None:
    assert sign(BODY, SECRET, AT) == {
        "X-Launchdeck-Timestamp": "1795600000",
        "X-Launchdeck-Signature": VECTOR,
    }


def test_a_signed_body_verifies() -> None:
    body = render_generic(a_message())

    assert verify(body, sign(body, SECRET, AT), SECRET, now=AT + 10) is True


@pytest.mark.parametrize(
    ("body", "secret", "now"),
    [
        (BODY + b" ", SECRET, AT),
        (BODY.replace(b"blocked", b"passed!"), SECRET, AT),
        (BODY, "whsec_other", AT),
        (BODY, "", AT),
        (BODY, SECRET, AT + 301),
        (BODY, SECRET, AT - 301),
    ],
    ids=[
        "a byte added",
        "a word changed",
        "the wrong secret",
        "an empty secret",
        "older than five minutes",
        "more than five minutes ahead",
    ],
)
def test_a_tampered_stale_or_wrongly_keyed_request_is_refused(
    body: bytes, secret: str, now: int
) -> None:
    headers = sign(BODY, SECRET, AT)

    assert verify(body, headers, secret, now=now) is False


def test_the_tolerance_is_inclusive_and_can_be_set() -> None:
    headers = sign(BODY, SECRET, AT)

    assert verify(BODY, headers, SECRET, now=AT + 300) is True
    assert verify(BODY, headers, SECRET, now=AT + 30, tolerance_s=10) is False


def test_now_may_be_a_datetime_and_header_names_any_case() -> None:
    headers = {k.lower(): v for k, v in sign(BODY, SECRET, AT).items()}

    assert verify(BODY, headers, SECRET, now=datetime.fromtimestamp(AT, UTC)) is True


def test_a_rotated_secret_is_accepted_among_several_signatures() -> None:
    old = sign(BODY, "whsec_old", AT)["X-Launchdeck-Signature"]
    new = sign(BODY, SECRET, AT)
    headers = {**new, "X-Launchdeck-Signature": f"{old}, {new['X-Launchdeck-Signature']}"}

    assert verify(BODY, headers, SECRET, now=AT) is True
    assert verify(BODY, headers, "whsec_old", now=AT) is True
    assert verify(BODY, headers, "whsec_third", now=AT) is False


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Launchdeck-Signature": VECTOR},
        {"X-Launchdeck-Timestamp": "1795600000"},
        {"X-Launchdeck-Timestamp": "1795600000", "X-Launchdeck-Signature": VECTOR[3:]},
        {"X-Launchdeck-Timestamp": "1795600000", "X-Launchdeck-Signature": "v0=" + VECTOR[3:]},
        {"X-Launchdeck-Timestamp": "1795600000.0", "X-Launchdeck-Signature": VECTOR},
        {"X-Launchdeck-Timestamp": "-1795600000", "X-Launchdeck-Signature": VECTOR},
        {"X-Launchdeck-Timestamp": "１７９５６００００００", "X-Launchdeck-Signature": VECTOR},
    ],
    ids=[
        "no headers",
        "no timestamp",
        "no signature",
        "no v1= scheme",
        "another scheme",
        "a fractional timestamp",
        "a negative timestamp",
        "full-width digits",
    ],
)
def test_malformed_headers_are_refused(headers: dict[str, str]) -> None:
    assert verify(BODY, headers, SECRET, now=AT) is False


def test_signing_refuses_an_empty_secret_or_a_negative_time() -> None:
    with pytest.raises(ValueError, match="secret is empty"):
        sign(BODY, "", AT)
    with pytest.raises(ValueError, match="not negative"):
        sign(BODY, SECRET, -1)
