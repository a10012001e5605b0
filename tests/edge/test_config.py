"""Configuration: the commented example covers every option; errors name the key."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from tagtrail_edge.cli import app
from tagtrail_edge.config import EdgeConfig, load_config
from tagtrail_edge.errors import ConfigError
from tagtrail_testbed.settings import documented_keys, leaf_fields

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "edge" / "edge.example.toml"


def keys(model: type[BaseModel]) -> set[str]:
    return set(leaf_fields(model))


def test_example_is_valid_once_its_placeholder_secret_is_replaced(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mqtt.password = \*\*\*: .*placeholder"):
        load_config(EXAMPLE)
    path = tmp_path / "edge.toml"
    path.write_text(EXAMPLE.read_text().replace('"change-me"', '"gate-3-pw"'))
    config = load_config(path)
    assert config.gateway.id == "gate-3"
    assert config.read_points[0].reader == "dock"


def test_example_mentions_every_option() -> None:
    assert keys(EdgeConfig) - documented_keys(EXAMPLE) == set()


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGTRAIL_EDGE_MQTT__PASSWORD", "from-env")
    config = load_config(EXAMPLE)
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "from-env"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('id = "gate-3"', 'id = "Gate 3"'), "gateway.id = 'Gate 3'"),
        (("port = 8883", "port = 70000"), "mqtt.port = 70000"),
        (('overflow = "drop-oldest"', 'overflow = "drop-newest"'), "outbox.overflow"),
        (('driver = "ascii"', 'driver = "rs485"'), "driver = 'rs485' is not a driver; one of"),
        (('reader = "dock"', 'reader = "nope"'), "unknown reader 'nope'"),
        (('password = "gate-3-pw"', 'password = "gate-3-pw"\ncolour = "red"'), "mqtt.colour"),
    ],
)
def test_errors_name_the_key_and_value(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = tmp_path / "edge.toml"
    real = EXAMPLE.read_text().replace('"change-me"', '"gate-3-pw"')
    path.write_text(real.replace(*edit, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value)


def test_passwords_are_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(EXAMPLE.read_text().replace('password = "change-me"', "password = 12"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "mqtt.password = ***" in str(caught.value)
    assert "12" not in str(caught.value).split("***")[1]


def test_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[gateway\nid=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")
    assert tomllib.loads(EXAMPLE.read_text())  # the example itself parses


def test_a_read_point_takes_smoothing_where_it_sets_nothing(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(
        '[gateway]\nid = "g"\nsite = "s"\n'
        "[smoothing]\nobserve_count = 3\nlost_s = 9.0\nsummary_s = 60.0\n"
        '[[readers]]\nname = "dock"\ndriver = "ascii"\npath = "/dev/null"\n'
        '[[read_points]]\nname = "in"\nreader = "dock"\nantenna = 1\n'
        '[[read_points]]\nname = "out"\nreader = "dock"\nantenna = 2\nlost_s = 2.0\n'
        "summary_s = 0\n"
    )
    config = load_config(path)
    inherits, own = config.thresholds_for("in"), config.thresholds_for("out")
    assert (inherits.observe_count, inherits.lost_s, inherits.summary_s) == (3, 9.0, 60.0)
    assert (own.observe_count, own.lost_s, own.summary_s) == (3, 2.0, None)
    assert config.thresholds_for("dock-a7") == config.smoothing  # not listed: [smoothing]
    shown = CliRunner().invoke(app, ["config", "show", "-c", str(path)])
    assert shown.exit_code == 0, shown.output
    points = json.loads(shown.stdout)["read_points"]
    assert [(p["name"], p["lost_s"], p["summary_s"]) for p in points] == [
        ("in", 9.0, 60.0), ("out", 2.0, None),
    ]  # fmt: skip
