"""The collector as its own process (``tagtrail-collector serve``), for tests that kill it."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any

from tagtrail_collector.config import CollectorConfig
from tagtrail_protocol.settings import dump_toml
from tagtrail_testbed.errors import BedError
from tagtrail_testbed.influxdb import InfluxServer
from tagtrail_testbed.mosquitto import Broker
from tagtrail_testbed.process import Service, free_port, port_open


def collector_sections(
    broker: Broker, influx: InfluxServer, db: str, registry: Path, **overrides: dict[str, Any]
) -> dict[str, Any]:
    """A collector configuration for the test bed: quick retries, the given services."""
    sections: dict[str, Any] = {
        # A client id of its own, kept across restarts of this collector (its MQTT session).
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker.port,
            "keepalive_s": 10,
            "client_id": f"tagtrail-collector-test-{secrets.token_hex(4)}",
        },
        "influx": {"url": influx.url, "database": db, "timeout_s": 5.0},
        "registry": {"url": f"sqlite:///{registry}"},
        "ingest": {"batch_max_delay_s": 0.05, "retry_base_s": 0.2, "retry_cap_s": 2.0},
        "log": {"level": "WARNING", "format": "text"},
    }
    for name, values in overrides.items():
        sections[name] = {**sections.get(name, {}), **values}
    return sections


class CollectorProcess(Service):
    """``tagtrail-collector serve`` with a generated config; ``kill()`` and ``start()`` it."""

    name = "collector"
    host = "127.0.0.1"
    start_timeout = 30.0

    def __init__(self, sections: dict[str, Any]) -> None:
        super().__init__()
        self.sections = sections
        self.api_port = 0
        executable = Path(sys.executable).with_name("tagtrail-collector")
        if not executable.exists():
            raise BedError(f"{executable} is missing: install the collector package")
        self.executable = executable
        self._start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "collector.toml"

    def _prepare(self) -> list[str]:
        self.api_port = free_port()
        api = {**self.sections.get("api", {}), "host": self.host, "port": self.api_port}
        config = CollectorConfig.model_validate({**self.sections, "api": api})
        self.config_path.write_text(dump_toml(config))
        return [str(self.executable), "serve", "--config", str(self.config_path)]

    def _ready(self) -> bool:
        return port_open(self.host, self.api_port)
