"""``tagtrail-collector``: run the service, and set up the registry from the command line.

A thin layer: the registry does the work; errors become one-line messages with exit status 2.
"""

from __future__ import annotations

import gc
import os
import re
import threading
from pathlib import Path
from typing import Annotated

import typer

from tagtrail_collector.cli_support import fail, registry_from
from tagtrail_collector.config import load_config
from tagtrail_collector.errors import CollectorError
from tagtrail_collector.provision_cli import broker_app, gateways_app, influx_app
from tagtrail_collector.store.registry.records import Role, SiteKind
from tagtrail_protocol import logs
from tagtrail_protocol.ids import check_id

DEFAULT_CONFIG = Path(os.environ.get("TAGTRAIL_COLLECTOR_CONFIG", "/etc/tagtrail/collector.toml"))
app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
admin_app = typer.Typer(no_args_is_help=True, help="Registry set-up: keys, carriers, sites.")
app.add_typer(admin_app, name="admin")
app.add_typer(broker_app, name="broker")
app.add_typer(gateways_app, name="gateways")
app.add_typer(influx_app, name="influx")
ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="collector config (env TAGTRAIL_COLLECTOR_CONFIG)")
]


@app.command()
def serve(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Run ingest and the HTTP API until SIGTERM or SIGINT.

    Example: tagtrail-collector serve --config /etc/tagtrail/collector.toml
    """
    import uvicorn  # noqa: PLC0415 (keep the admin commands quick)

    from tagtrail_collector.service import Collector  # noqa: PLC0415

    try:
        settings = load_config(config)
        logs.setup(
            settings.log,
            adopt=("uvicorn", "uvicorn.error", "uvicorn.access"),
            quiet=("httpx", "httpcore"),  # one line per InfluxDB request would drown the rest
        )
        collector = Collector(settings)
    except CollectorError as exc:
        raise fail(exc) from None
    api = settings.api
    server = uvicorn.Server(
        uvicorn.Config(
            collector.app(), host=api.host, port=api.port, log_config=None, access_log=False
        )
    )
    ops = None
    if api.metrics_port is not None:
        ops = uvicorn.Server(
            uvicorn.Config(
                collector.ops_app(), host=api.metrics_host, port=api.metrics_port,
                log_config=None, access_log=False,
            )
        )  # fmt: skip
        threading.Thread(target=ops.run, name="ops-http", daemon=True).start()
    _tune_gc()
    collector.start()
    try:
        server.run()  # returns on SIGTERM/SIGINT (uvicorn installs the handlers)
    finally:
        if ops is not None:
            ops.should_exit = True
        collector.stop()


def _tune_gc() -> None:
    """Fewer cyclic garbage collections for a long-running ingest.

    Decoding a batch allocates thousands of short-lived objects that reference counting frees;
    with the default thresholds they still trigger collections that scan the whole heap, about a
    fifth of the decode time. The modules loaded so far are moved out of the collector's sight.
    """
    gc.freeze()
    gc.set_threshold(_GC_THRESHOLD, 20, 20)


_GC_THRESHOLD = 50_000


@app.command("check-config")
def check_config(config: Annotated[Path, typer.Argument(help="file to validate")]) -> None:
    """Validate a config file and say what is wrong with it.

    Example: tagtrail-collector check-config /etc/tagtrail/collector.toml
    """

    try:
        load_config(config)
    except CollectorError as exc:
        raise fail(exc) from None
    typer.echo(f"{config}: valid")


@admin_app.command("key")
def admin_key(config: ConfigOption = DEFAULT_CONFIG, label: str = "cli") -> None:
    """Create an admin API key and print it (once: only its hash is kept).

    Example: tagtrail-collector admin key --config /etc/tagtrail/collector.toml
    """

    try:
        typer.echo(registry_from(config).create_key(Role.ADMIN, label=label))
    except CollectorError as exc:
        raise fail(exc) from None


@admin_app.command("carrier")
def admin_carrier(
    carrier_id: Annotated[str, typer.Argument(help="carrier id: a-z, 0-9, '.', '_', '-'")],
    name: Annotated[str, typer.Argument(help="display name")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Register a carrier and print its first API key (once).

    Example: tagtrail-collector admin carrier rhine-freight "Rhine Freight BV"
    """

    try:
        check_id(carrier_id, what="carrier id")
        registry = registry_from(config)
        registry.create_carrier(carrier_id, name)
        typer.echo(registry.create_key(Role.CARRIER, carrier_id=carrier_id, label="first"))
    except (CollectorError, ValueError) as exc:
        raise fail(exc) from None


@admin_app.command("site")
def admin_site(
    site_id: Annotated[str, typer.Argument(help="site id")],
    *,
    name: Annotated[str, typer.Option(help="display name")],
    kind: Annotated[str, typer.Option(help=", ".join(k.value for k in SiteKind))],
    lat: float | None = None,
    lon: float | None = None,
    radius_m: Annotated[
        float | None, typer.Option(help="with lat and lon: a circular geofence")
    ] = None,
    unlocode: Annotated[str | None, typer.Option(help="UN/LOCODE, e.g. NLRTM")] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2, e.g. NL")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Register a site (a polygon geofence: PUT /v1/admin/sites/{id}/geofence).

    Example: tagtrail-collector admin site port-rtm --name "Rotterdam gate 3" --kind port
    --lat 51.95 --lon 4.05 --radius-m 500 --unlocode NLRTM --country NL
    """

    try:
        check_id(site_id, what="site id")
        registry_from(config).create_site(
            site_id, name=name, kind=_site_kind(kind), lat=lat, lon=lon, radius_m=radius_m,
            unlocode=_matching(unlocode, r"[A-Z]{2}[A-Z2-9]{3}", "--unlocode", "NLRTM"),
            country=_matching(country, r"[A-Z]{2}", "--country", "NL"),
        )  # fmt: skip
    except (CollectorError, ValueError) as exc:
        raise fail(exc) from None
    typer.echo(f"site {site_id} registered")


def _site_kind(kind: str) -> SiteKind:
    if kind not in {k.value for k in SiteKind}:
        raise ValueError(f"--kind must be one of {', '.join(k.value for k in SiteKind)}")
    return SiteKind(kind)


def _matching(value: str | None, pattern: str, option: str, example: str) -> str | None:
    if value is not None and not re.fullmatch(pattern, value):
        raise ValueError(f"{option} {value!r} is not valid (e.g. {example})")
    return value


@admin_app.command("gateway")
def admin_gateway(
    gateway_id: Annotated[str, typer.Argument(help="gateway id")],
    *,
    site: Annotated[str, typer.Option(help="the site it is installed at")],
    mobile: Annotated[bool, typer.Option(help="a gateway on a vehicle")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Register a gateway at a site.

    Example: tagtrail-collector admin gateway truck-7 --site truck-7 --mobile
    """

    try:
        check_id(gateway_id, what="gateway id")
        registry_from(config).create_gateway(gateway_id, site_id=site, mobile=mobile)
    except (CollectorError, ValueError) as exc:
        raise fail(exc) from None
    typer.echo(f"gateway {gateway_id} registered at {site}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
