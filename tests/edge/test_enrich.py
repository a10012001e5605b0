"""Enrichment: GS1 Tag Data Standard decoding and positions at event time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tagtrail_edge.pipeline.enrich import PositionHistory, decode_epc
from tagtrail_hardware.reads import Fix, Quality


@pytest.mark.parametrize(
    ("epc", "scheme", "tag_uri", "filter_", "key"),
    [
        # TDS 2.x worked examples and keys computed by hand (check digits included).
        ("3074257BF7194E4000001A85", "sgtin-96", "urn:epc:tag:sgtin-96:3.0614141.812345.6789",
         3, "80614141123458"),
        ("3114257BF7194E4000001A85", None, None, None, None),  # malformed partition: normal
        ("311400000000400000000001", "sscc-96", "urn:epc:tag:sscc-96:0.0000000.0004194304", 0,
         "000000000041943045"),
        ("3300257BF7194E4000001A85", "grai-96", "urn:epc:tag:grai-96:0.040248395347..6789", 0,
         "04024839534756789"),
        ("3400257BF7194E4000001A85", "giai-96",
         "urn:epc:tag:giai-96:0.040248395347.2473901169285", 0, "0402483953472473901169285"),
        ("E2801160600002054E2A0B3C", None, None, None, None),  # a TID-like, non-GS1 EPC
    ],
)  # fmt: skip
def test_gs1_schemes(
    epc: str, scheme: str | None, tag_uri: str | None, filter_: int | None, key: str | None
) -> None:
    decoded = decode_epc(epc)
    assert decoded.hex == epc
    if scheme is None:
        assert decoded.identity is None
        assert decoded.error
        return
    assert decoded.identity is not None
    assert (decoded.identity.scheme, decoded.identity.tag_uri) == (scheme, tag_uri)
    assert (decoded.identity.filter, decoded.identity.gs1_key) == (filter_, key)


def test_sgln_96() -> None:
    decoded = decode_epc("3254257BF4603200000025A1")
    assert decoded.identity is not None
    assert decoded.identity.scheme == "sgln-96"
    assert decoded.identity.uri.startswith("urn:epc:id:sgln:")


@pytest.mark.parametrize("epc", ["", "30", "ZZZZ", "3074", "30" * 40])
def test_garbage_never_raises(epc: str) -> None:
    assert decode_epc(epc).identity is None


def fix(second: int, lat: float) -> Fix:
    when = datetime(2026, 3, 14, 9, 27, second, tzinfo=UTC)
    return Fix(lat=lat, lon=4.1, quality=Quality.GPS, mono_ns=0, time=when, hdop=0.9)


def test_position_at_event_time_with_fix_age() -> None:
    history = PositionHistory(max_age_s=4.0)
    for s, lat in ((0, 51.0), (10, 51.1), (20, 51.2)):
        history.add(fix(s, lat), received=0.0)
    base = datetime(2026, 3, 14, 9, 27, tzinfo=UTC).timestamp()
    at = history.at(base + 11.5)
    assert at is not None
    assert (at.lat, at.fix_age_s, at.hdop) == (51.1, 1.5, 0.9)
    assert history.at(base + 15.0) is None  # 5 s from the nearest fix: too old to use
    assert history.at(base + 40.0) is None
