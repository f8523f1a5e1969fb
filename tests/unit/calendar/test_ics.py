"""iCalendar feeds: events become campaigns at the right instants, with the mapping convention;
campaigns and freezes export to a calendar that reads back.

Expected instants are worked out by hand from the zone rules of 2026 and written in UTC:
America/New_York is EST (-5) until Sun 8 Mar 02:00 and from Sun 1 Nov 02:00, EDT (-4) between;
Europe/Berlin is CET (+1) until Sun 29 Mar 02:00 and from Sun 25 Oct 03:00, CEST (+2) between;
Europe/London is GMT (+0) / BST (+1) with the same EU dates.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from launchdeck.calendar.ics import PRODID, read_feed
from launchdeck.calendar.ics_export import export_calendar
from launchdeck.calendar.model import ChangeType, FreezeKind, FreezeWindow
from launchdeck.errors import ConfigError
from launchdeck.workspace.model import Campaign
from launchdeck.workspace.spec import CalendarFeedSpec, CampaignSpec
from unit.builders import a_campaign_model

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ics"
SOURCE = "calendars/test.ics"
YEAR_START, YEAR_END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def a_feed(**fields: object) -> CalendarFeedSpec:
    return CalendarFeedSpec.model_validate({"path": SOURCE, **fields})


def read(
    data: bytes | str,
    *,
    feed: CalendarFeedSpec | None = None,
    default_tz: str = "UTC",
    start: datetime = YEAR_START,
    end: datetime = YEAR_END,
) -> list[CampaignSpec]:
    """read_feed on raw bytes, or on a fixture named by its file name."""
    raw = (FIXTURES / data).read_bytes() if isinstance(data, str) else data
    return read_feed(
        raw,
        source=SOURCE,
        feed=feed or a_feed(),
        default_tz=default_tz,
        window_start=start,
        window_end=end,
    )


def calendar(*events: str, header: str = "") -> bytes:
    """A VCALENDAR around the given VEVENT bodies (dedented, one property a line), CRLF."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//launchdeck tests//EN"]
    lines += textwrap.dedent(header).strip().splitlines()
    for body in events:
        properties = [line for line in textwrap.dedent(body).strip().splitlines() if line]
        lines += ["BEGIN:VEVENT", *properties, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def an_event(*extra: str, summary: str = "Sale", times: str = "") -> str:
    """A VEVENT body: UID sale@example.com, Mon 4 May 2026 09:00-17:00 UTC unless `times` says."""
    when = times or "DTSTART:20260504T090000Z\nDTEND:20260504T170000Z"
    return "\n".join(["UID:sale@example.com", f"SUMMARY:{summary}", when, *extra])


def named(campaigns: list[CampaignSpec], name: str) -> list[CampaignSpec]:
    return [c for c in campaigns if c.name == name]


def only(campaigns: list[CampaignSpec], name: str) -> CampaignSpec:
    found = named(campaigns, name)
    assert len(found) == 1, [c.name for c in campaigns]
    return found[0]


def error_of(data: bytes, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        read(data, **kwargs)  # type: ignore[arg-type]
    assert caught.value.where == SOURCE
    return caught.value


# -- A Google Calendar export: VTIMEZONE, X-WR-TIMEZONE, recurrence, all-day, DST edges --------


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        # 20:00 EST (-5) Sat 7 Mar -> 20:00 EDT (-4) Sun 8 Mar: 23 hours.
        ("Daylight saving weekend promo", utc(2026, 3, 8, 1), utc(2026, 3, 9, 0)),
        # 02:30 does not exist on 8 Mar; zoneinfo (fold=0) reads it with the offset before the
        # change, EST: 07:30Z (= 03:30 EDT). 04:00 EDT = 08:00Z.
        ("Spring catalogue launch", utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8)),
        # 01:30 happens twice on 1 Nov; fold=0 is the first, EDT: 05:30Z. 03:00 EST = 08:00Z.
        ("Fall-back newsletter", utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8)),
        # VALUE=DATE: local midnight to local midnight (DTEND exclusive), EST.
        ("Black Friday doorbusters", utc(2026, 11, 27, 5), utc(2026, 11, 28, 5)),
        # VALUE=DATE without DTEND: one day.
        ("Giving Tuesday", utc(2026, 12, 1, 5), utc(2026, 12, 2, 5)),
        ("Global app push", utc(2026, 6, 15, 14), utc(2026, 6, 15, 16)),
    ],
    ids=[
        "span-over-us-spring-forward-lasts-23-hours",
        "non-existent-local-time-uses-the-offset-before-the-change",
        "repeated-local-time-on-fall-back-day-is-the-first",
        "all-day-event-is-local-midnight-to-midnight",
        "all-day-event-without-dtend-lasts-one-day",
        "utc-time-stays-the-same-instant",
    ],
)
def test_google_export_events_land_on_their_utc_instants(
    name: str, start: datetime, end: datetime
) -> None:
    campaign = only(read("google-retail.ics"), name)
    assert (campaign.start, campaign.end) == (start, end)
    assert campaign.timezone == "America/New_York"


def test_weekly_series_honours_exdate_rdate_and_an_overridden_instance() -> None:
    flash = [
        (c.name, c.start, c.end)
        for c in read("google-retail.ics")
        if c.name.startswith("Weekend flash sale")
    ]
    assert flash == [
        # Fri 18:00 EDT -> Mon 09:00 EDT
        ("Weekend flash sale", utc(2026, 10, 2, 22), utc(2026, 10, 5, 13)),
        ("Weekend flash sale", utc(2026, 10, 9, 22), utc(2026, 10, 12, 13)),
        # RECURRENCE-ID 16 Oct moved to Thu 15 Oct 20:00 EDT, with its own SUMMARY.
        ("Weekend flash sale: early access", utc(2026, 10, 16, 0), utc(2026, 10, 19, 13)),
        # 23 Oct is an EXDATE.
        # Fri 18:00 EDT -> Mon 09:00 EST: the series keeps the wall-clock end across 1 Nov
        # (64 real hours), as calendar apps show it.
        ("Weekend flash sale", utc(2026, 10, 30, 22), utc(2026, 11, 2, 14)),
        ("Weekend flash sale", utc(2026, 11, 6, 23), utc(2026, 11, 9, 14)),
        # RDATE Wed 25 Nov 18:00 EST, same length as the series.
        ("Weekend flash sale", utc(2026, 11, 25, 23), utc(2026, 11, 28, 14)),
    ]


def test_an_overridden_instance_takes_its_own_mapping_and_description() -> None:
    campaigns = read("google-retail.ics", feed=a_feed(revenue_per_hour=1))
    moved = only(campaigns, "Weekend flash sale: early access")
    regular = named(campaigns, "Weekend flash sale")[0]
    assert (moved.tier, moved.revenue_per_hour) == (1, pytest.approx(9000))
    assert moved.description == "Early access for loyalty members."
    assert (regular.tier, regular.revenue_per_hour) == (2, pytest.approx(4500))
    assert regular.systems == ("storefront", "checkout")
    assert regular.description == "Flash deals every weekend in October."


def test_x_properties_map_folded_lines_unfold_and_foreign_x_properties_are_ignored() -> None:
    friday = only(read("google-retail.ics"), "Black Friday doorbusters")
    assert friday.tier == 1
    assert friday.revenue_per_hour == pytest.approx(25000)
    assert friday.systems == ("storefront", "checkout", "email-renderer")
    assert friday.channels == ("email", "paid-social")
    # Folded over three lines, one fold right after a backslash of an escaped comma.
    assert friday.description == (
        "Doorbusters on TVs, laptops and headphones. The homepage hero, the cart upsell "
        "and the abandoned-cart e-mails all switch at midnight Eastern."
    )


def test_every_campaign_names_its_source_file() -> None:
    campaigns = read("google-retail.ics")
    assert len(campaigns) == 12
    assert {c.source for c in campaigns} == {SOURCE}


def test_feed_timezone_overrides_the_calendars_x_wr_timezone() -> None:
    campaigns = read("google-retail.ics", feed=a_feed(timezone="Europe/Berlin"))
    friday = only(campaigns, "Black Friday doorbusters")
    assert (friday.start, friday.timezone) == (utc(2026, 11, 26, 23), "Europe/Berlin")
    # Written with a TZID: still New York.
    assert only(campaigns, "Spring catalogue launch").timezone == "America/New_York"


# -- An Outlook export: Windows zone names, DURATION, floating and UTC times -------------------


@pytest.mark.parametrize(
    ("name", "start", "end", "zone"),
    [
        # 09:00 CET Sat 28 Mar -> 09:00 CEST Mon 30 Mar.
        ("Frühlingsangebote DE", utc(2026, 3, 28, 8), utc(2026, 3, 30, 7), "Europe/Berlin"),
        # P2D is two calendar days (RFC 5545 §3.3.6): 10:00 CEST Sat -> 10:00 CET Mon.
        ("Autumn clearance", utc(2026, 10, 24, 8), utc(2026, 10, 26, 9), "Europe/Berlin"),
        # Floating 08:00 in the feed zone, BST.
        ("Newsletter send", utc(2026, 4, 15, 7), utc(2026, 4, 15, 8), "Europe/London"),
        # UTC times keep their instant and take the feed zone.
        ("Press embargo lifts", utc(2026, 5, 1, 6), utc(2026, 5, 1, 8), "Europe/London"),
        # All-day without DTEND, midnight GMT.
        ("Singles Day", utc(2026, 11, 11), utc(2026, 11, 12), "Europe/London"),
    ],
    ids=[
        "windows-tzid-over-eu-spring-forward",
        "day-duration-over-eu-fall-back-is-nominal",
        "floating-time-in-the-feed-zone",
        "utc-time-takes-the-feed-zone",
        "all-day-without-dtend-in-the-feed-zone",
    ],
)
def test_outlook_export_events_land_on_their_utc_instants(
    name: str, start: datetime, end: datetime, zone: str
) -> None:
    campaign = only(read("outlook-emea.ics", feed=a_feed(timezone="Europe/London")), name)
    assert (campaign.start, campaign.end, campaign.timezone) == (start, end, zone)


def test_hour_duration_over_a_dst_change_counts_wall_clock_hours() -> None:
    """Deliberate deviation, pinned: recurring-ical-events adds DURATION in wall-clock time.

    RFC 5545 §3.3.6 makes PT24H exactly 24 hours, which would end at 10:00Z; the library (and
    so launchdeck) ends at 12:00 local, CET after the 25 Oct change: 11:00Z, 25 real hours.
    """
    campaign = only(read("outlook-emea.ics"), "Clock change flash sale")
    assert (campaign.start, campaign.end) == (utc(2026, 10, 24, 10), utc(2026, 10, 25, 11))


def test_floating_and_all_day_times_use_the_workspace_zone_when_the_feed_has_none() -> None:
    campaigns = read("outlook-emea.ics", default_tz="America/Chicago")
    newsletter = only(campaigns, "Newsletter send")
    assert (newsletter.start, newsletter.timezone) == (utc(2026, 4, 15, 13), "America/Chicago")
    assert only(campaigns, "Singles Day").start == utc(2026, 11, 11, 6)


@pytest.mark.parametrize(
    ("tzid", "start", "zone"),
    [
        ("Asia/Tokyo", utc(2026, 6, 10, 1), "Asia/Tokyo"),
        ("/mozilla.org/20050126_1/Europe/Rome", utc(2026, 6, 10, 8), "Europe/Rome"),
        ("Eastern Standard Time", utc(2026, 6, 10, 14), "America/New_York"),
        ("Nowhere/Land", utc(2026, 6, 10, 10), "UTC"),
    ],
    ids=[
        "iana-tzid-without-vtimezone",
        "vendor-prefixed-tzid-is-its-iana-suffix-without-a-warning",
        "windows-zone-name",
        "unknown-tzid-without-vtimezone-reads-as-floating",
    ],
)
def test_a_tzid_is_read_as_the_zone_it_names(tzid: str, start: datetime, zone: str) -> None:
    data = calendar(
        an_event(times=f"DTSTART;TZID={tzid}:20260610T100000\nDTEND;TZID={tzid}:20260610T110000")
    )
    (campaign,) = read(data)
    assert (campaign.start, campaign.end - campaign.start) == (start, timedelta(hours=1))
    assert campaign.timezone == zone


def test_a_custom_vtimezone_gives_the_instants_and_the_feed_zone_names_it() -> None:
    data = calendar(
        an_event(
            times="DTSTART;TZID=Launch HQ Time:20260610T100000\n"
            "DTEND;TZID=Launch HQ Time:20260610T110000"
        ),
        header="""
            BEGIN:VTIMEZONE
            TZID:Launch HQ Time
            BEGIN:STANDARD
            DTSTART:19700101T000000
            TZOFFSETFROM:+0530
            TZOFFSETTO:+0530
            END:STANDARD
            END:VTIMEZONE
        """,
    )
    (campaign,) = read(data, feed=a_feed(timezone="Asia/Kolkata"))
    assert (campaign.start, campaign.timezone) == (utc(2026, 6, 10, 4, 30), "Asia/Kolkata")


@pytest.mark.parametrize(
    "data",
    [
        "\ufeff".encode() + calendar(an_event()),
        calendar(an_event()).replace(b"\r\n", b"\n"),
    ],
    ids=["utf-8-byte-order-mark", "lf-line-endings"],
)
def test_common_file_variants_read_the_same(data: bytes) -> None:
    (campaign,) = read(data)
    assert (campaign.name, campaign.start) == ("Sale", utc(2026, 5, 4, 9))


def test_a_line_folded_inside_a_multibyte_character_reads_back_whole() -> None:
    summary = "Café week".encode()
    cut = summary.index(b"\xa9")  # between the two bytes of "é"
    folded = b"SUMMARY:" + summary[:cut] + b"\r\n " + summary[cut:]
    data = calendar(an_event()).replace(b"SUMMARY:Sale", folded)
    (campaign,) = read(data)
    assert campaign.name == "Café week"


# -- Mapping convention: X- property > DESCRIPTION > CATEGORIES > feed default -----------------


MAPPING_FEED = a_feed(
    tier=2, revenue_per_hour=50, currency="USD", systems=["storefront"], channels=["web"]
)


@pytest.mark.parametrize(
    ("name", "tier", "revenue", "currency", "systems", "channels"),
    [
        ("X property wins", 1, 30000, "EUR", ("checkout",), ("email",)),
        ("Description beats categories", 2, 900.5, "GBP", ("cms", "search"), ("web", "email")),
        ("Categories beat defaults", 3, 50, "USD", ("checkout", "cms"), ("social",)),
        ("Feed defaults fill the rest", 2, 50, "USD", ("storefront",), ("web",)),
        ("Each field from its own source", 1, 120, "USD", ("search",), ("web",)),
    ],
    ids=[
        "x-property-beats-description-and-categories",
        "description-beats-categories",
        "categories-beat-feed-defaults",
        "feed-defaults-when-nothing-is-said",
        "each-field-takes-its-first-source",
    ],
)
def test_mapping_takes_each_field_from_the_first_source_that_has_it(
    name: str,
    tier: int,
    revenue: float,
    currency: str,
    systems: tuple[str, ...],
    channels: tuple[str, ...],
) -> None:
    campaign = only(read("mapping.ics", feed=MAPPING_FEED), name)
    assert (campaign.tier, campaign.currency) == (tier, currency)
    assert campaign.revenue_per_hour == pytest.approx(revenue)
    assert (campaign.systems, campaign.channels) == (systems, channels)


def test_mapping_lines_are_removed_from_the_description() -> None:
    campaigns = read("mapping.ics", feed=MAPPING_FEED)
    assert only(campaigns, "Description beats categories").description == (
        "Spring catalogue.\nBrief in the shared drive."
    )
    assert only(campaigns, "X property wins").description is None
    assert only(campaigns, "Categories beat defaults").description == "No mapping lines here."


@pytest.mark.parametrize(
    "line",
    ["revenue_per_hour: 75.25", "Revenue per hour: 75.25", "REVENUE-PER-HOUR:75.25"],
    ids=["snake-case", "words", "upper-case-dashes"],
)
def test_revenue_key_is_spelled_freely_in_the_description(line: str) -> None:
    (campaign,) = read(calendar(an_event(f"DESCRIPTION:{line}")))
    assert campaign.revenue_per_hour == pytest.approx(75.25)


def test_html_line_breaks_in_a_google_description_separate_mapping_lines() -> None:
    (campaign,) = read(calendar(an_event("DESCRIPTION:tier: 1<br>systems: cms<br><br>Notes")))
    assert (campaign.tier, campaign.systems, campaign.description) == (1, ("cms",), "Notes")


def test_an_empty_systems_property_clears_the_feed_default() -> None:
    (campaign,) = read(calendar(an_event("X-LAUNCHDECK-SYSTEMS:")), feed=MAPPING_FEED)
    assert campaign.systems == ()


# -- Ids ---------------------------------------------------------------------------------------


def test_id_is_slug_local_day_and_a_hash_of_uid_and_start() -> None:
    friday = only(read("google-retail.ics"), "Black Friday doorbusters")
    digest = hashlib.sha1(
        b"0b1f2d3c4e5a6b7c8d9e@google.com2026-11-27T05:00:00+00:00", usedforsecurity=False
    ).hexdigest()
    assert friday.id == f"black-friday-doorbusters-20261127-{digest[:6]}"


def test_id_date_is_the_local_day_of_the_start() -> None:
    times = "DTSTART;TZID=America/New_York:20261127T210000\nDTEND:20261128T040000Z"
    (campaign,) = read(calendar(an_event(times=times)))
    assert campaign.start == utc(2026, 11, 28, 2)
    assert campaign.id.startswith("sale-20261127-")


@pytest.mark.parametrize(
    ("summary", "name", "slug"),
    [
        ("Café crème week", "Café crème week", "cafe-creme-week"),
        ("  Summer -- SALE!!  ", "Summer -- SALE!!", "summer-sale"),
        ("A" * 30 + " " + "b" * 30, "A" * 30 + " " + "b" * 30, "a" * 30 + "-" + "b" * 9),
        ("🎉🎉🎉", "🎉🎉🎉", "event"),
        (None, "(untitled)", "untitled"),
    ],
    ids=["accents-folded", "punctuation-runs", "cut-at-40", "nothing-ascii", "no-summary"],
)
def test_id_slug_comes_from_the_summary(summary: str | None, name: str, slug: str) -> None:
    event = an_event(summary="x").replace("SUMMARY:x", f"SUMMARY:{summary}" if summary else "")
    (campaign,) = read(calendar(event))
    assert campaign.name == name
    assert campaign.id == f"{slug}-20260504-{campaign.id[-6:]}"


@pytest.mark.parametrize("fixture", ["google-retail.ics", "outlook-emea.ics", "mapping.ics"])
def test_ids_are_valid_unique_and_stable_across_reads(fixture: str) -> None:
    first, second = read(fixture), read(fixture)
    ids = [c.id for c in first]
    assert ids == [c.id for c in second]
    assert len(set(ids)) == len(ids)
    assert [i for i in ids if not ID.match(i)] == []


# -- The window --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "included"),
    [
        (utc(2026, 5, 4, 17), utc(2026, 5, 4, 18), False),
        (utc(2026, 5, 4, 8), utc(2026, 5, 4, 9), False),
        (utc(2026, 5, 4, 16, 59), utc(2026, 5, 4, 20), True),
        (utc(2026, 5, 4, 8), utc(2026, 5, 4, 9, 1), True),
        (utc(2026, 5, 4, 10), utc(2026, 5, 4, 11), True),
    ],
    ids=[
        "ends-when-the-window-starts",
        "starts-when-the-window-ends",
        "overlaps-the-window-start",
        "overlaps-the-window-end",
        "covers-the-whole-window",
    ],
)
def test_an_occurrence_is_read_when_it_overlaps_the_window(
    start: datetime, end: datetime, included: bool
) -> None:
    campaigns = read(calendar(an_event()), start=start, end=end)
    assert [c.name for c in campaigns] == (["Sale"] if included else [])


def test_an_endless_series_is_expanded_only_inside_the_window() -> None:
    event = an_event("RRULE:FREQ=WEEKLY;BYDAY=MO")  # Mondays from 4 May 2026, forever
    campaigns = read(calendar(event), start=utc(2026, 6, 1), end=utc(2026, 7, 1))
    assert [c.start.day for c in campaigns] == [1, 8, 15, 22, 29]


def test_a_floating_time_near_the_window_edge_is_judged_by_its_own_zone() -> None:
    # 10:00 on 5 May at UTC+14 is 20:00Z on 4 May: inside a 19:00Z-21:00Z window.
    times = "DTSTART:20260505T100000\nDTEND:20260505T110000"
    campaigns = read(
        calendar(an_event(times=times)),
        feed=a_feed(timezone="Pacific/Kiritimati"),
        start=utc(2026, 5, 4, 19),
        end=utc(2026, 5, 4, 21),
    )
    assert [c.start for c in campaigns] == [utc(2026, 5, 4, 20)]


def test_a_bad_event_outside_the_window_is_still_refused() -> None:
    data = calendar(an_event("X-LAUNCHDECK-TIER:7"))
    error = error_of(data, start=utc(2030, 1, 1), end=utc(2031, 1, 1))
    assert error.field == "tier"


def test_freeze_windows_from_a_launchdeck_export_are_not_read_back() -> None:
    frozen = "\n".join(["X-LAUNCHDECK-KIND:FREEZE", "CATEGORIES:freeze"])
    data = calendar(an_event(frozen, summary="Deploy freeze: Sale").replace("sale@", "f@"))
    assert read(data) == []


# -- Errors ------------------------------------------------------------------------------------

EVENT = "event 'Sale' (UID sale@example.com)"


@pytest.mark.parametrize(
    ("data", "message", "hint"),
    [
        (b"", "not a valid iCalendar file: Found no components", "RFC 5545, UTF-8"),
        (b"Black Friday, all day\n", "not a valid iCalendar file: Content line", "RFC 5545"),
        (
            an_event().replace("\n", "\r\n").encode(),
            'not a valid iCalendar file: Property "UID" does not have a parent component',
            "RFC 5545",
        ),
        (
            b"BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n",
            "not a valid iCalendar file: it holds a VEVENT, not a VCALENDAR",
            "RFC 5545",
        ),
        (
            calendar(an_event())[:-15],
            "not a valid iCalendar file: Found no components",
            "RFC 5545",
        ),
        (
            calendar(an_event(summary="Café")).replace("é".encode(), b"\xe9"),
            "not a valid iCalendar file: not UTF-8 text (byte 0xe9 on line 6)",
            "UTF-8",
        ),
        (
            calendar(an_event(), header="CALSCALE:JULIAN"),
            "not a valid iCalendar file: Only Gregorian calendars are supported.",
            "RRULE",
        ),
    ],
    ids=[
        "empty-file",
        "plain-text",
        "no-calendar-around-the-event",
        "a-bare-vevent",
        "cut-short",
        "latin-1-text",
        "julian-calendar",
    ],
)
def test_a_file_that_is_not_a_usable_icalendar_is_refused(
    data: bytes, message: str, hint: str
) -> None:
    error = error_of(data)
    assert type(error) is ConfigError
    assert error.message.startswith(message), error.message
    assert hint in (error.hint or "")


@pytest.mark.parametrize(
    ("extra", "message", "field"),
    [
        ("X-LAUNCHDECK-TIER:4", "tier '4' (from X-LAUNCHDECK-TIER) is not 1, 2 or 3", "tier"),
        ("DESCRIPTION:tier: one", "tier 'one' (from DESCRIPTION) is not 1, 2 or 3", "tier"),
        ("CATEGORIES:tier-0", "tier '0' (from CATEGORIES) is not 1, 2 or 3", "tier"),
        (
            "X-LAUNCHDECK-REVENUE-PER-HOUR:-5",
            "revenue per hour '-5' (from X-LAUNCHDECK-REVENUE-PER-HOUR) is not a non-negative "
            "number",
            "revenue_per_hour",
        ),
        (
            "DESCRIPTION:revenue per hour: $12\\,000",
            "revenue per hour '$12,000' (from DESCRIPTION) is not a non-negative number",
            "revenue_per_hour",
        ),
        (
            "DESCRIPTION:revenue per hour: nan",
            "revenue per hour 'nan' (from DESCRIPTION) is not a non-negative number",
            "revenue_per_hour",
        ),
        (
            "X-LAUNCHDECK-REVENUE-PER-HOUR:inf",
            "revenue per hour 'inf' (from X-LAUNCHDECK-REVENUE-PER-HOUR) is not a non-negative "
            "number",
            "revenue_per_hour",
        ),
        (
            "X-LAUNCHDECK-CURRENCY:EURO",
            "currency 'EURO' (from X-LAUNCHDECK-CURRENCY) is not a currency code",
            "currency",
        ),
        (
            "CATEGORIES:system:web shop",
            "system 'web shop' (from CATEGORIES) is not a system id",
            "system",
        ),
    ],
    ids=[
        "tier-out-of-range",
        "tier-not-a-number",
        "tier-zero-in-categories",
        "negative-revenue",
        "revenue-with-currency-sign",
        "revenue-nan",
        "revenue-infinite",
        "currency-not-three-letters",
        "system-not-an-id",
    ],
)
def test_a_bad_mapped_value_is_refused_naming_event_value_and_source(
    extra: str, message: str, field: str
) -> None:
    error = error_of(calendar(an_event(extra)))
    assert error.message == f"{EVENT}: {message}"
    assert error.field == field
    assert error.hint is not None


@pytest.mark.parametrize(
    ("times", "message", "hint"),
    [
        (
            "DTSTART:20260504T090000Z\nDTEND:20260504T080000Z",
            f"{EVENT} ends (2026-05-04T08:00:00+00:00) before it starts "
            "(2026-05-04T09:00:00+00:00)",
            "DTEND after its DTSTART",
        ),
        (
            "DTSTART:20260504T090000Z\nDURATION:-PT1H",
            f"{EVENT} ends (2026-05-04T08:00:00+00:00) before it starts "
            "(2026-05-04T09:00:00+00:00)",
            "positive DURATION",
        ),
        (
            "DTSTART:20260504T090000Z",
            f"{EVENT} ends (2026-05-04T09:00:00+00:00) when it starts (2026-05-04T09:00:00+00:00)",
            "DTEND after its DTSTART",
        ),
        ("DTEND:20260504T090000Z", f"{EVENT} has no DTSTART", "give the event a start"),
        (
            "DTSTART:next monday\nDTEND:20260504T090000Z",
            f"{EVENT}: DTSTART is not valid: ",
            "20261127T090000",
        ),
        (
            "DTSTART;VALUE=TIME:090000",
            f"{EVENT}: DTSTART is not a date or a date-time",
            "20261127T090000",
        ),
        (
            "DTSTART:20260504T090000Z\nDURATION:two hours",
            f"{EVENT}: DURATION is not valid: ",
            "PT2H",
        ),
        (
            "DTSTART:20260504T090000Z\nDTEND:20260504T100000Z\nRRULE:FREQ=SOMETIMES",
            f"{EVENT}: RRULE is not valid: Expected frequency, got: SOMETIMES",
            "FREQ=WEEKLY",
        ),
        (
            "DTSTART:20260504T090000Z\nDTEND:20260504T100000Z\nRRULE:FREQ=DAILY\nEXDATE:soon",
            f"{EVENT}: EXDATE is not valid: ",
            "20261127T090000",
        ),
        (
            "DTSTART:00010101T090000\nDTEND:00010101T100000",
            f"{EVENT}: DTSTART is in the year 1, not between 1970 and 2999",
            "20261127T090000",
        ),
        (
            "DTSTART:20260504T090000Z\nDURATION:P9999999D",
            f"{EVENT}: the end is in the year 9999, not between 1970 and 2999",
            "20261127T090000",
        ),
        (
            "DTSTART:20260504T090000Z\nDTEND:20260504T090100Z\nRRULE:FREQ=MINUTELY",
            f"{EVENT} repeats MINUTELY: a campaign repeats at most hourly",
            "FREQ=HOURLY",
        ),
    ],
    ids=[
        "dtend-before-dtstart",
        "negative-duration",
        "no-length",
        "no-dtstart",
        "dtstart-not-a-date",
        "dtstart-a-time-of-day",
        "duration-not-a-duration",
        "rrule-unknown-frequency",
        "exdate-not-a-date",
        "year-one",
        "duration-past-the-year-9999",
        "repeats-every-minute",
    ],
)
def test_bad_event_times_are_refused_naming_the_event(times: str, message: str, hint: str) -> None:
    error = error_of(calendar(an_event(times=times)))
    assert error.message.startswith(message), error.message  # a library's detail may follow
    assert hint in (error.hint or "")


def test_an_end_before_start_in_the_gap_of_a_spring_forward_is_refused() -> None:
    # 02:30 does not exist and reads as 07:30Z; 03:00 EDT is 07:00Z, before it.
    times = (
        "DTSTART;TZID=America/New_York:20260308T023000\nDTEND;TZID=America/New_York:20260308T030000"
    )
    error = error_of(calendar(an_event(times=times)))
    assert error.message == (
        f"{EVENT} ends (2026-03-08T07:00:00+00:00) before it starts (2026-03-08T07:30:00+00:00)"
    )


def test_a_runaway_series_is_refused_before_it_floods_the_calendar() -> None:
    times = "DTSTART:20260504T090000Z\nDTEND:20260504T091000Z\nRRULE:FREQ=HOURLY"
    error = error_of(calendar(an_event(times=times)), start=utc(2026, 5, 1), end=utc(2026, 12, 1))
    assert error.message.startswith("the events occur ")
    assert error.message.endswith(" times in the window, more than 5000")


def test_no_library_exception_escapes_on_a_damaged_file() -> None:
    data = (FIXTURES / "google-retail.ics").read_bytes()
    outcomes = set()
    for cut in range(0, len(data), 97):
        damaged = data[:cut] + data[cut + 7 :]  # drop seven bytes somewhere
        try:
            read(damaged)
            outcomes.add("read")
        except ConfigError:
            outcomes.add("refused")
    assert outcomes == {"read", "refused"}


# -- Export ------------------------------------------------------------------------------------

GENERATED_AT = utc(2026, 11, 1, 12)


def a_freeze(freeze_id: str = "black-friday-tier-1", **fields: object) -> FreezeWindow:
    values: dict[str, object] = {
        "id": freeze_id,
        "kind": FreezeKind.CAMPAIGN,
        "name": "Black Friday",
        "starts_at": utc(2026, 11, 26, 5),
        "ends_at": utc(2026, 11, 30, 5),
        "allow": frozenset({ChangeType.HOTFIX, ChangeType.ROLLBACK}),
        "reason": "tier 1 campaign",
    }
    return FreezeWindow(**{**values, **fields})  # type: ignore[arg-type]


def export(campaigns: list[Campaign], freezes: list[FreezeWindow]) -> bytes:
    return export_calendar(
        campaigns,
        freezes,
        calendar_name="Shop: campaigns, freezes",
        generated_at=GENERATED_AT,
    )


def events_of(data: bytes) -> list[icalendar.Component]:
    parsed = icalendar.Calendar.from_ical(data)
    return list(parsed.walk("VEVENT"))


def test_export_writes_a_calendar_header() -> None:
    parsed = icalendar.Calendar.from_ical(export([], []))
    assert (str(parsed["PRODID"]), str(parsed["VERSION"])) == (PRODID, "2.0")
    assert str(parsed["CALSCALE"]) == "GREGORIAN"
    assert str(parsed["X-WR-CALNAME"]) == "Shop: campaigns\\, freezes"  # kept escaped (X-)


def test_export_writes_a_campaign_event_in_utc() -> None:
    campaign = a_campaign_model(
        "black-friday",
        name="Black Friday",
        tier=1,
        revenue_per_hour=12000.5,
        systems=("storefront", "checkout"),
        description="Doorbusters all day.",
    )
    data = export([campaign], [])
    (event,) = events_of(data)
    assert str(event["UID"]) == "campaign-black-friday@launchdeck"
    assert str(event["SUMMARY"]) == "Black Friday"
    assert (event["DTSTART"].dt, event["DTEND"].dt) == (utc(2026, 11, 27, 5), utc(2026, 11, 28, 5))
    assert event["DTSTAMP"].dt == GENERATED_AT
    assert event["CATEGORIES"].cats == ["campaign", "tier-1"]
    assert str(event["DESCRIPTION"]) == (
        "tier: 1\nrevenue per hour: 12000.5\ncurrency: USD\nsystems: storefront, checkout"
        "\n\nDoorbusters all day."
    )
    assert b"\r\nDTSTART:20261127T050000Z\r\n" in data


def test_export_writes_a_freeze_event() -> None:
    (event,) = events_of(export([], [a_freeze()]))
    assert str(event["UID"]) == "freeze-black-friday-tier-1@launchdeck"
    assert str(event["SUMMARY"]) == "Deploy freeze: Black Friday"
    assert (event["DTSTART"].dt, event["DTEND"].dt) == (utc(2026, 11, 26, 5), utc(2026, 11, 30, 5))
    assert event["CATEGORIES"].cats == ["freeze"]
    assert str(event["DESCRIPTION"]) == (
        "Allowed changes: rollback, hotfix\nFrozen systems: all systems\n"
        "Environments: all production-like environments\nReason: tier 1 campaign"
    )


def test_export_of_a_freeze_names_its_systems_and_environments() -> None:
    freeze = a_freeze(
        systems=frozenset({"checkout", "cms"}), environments=frozenset({"production"}), reason=None
    )
    (event,) = events_of(export([], [freeze]))
    assert str(event["DESCRIPTION"]) == (
        "Allowed changes: rollback, hotfix\nFrozen systems: checkout, cms\nEnvironments: production"
    )


def test_export_is_sorted_by_start_then_uid_and_does_not_depend_on_input_order() -> None:
    early = a_campaign_model("early", starts_at=utc(2026, 11, 1), ends_at=utc(2026, 11, 2))
    late = a_campaign_model("late")
    freeze = a_freeze(starts_at=late.starts_at, ends_at=late.ends_at)
    forward, backward = export([early, late], [freeze]), export([late, early], [freeze])
    assert forward == backward
    assert [str(e["UID"]) for e in events_of(forward)] == [
        "campaign-early@launchdeck",
        "campaign-late@launchdeck",
        "freeze-black-friday-tier-1@launchdeck",
    ]
    assert max(len(line) for line in forward.split(b"\r\n")) <= 75


ROUND_TRIP = [
    a_campaign_model(
        "black-friday",
        name="Black Friday; doorbusters, all day",
        tier=1,
        revenue_per_hour=25000,
        systems=("storefront", "checkout"),
        channels=("email", "paid social"),
        description="Hero and cart upsell switch at midnight.\ntier 3 is not a mapping line here",
    ),
    a_campaign_model(
        "cyber-monday",
        name="Cyber Monday",
        starts_at=utc(2026, 11, 30, 5),
        ends_at=utc(2026, 12, 1, 5),
        tier=2,
        revenue_per_hour=1234.56,
        currency="EUR",
    ),
    a_campaign_model("quiet", name="Quiet week", tier=3, revenue_per_hour=0.0),
]


@pytest.mark.parametrize(
    "campaign", ROUND_TRIP, ids=["every-field", "fractional-revenue", "nothing-mapped"]
)
def test_export_reads_back_to_the_same_campaign(campaign: Campaign) -> None:
    feed = a_feed(tier=2, revenue_per_hour=1, currency="GBP", systems=["fallback"], channels=["x"])
    (copy,) = read(export([campaign], [a_freeze()]), feed=feed)
    assert (copy.name, copy.start, copy.end) == (
        campaign.name,
        campaign.starts_at,
        campaign.ends_at,
    )
    assert (copy.tier, copy.currency) == (campaign.tier, campaign.currency)
    assert copy.revenue_per_hour == pytest.approx(campaign.revenue_per_hour)
    assert (copy.systems, copy.channels) == (campaign.systems, campaign.channels)
    assert copy.description == campaign.description


def test_window_instants_must_be_aware() -> None:
    with pytest.raises(ValueError, match="window_start must be an aware datetime"):
        read(calendar(an_event()), start=datetime(2026, 1, 1))


def test_zoneinfo_agrees_with_the_hand_worked_offsets() -> None:
    new_york, berlin = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
    assert datetime(2026, 3, 7, 20, tzinfo=new_york).utcoffset() == timedelta(hours=-5)
    assert datetime(2026, 3, 8, 20, tzinfo=new_york).utcoffset() == timedelta(hours=-4)
    assert datetime(2026, 11, 1, 3, tzinfo=new_york).utcoffset() == timedelta(hours=-5)
    assert datetime(2026, 3, 28, 9, tzinfo=berlin).utcoffset() == timedelta(hours=1)
    assert datetime(2026, 3, 30, 9, tzinfo=berlin).utcoffset() == timedelta(hours=2)
    assert datetime(2026, 10, 26, 10, tzinfo=berlin).utcoffset() == timedelta(hours=1)
