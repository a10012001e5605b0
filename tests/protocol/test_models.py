"""Model validation: the field rules that keep invented or garbled data off the wire."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from tagtrail_protocol import Ack, EventKind, ObservationBatch, ObservationItem, Position, Rejection
from tagtrail_testbed.samples import BOOT, T0, obs_dict


def item(**overrides: Any) -> ObservationItem:
    return ObservationItem.model_validate({**obs_dict()["items"][0], **overrides})


def test_epc_is_normalised_to_upper_case() -> None:
    assert item(epc="3074257bf7194e4000001a85").epc == "3074257BF7194E4000001A85"


@pytest.mark.parametrize(
    "epc", ["", "307", "30742", "3074257BF7194E4000001A8G", "30 74", "AB" * 63]
)
def test_epc_must_be_whole_hex_words(epc: str) -> None:
    with pytest.raises(ValidationError, match="whole 16-bit words"):
        item(epc=epc)


def test_no_fix_is_not_a_position() -> None:
    with pytest.raises(ValidationError, match="lat 0, lon 0 is not a position"):
        Position(lat=0.0, lon=0.0, fix_age_s=1.0)
    assert Position(lat=0.0, lon=3.2, fix_age_s=1.0).lon == 3.2


@pytest.mark.parametrize(("lat", "lon"), [(90.1, 0.5), (-90.1, 0.5), (1.0, 180.5), (1.0, -181.0)])
def test_position_ranges(lat: float, lon: float) -> None:
    with pytest.raises(ValidationError):
        Position(lat=lat, lon=lon, fix_age_s=0.0)


def test_nan_and_infinity_are_refused() -> None:
    with pytest.raises(ValidationError, match="finite number"):
        item(peak_rssi_dbm=float("nan"))
    with pytest.raises(ValidationError, match="finite number"):
        Position(lat=1.0, lon=1.0, fix_age_s=float("inf"))


def test_last_seen_cannot_precede_first_seen() -> None:
    with pytest.raises(ValidationError, match="last_seen is before first_seen"):
        item(first_seen=T0, last_seen=T0 - timedelta(microseconds=1))


def test_times_must_carry_a_zone_and_are_kept_in_utc() -> None:
    with pytest.raises(ValidationError, match="timezone info"):
        item(first_seen=datetime(2026, 1, 1), last_seen=datetime(2026, 1, 1))  # noqa: DTZ001
    plus_two = timezone(timedelta(hours=2))
    local = item(
        first_seen=datetime(2026, 1, 1, 12, tzinfo=plus_two),
        last_seen=datetime(2026, 1, 1, 12, tzinfo=plus_two),
    )
    assert local.first_seen.tzinfo is UTC
    assert local.first_seen.hour == 10


def test_event_time_is_first_sighting_for_arrival_last_otherwise() -> None:
    first, last = T0, T0 + timedelta(seconds=30)
    assert item(event="arrive", first_seen=first, last_seen=last).event_time == first
    assert item(event="depart", first_seen=first, last_seen=last).event_time == last
    assert item(event=EventKind.OBSERVE, first_seen=first, last_seen=last).event_time == last


def test_count_and_antenna_ranges() -> None:
    with pytest.raises(ValidationError, match="count"):
        item(count=0)
    with pytest.raises(ValidationError, match="antenna"):
        item(antenna=256)


def test_batch_needs_items_and_a_uuid_boot_id() -> None:
    with pytest.raises(ValidationError, match="at least 1 item"):
        ObservationBatch.model_validate(obs_dict(items=[]))
    with pytest.raises(ValidationError, match="boot_id"):
        ObservationBatch.model_validate(obs_dict(boot_id="not-a-uuid"))


def test_models_are_frozen(obs_batch: ObservationBatch) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        obs_batch.seq = 8  # type: ignore[misc]


def ack(**overrides: Any) -> Ack:
    fields: dict[str, Any] = {"gateway": "gate-3", "boot_id": BOOT, "time": T0, **overrides}
    return Ack(**fields)


def test_ack_must_say_something_consistent() -> None:
    assert ack(stored=(1, 2), rejected=(Rejection(seq=3, reason="bad epc"),)).stored == (1, 2)
    with pytest.raises(ValidationError, match="at least one stored or rejected"):
        ack()
    with pytest.raises(ValidationError, match=r"sequences \[2\] are both stored and rejected"):
        ack(stored=(1, 2), rejected=(Rejection(seq=2, reason="x"),))
    with pytest.raises(ValidationError, match="listed twice"):
        ack(stored=(1, 1))
