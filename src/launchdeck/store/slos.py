"""Rows the SLO capability reads: SLOs by system, and campaigns that protect an SLO."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from launchdeck.errors import NotFound
from launchdeck.store.tables import CampaignRow, SloRow, WorkspaceRow
from launchdeck.workspace.model import Campaign, Slo

__all__ = ["SqlSloStore"]


def _slo(row: SloRow) -> Slo:
    return Slo(
        id=row.id,
        system=row.system,
        file=row.file,
        document=row.document,
        datasource=row.datasource,
    )


class SqlSloStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def slos(self, system: str | None = None) -> list[Slo]:
        query = select(SloRow).order_by(SloRow.system, SloRow.id)
        if system is not None:
            query = query.where(SloRow.system == system)
        return [_slo(row) for row in self.session.scalars(query)]

    def slo(self, name: str) -> Slo:
        row = self.session.get(SloRow, name)
        if row is None:
            raise NotFound(f"no SLO {name!r}", hint="list them with 'launchdeck slo list'")
        return _slo(row)

    def reliability(self) -> dict[str, object] | None:
        row = self.session.get(WorkspaceRow, 1)
        return row.reliability if row is not None else None

    def protecting_campaigns(self, start: datetime, end: datetime) -> list[Campaign]:
        """Campaigns overlapping [start, end) that hold some SLO to a stricter objective."""
        rows = self.session.scalars(
            select(CampaignRow)
            .where(CampaignRow.starts_at < end, CampaignRow.ends_at > start)
            .order_by(CampaignRow.starts_at, CampaignRow.id)
        )
        return [
            Campaign.model_validate({f: getattr(row, f) for f in Campaign.model_fields})
            for row in rows
            if row.slo_objectives
        ]
