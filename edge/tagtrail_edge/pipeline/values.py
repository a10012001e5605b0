"""The values that pass between the stages of the gateway's pipeline, frozen and typed.

read (drivers) -> ``TagRead``/``Fix`` -> smooth -> :class:`Event` (and its :class:`Track`
state) -> enrich -> wire items -> :class:`Commit` -> outbox -> publish. Stages import these,
never each other; ``agent.py`` wires them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tagtrail_hardware.reads import TagRead
from tagtrail_protocol import Kind

EventType = Literal["arrive", "observe", "depart"]


@dataclass(frozen=True, slots=True)
class Track:
    """What smoothing knows about one tag at one read point."""

    epc: str
    read_point: str
    antenna: int
    first_seen: float
    last_seen: float
    count: int
    peak_rssi: float | None
    mono_ns: int
    observed: bool
    grace_until: float = 0.0
    summarised_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Event:
    """A smoothed event, in the units of the reads (Unix seconds)."""

    type: EventType
    epc: str
    read_point: str
    antenna: int
    first_seen: float
    last_seen: float
    count: int
    peak_rssi: float | None
    mono_ns: int

    @property
    def dwell_s(self) -> float:
        return self.last_seen - self.first_seen

    @property
    def time(self) -> float:
        return self.first_seen if self.type == "arrive" else self.last_seen


@dataclass(frozen=True, slots=True)
class Commit:
    """What one group commit writes to the outbox in one transaction."""

    items: list[tuple[Kind, str]] = field(default_factory=list)
    """wire items (kind, JSON body), in order"""
    saved: list[Track] = field(default_factory=list)
    """smoothing state that changed"""
    deleted: list[tuple[str, str]] = field(default_factory=list)
    """(epc, read point) of tracks that ended"""
    raw: list[TagRead] = field(default_factory=list)
    """the raw reads, when the audit trail is kept"""


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch ready to send: its identity and its items' JSON bodies, in outbox order."""

    id: int
    boot_id: str
    seq: int
    kind: Kind
    bodies: tuple[str, ...]
    attempts: int
