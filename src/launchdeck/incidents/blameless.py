"""Blameless-language checks for postmortems. Pure.

A blameless postmortem asks what made an action possible and reasonable at the time, not who
should have known better (Google SRE book, ch. 15 "Postmortem Culture"). This finds phrasing that
points at a person: hindsight ("should have"), judgement ("careless", "human error"), and a known
person as the subject of a cause ("alice broke checkout", "caused by @alice").

It keeps false positives low on purpose: "failed to" is flagged only with a person as its subject
("the health check failed to fire" describes a missing safeguard, which is the point), a name is
flagged only next to a causal verb, so a timeline's Who column and "rolled back by alice" pass.
Fenced code blocks, inline code and the draft's TODO markers are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from launchdeck.incidents.postmortem import TODO_MARK

__all__ = ["Finding", "check_blameless", "name_variants"]


@dataclass(frozen=True, slots=True)
class Finding:
    line: int
    """1-based."""
    column: int
    """1-based, in characters, where `phrase` starts."""
    phrase: str
    """The text as written."""
    why: str
    suggestion: str


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    why: str
    suggestion: str


_PEOPLE_WORDS: Final = (
    r"he|she|we|i|you|someone|somebody|nobody|no one|"
    r"(?:the |an |our )?(?:on-?call(?: engineer)?|engineer|developer|operator|admin|reviewer)"
)
_CAUSAL_VERBS: Final = (
    r"deployed|broke|caused|pushed|missed|didn't|did not|forgot|failed|ignored|neglected|"
    r"overlooked|skipped|misconfigured|introduced|messed up|merged"
)
_ADVERBS: Final = r"(?:(?:accidentally|mistakenly|wrongly|just|then|also|apparently|had|has)\s+)?"

_HINDSIGHT: Final = (
    "hindsight judges a decision by an outcome nobody could see at the time",
    "describe what the system allowed and what would have caught it: 'nothing checked … before …'",
)
_JUDGEMENT: Final = (
    "a judgement of a person ends the inquiry where it should start",
    "ask what made the action possible and reasonable then: missing checks, defaults, pressure",
)
_PERSON_CAUSE: Final = (
    "names a person as the cause; people act within a system that let the change through",
    "name the change and the conditions instead: 'the deploy of v2.3 …', "
    "'what made this possible?'",
)

_FIXED_RULES: Final = (
    _Rule(re.compile(r"\bshould(?:n't| not)? have\b|\bshould(?:n't)?'ve\b", re.I), *_HINDSIGHT),
    _Rule(re.compile(r"\bforgot to\b", re.I), *_HINDSIGHT),
    _Rule(
        re.compile(rf"\b(?:{_PEOPLE_WORDS})\s+{_ADVERBS}failed to\b", re.I),
        "says a person failed, not what failed to support them",
        "describe the gap: 'the checklist did not include …', 'no alert covered …'",
    ),
    _Rule(re.compile(r"\bcareless(?:ly|ness)?\b|\bnegligen(?:t|tly|ce)\b", re.I), *_JUDGEMENT),
    _Rule(
        re.compile(r"\b(?:human|operator|user|pilot) errors?\b", re.I),
        "'human error' is where an investigation starts, not a cause",
        "ask what made the error easy to make and hard to notice, and write that down",
    ),
    _Rule(
        re.compile(r"\bblam(?:e|es|ed|ing)\b|\bfault of\b|\b(?:his|her|their) fault\b", re.I),
        "assigns fault to someone",
        "say what happened and which safeguards were missing",
    ),
    _Rule(
        re.compile(r"\bbecause (?:he|she|someone|somebody|nobody|no one)\b", re.I),
        *_PERSON_CAUSE,
    ),
)


def name_variants(person: str) -> set[str]:
    """The ways a text may name someone: `@alice` → {@alice, alice}; `alice.b@x.io` → {it,
    alice.b}; "Alice Smith" → {it, Alice}. Single letters are left out."""
    person = person.strip()
    variants = {person}
    if person.startswith("@"):
        variants.add(person[1:])
    local, at, _domain = person.partition("@")
    if at and local:
        variants.add(local)
    if " " in person:
        variants.add(person.split()[0])
    return {v for v in variants if len(v) > 1}


def _person_rules(people: Iterable[str]) -> list[_Rule]:
    names = sorted({v for p in people for v in name_variants(p)}, key=lambda v: (-len(v), v))
    if not names:
        return []
    name = rf"(?<![\w@.])(?:{'|'.join(re.escape(n) for n in names)})(?![\w@])"
    return [
        _Rule(re.compile(rf"{name}\s+{_ADVERBS}(?:{_CAUSAL_VERBS})\b", re.I), *_PERSON_CAUSE),
        _Rule(
            re.compile(rf"\b(?:caused|broken|introduced|triggered) by\s+{name}", re.I),
            *_PERSON_CAUSE,
        ),
        _Rule(re.compile(rf"\bbecause\s+{name}", re.I), *_PERSON_CAUSE),
        _Rule(re.compile(rf"{name}\s+{_ADVERBS}failed to\b", re.I), *_PERSON_CAUSE),
    ]


_FENCE: Final = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_INLINE_CODE: Final = re.compile(r"(`+)[^`]+?\1")
_MARKER: Final = re.compile(rf"_{re.escape(TODO_MARK)}:[^_\n]*_")


def _prose_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(number, line, masked) for each line outside fenced code; inline code and TODO markers
    are blanked in `masked` so columns still match `line`."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        masked = _MARKER.sub(lambda m: " " * len(m.group()), line)
        masked = _INLINE_CODE.sub(lambda m: " " * len(m.group()), masked)
        yield number, line, masked


def check_blameless(text: str, *, people: Iterable[str] = ()) -> list[Finding]:
    """Blaming phrases in `text`, in reading order; [] for a blameless text.

    Overlapping matches give one finding (the earliest and longest), so "alice failed to"
    is reported once, as a person named as a cause.
    """
    rules = [*_person_rules(people), *_FIXED_RULES]
    findings: list[Finding] = []
    for number, line, masked in _prose_lines(text):
        hits = sorted(
            ((m.start(), -m.end(), rule) for rule in rules for m in rule.pattern.finditer(masked)),
            key=lambda h: (h[0], h[1]),
        )
        taken_until = -1
        for start, neg_end, rule in hits:
            if start < taken_until:
                continue
            taken_until = -neg_end
            findings.append(
                Finding(
                    line=number,
                    column=start + 1,
                    phrase=line[start:taken_until],
                    why=rule.why,
                    suggestion=rule.suggestion,
                )
            )
    return findings
