"""API tokens with scopes: stored as hashes, shown once, expiring and revocable."""

from launchdeck.auth.model import CreatedToken, Scope, TokenInfo, grants

__all__ = ["CreatedToken", "Scope", "TokenInfo", "grants"]
