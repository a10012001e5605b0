"""What a driver is: the device contract, the settings every driver's schema extends, and the
registry entry that ties a driver's name to its settings and its constructor.

A device (reader or GPS) is built from its settings, then ``run(sink, stop)`` in a thread of its
own: it hands what it read to ``sink`` (which may block until the reads are committed) until
``stop`` is set, reopening its transport whenever it fails; ``status()`` may be called from any
thread. See ``drivers.py`` for the registry and each driver folder's README for its settings.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tagtrail_hardware.reads import Fix, TagRead

State = Literal["ok", "starting", "absent", "error"]
DeviceKind = Literal["rfid-reader", "gps"]
Transport = Literal["serial", "tcp", "http", "mqtt"]
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Sink = Callable[[list[T]], None]
"""Where a driver hands what it read; may block (the edge agent returns after committing)."""
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Baudrate = Annotated[int, Field(ge=300, le=4_000_000)]


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A snapshot of one device's health, for status messages and the CLI."""

    name: str
    kind: DeviceKind
    state: State
    detail: str | None
    reopens: int
    rejected: dict[str, int]
    identity: str | None = None


class Device(Protocol[T_co]):
    """What the agent runs: a reader (``Device[TagRead]``) or a GPS (``Device[Fix]``)."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> DeviceKind: ...

    def run(self, sink: Callable[[list[Any]], None], stop: threading.Event) -> None: ...

    def status(self) -> DeviceStatus: ...


Reader = Device[TagRead]
Gps = Device[Fix]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: a random wait in [0, min(cap, base * 2**n)]."""

    base_s: float = 0.2
    cap_s: float = 10.0

    def delay(self, attempt: int, *, down_s: float | None = None) -> float:
        """The wait before attempt ``attempt + 1``.

        ``down_s``, how long the link has been down, bounds the wait too (but never below the
        base): a short outage is never followed by a long wait, so a link is back at most about
        twice the outage after it ends, however unlucky the jitter was before.
        """
        high = min(self.cap_s, self.base_s * 2 ** min(attempt, 30))
        if down_s is not None:
            high = min(high, max(self.base_s, down_s))
        return random.uniform(0.0, high)  # noqa: S311


class DriverSettings(BaseModel):
    """Base of every driver's settings: unknown keys refused, frozen, keys documented."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    def serial_path(self) -> str | None:
        """The serial port this device is on, if it is on one (``devices`` lists it)."""
        return None

    def where(self) -> str:
        """Where the device is, for messages: a port, an address."""
        return self.serial_path() or "?"


class ReaderSettings(DriverSettings):
    """A ``[[readers]]`` entry; ``driver`` picks the rest of its keys."""

    name: Name
    """reader name (read points default to "<name>-a<antenna>")"""
    driver: str
    """which driver: tagtrail-edge init lists them (ascii, mercury...)"""


class GpsSettings(DriverSettings):
    """The ``[gps]`` section; ``source`` picks the rest of its keys."""

    source: str
    """"none", or which driver: "nmea" (serial receiver) or "gpsd" (preferred if running)"""
    max_fix_age_s: Annotated[float, Field(gt=0)] = 30.0
    """a fix is stale after this: mobile gateways stamp no position from it"""


class SerialSettings(DriverSettings):
    """Keys of a device on a serial port."""

    path: str
    """serial port; /dev/serial/by-id/... survives re-plugging"""
    baudrate: Baudrate = 115200
    """serial speed"""

    def serial_path(self) -> str | None:
        return self.path


@dataclass(frozen=True, slots=True)
class Found:
    """What ``probe`` found on a port: ``kind`` is e.g. ``mercury-reader``, ``nmea-gps``."""

    path: str
    kind: str
    baudrate: int | None
    identity: str
    details: dict[str, object] = field(default_factory=dict)


S = TypeVar("S", bound=DriverSettings)


@dataclass(frozen=True, slots=True)
class Driver(Generic[S]):
    """A registry entry: one driver's name, schema, constructor and what it offers ``probe``.

    ``recognise`` looks at what a serial port said unasked (at one baud rate) and says whether
    it is this driver's device; ``query`` asks the open port actively. Both are optional.
    """

    name: str
    kind: DeviceKind
    transport: Transport
    summary: str
    settings: type[S]
    build: Callable[[S], Device[Any]]
    recognise: Callable[[str, int, bytes], Found | None] | None = None
    query: Callable[[str, Any, int], Found | None] | None = None
