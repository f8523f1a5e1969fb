"""Rows the calendar and the gate read: campaign occurrences by time, ad-hoc freezes, overrides."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from launchdeck.calendar.model import ChangeType, FreezeKind, FreezeWindow, Occurrence
from launchdeck.errors import NotFound
from launchdeck.gate.model import Override
from launchdeck.store.tables import CampaignRow, FreezeRow, OverrideRow

__all__ = ["SqlCalendarStore"]


def _window(row: FreezeRow) -> FreezeWindow:
    return FreezeWindow(
        id=f"adhoc:{row.id}",
        kind=FreezeKind.ADHOC,
        name=row.reason,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        allow=frozenset(ChangeType(a) for a in row.allow),
        systems=frozenset({row.system}) if row.system else frozenset(),
        environments=frozenset({row.environment}) if row.environment else frozenset(),
        reason=f"added by {row.created_by}",
    )


def _override(row: OverrideRow) -> Override:
    return Override(
        id=row.id,
        system=row.system,
        environment=row.environment,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
    )


class SqlCalendarStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def occurrences(
        self, start: datetime, end: datetime, *, longest: timedelta | None = None
    ) -> list[Occurrence]:
        """Campaign occurrences overlapping [start, end).

        With `longest` (the longest campaign), only the index range of starts in
        [start - longest, end) is read, however many years of campaigns are stored.
        """
        conditions = [CampaignRow.starts_at < end, CampaignRow.ends_at > start]
        if longest is not None:
            conditions.append(CampaignRow.starts_at >= start - longest)
        c = CampaignRow
        # Plain rows rather than ORM objects: a check reads up to a few thousand of them.
        rows = self.session.execute(
            select(
                c.id,
                c.name,
                c.starts_at,
                c.ends_at,
                c.tier,
                c.revenue_per_hour,
                c.currency,
                c.systems,
                c.timezone,
                c.source,
            )
            .where(*conditions)
            .order_by(c.starts_at, c.id)
        )
        return [
            Occurrence(
                campaign_id=r.id,
                name=r.name,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
                tier=r.tier,
                revenue_per_hour=r.revenue_per_hour,
                currency=r.currency,
                systems=tuple(r.systems),
                timezone=r.timezone,
                source=r.source,
            )
            for r in rows
        ]

    def freezes(self, start: datetime, end: datetime) -> list[FreezeWindow]:
        """Ad-hoc freezes in force at some point of [start, end) and not lifted."""
        rows = self.session.scalars(
            select(FreezeRow)
            .where(
                FreezeRow.lifted_at.is_(None), FreezeRow.ends_at > start, FreezeRow.starts_at < end
            )
            .order_by(FreezeRow.starts_at, FreezeRow.id)
        )
        return [_window(r) for r in rows]

    def add_freeze(self, row: FreezeRow) -> FreezeWindow:
        self.session.add(row)
        return _window(row)

    def lift_freeze(self, freeze_id: str, *, now: datetime) -> FreezeWindow:
        row = self.session.get(FreezeRow, freeze_id.removeprefix("adhoc:"))
        if row is None or row.lifted_at is not None:
            raise NotFound(f"no active freeze {freeze_id!r}", hint="see 'launchdeck freeze list'")
        row.lifted_at = now
        return _window(row)

    def overrides(self, at: datetime) -> list[Override]:
        """Overrides that have not ended by `at`."""
        rows = self.session.scalars(
            select(OverrideRow).where(OverrideRow.ends_at > at).order_by(OverrideRow.starts_at)
        )
        return [_override(r) for r in rows]

    def add_override(self, row: OverrideRow) -> Override:
        self.session.add(row)
        return _override(row)
