"""``tagtrail-edge init``: a new gateway config, asked for or taken from flags, validated as it
goes and written as commented TOML."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from tagtrail_edge.cli.common import DEFAULT_CONFIG, ConfigOption
from tagtrail_edge.cli.config import check_setting, render, write_atomically
from tagtrail_edge.config import (
    GatewaySection,
    MqttSection,
    OutboxSection,
    ReadPointSection,
    validate,
)
from tagtrail_edge.errors import ConfigError
from tagtrail_hardware import drivers
from tagtrail_hardware.contract import DeviceKind, Driver, GpsSettings, ReaderSettings
from tagtrail_hardware.ports import scan

Text = str | None


def init(
    config: ConfigOption = DEFAULT_CONFIG,
    *,
    gateway_id: Annotated[Text, typer.Option(help="this gateway's id, e.g. gate-3")] = None,
    site: Annotated[Text, typer.Option(help="the site it is installed at, e.g. port-rtm")] = None,
    mobile: Annotated[
        bool | None, typer.Option("--mobile/--fixed", help="on a vehicle (events get positions)")
    ] = None,
    mqtt_host: Annotated[Text, typer.Option(help="MQTT broker host")] = None,
    mqtt_port: Annotated[int | None, typer.Option(help="MQTT broker port (8883: TLS)")] = None,
    username: Annotated[Text, typer.Option(help="this gateway's broker user")] = None,
    password: Annotated[
        Text, typer.Option(help="its password (asked, hidden, if left out)")
    ] = None,
    ca_file: Annotated[
        Text, typer.Option(help="CA certificate of the broker (none: no TLS)")
    ] = None,
    cert_file: Annotated[
        Text, typer.Option(help="client certificate, if the broker wants one")
    ] = None,
    key_file: Annotated[Text, typer.Option(help="the client certificate's key")] = None,
    reader: Annotated[
        list[str] | None,
        typer.Option(help="a reader as NAME,DRIVER,PATH[,BAUD] (driver ascii or mercury); repeat"),
    ] = None,
    read_point: Annotated[
        list[str] | None,
        typer.Option(help="a read point as NAME,READER,ANTENNA; repeat (default: one per reader)"),
    ] = None,
    gps: Annotated[Text, typer.Option(help="none, nmea:PATH[:BAUD] or gpsd[:HOST[:PORT]]")] = None,
    outbox: Annotated[Text, typer.Option(help="outbox file")] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="never ask: fail on a missing required value")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Create a gateway config: asks for what the flags leave out (gateway id, site, broker,
    credentials, TLS files, readers, GPS), checks each answer as it is given, validates the
    whole and writes a commented TOML (mode 0600: it holds the password).

    Example: tagtrail-edge init --config edge.toml --gateway-id gate-3 --site port-rtm
    --mqtt-host broker.example.net --username gate-3 --password s3cret
    --ca-file /etc/tagtrail/ca.crt --reader dock,ascii,/dev/ttyUSB0 --gps none --no-input
    """

    if config.exists() and not force:
        typer.echo(
            f"error: {config} exists (--force to overwrite, or config set KEY VALUE)", err=True
        )
        raise typer.Exit(2)
    ask = _Asker(interactive=not no_input)
    try:
        data = _gather(ask, locals())
        validate(data, config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    write_atomically(config, render(data), mode=0o600)
    typer.echo(f"wrote {config}; next: tagtrail-edge doctor --config {config}")


def _gather(ask: _Asker, given: dict[str, Any]) -> dict[str, Any]:

    gateway_id = ask.value(GatewaySection, "id", given["gateway_id"], "Gateway id")
    site = ask.value(GatewaySection, "site", given["site"], "Site id")
    mobile = ask.flag(given["mobile"], "Is it on a vehicle (truck, reach stacker)?")
    host = ask.value(MqttSection, "host", given["mqtt_host"], "MQTT broker host")
    ca = ask.value(
        MqttSection, "ca_file", given["ca_file"], "Broker CA certificate (none: no TLS)",
        default="/etc/tagtrail/ca.crt" if ask.interactive else None, file=True,
    )  # fmt: skip
    if ca is None:
        typer.echo("warning: no TLS; credentials and data cross the network in clear", err=True)
    mqtt = {
        "host": host,
        "port": ask.value(
            MqttSection,
            "port",
            given["mqtt_port"],
            "MQTT broker port",
            default=8883 if ca else 1883,
        ),
        "username": ask.value(
            MqttSection, "username", given["username"], "Broker user", default=gateway_id
        ),
        "password": ask.secret(given["password"], "Broker password"),
        "ca_file": ca,
        "cert_file": ask.optional_file(MqttSection, "cert_file", given["cert_file"]),
        "key_file": ask.optional_file(MqttSection, "key_file", given["key_file"]),
    }
    readers = _readers(ask, given["reader"])
    data: dict[str, Any] = {"gateway": {"id": gateway_id, "site": site, "mobile": mobile}}
    data["mqtt"] = mqtt
    data["outbox"] = {
        "path": ask.value(
            OutboxSection, "path", given["outbox"], "Outbox file",
            default=str(OutboxSection().path),
        )
    }  # fmt: skip
    data["gps"] = _gps(ask, given["gps"], mobile=mobile)
    if readers:
        data["readers"] = readers
        data["read_points"] = _read_points(given["read_point"], readers, gateway_id)
    return data


def _readers(ask: _Asker, specs: list[str] | None) -> list[dict[str, Any]]:

    if specs is not None or not ask.interactive:
        return [_reader_spec(spec) for spec in specs or []]
    readers: list[dict[str, Any]] = []
    _show_ports()
    while ask.flag(None, "Add a reader?", default=not readers):
        number = len(readers) + 1
        taken = {r["name"] for r in readers}
        name = ask.value(
            ReaderSettings, "name", None, "Reader name", default=f"reader{number}", unlike=taken
        )
        driver = ask.driver("rfid-reader")
        entry: dict[str, Any] = {"name": name, "driver": driver.name}
        for key in _own_keys(driver.settings, ReaderSettings):
            entry[key] = ask.value(driver.settings, key, None, _question(driver.settings, key))
        readers.append(entry)
    return readers


def _own_keys(model: type[BaseModel], base: type[BaseModel]) -> list[str]:
    """The keys a driver's settings add to its base, required ones and the transport's."""
    return [
        key
        for key, field in model.model_fields.items()
        if key not in base.model_fields and (field.is_required() or key in _ASKED)
    ]


_ASKED = frozenset({"path", "baudrate", "gpsd_host", "gpsd_port"})


def _question(model: type[BaseModel], key: str) -> str:
    return (model.model_fields[key].description or key).split(";")[0].capitalize()


def _reader_spec(spec: str) -> dict[str, Any]:

    parts = spec.split(",")
    if len(parts) not in (3, 4):
        raise ConfigError(f"--reader {spec!r}: expected NAME,DRIVER,PATH[,BAUD]")
    known = {d.name: d for d in drivers.of_kind("rfid-reader")}
    driver = known.get(parts[1])
    if driver is None:
        choices = ", ".join(known)
        raise ConfigError(f"--reader {spec!r}: driver = {parts[1]!r} is not one of {choices}")
    keys = ("name", "driver", "path", "baudrate")
    return {
        key: check_setting(driver.settings, key, value)
        for key, value in zip(keys, parts, strict=False)
    }


def _read_points(
    specs: list[str] | None, readers: list[dict[str, Any]], gateway_id: str
) -> list[dict[str, Any]]:

    if not specs:
        return [
            {"name": f"{gateway_id}-{r['name']}", "reader": r["name"], "antenna": 1}
            for r in readers
        ]
    points = []
    for spec in specs:
        parts = spec.split(",")
        if len(parts) != 3:
            raise ConfigError(f"--read-point {spec!r}: expected NAME,READER,ANTENNA")
        keys = ("name", "reader", "antenna")
        points.append(
            {k: check_setting(ReadPointSection, k, v) for k, v in zip(keys, parts, strict=False)}
        )
    return points


def _gps(ask: _Asker, spec: str | None, *, mobile: bool) -> dict[str, Any]:

    if spec is not None or not ask.interactive:
        return _gps_spec(spec or "none")
    default = "gpsd" if mobile else "none"
    while True:  # the last question: a wrong answer must not cost the ones before it
        forms = ", ".join(_gps_form(d) for d in drivers.of_kind("gps"))
        answer = ask.text(None, f"GPS (none, {forms})", default=default)
        try:
            return _gps_spec(answer)
        except ConfigError as exc:
            typer.echo(f"  {exc}", err=True)


def _gps_spec(spec: str) -> dict[str, Any]:

    source, *rest = spec.split(":")
    if source == drivers.NO_GPS and not rest:
        return {"source": drivers.NO_GPS}
    known = {d.name: d for d in drivers.of_kind("gps")}
    driver = known.get(source)
    keys = [] if driver is None else _own_keys(driver.settings, GpsSettings)
    required = (
        []
        if driver is None
        else [k for k in keys if driver.settings.model_fields[k].is_required() or k == "path"]
    )
    if driver is None or len(rest) > len(keys) or len(rest) < len(required):
        forms = ", ".join(_gps_form(d) for d in known.values())
        raise ConfigError(f"--gps {spec!r}: expected none, {forms}")
    return {"source": source} | {
        key: check_setting(driver.settings, key, value)
        for key, value in zip(keys, rest, strict=False)
    }


def _gps_form(driver: Driver[Any]) -> str:
    """``nmea:PATH[:BAUD]``, ``gpsd[:HOST[:PORT]]``: how --gps names a driver's keys."""
    words = {"path": "PATH", "baudrate": "BAUD", "gpsd_host": "HOST", "gpsd_port": "PORT"}
    form = driver.name
    for key in _own_keys(driver.settings, GpsSettings):
        word = words.get(key, key.upper())
        form += f":{word}" if key == "path" else f"[:{word}"
    return form + "]" * form.count("[")


def _show_ports() -> None:

    ports = [p for p in scan() if p.usb_id or p.by_id]
    for port in ports:
        typer.echo(
            f"  found {port.by_id or port.path}: {port.product or port.usb_id} ({port.access})"
        )


class _Asker:
    """Asks for what the flags left out, re-asking until the answer is valid."""

    def __init__(self, *, interactive: bool) -> None:
        self.interactive = interactive

    def value(
        self,
        model: type[BaseModel],
        key: str,
        given: object,
        question: str,
        *,
        default: object = None,
        file: bool = False,
        unlike: set[str] | frozenset[str] = frozenset(),
    ) -> Any:  # noqa: ANN401

        field = model.model_fields[key]
        if default is None and not field.is_required():
            default = field.default
        if given is not None or not self.interactive:
            if given is None and default is None and field.is_required():
                raise ConfigError(f"{key} is required (--{_flag(model, key)})")
            return _check(model, key, default if given is None else given, file=file)
        while True:
            answer = typer.prompt(question, default=default)
            if answer in unlike:
                typer.echo(f"  {key} = {answer!r}: taken already", err=True)
                continue
            try:
                return _check(model, key, answer, file=file)
            except ConfigError as exc:
                typer.echo(f"  {exc}", err=True)

    def driver(self, kind: DeviceKind) -> Driver[Any]:
        """Which driver: the registered ones of ``kind`` are listed with what each is for."""
        known = {d.name: d for d in drivers.of_kind(kind)}
        for driver in known.values():
            typer.echo(f"  {driver.name}: {driver.summary}")
        while True:
            answer = typer.prompt(f"Driver ({', '.join(known)})")
            if answer in known:
                return known[answer]
            typer.echo(f"  {answer!r} is not a driver; one of: {', '.join(known)}", err=True)

    def optional_file(self, model: type[BaseModel], key: str, given: Text) -> Text:
        if given is None:
            return None  # a client certificate is rare: flags only
        return self.value(model, key, given, key, file=True)  # type: ignore[no-any-return]

    def secret(self, given: Text, question: str) -> Text:
        if given is not None or not self.interactive:
            return given
        answer: str = typer.prompt(
            f"{question} (empty: none)", default="", hide_input=True, show_default=False
        )
        return answer or None

    def flag(
        self,
        given: bool | None,  # noqa: FBT001 (a flag's value)
        question: str,
        *,
        default: bool = False,
    ) -> bool:
        if given is not None:
            return given
        if not self.interactive:
            return default
        return typer.confirm(question, default=default)

    def text(self, given: Text, question: str, *, default: str) -> str:
        if given is not None:
            return given
        if not self.interactive:
            return default
        answer: str = typer.prompt(question, default=default)
        return answer


def _check(model: type[BaseModel], key: str, value: object, *, file: bool) -> Any:  # noqa: ANN401

    if file and value in ("", "none", None):
        return None
    checked = check_setting(model, key, value)
    if file and not Path(str(checked)).is_file():
        raise ConfigError(f"{key} = {str(checked)!r}: no such file")
    if file and key in _PEM:
        _check_pem(key, Path(str(checked)))
    return str(checked) if isinstance(checked, Path) else checked


_PEM = {"ca_file": "CERTIFICATE", "cert_file": "CERTIFICATE", "key_file": "PRIVATE KEY"}


def _check_pem(key: str, path: Path) -> None:
    """The file holds what ``key`` names: a CA that loads as one, a certificate, a key."""

    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{key} = {str(path)!r}: not a PEM file ({exc})") from None
    if f"{_PEM[key]}-----" not in text:
        raise ConfigError(f"{key} = {str(path)!r}: holds no PEM {_PEM[key].lower()}")
    if key == "ca_file":
        try:
            ssl.create_default_context(cafile=str(path))
        except ssl.SSLError as exc:
            raise ConfigError(
                f"{key} = {str(path)!r}: not a usable CA certificate: {exc}"
            ) from None


def _flag(model: type[BaseModel], key: str) -> str:
    names = {("GatewaySection", "id"): "gateway-id", ("MqttSection", "host"): "mqtt-host"}
    return names.get((model.__name__, key), key.replace("_", "-"))
