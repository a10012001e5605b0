"""A shipment's status from its milestones, with the transitions allowed (no I/O).

registered -> in_transit -> at_site / held -> delivered, and exception beside them: a
milestone whose status is not reachable from the current one changes nothing (nothing moves a
delivered shipment back). A carrier's manual change is applied where it falls in time, as it
was made, and the milestones after it go on from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from tagtrail_collector.journey.milestones import Milestone

REGISTERED, IN_TRANSIT, AT_SITE, HELD = "registered", "in_transit", "at_site", "held"
EXCEPTION, DELIVERED, CANCELLED = "exception", "delivered", "cancelled"

ALLOWED: Final[dict[str, frozenset[str]]] = {
    REGISTERED: frozenset({IN_TRANSIT, AT_SITE, HELD, EXCEPTION, DELIVERED}),
    IN_TRANSIT: frozenset({AT_SITE, HELD, EXCEPTION, DELIVERED}),
    AT_SITE: frozenset({IN_TRANSIT, HELD, EXCEPTION, DELIVERED}),
    HELD: frozenset({IN_TRANSIT, AT_SITE, EXCEPTION, DELIVERED}),
    EXCEPTION: frozenset({IN_TRANSIT, AT_SITE, HELD, DELIVERED}),
    DELIVERED: frozenset(),
    CANCELLED: frozenset(),
}
STATUS_OF: Final[dict[str, str]] = {
    "arrived": AT_SITE,
    "departed": IN_TRANSIT,
    "loaded": IN_TRANSIT,
    "unloaded": AT_SITE,
    "crossed_border": IN_TRANSIT,
    "customs_hold": HELD,
    "customs_released": AT_SITE,
    "delivered": DELIVERED,
    "exception": EXCEPTION,
}


@dataclass(frozen=True, slots=True)
class Transition:
    time_ns: int
    from_status: str
    to_status: str
    cause: str
    manual: bool = False


def transitions(
    milestones: Sequence[tuple[str, Milestone]], manual: Iterable[Transition]
) -> tuple[list[Transition], str]:
    """The derived transitions of (milestone id, milestone) pairs in time order, interleaved
    with the manual ones (not returned: they are kept as recorded); and the status now."""
    status = REGISTERED
    derived: list[Transition] = []
    steps: list[tuple[int, int, Transition | tuple[str, Milestone]]] = [
        (m.time_ns, 1, (mid, m)) for mid, m in milestones
    ]
    steps += [(t.time_ns, 0, t) for t in manual]
    for _, _, step in sorted(steps, key=lambda s: (s[0], s[1])):
        if isinstance(step, Transition):
            status = step.to_status
            continue
        mid, milestone = step
        target = STATUS_OF[milestone.type]
        if target == status or target not in ALLOWED.get(status, frozenset()):
            continue
        derived.append(Transition(milestone.time_ns, status, target, f"{milestone.type} {mid}"))
        status = target
    return derived, status
