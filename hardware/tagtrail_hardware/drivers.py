"""The registry of drivers: a name in the config picks a driver, its settings and its device.

A ``[[readers]]`` entry names its driver with ``driver = "..."``, the ``[gps]`` section with
``source = "..."`` (``"none"``: no GPS). :data:`ReaderConfig` and :data:`GpsConfig` are the
config's discriminated unions: they validate an entry against its driver's own settings model,
so a key of another driver, or a bad value, is refused at start-up with its path
(``readers.0.region``). ``init``, ``probe``, ``devices``, ``doctor`` and the agent all go
through here. A new driver is a folder (code, settings, README.md, sample.toml) and one line
in :data:`BUILT_IN`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

from tagtrail_hardware import ascii, gpsd, mercury, nmea
from tagtrail_hardware.contract import (
    Device,
    DeviceKind,
    Driver,
    DriverSettings,
    GpsSettings,
    ReaderSettings,
)
from tagtrail_hardware.errors import HardwareError

# GPS first: probe offers what a port said to NMEA before ASCII (an NMEA line is not a tag).
BUILT_IN: tuple[Driver[Any], ...] = (nmea.DRIVER, gpsd.DRIVER, ascii.DRIVER, mercury.DRIVER)
NO_GPS = "none"

_registry: dict[str, Driver[Any]] = {}


def register(driver: Driver[Any]) -> Driver[Any]:
    """Add a driver (a test's, a site's own); its name must be new."""
    if driver.name in _registry or driver.name == NO_GPS:
        raise HardwareError(f"a driver named {driver.name!r} is registered already")
    _registry[driver.name] = driver
    return driver


def unregister(name: str) -> None:
    _registry.pop(name, None)


for _driver in BUILT_IN:
    register(_driver)


def get(name: str) -> Driver[Any]:
    """The driver called ``name``; HardwareError names the known ones when there is none."""
    try:
        return _registry[name]
    except KeyError:
        raise HardwareError(f"no driver {name!r}; known: {', '.join(_registry)}") from None


def of_kind(kind: DeviceKind) -> list[Driver[Any]]:
    """Every registered driver of one kind, in registration order."""
    return [d for d in _registry.values() if d.kind == kind]


def serial_drivers() -> list[Driver[Any]]:
    return [d for d in _registry.values() if d.transport == "serial"]


def build(settings: DriverSettings) -> Device[Any]:
    """The device for a validated settings entry, built by its driver."""
    if isinstance(settings, ReaderSettings):
        return get(settings.driver).build(settings)
    if isinstance(settings, GpsSettings):
        return get(settings.source).build(settings)
    raise HardwareError(f"not a reader's or a GPS's settings: {type(settings).__name__}")


def build_all(entries: Iterable[DriverSettings]) -> list[Device[Any]]:
    return [build(entry) for entry in entries]


def _pick(kind: DeviceKind, key: str) -> Any:  # noqa: ANN401 (pydantic's validator signature)
    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:  # noqa: ANN401
        if value is None or isinstance(value, DriverSettings):
            return value
        if not isinstance(value, dict):
            raise PydanticCustomError("driver_table", "a table with a {key} key", {"key": key})
        drivers = of_kind(kind)
        if kind == "gps" and value.get(key, NO_GPS) == NO_GPS:
            # No GPS: the keys of the GPS drivers may stay in the file (an example's, or those
            # of a receiver taken out), and are not used; anything else is a typo.
            _refuse_unknown(value, {f for d in drivers for f in d.settings.model_fields})
            return None
        known = {d.name: d for d in drivers}
        name = value.get(key)
        if name not in known:
            raise PydanticCustomError(
                "unknown_driver", "{key} = '{name}' is not a driver; one of: {known}",
                {"key": key, "name": str(name), "known": ", ".join(known)},
            )  # fmt: skip
        driver = known[str(name)]
        _refuse_other_drivers_keys(value, driver, drivers)
        return driver.settings.model_validate(value)

    return WrapValidator(validate)


def _refuse_unknown(value: dict[str, Any], allowed: set[str]) -> None:
    if unknown := sorted(set(value) - allowed):
        raise PydanticCustomError(
            "unknown_keys", "no driver has the key(s) {keys}", {"keys": ", ".join(unknown)}
        )


def _refuse_other_drivers_keys(
    value: dict[str, Any], driver: Driver[Any], drivers: list[Driver[Any]]
) -> None:
    """A key of another driver (``region`` on an ascii reader) is named as such."""
    own = set(driver.settings.model_fields)
    for other in drivers:
        if misplaced := sorted((set(value) - own) & set(other.settings.model_fields)):
            raise PydanticCustomError(
                "other_driver_key", "{keys}: key(s) of the {other} driver, not of {driver}",
                {"keys": ", ".join(misplaced), "other": other.name, "driver": driver.name},
            )  # fmt: skip


ReaderConfig = Annotated[ReaderSettings, _pick("rfid-reader", "driver")]
"""A ``[[readers]]`` entry, validated by the settings model of the driver it names."""
GpsConfig = Annotated[GpsSettings | None, _pick("gps", "source")]
"""The ``[gps]`` section (None for ``source = "none"``), validated by its driver's model."""
