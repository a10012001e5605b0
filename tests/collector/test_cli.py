"""The admin commands: first admin key, carriers, sites and gateways from the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tagtrail_collector.cli import app
from tagtrail_collector.store.registry.db import connect
from tagtrail_collector.store.registry.registry import Registry

runner = CliRunner()


def test_admin_commands_set_up_the_registry(tmp_path: Path) -> None:
    config = tmp_path / "collector.toml"
    config.write_text(f'[registry]\nurl = "sqlite:///{tmp_path}/registry.db"\n')
    c = ["--config", str(config)]
    admin = runner.invoke(app, ["admin", "key", *c])
    assert admin.exit_code == 0, admin.output
    carrier = runner.invoke(app, ["admin", "carrier", "rhine", "Rhine Freight", *c])
    assert carrier.exit_code == 0, carrier.output
    site = ["admin", "site", "port-a", "--name", "Port A", "--kind", "port", "--lat", "51.9"]
    assert runner.invoke(app, [*site, "--lon", "4.1", *c]).exit_code == 0
    gateway = runner.invoke(app, ["admin", "gateway", "gate-1", "--site", "port-a", *c])
    assert gateway.exit_code == 0, gateway.output

    registry = Registry(connect(f"sqlite:///{tmp_path}/registry.db"))
    assert registry.authenticate(admin.output.strip()).role.value == "admin"
    assert registry.authenticate(carrier.output.strip()).carrier_id == "rhine"
    assert registry.gateway("gate-1").site_id == "port-a"
    registry.engine.dispose()

    again = runner.invoke(app, ["admin", "carrier", "rhine", "Rhine Freight", *c])
    assert again.exit_code == 2
    assert "already exists" in again.output
    unknown = runner.invoke(app, ["admin", "gateway", "gate-2", "--site", "nowhere", *c])
    assert unknown.exit_code == 2
    assert "no site 'nowhere'" in unknown.output
    bad = runner.invoke(app, ["check-config", str(tmp_path / "missing.toml")])
    assert bad.exit_code == 2
    assert "cannot read config" in bad.output
