"""The generic webhook: a message as compact JSON, signed with HMAC-SHA256. Pure.

The signature covers the timestamp and the body, as Stripe's and Slack's do, so a receiver that
checks both the signature and the age of the timestamp refuses a replayed or altered request:

    X-Launchdeck-Timestamp: 1795600000
    X-Launchdeck-Signature: v1=<hex of HMAC-SHA256(secret, b"1795600000." + body)>

`verify` is the receiver's side, the same code the tests use. A receiver that rotates secrets
may list several signatures separated by commas; one that matches is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from launchdeck.notify.model import Message, encode_json

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE_S",
    "VERSION",
    "render_generic",
    "sign",
    "verify",
]

VERSION: Final = 1
TIMESTAMP_HEADER: Final = "X-Launchdeck-Timestamp"
SIGNATURE_HEADER: Final = "X-Launchdeck-Signature"
TOLERANCE_S: Final = 300
"""Five minutes either way, as Stripe and Slack allow for clock skew and retries."""
_SCHEME: Final = "v1="


def render_generic(message: Message) -> bytes:
    """`{"version": 1, "message": {...every Message field...}}` as compact UTF-8 JSON."""
    return encode_json({"version": VERSION, "message": message.model_dump(mode="json")})


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode("ascii") + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The two signature headers for `body` sent at `timestamp` (Unix seconds)."""
    if not secret:
        raise ValueError("the signing secret is empty")
    if timestamp < 0:
        raise ValueError("the timestamp must be Unix seconds, not negative")
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: _SCHEME + _digest(body, secret, timestamp),
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: datetime | float,
    tolerance_s: float = TOLERANCE_S,
) -> bool:
    """True only if a v1 signature matches `body` and the timestamp is within `tolerance_s` of now.

    Header names are matched without regard to case; the digest is compared in constant time.
    """
    stamp = _header(headers, TIMESTAMP_HEADER)
    given = _header(headers, SIGNATURE_HEADER)
    if not secret or stamp is None or given is None:
        return False
    stamp = stamp.strip()
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        return False
    timestamp = int(stamp)
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = _digest(body, secret, timestamp).encode("ascii")
    candidates = [part.strip() for part in given.split(",")]
    matches = [
        hmac.compare_digest(expected, part.removeprefix(_SCHEME).encode("utf-8"))
        for part in candidates
        if part.startswith(_SCHEME)
    ]
    return any(matches)
