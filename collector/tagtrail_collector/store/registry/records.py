"""Frozen values the registry hands out (rows as typed records)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    CARRIER = "carrier"
    ADMIN = "admin"


class SiteKind(StrEnum):
    """The hand-overs a shipment passes; a vehicle is a site that moves (its gateways are
    mobile)."""

    PORT = "port"
    TERMINAL = "terminal"
    WAREHOUSE = "warehouse"
    BONDED_WAREHOUSE = "bonded_warehouse"
    CUSTOMS = "customs"
    BORDER_CROSSING = "border_crossing"
    YARD = "yard"
    DISTRIBUTION_CENTRE = "distribution_centre"
    VEHICLE = "vehicle"


class ShipmentStatus(StrEnum):
    """registered -> in_transit -> at_site / held -> delivered, with exception beside them
    (``journey/status.py`` holds the allowed transitions); cancelled by the carrier."""

    REGISTERED = "registered"
    IN_TRANSIT = "in_transit"
    AT_SITE = "at_site"
    HELD = "held"
    EXCEPTION = "exception"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"

    @property
    def closed(self) -> bool:
        """Set by a carrier, these close a shipment: its identifiers are released (they may be
        attached again). Derived from milestones, ``delivered`` closes nothing."""
        return self in (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: an admin, or a carrier (``carrier_id``)."""

    role: Role
    key_id: str
    carrier_id: str | None = None


@dataclass(frozen=True, slots=True)
class Carrier:
    id: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    role: Role
    carrier_id: str | None
    label: str
    created_at: int
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    kind: SiteKind
    lat: float | None
    lon: float | None
    radius_m: float | None
    created_at: int
    geofence: str | None = None  # GeoJSON text
    unlocode: str | None = None
    gln: str | None = None
    country: str | None = None
    confirm_fixes: int | None = None
    confirm_s: float | None = None
    margin_m: float | None = None
    updated_at: int | None = None

    @property
    def fenced(self) -> bool:
        """Whether the site has a geofence (a polygon, or coordinates with a radius)."""
        return self.geofence is not None or (
            self.lat is not None and self.lon is not None and self.radius_m is not None
        )


@dataclass(frozen=True, slots=True)
class Gateway:
    id: str
    site_id: str
    mobile: bool
    description: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ReadPoint:
    gateway_id: str
    antenna: int
    name: str
    zone: str


@dataclass(frozen=True, slots=True)
class Shipment:
    id: str
    carrier_id: str
    reference: str
    status: ShipmentStatus
    origin_site: str | None
    destination_site: str | None
    sscc: str | None
    created_at: int
    epcs: tuple[str, ...] = ()
    closed_at: int | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """An identifier of a shipment and the span in which its sightings are the shipment's."""

    epc: str | None
    sscc: str | None
    attached_at: int
    released_at: int | None


@dataclass(frozen=True, slots=True)
class GatewayPosition:
    gateway_id: str
    time: int
    lat: float
    lon: float
    hdop: float | None
    speed_mps: float | None
    course_deg: float | None


@dataclass(frozen=True, slots=True)
class NewDeadLetter:
    """A payload (or an InfluxDB point) that cannot be stored, with a stable reason code."""

    topic: str
    gateway_id: str | None
    reason: str
    detail: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    received_at: int
    topic: str
    gateway_id: str | None
    reason: str
    detail: str
    payload: bytes


def row_dict(row: Any) -> dict[str, Any]:  # noqa: ANN401 (a SQLAlchemy Row)
    return dict(row._mapping)


@dataclass(frozen=True, slots=True)
class Sighting:
    """One observation event, reduced to what the projections need."""

    epc: str
    time_ns: int
    site: str
    gateway: str
    read_point: str
    event: str
    lat: float | None = None
    lon: float | None = None
    fix_age_s: float | None = None
    sscc: str | None = None

    @property
    def order(self) -> tuple[int, str, str, str]:
        return (self.time_ns, self.gateway, self.read_point, self.event)


@dataclass(frozen=True, slots=True)
class Visit:
    """A tag's stay at a site: from its first to its last sighting there."""

    epc: str
    site: str
    gateway: str
    arrived: int
    last_seen: int
    id: int | None = None


@dataclass(frozen=True, slots=True)
class VisitPlan:
    """What to change in an EPC's visits: update/insert, or rebuild from history."""

    updates: tuple[Visit, ...] = ()
    inserts: tuple[Visit, ...] = ()
    rebuild_from: int | None = None
