"""Hypothesis strategies that generate valid wire messages (for property-based tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from tagtrail_protocol.models import (
    MAX_SEQ,
    Ack,
    ClockSource,
    ClockState,
    DeviceState,
    EventKind,
    FixQuality,
    GatewayState,
    Health,
    Message,
    ObservationBatch,
    ObservationItem,
    Position,
    PositionBatch,
    PositionFix,
    Rejection,
    Status,
)

identifiers = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,30}", fullmatch=True)
times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
seqs = st.integers(min_value=0, max_value=MAX_SEQ)
epcs = st.integers(min_value=1, max_value=31).flatmap(
    lambda words: st.binary(min_size=2 * words, max_size=2 * words).map(lambda b: b.hex().upper())
)
_small_floats = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)
_lat = st.floats(min_value=-90.0, max_value=90.0, allow_nan=False)
_lon = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False)
_lat_lon = st.tuples(_lat, _lon).filter(lambda ll: not (ll[0] == 0.0 and ll[1] == 0.0))
_short_text = st.text(min_size=1, max_size=60)


@st.composite
def positions(draw: st.DrawFn) -> Position:
    lat, lon = draw(_lat_lon)
    return Position(
        lat=lat, lon=lon, fix_age_s=draw(_small_floats), hdop=draw(st.none() | _small_floats)
    )


@st.composite
def observation_items(draw: st.DrawFn) -> ObservationItem:
    first = draw(times)
    last = first + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)))
    return ObservationItem(
        epc=draw(epcs),
        read_point=draw(identifiers),
        antenna=draw(st.integers(0, 255)),
        event=draw(st.sampled_from(EventKind)),
        first_seen=first,
        last_seen=last,
        count=draw(st.integers(1, 10**9)),
        peak_rssi_dbm=draw(st.none() | st.floats(-150.0, 30.0, allow_nan=False)),
        mono_ns=draw(st.integers(0, MAX_SEQ)),
        clock_synced=draw(st.booleans()),
        position=draw(st.none() | positions()),
    )


def _header(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "gateway": draw(identifiers),
        "boot_id": draw(st.uuids()),
        "seq": draw(seqs),
        "sent_at": draw(times),
    }


@st.composite
def observation_batches(draw: st.DrawFn) -> ObservationBatch:
    items = draw(st.lists(observation_items(), min_size=1, max_size=5))
    return ObservationBatch(**_header(draw), items=tuple(items))


@st.composite
def position_fixes(draw: st.DrawFn) -> PositionFix:
    lat, lon = draw(_lat_lon)
    return PositionFix(
        lat=lat,
        lon=lon,
        time=draw(times),
        mono_ns=draw(st.integers(0, MAX_SEQ)),
        clock_synced=draw(st.booleans()),
        quality=draw(st.sampled_from(FixQuality)),
        hdop=draw(st.none() | _small_floats),
        speed_mps=draw(st.none() | _small_floats),
        course_deg=draw(st.none() | st.floats(0.0, 359.99, allow_nan=False)),
        alt_m=draw(st.none() | st.floats(-1000.0, 20000.0, allow_nan=False)),
        satellites=draw(st.none() | st.integers(0, 255)),
    )


@st.composite
def position_batches(draw: st.DrawFn) -> PositionBatch:
    fixes = draw(st.lists(position_fixes(), min_size=1, max_size=5))
    return PositionBatch(**_header(draw), fixes=tuple(fixes))


@st.composite
def statuses(draw: st.DrawFn) -> Status:
    health = draw(
        st.none()
        | st.builds(
            Health,
            backlog_batches=st.integers(0, 10**9),
            backlog_items=st.integers(0, 10**12),
            oldest_unsent_age_s=st.none() | _small_floats,
            outbox_bytes=st.integers(0, 10**12),
            outbox_cap_bytes=st.integers(0, 10**12),
            drops=st.dictionaries(identifiers, st.integers(0, 10**9), max_size=4),
            last_ack_at=st.none() | times,
            last_ack_seq=st.none() | seqs,
        )
    )
    clock = draw(
        st.none()
        | st.builds(
            ClockState,
            synced=st.booleans(),
            source=st.sampled_from(ClockSource),
            gps_offset_s=st.none() | st.floats(-1e6, 1e6, allow_nan=False),
        )
    )
    devices = draw(
        st.lists(
            st.builds(
                DeviceState,
                name=identifiers,
                type=st.sampled_from(["rfid-reader", "gps"]),
                state=st.sampled_from(["ok", "starting", "absent", "error"]),
                detail=st.none() | _short_text,
            ),
            max_size=3,
        )
    )
    return Status(
        gateway=draw(identifiers),
        boot_id=draw(st.uuids()),
        time=draw(times),
        state=draw(st.sampled_from(GatewayState)),
        agent_version=draw(
            st.none() | st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True)
        ),
        health=health,
        clock=clock,
        devices=tuple(devices),
    )


@st.composite
def acks(draw: st.DrawFn) -> Ack:
    sequences = draw(st.lists(seqs, min_size=1, max_size=8, unique=True))
    split = draw(st.integers(0, len(sequences)))
    return Ack(
        gateway=draw(identifiers),
        boot_id=draw(st.uuids()),
        time=draw(times),
        stored=tuple(sequences[:split]),
        rejected=tuple(Rejection(seq=s, reason=draw(_short_text)) for s in sequences[split:]),
    )


def messages() -> st.SearchStrategy[Message]:
    """Any valid message of any kind."""
    return st.one_of(observation_batches(), position_batches(), statuses(), acks())
