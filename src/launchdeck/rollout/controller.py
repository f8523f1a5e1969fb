"""One pass of the release controller over one release on an nginx-static site.

`tick` is what a controller does every few seconds: start or move the release on (asking the
gate), take the measurements that are due from the access log and record them (a failing
analysis rolls the release back, an inconclusive one pauses it), and make the site serve what
the release now wants (`reconcile`). It returns the new release value, which the caller
persists; after a crash, the next `tick` on the persisted value reconciles the site again.

Canary releases only for now: a blue-green release's analysis compares the new colour with
the period before the switch (no variant runs beside it), which the access log source does not
give yet. Still to come around it (issue 6): persisting releases in the state store with one active
release per system and environment, running ticks on a schedule, the CLI and API, hooks,
notifications and incidents on rollback.
"""

from __future__ import annotations

from datetime import datetime

from launchdeck.rollout.access_log import AccessLog
from launchdeck.rollout.measure import measure
from launchdeck.rollout.reconcile import reconcile
from launchdeck.rollout.release import (
    GateView,
    Phase,
    Release,
    advance,
    desired,
    due,
    measured_metrics,
    record,
    start,
)
from launchdeck.rollout.targets.nginx import NginxStatic

__all__ = ["tick"]


def tick(
    release: Release, *, site: NginxStatic, log: AccessLog, now: datetime, gate: GateView
) -> Release:
    """One pass: progress, measure what is due, reconcile the site; the new release."""
    if release.phase is Phase.PENDING:
        log.reset()  # the judge compares canary and stable from the moment the canary starts
        release = start(release, now, gate=gate)
    else:
        release = advance(release, now, gate=gate)
    reconcile(site, desired(release))
    for which in due(release, now):
        metrics = measured_metrics(release, which)
        release = record(release, which, measure(release.strategy, metrics, log.read(), now), now)
        if release.phase is not Phase.PROGRESSING:
            break
    release = advance(release, now, gate=gate)
    reconcile(site, desired(release))
    return release
