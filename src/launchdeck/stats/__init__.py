"""Pure statistics shared by experiments and the canary judge: NumPy and SciPy only.

Everything starts from per-arm sufficient statistics (`Moments`), so a warehouse scan of 100M
events hands over a few numbers per variant. Fixed-horizon tests live in `compare`, always-valid
ones in `sequential`, rank-based ones (Mann–Whitney, the canary judge's latency test) in
`ranks`; `correction`, `bayes`, `power` and `srm` read or plan around them. The
functions `sequential` and `srm` are imported from their modules (`launchdeck.stats.srm.srm`):
the package's own names are the modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launchdeck.stats.bayes import ExpectedLoss, chance_to_beat, expected_loss
    from launchdeck.stats.compare import (
        Comparison,
        Interval,
        Kind,
        arm_estimate,
        cuped,
        ratio,
        relative_lift,
        two_proportions,
        welch,
    )
    from launchdeck.stats.correction import benjamini_hochberg, holm
    from launchdeck.stats.moments import Moments
    from launchdeck.stats.power import (
        days_needed,
        power_means,
        power_proportions,
        reachable_mde,
        reachable_mde_means,
        sample_size_means,
        sample_size_proportions,
        sequential_sample_size,
    )
    from launchdeck.stats.ranks import ShiftEstimate, mann_whitney_shift
    from launchdeck.stats.sequential import (
        Harmful,
        OneSided,
        always_valid_p_value,
        boundary_multiplier,
        mixture_rho,
        sequential_one_sided,
    )
    from launchdeck.stats.srm import SRM_THRESHOLD, SrmResult

__all__ = [
    "SRM_THRESHOLD",
    "Comparison",
    "ExpectedLoss",
    "Harmful",
    "Interval",
    "Kind",
    "Moments",
    "OneSided",
    "ShiftEstimate",
    "SrmResult",
    "always_valid_p_value",
    "arm_estimate",
    "benjamini_hochberg",
    "boundary_multiplier",
    "chance_to_beat",
    "cuped",
    "days_needed",
    "expected_loss",
    "holm",
    "mann_whitney_shift",
    "mixture_rho",
    "power_means",
    "power_proportions",
    "ratio",
    "reachable_mde",
    "reachable_mde_means",
    "relative_lift",
    "sample_size_means",
    "sample_size_proportions",
    "sequential_one_sided",
    "sequential_sample_size",
    "two_proportions",
    "welch",
]

_HOME = {
    "Comparison": "compare",
    "ExpectedLoss": "bayes",
    "Harmful": "sequential",
    "Interval": "compare",
    "Kind": "compare",
    "Moments": "moments",
    "OneSided": "sequential",
    "SRM_THRESHOLD": "srm",
    "ShiftEstimate": "ranks",
    "SrmResult": "srm",
    "always_valid_p_value": "sequential",
    "arm_estimate": "compare",
    "benjamini_hochberg": "correction",
    "boundary_multiplier": "sequential",
    "chance_to_beat": "bayes",
    "cuped": "compare",
    "days_needed": "power",
    "expected_loss": "bayes",
    "holm": "correction",
    "mann_whitney_shift": "ranks",
    "mixture_rho": "sequential",
    "power_means": "power",
    "power_proportions": "power",
    "ratio": "compare",
    "reachable_mde": "power",
    "reachable_mde_means": "power",
    "relative_lift": "compare",
    "sample_size_means": "power",
    "sample_size_proportions": "power",
    "sequential_one_sided": "sequential",
    "sequential_sample_size": "power",
    "two_proportions": "compare",
    "welch": "compare",
}
"""Where each name lives: imported on first use, so `launchdeck.stats.moments` alone (what the
API server needs at start-up) does not load SciPy."""


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'launchdeck.stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"launchdeck.stats.{home}"), name)
    globals()[name] = value
    return value
