"""Synthetic checkout-api traffic for the demo's SLO chapter, as OpenMetrics for `promtool`.

Four weeks of `http_requests_total{service="checkout-api",code=...}` counters at one sample a
minute up to the given instant: a daily rhythm with a 0.04 % error floor, then Black Friday
(from midnight New York) at four times the traffic, a payment-provider outage at 25 % errors
for 45 minutes and a tail of 1 % errors after it, and at 10:06 New York time the bad deploy of
the incident chapter: 60 % of card payments fail until its rollback at 10:29.
`promtool tsdb create-blocks-from openmetrics` turns the file into TSDB blocks a real
Prometheus serves.

    python scripts/demo_traffic.py 2026-11-27T08:00:00Z out.om
"""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime, timedelta

BLACK_FRIDAY = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # 00:00 in New York
OUTAGE = (datetime(2026, 11, 27, 6, 30, tzinfo=UTC), timedelta(minutes=45))
BAD_DEPLOY = (datetime(2026, 11, 27, 15, 6, tzinfo=UTC), timedelta(minutes=23))
HISTORY = timedelta(days=29)


def per_minute(at: datetime) -> tuple[float, float]:
    """(requests, error ratio) in the minute starting at `at`."""
    hour = (at.hour - 5) % 24 + at.minute / 60  # New York local hour
    requests = 1500 + 600 * math.sin((hour - 9) / 24 * 2 * math.pi)
    errors = 0.0004
    if at >= BLACK_FRIDAY:
        requests *= 4
        start, length = OUTAGE
        deploy, broken = BAD_DEPLOY
        if start <= at < start + length:
            errors = 0.25
        elif deploy <= at < deploy + broken:
            errors = 0.60
        elif start + length <= at:
            errors = 0.01
    return requests, errors


def main(until: datetime, path: str) -> None:
    start = until - HISTORY
    ok = bad = 0.0
    lines = ["# HELP http_requests Requests served.", "# TYPE http_requests counter"]
    samples: list[tuple[str, float, float]] = []
    at = start
    while at <= until:
        stamp = at.timestamp()
        samples.append(("200", ok, stamp))
        samples.append(("500", bad, stamp))
        requests, errors = per_minute(at)
        bad += requests * errors
        ok += requests * (1 - errors)
        at += timedelta(minutes=1)
    for code in ("200", "500"):
        lines += [
            f'http_requests_total{{service="checkout-api",code="{code}"}} {value:.3f} {ts:.0f}'
            for c, value, ts in samples
            if c == code
        ]
    lines.append("# EOF")
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00")), sys.argv[2])
