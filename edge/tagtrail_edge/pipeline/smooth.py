"""Smoothing, ALE-style, per (EPC, read point): glimpsed -> observed -> lost.

A tag is *glimpsed* at its first read. It becomes *observed* (an ``arrive`` event) once it has
``observe_count`` reads or has been seen for ``observe_s`` seconds. It is *lost* (a ``depart``
event) when no read came for ``lost_s`` seconds. A glimpse that never becomes observed is noise
and leaves no event. Optional ``observe`` summaries report a dwelling tag every ``summary_s``.

Pure and deterministic: reads carry their time and ``tick(now)`` is given the clock. The state
(:class:`Track`) is plain data so the outbox can persist it; after a restart, tracks restored
with ``restore`` get a fresh ``lost_s`` of grace, because a silent agent saw nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from tagtrail_edge.config import Thresholds
from tagtrail_edge.pipeline.values import Event, EventType, Track
from tagtrail_hardware.reads import TagRead


def _event(kind: EventType, track: Track) -> Event:
    return Event(
        kind, track.epc, track.read_point, track.antenna, track.first_seen, track.last_seen,
        track.count, track.peak_rssi, track.mono_ns,
    )  # fmt: skip


def _peak(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


class Smoother:
    """Turns raw reads into arrive/observe/depart events; remembers which tracks changed."""

    def __init__(
        self,
        *,
        read_point: Callable[[str, int], str],
        thresholds: Callable[[str], Thresholds],
    ) -> None:
        self._read_point = read_point
        self._thresholds = thresholds
        self._tracks: dict[tuple[str, str], Track] = {}
        self.changed: set[tuple[str, str]] = set()

    @property
    def tracks(self) -> dict[tuple[str, str], Track]:
        return self._tracks

    def restore(self, tracks: Iterable[Track], *, now: float) -> None:
        """Load persisted tracks; none of them can be lost before ``now + lost_s``."""
        for track in tracks:
            grace = now + self._thresholds(track.read_point).lost_s
            self._tracks[(track.epc, track.read_point)] = replace(track, grace_until=grace)

    def read(self, read: TagRead) -> list[Event]:
        point = self._read_point(read.reader, read.antenna)
        key = (read.epc, point)
        limits = self._thresholds(point)
        events: list[Event] = []
        track = self._tracks.get(key)
        if (
            track is not None
            and read.time - track.last_seen > limits.lost_s
            # With host timestamps, a gap that spans our own restart proves nothing: a read within
            # the grace continues the visit. A reader's own clock (it buffers) shows real gaps.
            and (read.reader_clock or read.time > track.grace_until)
        ):
            events += self._close(key, track)  # a gap in the reader's own time: it had gone
            track = None
        if track is None:
            track = Track(
                read.epc, point, read.antenna, read.time, read.time, 1, read.rssi_dbm,
                read.mono_ns, observed=False, summarised_at=read.time,
            )  # fmt: skip
        else:
            track = replace(
                track,
                last_seen=max(track.last_seen, read.time),
                count=track.count + 1,
                peak_rssi=_peak(track.peak_rssi, read.rssi_dbm),
                mono_ns=read.mono_ns,
            )
        if not track.observed and (
            track.count >= limits.observe_count
            or track.last_seen - track.first_seen >= limits.observe_s
        ):
            track = replace(track, observed=True)
            events.append(_event("arrive", track))
        elif (
            track.observed
            and limits.summary_s
            and track.last_seen - track.summarised_at >= limits.summary_s
        ):
            track = replace(track, summarised_at=track.last_seen)
            events.append(_event("observe", track))
        self._tracks[key] = track
        self.changed.add(key)
        return events

    def tick(self, now: float) -> list[Event]:
        """Close the tracks that have been silent for longer than their ``lost_s``."""
        events: list[Event] = []
        for key, track in list(self._tracks.items()):
            lost_s = self._thresholds(track.read_point).lost_s
            if now - track.last_seen > lost_s and now > track.grace_until:
                events += self._close(key, track)
        return events

    def _close(self, key: tuple[str, str], track: Track) -> list[Event]:
        del self._tracks[key]
        self.changed.add(key)
        return [_event("depart", track)] if track.observed else []

    def take_changes(self) -> tuple[list[Track], list[tuple[str, str]]]:
        """Tracks to save and keys to delete since the last call (for the outbox)."""
        saved = [self._tracks[k] for k in self.changed if k in self._tracks]
        deleted = [k for k in self.changed if k not in self._tracks]
        self.changed = set()
        return saved, deleted
