"""What every command shares: the settings, the client (opened on first use) and output flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from launchdeck.client import Client
    from launchdeck.settings import Settings

__all__ = ["AppContext", "app_context"]


@dataclass
class AppContext:
    settings: Settings
    debug: bool = False
    _client: Client | None = field(default=None, repr=False)

    @property
    def client(self) -> Client:
        if self._client is None:
            from launchdeck.client import open_client

            self._client = open_client(self.settings)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def app_context(ctx: typer.Context) -> AppContext:
    """The AppContext the root callback stored."""
    obj = ctx.find_root().obj
    assert isinstance(obj, AppContext)
    return obj
