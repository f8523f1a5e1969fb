"""Reading a secret by reference (`{env: NAME}` or `{file: PATH}`): the one place that does.

Notifications (webhook URLs and HMAC keys), release hooks (HMAC keys) and web metric sources
(header values) name their secrets this way, never by value. The error says which variable or
file, never what it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from launchdeck.errors import ConfigError
from launchdeck.notify.spec import SecretRef

__all__ = ["SecretUnavailable", "read_secret"]


class SecretUnavailable(ConfigError):
    """The variable is not set, or the file cannot be read or is empty."""


def read_secret(ref: SecretRef, *, environ: Mapping[str, str], where: str | None = None) -> str:
    """The secret `ref` points at, stripped."""
    if ref.env is not None:
        value = environ.get(ref.env, "").strip()
        if not value:
            raise SecretUnavailable(
                f"{ref.describe()} is not set",
                where=where,
                hint=f"set {ref.env} in the environment launchdeck runs in",
            )
        return value
    try:
        value = Path(ref.file or "").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise SecretUnavailable(
            f"{ref.describe()} cannot be read ({reason})", where=where
        ) from None
    if not value:
        raise SecretUnavailable(f"{ref.describe()} is empty", where=where)
    return value
