"""``tagtrail-edge epc decode`` and ``gps replay`` through the CLI runner.

EPCs are checked against the GS1 Tag Data Standard's examples and against EPCs made by an
encoder written here from the standard's tables (independent of epcpy, which the agent uses);
replayed captures are checked against what gpsd itself reported for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tagtrail_edge.cli import app
from tagtrail_protocol import Kind
from tagtrail_testbed.gpsd_expected import (
    captures,
    disagreement,
    expected_disagreements,
    gpsd_positions,
)

runner = CliRunner()


def decode(*epcs: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["epc", "decode", *epcs, "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


# -- the standard's own examples (TDS 2.x, section 14.5 and the SSCC example) -------------------


def test_gs1_examples() -> None:
    sgtin, sscc = decode("3074257BF7194E4000001A85", "3174257BF4499602D2000000")
    assert sgtin == {
        "hex": "3074257BF7194E4000001A85",
        "scheme": "sgtin-96",
        "uri": "urn:epc:id:sgtin:0614141.812345.6789",
        "tag_uri": "urn:epc:tag:sgtin-96:3.0614141.812345.6789",
        "filter": 3,
        "gs1_key": "80614141123458",
    }
    assert sscc["uri"] == "urn:epc:id:sscc:0614141.1234567890"
    assert sscc["gs1_key"] == "106141412345678908"


def test_what_does_not_decode_is_reported_and_the_exit_status_stays_zero() -> None:
    rows = decode("ZZZZ", "01", "3074257BF7194E40")
    assert [set(r) for r in rows] == [{"hex", "error"}] * 3
    assert "hexadecimal" in rows[0]["error"]
    assert "not a GS1 EPC scheme" in rows[1]["error"]
    assert "96 bits" in rows[2]["error"]


def test_usage_errors_exit_with_2() -> None:
    assert runner.invoke(app, ["epc", "decode"]).exit_code == 2
    assert runner.invoke(app, ["epc", "decode", "30", "--nope"]).exit_code == 2


@pytest.mark.parametrize("columns", ["200", "60"])
def test_people_get_a_table_with_the_whole_epc(columns: str) -> None:
    epc = "3074257BF7194E4000001A85"
    result = runner.invoke(app, ["epc", "decode", epc], env={"COLUMNS": columns})
    assert result.exit_code == 0
    rows = [line.split("│") for line in result.stdout.splitlines() if line.startswith("│")]
    assert "".join(row[1].strip() for row in rows) == epc  # folded on narrow screens, not cut
    assert "".join(row[2].strip() for row in rows) == "sgtin-96"


# -- an independent encoder, from the standard's partition tables ---------------------------------

# partition -> (company prefix bits, digits), then the second field's (bits, digits)
_SGTIN = [(40, 12, 4, 1), (37, 11, 7, 2), (34, 10, 10, 3), (30, 9, 14, 4), (27, 8, 17, 5),
          (24, 7, 20, 6), (20, 6, 24, 7)]  # fmt: skip
_SSCC = [(40, 12, 18, 5), (37, 11, 21, 6), (34, 10, 24, 7), (30, 9, 28, 8), (27, 8, 31, 9),
         (24, 7, 34, 10), (20, 6, 38, 11)]  # fmt: skip
_SGLN = [(40, 12, 1, 0), (37, 11, 4, 1), (34, 10, 7, 2), (30, 9, 11, 3), (27, 8, 14, 4),
         (24, 7, 17, 5), (20, 6, 21, 6)]  # fmt: skip
_GRAI = [(40, 12, 4, 0), (37, 11, 7, 1), (34, 10, 10, 2), (30, 9, 14, 3), (27, 8, 17, 4),
         (24, 7, 20, 5), (20, 6, 24, 6)]  # fmt: skip
_GIAI = [(40, 12, 42, 13), (37, 11, 45, 14), (34, 10, 48, 15), (30, 9, 52, 16), (27, 8, 55, 17),
         (24, 7, 58, 18), (20, 6, 62, 19)]  # fmt: skip


@dataclass(frozen=True)
class Made:
    hex: str
    scheme: str
    uri: str
    tag_uri: str
    gs1_key: str | None


def _bits(*fields: tuple[int, int]) -> str:
    value, width = 0, 0
    for number, size in fields:
        assert 0 <= number < 2**size
        value, width = (value << size) | number, width + size
    assert width == 96
    return f"{value:024X}"


def _check_digit(digits: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


@st.composite
def sgtins(draw: st.DrawFn) -> Made:
    filter_, partition = draw(st.integers(0, 7)), draw(st.integers(0, 6))
    cp_bits, cp_digits, ir_bits, ir_digits = _SGTIN[partition]
    cp = draw(st.integers(0, 10**cp_digits - 1))
    ir = draw(st.integers(0, 10**ir_digits - 1))
    serial = draw(st.integers(0, 2**38 - 1))
    cps, irs = f"{cp:0{cp_digits}d}", f"{ir:0{ir_digits}d}"
    body = f"{cps}.{irs}.{serial}"
    gtin13 = irs[0] + cps + irs[1:]
    return Made(
        _bits((0x30, 8), (filter_, 3), (partition, 3), (cp, cp_bits), (ir, ir_bits), (serial, 38)),
        "sgtin-96", f"urn:epc:id:sgtin:{body}", f"urn:epc:tag:sgtin-96:{filter_}.{body}",
        gtin13 + _check_digit(gtin13),
    )  # fmt: skip


@st.composite
def ssccs(draw: st.DrawFn) -> Made:
    filter_, partition = draw(st.integers(0, 7)), draw(st.integers(0, 6))
    cp_bits, cp_digits, sr_bits, sr_digits = _SSCC[partition]
    cp = draw(st.integers(0, 10**cp_digits - 1))
    sr = draw(st.integers(0, 10**sr_digits - 1))
    cps, srs = f"{cp:0{cp_digits}d}", f"{sr:0{sr_digits}d}"
    sscc17 = srs[0] + cps + srs[1:]
    return Made(
        _bits((0x31, 8), (filter_, 3), (partition, 3), (cp, cp_bits), (sr, sr_bits), (0, 24)),
        "sscc-96", f"urn:epc:id:sscc:{cps}.{srs}", f"urn:epc:tag:sscc-96:{filter_}.{cps}.{srs}",
        sscc17 + _check_digit(sscc17),
    )  # fmt: skip


@st.composite
def grais(draw: st.DrawFn) -> Made:
    filter_, partition = draw(st.integers(0, 7)), draw(st.integers(0, 6))
    cp_bits, cp_digits, at_bits, at_digits = _GRAI[partition]
    cp = draw(st.integers(0, 10**cp_digits - 1))
    asset = draw(st.integers(0, max(0, 10**at_digits - 1)))
    serial = draw(st.integers(0, 2**38 - 1))
    cps, ats = f"{cp:0{cp_digits}d}", f"{asset:0{at_digits}d}" if at_digits else ""
    body = f"{cps}.{ats}.{serial}"
    return Made(
        _bits((0x33, 8), (filter_, 3), (partition, 3), (cp, cp_bits), (asset, at_bits),
              (serial, 38)),
        "grai-96", f"urn:epc:id:grai:{body}", f"urn:epc:tag:grai-96:{filter_}.{body}", None,
    )  # fmt: skip


@st.composite
def giais(draw: st.DrawFn) -> Made:
    filter_, partition = draw(st.integers(0, 7)), draw(st.integers(0, 6))
    cp_bits, cp_digits, ref_bits, _ = _GIAI[partition]
    cp = draw(st.integers(0, 10**cp_digits - 1))
    ref = draw(st.integers(0, 2**ref_bits - 1))
    body = f"{cp:0{cp_digits}d}.{ref}"
    return Made(
        _bits((0x34, 8), (filter_, 3), (partition, 3), (cp, cp_bits), (ref, ref_bits)),
        "giai-96", f"urn:epc:id:giai:{body}", f"urn:epc:tag:giai-96:{filter_}.{body}", None,
    )  # fmt: skip


@st.composite
def sglns(draw: st.DrawFn) -> Made:
    filter_, partition = draw(st.integers(0, 7)), draw(st.integers(0, 6))
    cp_bits, cp_digits, lr_bits, lr_digits = _SGLN[partition]
    cp = draw(st.integers(0, 10**cp_digits - 1))
    location = draw(st.integers(0, max(0, 10**lr_digits - 1)))
    extension = draw(st.integers(0, 2**41 - 1))
    cps, lrs = f"{cp:0{cp_digits}d}", f"{location:0{lr_digits}d}" if lr_digits else ""
    body = f"{cps}.{lrs}.{extension}"
    return Made(
        _bits((0x32, 8), (filter_, 3), (partition, 3), (cp, cp_bits), (location, lr_bits),
              (extension, 41)),
        "sgln-96", f"urn:epc:id:sgln:{body}", f"urn:epc:tag:sgln-96:{filter_}.{body}", None,
    )  # fmt: skip


@pytest.mark.parametrize("made", [sgtins(), ssccs(), grais(), giais(), sglns()],
                         ids=["sgtin-96", "sscc-96", "grai-96", "giai-96", "sgln-96"])  # fmt: skip
def test_round_trip_of_independently_encoded_epcs(made: st.SearchStrategy[Made]) -> None:
    @settings(max_examples=150, deadline=None)
    @given(st.lists(made, min_size=1, max_size=20))
    def check(epcs: list[Made]) -> None:
        for expected, got in zip(epcs, decode(*(e.hex for e in epcs)), strict=True):
            assert got.get("error") is None, (expected, got)
            assert (got["scheme"], got["uri"], got["tag_uri"]) == (
                expected.scheme, expected.uri, expected.tag_uri,
            ), expected  # fmt: skip
            assert got["filter"] == int(expected.tag_uri.split(":")[4].split(".")[0])
            if expected.gs1_key is not None:
                assert got["gs1_key"] == expected.gs1_key

    check()


# -- gps replay ---------------------------------------------------------------------------------


def replay(log: Path) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["gps", "replay", str(log), "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_replay_agrees_with_gpsd_on_every_real_capture(conformance: Path) -> None:
    logs = captures(conformance)
    assert len(logs) == 44
    verdicts = {}
    for log in logs:
        fixes = replay(log)
        for fix in fixes:
            assert {"time", "lat", "lon", "quality", "hdop", "speed_mps", "course"} <= set(fix)
            assert (fix["lat"], fix["lon"]) != (0, 0)
            assert fix["time"] is None or fix["time"].endswith("Z")
        found = disagreement({(f["lat"], f["lon"]) for f in fixes}, gpsd_positions(log))
        if found != (0, 0):
            verdicts[log.name] = found
    assert verdicts == expected_disagreements()


def test_replay_counts_what_it_rejects_and_refuses_a_file_that_is_not_nmea(
    tmp_path: Path,
) -> None:
    capture = tmp_path / "bad.nmea"
    capture.write_bytes(
        b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
        b"\x00\xffnoise\r\n$GPGGA,123520,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*00\r\n"
    )
    result = runner.invoke(app, ["gps", "replay", str(capture), "--json"])
    assert result.exit_code == 0
    [fix] = [json.loads(line) for line in result.stdout.splitlines()]
    assert fix["time"] is None  # a GGA before any RMC has no date
    assert (round(fix["lat"], 5), round(fix["lon"], 5)) == (48.1173, 11.51667)
    assert "rejected" in result.stderr
    assert "checksum" in result.stderr
    text = tmp_path / "notes.txt"
    text.write_text("no receiver here\n")
    refused = runner.invoke(app, ["gps", "replay", str(text)])
    assert refused.exit_code == 1
    assert "no NMEA 0183 sentence" in refused.stderr
    assert runner.invoke(app, ["gps", "replay", str(tmp_path / "missing")]).exit_code == 2


# -- outbox status ------------------------------------------------------------------------------


def test_outbox_status_reads_a_live_outbox_without_changing_it(tmp_path: Path) -> None:
    from tagtrail_edge.config import load_config  # noqa: PLC0415
    from tagtrail_edge.pipeline.outbox import Outbox  # noqa: PLC0415

    config = tmp_path / "edge.toml"
    config.write_text(
        f'[gateway]\nid = "gate-1"\nsite = "port-a"\n[gps]\nsource = "gpsd"\n'
        f'[outbox]\npath = "{tmp_path / "outbox.db"}"\ncap_mb = 8\n'
    )
    outbox = Outbox.open(load_config(config).outbox)  # the agent holds it open
    try:
        outbox.commit([(Kind.OBS, '{"n":%d}' % i) for i in range(25)])  # noqa: UP031
        outbox.form_batches("boot", 0, max_items=10)
        outbox.acknowledge("boot", [0], [(1, "invalid message: bad lat")])
        before = _files(tmp_path)
        result = runner.invoke(app, ["outbox", "status", "--config", str(config), "--json"])
        assert result.exit_code == 0, result.output
        status = json.loads(result.stdout)
        assert _files(tmp_path) == before
    finally:
        outbox.close()
    assert (status["backlog_items"], status["backlog_batches"], status["last_ack_seq"]) == (5, 1, 0)
    assert status["drops"] == {"rejected-invalid-message--bad-lat": 10}  # the batch's items
    assert status["cap_bytes"] == 8 * 1024 * 1024
    assert 0 < status["used_of_cap"] < 1
    assert status["oldest_unsent_age_s"] >= 0
    assert status["last_ack_at"].endswith("Z")
    people = runner.invoke(app, ["outbox", "status", "--config", str(config)])
    assert people.exit_code == 0
    assert "backlog_items" in people.stdout


def test_outbox_status_says_what_is_wrong(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text(
        f'[gateway]\nid = "gate-1"\nsite = "port-a"\n[gps]\nsource = "gpsd"\n'
        f'[outbox]\npath = "{tmp_path}/none.db"\n'
    )
    missing = runner.invoke(app, ["outbox", "status", "--config", str(config)])
    assert missing.exit_code == 1
    assert "no outbox at" in missing.stderr
    config.write_text('[gateway]\nid = "Gate 1"\nsite = "port-a"\n')
    broken = runner.invoke(app, ["outbox", "status", "--config", str(config)])
    assert broken.exit_code == 2
    assert "gateway.id" in broken.stderr


def _files(folder: Path) -> dict[str, bytes]:
    """The outbox's data: the database and its WAL (the -shm index holds readers' marks)."""
    return {p.name: p.read_bytes() for p in folder.glob("outbox.db*") if p.suffix != ".db-shm"}


# -- config show | get | validate ---------------------------------------------------------------


def test_config_shows_effective_values_and_never_a_secret(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text(
        '[gateway]\nid = "gate-1"\nsite = "port-a"\n[gps]\nsource = "gpsd"\n'
        '[mqtt]\nhost = "broker.example"\nusername = "gate-1"\npassword = "s3cret-pw"\n'
    )
    shown = runner.invoke(app, ["config", "show", "--config", str(config)])
    assert shown.exit_code == 0
    assert "s3cret-pw" not in shown.stdout
    effective = json.loads(shown.stdout)
    assert effective["mqtt"]["host"] == "broker.example"
    assert effective["outbox"]["synchronous"] == "FULL"  # a default, filled in
    get = runner.invoke(app, ["config", "get", "mqtt.host", "-c", str(config)])
    assert (get.exit_code, get.stdout.strip()) == (0, "broker.example")
    secret = runner.invoke(app, ["config", "get", "mqtt.password", "-c", str(config)])
    assert "s3cret-pw" not in secret.stdout
    unknown = runner.invoke(app, ["config", "get", "mqtt.hots", "-c", str(config)])
    assert unknown.exit_code == 2
    assert "known: " in unknown.stderr
    assert "host" in unknown.stderr
    valid = runner.invoke(app, ["config", "validate", str(config)])
    assert (valid.exit_code, valid.stdout.strip()) == (0, f"{config}: valid")


def test_config_validate_names_the_key_the_value_and_what_is_allowed(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text('[gateway]\nid = "Gate 1"\nsite = "port-a"\n[outbox]\ncap_mb = 0\n')
    result = runner.invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 2
    assert "gateway.id = 'Gate 1'" in result.stderr
    assert "allowed" in result.stderr
    assert "outbox.cap_mb = 0" in result.stderr
    config.write_text("[gateway\n")
    assert "not valid TOML" in runner.invoke(app, ["config", "validate", str(config)]).stderr
