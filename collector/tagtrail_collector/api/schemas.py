"""Request and response bodies of the HTTP API (with OpenAPI examples)."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from tagtrail_collector.store.registry.identity import gs1_check_digit, sscc_is_valid
from tagtrail_collector.store.registry.records import ShipmentStatus, SiteKind
from tagtrail_protocol.ids import Identifier

T = TypeVar("T")


def _checked_sscc(value: str) -> str:
    if not sscc_is_valid(value):
        raise ValueError(f"{value} is not an SSCC: its check digit should be "
                         f"{gs1_check_digit(value[:17])}")  # fmt: skip
    return value


def _printable(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        raise ValueError("must not contain control characters")
    return value


EpcHex = Annotated[
    str, Field(pattern=r"^(?:[0-9A-Fa-f]{4}){1,31}$", examples=["3034257BF7194E4000001A85"])
]
Sscc = Annotated[
    str,
    Field(pattern=r"^\d{18}$", examples=["106141412345678908"]),
    AfterValidator(_checked_sscc),
]
Text = Annotated[str, AfterValidator(_printable)]
"""Free text: not blank, and no control characters (they garble logs, CSVs and pages)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="pass as ?cursor= for the next page; null on the last page"
    )


class SiteRef(BaseModel):
    id: str
    name: str | None = Field(None, description="null for a site that is not registered")
    kind: SiteKind | None = None


class ShipmentIn(_Body):
    """A shipment and what identifies it: EPCs of its tags and/or the SSCC it travels under."""

    reference: Annotated[Text, Field(max_length=200, examples=["BL-2026-0042"])]
    epcs: Annotated[list[EpcHex], Field(max_length=10_000)] = []
    sscc: Sscc | None = None
    origin_site: Identifier | None = None
    destination_site: Identifier | None = None

    @model_validator(mode="after")
    def _identified(self) -> ShipmentIn:
        if not self.epcs and self.sscc is None:
            raise ValueError("a shipment needs at least one EPC or an SSCC")
        return self


class _ShipmentBase(BaseModel):
    id: Annotated[
        str,
        Field(
            examples=["shp_0643a1f2b3c4a1b2c3d4e5f60718"],
            description="sorts by creation time; not guessable",
        ),
    ]
    reference: str
    status: ShipmentStatus
    origin_site: str | None
    destination_site: str | None
    sscc: str | None
    created_at: datetime


class ShipmentSummaryOut(_ShipmentBase):
    """A shipment in a list: its EPCs are counted (the shipment itself lists them)."""

    epc_count: int


class ShipmentOut(_ShipmentBase):
    epcs: list[str]


class StatusIn(_Body):
    status: ShipmentStatus = Field(
        description="recorded as a manual change in the status history; delivered and "
        "cancelled close the shipment (its identifiers are released)"
    )


class MilestoneOut(BaseModel):
    id: str = Field(description="stable: the same milestone keeps its id when rebuilt")
    type: Literal[
        "arrived", "departed", "loaded", "unloaded", "crossed_border", "customs_hold",
        "customs_released", "delivered", "exception",
    ]  # fmt: skip
    time: datetime
    site: SiteRef | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 where known")
    source: Literal["sighting", "geofence", "interpolated", "derived"] = Field(
        description="sighting: a fixed gateway saw a tag; geofence: a vehicle's fixes; "
        "interpolated: found along the segment across a gap in fixes; derived: from time "
        "and rules (exceptions)"
    )
    biz_step: str = Field(description="CBV 2.0 business step")
    biz_step_uri: str
    disposition: str = Field(description="CBV 2.0 disposition")
    disposition_uri: str
    gateway: str | None = None
    detail: dict[str, Any] = Field(
        default_factory=dict,
        description="crossed_border: from, to, accuracy_s; exception: reason and its figures",
    )
    recorded_at: datetime


class StatusChangeOut(BaseModel):
    time: datetime
    from_status: ShipmentStatus
    to_status: ShipmentStatus
    cause: str = Field(description="the milestone (type and id), or manual")
    manual: bool


class EtaOut(BaseModel):
    """From the lane's own history; absent when there is none (never a guess)."""

    time: datetime = Field(description="the start plus the median of past transfers")
    p90: datetime = Field(description="the start plus their 90th percentile")
    from_site: str
    from_event: Literal["arrived", "departed"]
    from_time: datetime
    transfers: int = Field(description="how many past transfers of the lane it rests on")
    overdue: bool = Field(description="the median time has passed and it has not arrived")


class Coordinates(BaseModel):
    lat: float
    lon: float
    source: Literal["site", "event-fix", "gateway-fix"] = Field(
        description="site: the site's registered coordinates; event-fix: the mobile gateway's "
        "position when it saw the tag; gateway-fix: the mobile gateway's latest position"
    )
    time: datetime | None = Field(None, description="when this position was fixed (GPS)")
    age_s: float | None = Field(None, description="seconds since that fix")


class LocationOut(BaseModel):
    shipment_id: str
    located: bool = Field(description="false until a gateway has seen one of its tags")
    site: SiteRef | None = None
    read_point: str | None = None
    gateway: str | None = None
    event: Literal["arrive", "observe", "depart"] | None = None
    epc: str | None = None
    time: datetime | None = Field(None, description="when the latest sighting happened")
    age_s: float | None = Field(None, description="seconds since that sighting")
    stale: bool = Field(
        default=False,
        description="the evidence is older than the service's stale_after_s: the sighting, or "
        "aboard a mobile gateway the fresher of the sighting and the gateway's fix",
    )
    aboard_mobile_gateway: bool = False
    coordinates: Coordinates | None = None
    status: ShipmentStatus | None = None
    eta: EtaOut | None = Field(None, description="to the destination site, when it has history")


class TrackingEventOut(BaseModel):
    type: Literal["arrived", "departed"]
    time: datetime
    site: SiteRef
    gateway: str
    biz_step: Annotated[str, Field(examples=["arriving"])]
    biz_step_uri: Annotated[str, Field(examples=["urn:epcglobal:cbv:bizstep:arriving"])]


class TrackPointOut(BaseModel):
    time: datetime
    kind: Literal["sighting", "gateway-fix"]
    lat: float | None = None
    lon: float | None = None
    site: str
    gateway: str
    read_point: str | None = None
    event: str | None = None
    epc: str | None = None


class InventoryItemOut(BaseModel):
    shipment: ShipmentOut
    location: LocationOut


class CarrierIn(_Body):
    id: Identifier
    name: Annotated[Text, Field(max_length=200, examples=["Rhine Freight BV"])]


class CarrierOut(BaseModel):
    id: str
    name: str
    created_at: datetime


class NewKeyOut(BaseModel):
    key_id: str
    key: str = Field(description="shown once: only a hash is stored")


class KeyOut(BaseModel):
    id: str
    role: Literal["carrier", "admin"]
    carrier_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None


def _checked_gln(value: str) -> str:
    if gs1_check_digit(value[:12]) != int(value[12]):
        raise ValueError(f"{value} is not a GLN: its check digit should be "
                         f"{gs1_check_digit(value[:12])}")  # fmt: skip
    return value


Gln = Annotated[
    str, Field(pattern=r"^\d{13}$", examples=["8712345000004"]), AfterValidator(_checked_gln)
]
UnLocode = Annotated[
    str,
    Field(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$", examples=["NLRTM"], description="UN/LOCODE"),
]
Country = Annotated[
    str,
    Field(pattern=r"^[A-Z]{2}$", examples=["NL"], description="ISO 3166-1 alpha-2"),
]
GeoJson = Annotated[
    dict[str, Any],
    Field(
        description="a GeoJSON Polygon or MultiPolygon (or a Feature of one), [lon, lat]",
        examples=[{"type": "Polygon", "coordinates": [
            [[4.04, 51.94], [4.06, 51.94], [4.06, 51.96], [4.04, 51.96], [4.04, 51.94]]]}],
    ),
]  # fmt: skip


class _SiteFields(_Body):
    name: Annotated[Text, Field(max_length=200, examples=["Port of Rotterdam gate 3"])]
    kind: SiteKind
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    radius_m: Annotated[float, Field(gt=0, le=100_000)] | None = Field(
        None, description="with lat and lon: a circular geofence of this radius"
    )
    geofence: GeoJson | None = Field(None, description="a polygon geofence (wins over radius_m)")
    unlocode: UnLocode | None = None
    gln: Gln | None = Field(None, description="GS1 Global Location Number of the site")
    country: Country | None = Field(
        None, description="left out: found from the coordinates or the geofence"
    )
    confirm_fixes: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="this site's own [journey] confirm_fixes"
    )
    confirm_s: Annotated[float, Field(gt=0, le=86_400)] | None = None
    margin_m: Annotated[float, Field(ge=0, le=5000)] | None = None

    @model_validator(mode="after")
    def _both_coordinates(self) -> _SiteFields:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together: give both or neither")
        if self.radius_m is not None and self.lat is None:
            raise ValueError("radius_m needs the site's coordinates (lat and lon)")
        return self


class SiteIn(_SiteFields):
    id: Identifier


class SitePatch(_Body):
    """The fields to change; a field set to null is cleared."""

    name: Annotated[Text, Field(max_length=200)] | None = None
    kind: SiteKind | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    radius_m: Annotated[float, Field(gt=0, le=100_000)] | None = None
    unlocode: UnLocode | None = None
    gln: Gln | None = None
    country: Country | None = None
    confirm_fixes: Annotated[int, Field(ge=1, le=100)] | None = None
    confirm_s: Annotated[float, Field(gt=0, le=86_400)] | None = None
    margin_m: Annotated[float, Field(ge=0, le=5000)] | None = None


class SiteOut(BaseModel):
    id: str
    name: str
    kind: SiteKind
    lat: float | None
    lon: float | None
    radius_m: float | None
    geofence: dict[str, Any] | None
    unlocode: str | None
    gln: str | None
    country: str | None
    confirm_fixes: int | None
    confirm_s: float | None
    margin_m: float | None
    created_at: datetime


class GatewayIn(_Body):
    id: Identifier
    site_id: Identifier
    mobile: bool = False
    description: Annotated[str, Field(max_length=200)] = ""


class GatewayOut(GatewayIn):
    model_config = ConfigDict(extra="ignore", frozen=True)
    created_at: datetime


class ReadPointIn(_Body):
    name: Identifier
    zone: Annotated[str, Field(max_length=200)] = ""


class ReadPointOut(BaseModel):
    gateway_id: str
    antenna: int
    name: str
    zone: str


class DeadLetterOut(BaseModel):
    id: int
    received_at: datetime
    topic: str
    gateway_id: str | None
    reason: str
    detail: str
    payload_base64: str


class PurgedOut(BaseModel):
    deleted: int


class RebuiltOut(BaseModel):
    epcs: int = Field(description="EPCs whose projections were derived again")
    located: int = Field(description="of those, how many have a sighting (a current location)")
    visits: int = Field(description="site visits derived")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, str]


class FieldProblem(BaseModel):
    field: str = Field(description="where in the request, e.g. body.epcs.0 or query.limit")
    message: str


class Problem(BaseModel):
    """An error (RFC 9457 problem details), sent as ``application/problem+json``."""

    type: str = "about:blank"
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no shipment shp_0b3c4d5e6f708192a3b4c5d6"])
    errors: list[FieldProblem] | None = Field(
        None, description="with 422: each field that is wrong and why"
    )
