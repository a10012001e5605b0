"""Estimated arrival from the lane's own history (no I/O).

A lane is (from site, how the clock starts there: ``arrived`` or ``departed``, to site). Every
shipment that went from one site to another later one leaves a transfer: its duration. The ETA
of a shipment to its destination starts from its latest milestone at a site for which the lane
to the destination has history: that time plus the median of past durations, with the 90th
percentile and how many transfers back it. No history, no ETA: never a guess shown as data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tagtrail_collector.journey.milestones import NS, Milestone

_STARTS = ("arrived", "departed")
_ENDS = ("arrived", "delivered")


@dataclass(frozen=True, slots=True)
class Transfer:
    from_site: str
    from_event: str
    to_site: str
    started_ns: int
    duration_s: float


@dataclass(frozen=True, slots=True)
class Eta:
    time_ns: int
    p90_ns: int
    from_site: str
    from_event: str
    from_time_ns: int
    transfers: int


def transfers(milestones: Sequence[Milestone]) -> list[Transfer]:
    """Each (arrived/departed at X, first later arrival at Y != X) pair of one shipment."""
    found: dict[tuple[str, str, str], Transfer] = {}
    ordered = sorted(milestones, key=lambda m: m.time_ns)
    for index, start in enumerate(ordered):
        if start.type not in _STARTS or start.site is None:
            continue
        for end in ordered[index + 1 :]:
            if end.type not in _ENDS or end.site is None or end.site == start.site:
                continue
            key = (start.site, start.type, end.site)
            if key not in found:
                found[key] = Transfer(start.site, start.type, end.site, start.time_ns,
                                      (end.time_ns - start.time_ns) / NS)  # fmt: skip
    return list(found.values())


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def estimate(
    milestones: Sequence[Milestone],
    destination: str | None,
    history: Callable[[str, str, str], list[float]],
) -> Eta | None:
    """The ETA to ``destination``; ``history(from_site, from_event, to_site)`` gives the past
    durations of a lane (other shipments only). None when delivered or without history."""
    if destination is None or any(m.type == "delivered" for m in milestones):
        return None
    for start in sorted(milestones, key=lambda m: m.time_ns, reverse=True):
        if start.type not in _STARTS or start.site is None or start.site == destination:
            continue
        durations = history(start.site, start.type, destination)
        if durations:
            return Eta(
                time_ns=start.time_ns + int(percentile(durations, 50) * NS),
                p90_ns=start.time_ns + int(percentile(durations, 90) * NS),
                from_site=start.site, from_event=start.type, from_time_ns=start.time_ns,
                transfers=len(durations),
            )  # fmt: skip
    return None
