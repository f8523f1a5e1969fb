"""Make an nginx-static site serve what a release wants (`release.desired`), from whatever it
serves now. Idempotent and safe to interrupt anywhere.

Every change is one atomic operation on the site (a symlink renamed into place, or split.conf
renamed into place and nginx reloaded), done in an order that never serves a half state:

1. the canary link is pointed before any weight sends visitors to it;
2. a canary is taken out by its weight first (reload), then its link;
3. stable and preview are single symlink swaps.

So a controller killed between two operations leaves a site that serves a valid state, and
the next `reconcile` (after a restart) reads what is served (`NginxStatic.served()`) and does
only what is left.
"""

from __future__ import annotations

from launchdeck.rollout.release import Desired
from launchdeck.rollout.targets.base import Target

__all__ = ["reconcile"]


def reconcile(site: Target, want: Desired) -> list[str]:
    """Bring `site` to `want`; the operations done, in order (none when it already serves it)."""
    done: list[str] = []
    served = site.served()
    if want.canary is not None and served.canary != want.canary:
        if served.weight > 0 and served.canary is not None:  # another canary is live: drain it
            site.set_weight(0)
            done.append("weight 0")
        site.point("canary", want.canary)
        done.append(f"canary → {want.canary}")
    if served.stable != want.stable:
        site.point("stable", want.stable)
        done.append(f"stable → {want.stable}")
    served = site.served()
    weight = want.weight if want.canary is not None else 0.0
    if served.weight != weight:
        site.set_weight(weight, canary=want.canary is not None)
        done.append(f"weight {weight:g}")
    if want.canary is None and served.canary is not None:
        site.point("canary", None)
        done.append("canary removed")
    if served.preview != want.preview:
        site.point("preview", want.preview)
        done.append(f"preview → {want.preview}")
    return done
