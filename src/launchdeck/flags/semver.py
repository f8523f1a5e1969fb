"""SemVer 2.0.0 versions and their precedence (https://semver.org/spec/v2.0.0.html, §9-§11).

Hand-parsed rather than matched with the spec's regular expression: one linear pass, no
backtracking, on the evaluation hot path of the `semver_*` operators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Precedence", "Version", "parse"]

Precedence = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


@dataclass(frozen=True, slots=True)
class Version:
    """A SemVer version; ordering and equality follow precedence, so build metadata is ignored."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()
    build: tuple[str, ...] = field(default=(), compare=False)

    def precedence(self) -> Precedence:
        """A tuple that sorts as the version's precedence (§11), for comparing many at once."""
        # A release ranks above its prereleases; numeric identifiers rank below alphanumeric
        # ones; a shorter identifier list ranks lower when it is a prefix of a longer one.
        ids = tuple((0, i, "") if isinstance(i, int) else (1, 0, i) for i in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, ids)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence() < other.precedence()

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence() <= other.precedence()

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence() > other.precedence()

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence() >= other.precedence()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(i) for i in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text


def _is_identifier(text: str) -> bool:
    """[0-9A-Za-z-]+, the characters §9 and §10 allow (isascii first: str.isalnum and
    str.isdigit alone accept other scripts' letters and digits, such as '²')."""
    return text.isascii() and text.replace("-", "a").isalnum()


def _number(text: str) -> int | None:
    """A numeric identifier without leading zeros (§2, §9), else None."""
    if not (text.isascii() and text.isdigit()) or (text[0] == "0" and len(text) > 1):
        return None
    try:
        return int(text)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return None


def _prerelease(text: str) -> tuple[int | str, ...] | None:
    identifiers: list[int | str] = []
    for ident in text.split("."):
        if ident.isascii() and ident.isdigit():
            number = _number(ident)
            if number is None:
                return None
            identifiers.append(number)
        elif _is_identifier(ident):
            identifiers.append(ident)
        else:
            return None
    return tuple(identifiers)


def parse(text: str) -> Version | None:
    """The version `text` spells (one leading `v` or `V` allowed), or None when it is not SemVer."""
    if text[:1] in ("v", "V"):
        text = text[1:]
    rest, plus, build_text = text.partition("+")
    core, dash, pre_text = rest.partition("-")
    parts = core.split(".")
    if len(parts) != 3:
        return None
    major, minor, patch = _number(parts[0]), _number(parts[1]), _number(parts[2])
    if major is None or minor is None or patch is None:
        return None
    prerelease = _prerelease(pre_text) if dash else ()
    if prerelease is None:
        return None
    build: tuple[str, ...] = ()
    if plus:
        build = tuple(build_text.split("."))
        if not all(_is_identifier(b) for b in build):
            return None
    return Version(major, minor, patch, prerelease, build)
