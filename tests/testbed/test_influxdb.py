"""The fixture InfluxDB is a real influxd 1.x with tsi1: what /write stores, /query returns."""

import httpx
import pytest

from tagtrail_testbed import BedError, InfluxServer
from tagtrail_testbed.netstat import non_loopback
from tagtrail_testbed.process import port_open


def test_written_point_comes_back_from_query(influxdb: tuple[InfluxServer, str]) -> None:
    server, db = influxdb
    response = server.write(
        db, "obs,site=port,gateway=gate-1 count=12i,rssi=-61.5 1773480413589793000\n"
    )
    assert response.status_code == 204, response.text
    body = server.query("SELECT count, rssi, gateway FROM obs", db=db, method="GET")
    series = body["results"][0]["series"][0]
    assert series["columns"] == ["time", "count", "rssi", "gateway"]
    assert series["values"] == [["2026-03-14T09:26:53.589793Z", 12, -61.5, "gate-1"]]


def test_database_uses_the_tsi1_index(influxdb: tuple[InfluxServer, str]) -> None:
    server, db = influxdb
    assert server.write(db, "m,tag=a v=1 1700000000000000000\n").status_code == 204
    assert server.index_version(db) == {"tsi1"}


def test_type_conflicts_inside_one_request_reject_all_of_it(
    influxdb: tuple[InfluxServer, str],
) -> None:
    server, db = influxdb
    response = server.write(db, 'm v=1 1700000000000000000\nm v="text" 1700000000000000001\n')
    assert response.status_code == 400
    assert response.json() == {"error": "field type conflict"}
    assert "series" not in server.query("SELECT v FROM m", db=db)["results"][0]


def test_partial_write_stores_the_good_points_and_names_the_dropped(
    influxdb: tuple[InfluxServer, str],
) -> None:
    server, db = influxdb
    assert server.write(db, "m v=1 1700000000000000000\n").status_code == 204
    response = server.write(
        db, 'm v=2 1700000000000000001\nm v="text" 1700000000000000002\nm v=3 1700000000000000003\n'
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("partial write: field type conflict")
    assert response.json()["error"].endswith("dropped=1")
    values = server.query("SELECT v FROM m", db=db)["results"][0]["series"][0]["values"]
    assert [v for _, v in values] == [1, 2, 3]


def test_each_test_gets_an_empty_database(influxdb: tuple[InfluxServer, str]) -> None:
    server, db = influxdb
    assert server.query("SHOW MEASUREMENTS", db=db)["results"][0] == {"statement_id": 0}


def test_influxdb_listens_on_loopback_only(influxdb_server: InfluxServer) -> None:
    assert non_loopback(influxdb_server.process.pid) == []


def test_auth_server_refuses_anonymous_queries_and_stops_cleanly() -> None:
    with InfluxServer(auth=True) as server:
        anonymous = httpx.post(f"{server.url}/query", data={"q": "SHOW DATABASES"})
        assert anonymous.status_code == 401
        wrong = httpx.post(
            f"{server.url}/query", data={"q": "SHOW DATABASES"}, auth=(server.admin_user, "wrong")
        )
        assert wrong.status_code == 401
        server.create_database("secured")
        assert server.write("secured", "m v=1 1\n").status_code == 204
        process, workdir, port = server.process, server.workdir, server.http_port
    assert process.stopped()
    assert not workdir.exists()
    assert not port_open(server.host, port)


def test_query_errors_are_raised(influxdb: tuple[InfluxServer, str]) -> None:
    server, db = influxdb
    with pytest.raises(BedError, match="error parsing query"):
        server.query("SELEC nonsense", db=db)
