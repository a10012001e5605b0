"""NMEA 0183: sentences, epochs and dates, agreement with gpsd on real captures, driver on a pty."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tagtrail_hardware.errors import ParseError
from tagtrail_hardware.nmea import NmeaDecoder, NmeaGps, NmeaSimulator, Route, parse_sentence
from tagtrail_hardware.nmea.simulator import epoch_sentences, with_checksum
from tagtrail_hardware.reads import Fix, Quality
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.devices import Running
from tagtrail_testbed.gpsd_expected import (
    captures,
    disagreement,
    expected_disagreements,
    gpsd_positions,
)

RunDevice = Callable[[Any], Running]


def our_positions(log: Path) -> tuple[list[Fix], NmeaDecoder]:
    decoder = NmeaDecoder()
    return decoder.replay(log.read_bytes()), decoder


def test_agrees_with_gpsd_on_every_real_capture(conformance: Path) -> None:
    logs = captures(conformance)
    assert len(logs) == 44
    verdicts = {}
    for log in logs:
        fixes, _ = our_positions(log)
        assert all(not (f.lat == 0 and f.lon == 0) for f in fixes), log.name
        found = disagreement({(f.lat, f.lon) for f in fixes}, gpsd_positions(log))
        if found != (0, 0):
            verdicts[log.name] = found
    assert verdicts == expected_disagreements()


def test_captures_with_positions_yield_them(conformance: Path) -> None:
    total = sum(len(our_positions(log)[0]) for log in captures(conformance))
    assert total > 500  # the comparison above is not vacuous


def test_fix_fields_on_a_real_capture(conformance: Path) -> None:
    fixes, decoder = our_positions(conformance / "gps" / "gpsd" / "garmin-10x.log")
    first = fixes[0]
    assert first.time == datetime(2010, 7, 18, 16, 50, 7, tzinfo=UTC)
    assert (round(first.lat, 6), round(first.lon, 6)) == (41.726763, -83.63463)
    assert first.quality is Quality.GPS
    assert first.hdop == 1.5
    assert first.satellites == 6
    assert first.speed_mps == pytest.approx(0.55 * 1852 / 3600)
    assert first.course_deg == pytest.approx(36.58)
    assert decoder.talkers == {"GP": decoder.sentences}


def test_checksum_is_required() -> None:
    good = with_checksum("GPGLL,4916.45,N,12311.12,W,225444,A,A").strip()
    assert parse_sentence(good) is not None
    with pytest.raises(ParseError, match="no-checksum"):
        parse_sentence(good.split("*")[0])
    with pytest.raises(ParseError, match="bad-checksum"):
        parse_sentence(good[:-2] + "00")


@pytest.mark.parametrize("talker", ["GP", "GN", "GL", "GA", "GB", "BD"])
def test_every_constellation_talker(talker: str) -> None:
    when = datetime(2026, 3, 14, 9, 27, 1, tzinfo=UTC)
    decoder = NmeaDecoder()
    fixes = decoder.feed(epoch_sentences(when, 51.9, 4.1, talker=talker).encode())
    fixes += decoder.builder.flush()
    assert [(round(f.lat, 7), round(f.lon, 7), f.time) for f in fixes] == [(51.9, 4.1, when)]


def test_gns_and_gll_positions() -> None:
    decoder = NmeaDecoder()
    decoder.line(
        with_checksum("GNGNS,092725.00,5154.0000,N,00406.0000,E,RR,12,0.8,5.0,47.0,,").encode()
    )
    fixes = decoder.builder.flush()
    assert fixes[0].quality is Quality.RTK_FIXED
    decoder.line(with_checksum("GPGLL,5154.0000,N,00406.0000,E,092726.00,A,D").encode())
    fixes = decoder.builder.flush()
    assert (round(fixes[0].lat, 6), fixes[0].quality) == (51.9, Quality.DGPS)


def test_no_fix_is_no_position_never_zero_zero() -> None:
    decoder = NmeaDecoder()
    when = datetime(2026, 3, 14, 9, 27, 1, tzinfo=UTC)
    fixes = decoder.feed(epoch_sentences(when, None, None).encode())
    fixes += decoder.feed(
        with_checksum("GPGGA,092702.00,0000.0000,N,00000.0000,E,1,05,1.0,,,,,,").encode()
    )
    assert fixes + decoder.builder.flush() == []


def test_gga_gets_the_date_of_the_last_rmc_across_midnight() -> None:
    decoder = NmeaDecoder()
    before = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    fixes = decoder.feed(epoch_sentences(before, 51.9, 4.1).encode())
    # After midnight, a GGA arrives before the first RMC of the new day.
    fixes += decoder.feed(
        with_checksum("GNGGA,000000.00,5154.0000,N,00406.0000,E,1,09,0.9,,,,,,").encode()
    )
    fixes += decoder.builder.flush()
    assert [f.time for f in fixes] == [before, datetime(2027, 1, 1, tzinfo=UTC)]


def test_gga_before_any_rmc_has_no_date() -> None:
    decoder = NmeaDecoder()
    decoder.line(with_checksum("GPGGA,120000.00,5154.0000,N,00406.0000,E,1,09,0.9,,,,,,").encode())
    fix = decoder.builder.flush()[0]
    assert fix.time is None
    assert fix.lat == pytest.approx(51.9)


def test_garbage_between_sentences_is_counted_and_skipped() -> None:
    decoder = NmeaDecoder()
    when = datetime(2026, 3, 14, 9, 27, 1, tzinfo=UTC)
    data = b"\x00\xff junk\r\n" + b"xx" + epoch_sentences(when, 51.9, 4.1).encode()
    fixes = decoder.feed(data) + decoder.builder.flush()
    assert len(fixes) == 1
    assert decoder.rejected["no-start"] == 1
    assert decoder.rejected["garbage"] == 1


def test_driver_follows_the_simulated_route(run_device: RunDevice) -> None:
    route = Route(((51.95, 4.05), (51.90, 4.50)), speed_mps=20.0)
    with VirtualSerialPort() as port:
        sim = NmeaSimulator(port, route, period_s=0.05).start()
        gps = NmeaGps(name="gps", path=port.device_path)
        running = run_device(gps)
        running.wait_for(lambda: len(running.items) >= 5)
        assert gps.status().state == "ok"
        assert "GN" in (gps.status().identity or "")
        assert all(51.89 <= f.lat <= 51.96 and 4.04 <= f.lon <= 4.51 for f in running.items)
        assert all(f.time is not None and f.speed_mps == pytest.approx(20.0) for f in running.items)
        sim.has_fix.clear()
        count = len(running.items)
        running.wait_for(lambda: gps.decoder.sentences > 40)
        assert len(running.items) <= count + 1  # at most the epoch in flight; then nothing
        sim.stop()
