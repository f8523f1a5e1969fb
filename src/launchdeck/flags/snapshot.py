"""One environment's flags as providers and OFREP evaluate them: a `Snapshot`. Pure.

Campaign-tied schedule entries get their instant resolved here (a provider has no calendar),
changes already taken into the configuration are dropped, and the ETag is a digest of the
content, so two servers built from the same state answer the same ETag.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

from launchdeck.flags.model import EnvConfig, FlagSpec, SegmentSpec, Snapshot
from launchdeck.flags.schedule import CampaignEdges, instant

__all__ = ["build_snapshot", "flag_for_environment"]


def flag_for_environment(flag: FlagSpec, environment: str, campaigns: CampaignEdges) -> FlagSpec:
    """`flag` with only `environment`, its pending schedule resolved to instants."""
    config = flag.environment(environment)
    pending = []
    for change in config.schedule:
        if change.done_at is not None:
            continue
        at = instant(change, campaigns)
        if at is None:
            continue
        pending.append(change.model_copy(update={"at": at, "campaign": None}))
    resolved = EnvConfig(
        enabled=config.enabled,
        rules=config.rules,
        fallthrough=config.fallthrough,
        schedule=tuple(pending),
    )
    return flag.model_copy(update={"environments": {environment: resolved}})


def build_snapshot(
    flags: Sequence[FlagSpec],
    segments: Sequence[SegmentSpec],
    *,
    environment: str,
    revision: int,
    campaigns: CampaignEdges,
    now: datetime,
) -> Snapshot:
    reduced = tuple(flag_for_environment(f, environment, campaigns) for f in flags)
    body = {
        "environment": environment,
        "flags": [f.document() for f in reduced],
        "segments": [s.document() for s in segments],
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return Snapshot(
        environment=environment,
        revision=revision,
        etag=f'"{digest[:20]}"',
        generated_at=now,
        flags=reduced,
        segments=tuple(segments),
    )
