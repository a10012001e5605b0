"""Configuration: the commented example covers every option; errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from tagtrail_collector.config import CollectorConfig, load_config
from tagtrail_collector.errors import ConfigError
from tagtrail_testbed.settings import documented_keys, leaf_fields

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "collector" / "collector.example.toml"


def keys(model: type[BaseModel]) -> set[str]:
    return set(leaf_fields(model))


def test_example_is_valid_and_mentions_every_option(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    assert config.mqtt.share_group == "ingest"
    placeholder = tmp_path / "collector.toml"
    placeholder.write_text(
        EXAMPLE.read_text().replace('# password = "change-me"', 'password = "change-me"', 1)
    )
    with pytest.raises(ConfigError, match=r"mqtt.password = \*\*\*: .*placeholder"):
        load_config(placeholder)
    assert keys(CollectorConfig) - documented_keys(EXAMPLE) == set()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[influx]\nurl = 'influx:8086'", "influx.url = 'influx:8086'"),
        ("[mqtt]\nport = 0", "mqtt.port = 0"),
        ("[mqtt]\nshare_group = 'Bad Group'", "mqtt.share_group"),
        ("[influx]\ntoken = 't'\nusername = 'u'", "either username/password or token"),
        ("[ingest]\nbatch_max_points = 0", "ingest.batch_max_points"),
        ("[nope]\nx = 1", "nope"),
        ("[mqtt\n", "not valid TOML"),
        ("[influx]\npassword = 5", "influx.password = ***"),
        ("[influx]\ntoken = 'CHANGE-ME'", "influx.token = ***: Value error, still the example"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "collector.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value)
    assert "'5'" not in str(caught.value)
