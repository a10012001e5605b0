"""The InfluxDB client against the real server: escaping, partial writes, outages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tagtrail_collector.config import InfluxSection
from tagtrail_collector.errors import StoreUnavailable
from tagtrail_collector.store.series.influx import Influx
from tagtrail_collector.store.series.lineproto import Point, encode
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.process import free_port


@pytest.fixture
def influx(influxdb: tuple[InfluxServer, str]) -> Iterator[Influx]:
    server, db = influxdb
    with Influx(InfluxSection(url=server.url, database=db, timeout_s=5.0)) as client:
        yield client


def test_line_protocol_escapes_what_it_must() -> None:
    point = Point.make(
        "my obs", {"site": "a b,c=d"}, {"note": 'say "hi" \\ bye', "n": 3, "ok": True}, 5
    )
    assert point.line() == r'my\ obs,site=a\ b\,c\=d n=3i,note="say \"hi\" \\ bye",ok=true 5'
    assert encode([point.line(), point.line()]).count(b"\n") == 2
    with pytest.raises(ValueError, match="field"):
        Point.make("m", {}, {"x": None}, 1)


def test_strings_with_quotes_and_spaces_round_trip(influx: Influx) -> None:
    text = 'a "quoted" value, with \\ and = signs'
    result = influx.write([Point.make("m", {"site": "x y"}, {"note": text}, 1_000).line()])
    assert (result.stored, result.rejected) == (1, ())
    rows = influx.query('SELECT "note", "site" FROM "m"')[0].rows()
    assert rows == [{"time": 1_000, "note": text, "site": "x y"}]


def test_a_partial_write_stores_the_good_points_and_names_the_bad_ones(
    influx: Influx, influxdb: tuple[InfluxServer, str]
) -> None:
    server, db = influxdb
    influx.write(
        [Point.make("obs", {"epc": "A"}, {"count": 1}, 1).line()]
    )  # count is an integer now
    good = [Point.make("obs", {"epc": f"E{i}"}, {"count": i}, 10 + i).line() for i in range(20)]
    bad = [
        Point.make("obs", {"epc": "B1"}, {"count": 1.5}, 7).line(),
        Point.make("obs", {"epc": "B2"}, {"count": "three"}, 8).line(),
    ]
    batch = good[:9] + bad[:1] + good[9:] + bad[1:]
    # InfluxDB itself says "partial write" and stores some: that alone is not success.
    raw = server.write(db, encode(batch).decode())
    assert raw.status_code == 400
    assert "partial write" in raw.json()["error"]
    server.query('DROP SERIES FROM "obs"', db=db)
    influx.write([Point.make("obs", {"epc": "A"}, {"count": 1}, 1).line()])

    result = influx.write(batch)

    assert result.stored == 20
    assert {r.line for r in result.rejected} == set(bad)
    assert all("field type conflict" in r.reason for r in result.rejected)
    stored = influx.query('SELECT count("count") FROM "obs"')[0].rows()[0]
    assert stored["count"] == 21


def test_an_unreachable_server_is_a_retryable_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Influx(InfluxSection(url=url, timeout_s=1.0)) as influx:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            influx.write([Point.make("m", {}, {"x": 1}, 1).line()])
        with pytest.raises(StoreUnavailable):
            influx.ping()
