"""The observation hot path formats lines itself: they must equal the generic point encoder's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from tagtrail_collector.store.series.lineproto import FieldValue, Point, describe
from tagtrail_collector.store.series.points import ns, observation_lines
from tagtrail_protocol import EventKind, ObservationBatch, ObservationItem

_T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def reference_line(site: str, batch: ObservationBatch, item: ObservationItem) -> str:
    """The observation point written out field by field through ``Point.make``."""
    fields: dict[str, FieldValue | None] = {
        "count": item.count,
        "first_seen_ns": ns(item.first_seen),
        "last_seen_ns": ns(item.last_seen),
        "dwell_s": (item.last_seen - item.first_seen).total_seconds(),
        "peak_rssi_dbm": item.peak_rssi_dbm,
        "antenna": item.antenna,
        "clock_synced": item.clock_synced,
        "boot_id": str(batch.boot_id),
        "seq": batch.seq,
    }
    if item.position is not None:
        fields |= {
            "lat": item.position.lat,
            "lon": item.position.lon,
            "fix_age_s": item.position.fix_age_s,
            "hdop": item.position.hdop,
        }
    if item.identity is not None:
        fields |= {"scheme": item.identity.scheme, "gs1_key": item.identity.gs1_key}
    tags = {
        "site": site,
        "gateway": batch.gateway,
        "read_point": item.read_point,
        "event": item.event.value,
        "epc": item.epc,
    }
    return Point.make("observation", tags, fields, ns(item.event_time)).line()


_floats = st.floats(allow_nan=False, allow_infinity=False)
_positions = st.none() | st.fixed_dictionaries(
    {
        "lat": st.floats(-90, 90).filter(lambda v: v != 0.0),
        "lon": st.floats(-180, 180),
        "fix_age_s": st.floats(0, 1e6),
    },
    optional={"hdop": st.none() | st.floats(0, 99.9)},
)
_identities = st.none() | st.fixed_dictionaries(
    {"scheme": st.from_regex(r"[a-z0-9-]{2,24}", fullmatch=True), "uri": st.just("urn:x")},
    optional={"gs1_key": st.none() | st.text(min_size=1, max_size=64)},
)
_items = st.builds(
    lambda epc, event, first_us, dwell_us, rssi, count, antenna, synced, position, identity: {
        "epc": epc,
        "read_point": "dock-1.in_2",
        "antenna": antenna,
        "event": event,
        "first_seen": _T0 + timedelta(microseconds=first_us),
        "last_seen": _T0 + timedelta(microseconds=first_us + dwell_us),
        "count": count,
        "peak_rssi_dbm": rssi,
        "mono_ns": 7,
        "clock_synced": synced,
        "position": position,
        "identity": identity,
    },
    st.from_regex(r"(?:[0-9A-F]{4}){1,31}", fullmatch=True),
    st.sampled_from(list(EventKind)),
    st.integers(-(10**12), 10**12),
    st.integers(0, 10**11),
    st.none() | st.floats(-150, 30),
    st.integers(1, 2**63 - 1),
    st.integers(0, 255),
    st.booleans(),
    _positions,
    _identities,
)


@settings(max_examples=300)
@given(items=st.lists(_items, min_size=1, max_size=5), seq=st.integers(0, 2**63 - 1))
def test_observation_lines_equal_the_generic_encoding(
    items: list[dict[str, Any]], seq: int
) -> None:
    batch = ObservationBatch(
        gateway="gate-7", boot_id=UUID(int=12345), seq=seq, sent_at=_T0,
        items=tuple(ObservationItem.model_validate(i) for i in items),
    )  # fmt: skip

    lines = observation_lines("port-rtm", batch)

    assert lines == [reference_line("port-rtm", batch, item) for item in batch.items]


def test_describe_reads_back_the_measurement_and_the_tags() -> None:
    point = Point.make("my obs", {"site": "a b,c=d", "gateway": "g=1"}, {"x": 1}, 5)

    assert describe(point.line()) == ("my obs", {"gateway": "g=1", "site": "a b,c=d"})
    assert describe("bare x=1i 5") == ("bare", {})
