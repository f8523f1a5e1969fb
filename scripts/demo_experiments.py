"""Synthetic Black Friday traffic for the demo's experiments chapter, as JSON lines.

Two experiments of examples/black-friday run on the same landing page from Black Friday 00:00 (New
York) until the demo's pinned "now" (Saturday 12:00 UTC):

- bf-hero-copy: implemented right. Visitors are assigned by launchdeck's bucketing spec (salt =
  experiment key), those without analytics consent see the control copy and log no exposure,
  and the "urgency" copy really converts better (+20 %).
- bf-free-shipping: implemented wrong, twice. The banner variant's page redirects Safari
  visitors through a slow geo check that drops a third of them before the exposure is logged
  (a sample ratio mismatch that only Safari explains), and a deploy on Saturday broke the
  banner page's purchase tag (no purchases logged for that variant from then on).

`python scripts/demo_experiments.py OUT.jsonl [--visitors N] [--seed S]` writes exposures and
metric events (purchase with its value, add_to_cart) for `launchdeck events import`.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from launchdeck.flags.bucketing import pick_variant

START = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # Black Friday 00:00 in New York
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TAG_BROKEN = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
BROWSERS = (("chrome", 0.58), ("safari", 0.32), ("firefox", 0.06), ("edge", 0.04))
CHANNELS = (("email", 0.3), ("paid-search", 0.3), ("paid-social", 0.25), ("organic", 0.15))
COUNTRIES = (("US", 0.8), ("CA", 0.12), ("GB", 0.08))
CONSENT = 0.9
PURCHASE_RATE = 0.032
CART_RATE = 0.09
HERO_LIFT = 1.2
"""The urgency copy really works."""
SHIPPING_LIFT = 1.04


def _pick(rng: np.random.Generator, table: tuple[tuple[str, float], ...], n: int) -> list[str]:
    names = [name for name, _ in table]
    return list(rng.choice(names, size=n, p=[p for _, p in table]))


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _exposure(
    key: str, unit: str, variant: str, at: datetime, attributes: dict[str, str]
) -> dict[str, object]:
    return {
        "type": "exposure",
        "id": f"{key}:{unit}",
        "experiment": key,
        "variant": variant,
        "unit": unit,
        "timestamp": _stamp(at),
        "attributes": attributes,
    }


def visitors(n: int, rng: np.random.Generator) -> list[dict[str, object]]:
    """The events of `n` landing-page visitors: each is in both experiments (assigned by the
    bucketing spec), converts at a rate both variants they see move, and is tracked only with
    analytics consent."""
    span = (NOW - START).total_seconds()
    arrivals = np.sort(rng.uniform(0, span, size=n))
    browsers, channels = _pick(rng, BROWSERS, n), _pick(rng, CHANNELS, n)
    countries = _pick(rng, COUNTRIES, n)
    consent = rng.random(n) < CONSENT
    halves = [50_000, 50_000]
    out: list[dict[str, object]] = []
    for i in range(n):
        if not consent[i]:
            continue  # control copy, no banner, and no analytics tracking at all
        unit = f"v-{i:06d}"
        at = START + timedelta(seconds=float(arrivals[i]))
        attributes = {
            "browser": browsers[i],
            "channel": channels[i],
            "country": countries[i],
            "consent": "granted",
        }
        hero = pick_variant("bf-hero-copy", unit, ["control", "urgency"], halves)
        shipping = pick_variant("bf-free-shipping", unit, ["control", "banner"], halves)
        out.append(_exposure("bf-hero-copy", unit, hero, at, attributes))
        # The banner page's geo redirect loses a third of Safari visitors before the exposure
        # is logged: a sample ratio mismatch that only Safari explains.
        if not (shipping == "banner" and browsers[i] == "safari" and rng.random() < 1 / 3):
            out.append(_exposure("bf-free-shipping", unit, shipping, at, attributes))
        lift = (HERO_LIFT if hero == "urgency" else 1.0) * (
            SHIPPING_LIFT if shipping == "banner" else 1.0
        )
        if rng.random() < CART_RATE * lift:
            cart_at = at + timedelta(minutes=float(rng.uniform(1, 20)))
            if cart_at < NOW:
                out.append(
                    {
                        "type": "metric",
                        "id": f"cart:{unit}",
                        "event": "add_to_cart",
                        "unit": unit,
                        "timestamp": _stamp(cart_at),
                    }
                )
        if rng.random() < PURCHASE_RATE * lift:
            bought = at + timedelta(minutes=float(rng.uniform(3, 45)))
            if bought >= NOW or (shipping == "banner" and bought >= TAG_BROKEN):
                continue  # not yet, or lost: the banner page's purchase tag broke on Saturday
            value = round(float(rng.lognormal(mean=4.2, sigma=0.6)), 2)
            if rng.random() < 0.001:
                value = round(value * 15, 2)  # a rare B2B order: capping keeps it in check
            out.append(
                {
                    "type": "metric",
                    "id": f"buy:{unit}",
                    "event": "purchase",
                    "unit": unit,
                    "value": value,
                    "timestamp": _stamp(bought),
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--visitors", type=int, default=80_000)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    events = visitors(args.visitors, rng)
    events.sort(key=lambda e: str(e["timestamp"]))
    with args.out.open("w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event, separators=(",", ":")) + "\n")
    exposures = sum(1 for e in events if e["type"] == "exposure")
    print(f"{len(events):,} events ({exposures:,} exposures) → {args.out}")


if __name__ == "__main__":
    main()
