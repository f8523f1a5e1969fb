"""What a release target does, whatever it is (nginx-static, command, …). Pure.

The controller only ever asks a target these four things; `reconcile` orders them so that no
half-switched state is ever served:

- `install(version, artifact)`: make a version available (idempotent; a version is immutable);
- `point(link, version)`: make `stable`, `canary` or `preview` serve a version (None: nothing),
  atomically;
- `set_weight(weight, canary=)`: send `weight` % of visitors to the canary (0: none);
- `served()`: read back what is served now, which a restarted controller reconciles against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

__all__ = ["LINKS", "Link", "Served", "Target"]

Link = Literal["stable", "canary", "preview"]
LINKS: Final[tuple[Link, ...]] = ("stable", "canary", "preview")


@dataclass(frozen=True, slots=True)
class Served:
    """What a target serves: each link's release (None: absent) and the canary's weight."""

    stable: str | None
    canary: str | None
    preview: str | None
    weight: float


class Target(Protocol):
    def install(self, version: str, artifact: Path) -> object: ...
    def point(self, link: Link, target: str | None) -> None: ...
    def set_weight(self, weight: float, *, canary: bool = True) -> None: ...
    def served(self) -> Served: ...
