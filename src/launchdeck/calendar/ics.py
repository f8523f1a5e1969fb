"""iCalendar (RFC 5545) feeds: events in as campaigns; campaigns and freeze windows out.

Pure: bytes in, objects out, no I/O. icalendar parses, recurring-ical-events expands RRULE,
RDATE, EXDATE and RECURRENCE-ID; this module only maps the result onto campaigns. The
mapping convention and what is supported are in docs/calendar.md ("iCalendar feeds").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events  # type: ignore[import-untyped]
from icalendar.error import GloballyUniqueTZIDGuessed
from icalendar.parser import unescape_backslash
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from pydantic import ValidationError

from launchdeck.durations import EARLIEST_YEAR, LATEST_YEAR, in_plausible_years
from launchdeck.errors import ConfigError
from launchdeck.workspace.spec import CalendarFeedSpec, CampaignSpec

__all__ = ["KIND_PROPERTY", "PRODID", "X_PROPERTIES", "read_feed"]

PRODID: Final = "-//launchdeck//launchdeck//EN"
UNTITLED: Final = "(untitled)"
MAX_OCCURRENCES: Final = 5000
"""More occurrences than this in one window is a runaway RRULE (hourly for months), not a plan."""

_PAD = timedelta(days=2)
"""recurring-ical-events compares floating and all-day times as if they were UTC: widen its window
by more than any UTC offset (±14 h), then filter exactly on our own UTC instants."""
_SLUG_MAX, _NAME_MAX = 40, 200
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_WHEN = "write dates as 20261127 and times as 20261127T090000 or 20261127T140000Z (RFC 5545)"
_HINTS: Final = {
    "DTSTART": _WHEN,
    "DTEND": _WHEN,
    "RDATE": _WHEN,
    "EXDATE": _WHEN,
    "RECURRENCE-ID": _WHEN,
    "DURATION": "write a duration as PT2H, P1D or P1DT12H (RFC 5545 §3.3.6)",
    "RRULE": "write a rule as FREQ=WEEKLY;BYDAY=FR;COUNT=6 (RFC 5545 §3.3.10)",
}
_TIME_PROPERTIES = frozenset(_HINTS)
_TOO_FREQUENT = frozenset({"SECONDLY", "MINUTELY"})
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal"})
X_PROPERTIES: Final = {
    "tier": "X-LAUNCHDECK-TIER",
    "revenue_per_hour": "X-LAUNCHDECK-REVENUE-PER-HOUR",
    "currency": "X-LAUNCHDECK-CURRENCY",
    "systems": "X-LAUNCHDECK-SYSTEMS",
    "channels": "X-LAUNCHDECK-CHANNELS",
}
KIND_PROPERTY: Final = "X-LAUNCHDECK-KIND"
"""Set to FREEZE on exported freeze windows, which read_feed skips (no freeze -> campaign loop)."""
_DESCRIPTION_LINE = re.compile(
    r"^\s*(tier|revenue[ _-]per[ _-]hour|currency|systems|channels)\s*:(.*)$", re.IGNORECASE
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n|<br\s*/?>", re.IGNORECASE)
_CATEGORY_TIER = re.compile(r"^tier\s*[-:]\s*(.*)$", re.IGNORECASE)
_CATEGORY_LIST = re.compile(r"^(system|channel)\s*:\s*(.*)$", re.IGNORECASE)
_UNFOLD = re.compile(rb"\r?\n[ \t]")


@dataclass(frozen=True, slots=True)
class _Raw:
    value: str
    origin: str
    """Where the value was found, for error messages: 'X-LAUNCHDECK-TIER', 'DESCRIPTION' …"""


@dataclass(frozen=True, slots=True)
class _Fields:
    tier: int
    revenue_per_hour: float
    currency: str
    systems: tuple[str, ...]
    channels: tuple[str, ...]
    description: str | None


def read_feed(
    data: bytes,
    *,
    source: str,
    feed: CalendarFeedSpec,
    default_tz: str,
    window_start: datetime,
    window_end: datetime,
) -> list[CampaignSpec]:
    """A campaign per event occurrence that ends after `window_start`, starts before `window_end`.

    Every event is checked, in the window or not, so a feed is valid or not whatever the day.
    Raises ConfigError (where=source) naming the event, its UID and the bad value.
    """
    lower, upper = _aware(window_start, "window_start"), _aware(window_end, "window_end")
    # icalendar warns when it guesses a vendor-prefixed TZID (/mozilla.org/…/Europe/Paris);
    # the guess is the IANA suffix, which is right for every producer we know of.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GloballyUniqueTZIDGuessed)
        calendar = _parse(data, source)
        zone = _feed_zone(calendar, feed, default_tz)
        events = [e for e in calendar.walk("VEVENT") if not _is_exported_freeze(e)]
        for event in events:
            _check_event(event, zone=zone, feed=feed, source=source)
        occurrences = _occurrences(calendar, lower - _PAD, upper + _PAD, source)
    campaigns: dict[str, CampaignSpec] = {}
    for occurrence in occurrences:
        if _is_exported_freeze(occurrence):
            continue
        campaign = _campaign(occurrence, zone=zone, feed=feed, source=source)
        if not (campaign.end > lower and campaign.start < upper):
            continue
        if campaign.id in campaigns:
            raise ConfigError(
                f"{_label(occurrence)} gives the campaign id {campaign.id!r} twice",
                where=source,
                hint="give each event its own UID",
            )
        campaigns[campaign.id] = campaign
    return sorted(campaigns.values(), key=lambda c: (c.start, c.id))


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(UTC)


def _parse(data: bytes, source: str) -> icalendar.Calendar:
    hint = "export the calendar again as an .ics file (RFC 5545, UTF-8)"
    # Unfold (RFC 5545 §3.1) before decoding: some producers fold inside a multi-byte character.
    try:
        text = _UNFOLD.sub(b"", data).decode("utf-8-sig")
    except UnicodeDecodeError:
        # Joining valid UTF-8 pieces stays valid, so the original fails too: point into it.
        try:
            data.decode("utf-8-sig")
            bad = 0
        except UnicodeDecodeError as exc:
            bad = exc.start
        line = data.count(b"\n", 0, bad) + 1
        raise ConfigError(
            f"not a valid iCalendar file: not UTF-8 text (byte 0x{data[bad]:02x} on line {line})",
            where=source,
            hint=hint,
        ) from None
    try:
        component = icalendar.Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises ValueError and friends on malformed input
        raise ConfigError(
            f"not a valid iCalendar file: {_short(exc)}", where=source, hint=hint
        ) from exc
    if not isinstance(component, icalendar.Calendar):
        raise ConfigError(
            f"not a valid iCalendar file: it holds a {component.name}, not a VCALENDAR",
            where=source,
            hint=hint,
        )
    return component


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _feed_zone(calendar: icalendar.Calendar, feed: CalendarFeedSpec, default_tz: str) -> str:
    """The zone of floating and all-day times: the feed's, X-WR-TIMEZONE's or the workspace's.

    recurring-ical-events reads floating and UTC times in X-WR-TIMEZONE (Google Calendar's
    convention), so the property is rewritten to the zone chosen here, or dropped if unknown.
    """
    declared = calendar.get("X-WR-TIMEZONE")
    named = _iana_name(str(declared)) if declared is not None else None
    zone = feed.timezone or named or default_tz
    if declared is not None:
        if named is None and feed.timezone is None:
            del calendar["X-WR-TIMEZONE"]
        else:
            calendar["X-WR-TIMEZONE"] = icalendar.vText(zone)
    return zone


def _iana_name(tzid: str) -> str | None:
    """The IANA name for a TZID: itself, its Windows (Outlook) zone, or its /vendor/ suffix."""
    cleaned = tzid.strip().strip('"').strip("/")
    candidates = [cleaned, WINDOWS_TO_OLSON.get(cleaned, "")]
    parts = cleaned.split("/")
    candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    for name in candidates:
        if not name:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
        return name
    return None


def _is_exported_freeze(component: icalendar.Component) -> bool:
    kind = component.get(KIND_PROPERTY)
    return kind is not None and _text(kind).strip().upper() == "FREEZE"


def _check_event(
    event: icalendar.Component, *, zone: str, feed: CalendarFeedSpec, source: str
) -> None:
    """Refuse an event whose times or mapped fields are unusable, before any expansion."""
    label = _label(event)
    for name, message in event.errors:
        if name in _TIME_PROPERTIES:
            raise ConfigError(
                f"{label}: {name} is not valid: {message}", where=source, hint=_HINTS[name]
            )
    rules = event.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        frequency = "".join(str(f) for f in rule.get("FREQ", ()))
        if frequency.upper() in _TOO_FREQUENT:
            raise ConfigError(
                f"{label} repeats {frequency.upper()}: a campaign repeats at most hourly",
                where=source,
                field="RRULE",
                hint="use FREQ=HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY",
            )
    dtstart = event.get("DTSTART")
    if dtstart is None:
        raise ConfigError(f"{label} has no DTSTART", where=source, hint="give the event a start")
    start_value = _value(dtstart, "DTSTART", label, source)
    start = _instant(start_value, dtstart, zone)[0]
    dtend, duration = event.get("DTEND"), event.get("DURATION")
    if dtend is not None:
        end = _instant(_value(dtend, "DTEND", label, source), dtend, zone)[0]
    elif duration is not None:
        length = getattr(duration, "dt", None)
        if not isinstance(length, timedelta):
            raise ConfigError(
                f"{label}: DURATION is not a duration", where=source, hint=_HINTS["DURATION"]
            )
        if not isinstance(start_value, datetime) and length.seconds:
            start_value = datetime.combine(start_value, time())
        end = _instant(_later(start_value, length, label, source), dtstart, zone)[0]
    elif isinstance(start_value, datetime):
        end = start
    else:  # an all-day event without DTEND lasts one day (RFC 5545 §3.6.1)
        end = _instant(_later(start_value, timedelta(days=1), label, source), dtstart, zone)[0]
    _check_span(label, start, end, source)
    _fields(event, feed=feed, label=label, source=source)


def _value(prop: object, name: str, label: str, source: str) -> date:
    value = getattr(prop, "dt", None)
    if not isinstance(value, date):
        raise ConfigError(f"{label}: {name} is not a date or a date-time", where=source, hint=_WHEN)
    return _plausible(value, name, label, source)


def _later(value: date, length: timedelta, label: str, source: str) -> date:
    try:
        end = value + length
    except OverflowError:
        end = date.max
    return _plausible(end, "the end", label, source)


def _plausible(value: date, name: str, label: str, source: str) -> date:
    # CampaignSpec's years; they also keep zone arithmetic clear of datetime's year 1 and 9999.
    if not in_plausible_years(value):
        raise ConfigError(
            f"{label}: {name} is in the year {value.year}, "
            f"not between {EARLIEST_YEAR} and {LATEST_YEAR}",
            where=source,
            hint=_WHEN,
        )
    return value


def _check_span(label: str, start: datetime, end: datetime, source: str) -> None:
    if end > start:
        return
    when = "when" if end == start else "before"
    raise ConfigError(
        f"{label} ends ({end.isoformat()}) {when} it starts ({start.isoformat()})",
        where=source,
        hint="give the event a DTEND after its DTSTART, or a positive DURATION",
    )


def _occurrences(
    calendar: icalendar.Calendar, lower: datetime, upper: datetime, source: str
) -> list[icalendar.Component]:
    try:
        # `between`, not `after`: `after` recomputes each series from its start for every slice.
        found: list[icalendar.Component] = recurring_ical_events.of(calendar).between(lower, upper)
    except Exception as exc:  # recurring-ical-events' InvalidCalendar, dateutil's ValueError …
        raise ConfigError(
            f"not a valid iCalendar file: {_short(exc)}",
            where=source,
            hint="check the RRULE, RDATE, EXDATE and RECURRENCE-ID of the events",
        ) from exc
    if len(found) > MAX_OCCURRENCES:
        raise ConfigError(
            f"the events occur {len(found)} times in the window, more than {MAX_OCCURRENCES}",
            where=source,
            hint="check the RRULE of the repeating events (FREQ, INTERVAL, COUNT or UNTIL)",
        )
    return found


def _campaign(
    occurrence: icalendar.Component, *, zone: str, feed: CalendarFeedSpec, source: str
) -> CampaignSpec:
    label = _label(occurrence)
    dtstart, dtend = occurrence.get("DTSTART"), occurrence.get("DTEND")  # the library sets both
    start, zone_name = _instant(_value(dtstart, "DTSTART", label, source), dtstart, zone)
    end = _instant(_value(dtend, "DTEND", label, source), dtend, zone)[0]
    _check_span(label, start, end, source)
    fields = _fields(occurrence, feed=feed, label=label, source=source)
    name = _summary(occurrence)
    uid = _text(occurrence.get("UID", ""))
    digest = hashlib.sha1(f"{uid}{start.isoformat()}".encode(), usedforsecurity=False)
    local_day = start.astimezone(ZoneInfo(zone_name)).strftime("%Y%m%d")
    try:
        return CampaignSpec(
            id=f"{_slug(name)}-{local_day}-{digest.hexdigest()[:6]}",
            name=name,
            start=start,
            end=end,
            timezone=zone_name,
            tier=fields.tier,
            revenue_per_hour=fields.revenue_per_hour,
            currency=fields.currency,
            channels=fields.channels,
            systems=fields.systems,
            description=fields.description,
            source=source,
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        place = ".".join(str(p) for p in problem["loc"])
        raise ConfigError(
            f"{label}: {place}: {problem['msg']}", where=source, field=place
        ) from None


def _instant(value: date, prop: object, zone: str) -> tuple[datetime, str]:
    """A DTSTART/DTEND value as an aware UTC instant, and the zone it was written in.

    All-day dates are local midnight and floating times local time in `zone`. A TZID that
    names an IANA, Windows (Outlook) or /vendor/IANA zone is read with zoneinfo's rules:
    a time skipped by a DST change (02:30 on a spring-forward day) uses the offset before
    the change, a repeated one its first occurrence (fold=0). UTC times belong to `zone`.
    """
    if not isinstance(value, datetime):
        local = datetime.combine(value, time(), tzinfo=ZoneInfo(zone))
        return local.astimezone(UTC), zone
    if value.tzinfo is None:
        return value.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), zone
    name = _zone_of(value.tzinfo, prop)
    if name is None:
        return value.astimezone(UTC), zone
    return value.replace(tzinfo=ZoneInfo(name)).astimezone(UTC), name


def _zone_of(tz: tzinfo, prop: object) -> str | None:
    """The IANA name of an aware time's zone; None for UTC or a custom VTIMEZONE we cannot name."""
    if isinstance(tz, ZoneInfo):
        name: str | None = tz.key
    else:
        params: Mapping[str, object] = getattr(prop, "params", {})
        tzid = params.get("TZID")
        name = _iana_name(tzid) if isinstance(tzid, str) else None
    return None if name is None or name in _UTC_NAMES else name


def _label(component: icalendar.Component) -> str:
    uid = component.get("UID")
    which = f"UID {_text(uid)}" if uid is not None else "no UID"
    return f"event {_summary(component)!r} ({which})"


def _summary(component: icalendar.Component) -> str:
    summary = component.get("SUMMARY")
    text = " ".join(_text(summary).split()) if summary is not None else ""
    if len(text) > _NAME_MAX:
        text = text[: _NAME_MAX - 1] + "…"
    return text or UNTITLED


def _text(value: object) -> str:
    """A property's text: the first of a repeated property, escapes undone for X- properties."""
    if isinstance(value, list):
        return _text(value[0]) if value else ""
    if isinstance(value, icalendar.vUnknown):  # kept verbatim by icalendar, escapes and all
        return str(unescape_backslash(str(value)))
    return str(value)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:_SLUG_MAX].rstrip("-") or "event"


def _fields(
    component: icalendar.Component, *, feed: CalendarFeedSpec, label: str, source: str
) -> _Fields:
    """Tier, revenue, currency, systems, channels: X- property > DESCRIPTION > CATEGORIES > feed."""
    description, from_description = _description(component)
    layers = (_from_x_properties(component), from_description, _from_categories(component))

    def raw(field: str) -> _Raw | None:
        return next((layer[field] for layer in layers if field in layer), None)

    def fail(what: str, raw: _Raw, problem: str, hint: str) -> ConfigError:
        return ConfigError(
            f"{label}: {what} {raw.value!r} (from {raw.origin}) {problem}",
            where=source,
            field=what.replace(" ", "_"),
            hint=hint,
        )

    tier, revenue, currency = feed.tier, feed.revenue_per_hour, feed.currency
    if (found := raw("tier")) is not None:
        if found.value.strip() not in ("1", "2", "3"):
            raise fail("tier", found, "is not 1, 2 or 3", "write the tier as 1, 2 or 3")
        tier = int(found.value)
    if (found := raw("revenue_per_hour")) is not None:
        try:
            revenue = float(found.value)
        except ValueError:
            revenue = -1.0
        if not 0 <= revenue < float("inf"):
            raise fail(
                "revenue per hour",
                found,
                "is not a non-negative number",
                "write a plain number such as 12000 or 12000.50, without currency or separators",
            )
    if (found := raw("currency")) is not None:
        currency = found.value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise fail("currency", found, "is not a currency code", "use ISO 4217: USD, EUR …")
    systems = feed.systems
    if (found := raw("systems")) is not None:
        systems = _items(found.value, lower=True)
        for system in systems:
            if not _ID.match(system):
                raise fail(
                    "system",
                    _Raw(system, found.origin),
                    "is not a system id",
                    "use the system's id from launchdeck.yaml (lowercase letters, digits, dashes)",
                )
    channels = feed.channels
    if (found := raw("channels")) is not None:
        channels = _items(found.value, lower=False)
    return _Fields(tier, revenue, currency, systems, channels, description)


def _items(text: str, *, lower: bool) -> tuple[str, ...]:
    items = (item.strip() for item in text.split(","))
    return tuple(dict.fromkeys((i.lower() if lower else i) for i in items if i))


def _from_x_properties(component: icalendar.Component) -> dict[str, _Raw]:
    found: dict[str, _Raw] = {}
    for field, name in X_PROPERTIES.items():
        value = component.get(name)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        text = (
            ",".join(_text(v) for v in values) if field in ("systems", "channels") else _text(value)
        )
        found[field] = _Raw(text, name)
    return found


def _description(component: icalendar.Component) -> tuple[str | None, dict[str, _Raw]]:
    """DESCRIPTION without its `key: value` mapping lines, and the values of those lines."""
    value = component.get("DESCRIPTION")
    found: dict[str, _Raw] = {}
    if value is None:
        return None, found
    kept = []
    for line in _LINE_BREAK.split(_text(value)):
        match = _DESCRIPTION_LINE.match(line)
        if match is None:
            kept.append(line.rstrip())
            continue
        key = re.sub(r"[ -]", "_", match.group(1).lower())
        found.setdefault(key, _Raw(match.group(2).strip(), "DESCRIPTION"))
    return "\n".join(kept).strip() or None, found


def _from_categories(component: icalendar.Component) -> dict[str, _Raw]:
    value = component.get("CATEGORIES")
    properties = value if isinstance(value, list) else [value] if value is not None else []
    found: dict[str, _Raw] = {}
    lists: dict[str, list[str]] = {"systems": [], "channels": []}
    for category in (str(c).strip() for p in properties for c in getattr(p, "cats", ())):
        if (tier := _CATEGORY_TIER.match(category)) is not None:
            found.setdefault("tier", _Raw(tier.group(1), "CATEGORIES"))
        elif (item := _CATEGORY_LIST.match(category)) is not None:
            lists[item.group(1).lower() + "s"].append(item.group(2))
    for field, items in lists.items():
        if items:
            found[field] = _Raw(",".join(items), "CATEGORIES")
    return found
