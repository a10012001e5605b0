"""``tagtrail-collector broker ...`` and ``gateways ...``: broker accounts and gateway credentials.

A thin layer over :mod:`tagtrail_collector.provision`. Passwords are printed once, on stdout;
everything else goes to stderr so that ``> gate-3.toml`` captures just the snippet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tagtrail_collector.cli_support import fail, registry_from
from tagtrail_collector.errors import CollectorError
from tagtrail_collector.provision.broker import BrokerFiles, ListenerSettings
from tagtrail_collector.provision.gateway import BrokerAddress, provision_gateway
from tagtrail_collector.provision.influxdb import provision_accounts
from tagtrail_collector.provision.pki import Pki
from tagtrail_protocol.ids import check_id

BrokerDir = Annotated[
    Path, typer.Option("--broker-dir", help="the broker folder (tagtrail.conf, passwd, acl)")
]
DEFAULT_BROKER_DIR = Path("/etc/mosquitto/conf.d")  # Debian's mosquitto.conf includes it
RELOAD_HINT = "reload the broker to apply: systemctl reload mosquitto (or kill -HUP its pid)"

broker_app = typer.Typer(no_args_is_help=True, help="The broker's listener, accounts and ACLs.")
gateways_app = typer.Typer(no_args_is_help=True, help="Gateways: register, credentials, revoke.")


@broker_app.command("init")
def broker_init(
    *,
    cafile: Annotated[Path, typer.Option(help="CA certificate that signed the broker's")],
    certfile: Annotated[Path, typer.Option(help="the broker's certificate")],
    keyfile: Annotated[Path, typer.Option(help="the broker's private key")],
    broker_dir: BrokerDir = DEFAULT_BROKER_DIR,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TLS listener port")] = 8883,
    bind: Annotated[str, typer.Option(help="listen address (empty: all)")] = "",
    collector_user: Annotated[str, typer.Option(help="the collector's broker account")] = (
        "collector"
    ),
    max_queued: Annotated[int, typer.Option(min=1000, help="max_queued_messages")] = 100_000,
    force: Annotated[bool, typer.Option(help="overwrite an existing tagtrail.conf")] = False,
) -> None:
    """Write the broker's TLS listener config and the collector's account; print its password.

    Include the result from /etc/mosquitto/mosquitto.conf (``include_dir``) or run
    ``mosquitto -c <dir>/tagtrail.conf``. Gateways are added with ``gateways provision``.

    Example: tagtrail-collector broker init --cafile /etc/mosquitto/certs/ca.crt
    --certfile /etc/mosquitto/certs/broker.crt --keyfile /etc/mosquitto/certs/broker.key
    """

    files = BrokerFiles(broker_dir)
    if files.conf.exists() and not force:
        raise fail(ValueError(f"{files.conf} exists; --force to overwrite it"))
    listener = ListenerSettings(
        cafile=cafile, certfile=certfile, keyfile=keyfile, port=port, bind=bind,
        max_queued_messages=max_queued,
    )  # fmt: skip
    try:
        password = files.init(listener, collector_user=collector_user)
    except CollectorError as exc:
        raise fail(exc) from None
    typer.echo(f"wrote {files.conf}, {files.passwd}, {files.acl}", err=True)
    typer.echo(f"collector account {collector_user!r}, password (for collector.toml):", err=True)
    typer.echo(password)


@broker_app.command("certs")
def broker_certs(
    *,
    pki_dir: Annotated[Path, typer.Option("--dir", help="where the CA and certificates go")],
    host: Annotated[
        list[str], typer.Option(help="a name or address gateways use for the broker (repeat)")
    ],
    force: Annotated[bool, typer.Option(help="replace an existing CA")] = False,
) -> None:
    """Create a private CA and the broker's certificate (ca.crt, broker.crt, broker.key).

    For sites without a PKI of their own. Gateways get ca.crt; keep ca.key offline.

    Example: tagtrail-collector broker certs --dir /etc/mosquitto/certs --host broker.example.net
    """

    if (pki_dir / "ca.crt").exists() and not force:
        raise fail(ValueError(f"{pki_dir / 'ca.crt'} exists; --force to replace the CA"))
    try:
        pki = Pki(pki_dir)
        server = pki.server("broker", hosts=tuple(host))
    except OSError as exc:
        raise fail(ValueError(f"cannot write {pki_dir}: {exc.strerror or exc}")) from None
    typer.echo(f"{pki.ca_cert}\n{server.cert}\n{server.key}")


@gateways_app.command("provision")
def provision(
    gateway: Annotated[str, typer.Argument(help="gateway id (its broker user name too)")],
    *,
    site: Annotated[str, typer.Option(help="the registered site it is installed at")],
    broker_host: Annotated[str, typer.Option(help="broker address as the gateway reaches it")],
    mobile: Annotated[bool, typer.Option(help="a gateway on a vehicle")] = False,
    broker_port: Annotated[int, typer.Option(min=1, max=65535)] = 8883,
    ca_file: Annotated[
        str, typer.Option(help="CA file path on the gateway; empty: plain MQTT")
    ] = "/etc/tagtrail/ca.crt",
    broker_dir: BrokerDir = DEFAULT_BROKER_DIR,
    config: Annotated[Path, typer.Option("--config", "-c", help="collector config")] = Path(
        "/etc/tagtrail/collector.toml"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Register a gateway, give it a broker account, print its edge.toml snippet (once).

    Again on the same gateway: a new password (rotation). Reload the broker afterwards.

    Example: tagtrail-collector gateways provision gate-3 --site port-rtm
    --broker-host broker.example.net > gate-3.toml
    """

    try:
        check_id(gateway, what="gateway id")
        credential = provision_gateway(
            registry_from(config),
            BrokerFiles(broker_dir),
            gateway,
            site=site,
            mobile=mobile,
            broker=BrokerAddress(broker_host, broker_port, Path(ca_file) if ca_file else None),
        )
    except (CollectorError, ValueError) as exc:
        raise fail(exc) from None
    action = "new password for" if credential.rotated else "provisioned"
    typer.echo(f"{action} gateway {gateway} at {site}; {RELOAD_HINT}", err=True)
    typer.echo(json.dumps(credential.as_dict()) if as_json else credential.edge_toml(), nl=as_json)


@gateways_app.command("revoke")
def revoke(
    gateway: Annotated[str, typer.Argument(help="gateway id")],
    broker_dir: BrokerDir = DEFAULT_BROKER_DIR,
) -> None:
    """Remove a gateway's broker account (its registry entry and history stay).

    Example: tagtrail-collector gateways revoke gate-3
    """

    try:
        found = BrokerFiles(broker_dir).remove_account(gateway)
    except CollectorError as exc:
        raise fail(exc) from None
    if not found:
        raise fail(ValueError(f"{gateway!r} has no broker account in {broker_dir}"))
    typer.echo(f"revoked {gateway}; {RELOAD_HINT}", err=True)


influx_app = typer.Typer(no_args_is_help=True, help="InfluxDB: the accounts on a new server.")


@influx_app.command("init")
def influx_init(
    *,
    env_file: Annotated[
        Path, typer.Option(help="the collector's environment file, to add its InfluxDB account")
    ],
    admin_file: Annotated[
        Path, typer.Option(help="where the admin's password is kept (mode 0600)")
    ],
    url: Annotated[str, typer.Option(help="InfluxDB's HTTP API")] = "http://127.0.0.1:8086",
) -> None:
    """On a new InfluxDB 1.x with authentication on: create an admin (its password goes to
    --admin-file) and the collector's user (added to --env-file as
    TAGTRAIL_COLLECTOR_INFLUX__USERNAME/PASSWORD). Does nothing when the server has users.

    Example: tagtrail-collector influx init --env-file /etc/tagtrail/collector.env
    --admin-file /etc/tagtrail/influxdb-admin.env
    """

    try:
        made = provision_accounts(url)
    except CollectorError as exc:
        raise fail(exc) from None
    if made is None:
        typer.echo(f"InfluxDB at {url} has users already: nothing changed", err=True)
        return
    admin_file.parent.mkdir(parents=True, exist_ok=True)
    admin_file.touch(mode=0o600)
    admin_file.write_text(f"INFLUX_USERNAME=admin\nINFLUX_PASSWORD={made.admin_password}\n")
    with env_file.open("a") as env:
        env.write(
            f"TAGTRAIL_COLLECTOR_INFLUX__USERNAME={made.collector_user}\n"
            f"TAGTRAIL_COLLECTOR_INFLUX__PASSWORD={made.collector_password}\n"
        )
    typer.echo(f"InfluxDB accounts made: admin (password in {admin_file}), "
               f"{made.collector_user} (in {env_file})", err=True)  # fmt: skip
