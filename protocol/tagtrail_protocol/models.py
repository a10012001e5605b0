"""Versioned message models: what gateways and the collector say to each other.

All models are frozen and refuse unknown fields, except in a payload of a newer minor version
than this code (see ``IGNORE_UNKNOWN``). Times are timezone-aware and normalised to UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from tagtrail_protocol.ids import Identifier
from tagtrail_protocol.version import SCHEMA_VERSION

IGNORE_UNKNOWN: Final = "ignore_unknown"
"""Validation-context key: drop unknown fields (set by the codec for newer minor versions)."""

MAX_ITEMS: Final = 10_000
MAX_SEQ: Final = 2**63 - 1
_EPC_HEX = re.compile(r"(?:[0-9A-F]{4}){1,31}")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _normalise_epc(value: str) -> str:
    upper = value.upper()
    if not _EPC_HEX.fullmatch(upper):
        raise ValueError(
            "EPC must be hexadecimal, whole 16-bit words: 4 to 124 hex digits, a multiple of 4"
        )
    return upper


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
EpcHex = Annotated[str, AfterValidator(_normalise_epc)]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]
Count = Annotated[int, Field(ge=0, le=MAX_SEQ)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]


class WireModel(BaseModel):
    """Base of every wire model: frozen, strict about unknown fields, no NaN or infinity."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _drop_unknown_for_newer_minor(cls, data: Any, info: ValidationInfo) -> Any:  # noqa: ANN401
        # A newer minor version may only add optional fields; an older reader ignores them.
        if isinstance(data, dict) and info.context and info.context.get(IGNORE_UNKNOWN):
            return {key: value for key, value in data.items() if key in cls.model_fields}
        return data


class EventKind(StrEnum):
    """What happened to a tag at a read point (see the smoothing stage)."""

    ARRIVE = "arrive"
    OBSERVE = "observe"
    DEPART = "depart"


class FixQuality(StrEnum):
    """Kind of position fix, after NMEA GGA's quality indicator."""

    GPS = "gps"
    DGPS = "dgps"
    PPS = "pps"
    RTK_FIXED = "rtk-fixed"
    RTK_FLOAT = "rtk-float"
    ESTIMATED = "estimated"


class _LatLon(WireModel):
    lat: Latitude
    lon: Longitude

    @model_validator(mode="after")
    def _not_null_island(self) -> Self:
        if self.lat == 0.0 and self.lon == 0.0:
            raise ValueError(
                "lat 0, lon 0 is not a position; omit the position when there is no fix"
            )
        return self


class Position(_LatLon):
    """Where a mobile gateway was when an event happened."""

    fix_age_s: Annotated[float, Field(ge=0.0)]
    hdop: Annotated[float, Field(ge=0.0)] | None = None


class EpcIdentity(WireModel):
    """What a GS1 EPC decodes to (Tag Data Standard); absent when the EPC is not a GS1 scheme."""

    scheme: Annotated[str, Field(pattern=r"^[a-z0-9-]{2,24}$")]
    uri: ShortText
    tag_uri: ShortText | None = None
    filter: Annotated[int, Field(ge=0, le=7)] | None = None
    gs1_key: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class ObservationItem(WireModel):
    """One smoothed event for one tag at one read point."""

    epc: EpcHex
    read_point: Identifier
    antenna: Annotated[int, Field(ge=0, le=255)]
    event: EventKind
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    count: Annotated[int, Field(ge=1, le=MAX_SEQ)]
    peak_rssi_dbm: Annotated[float, Field(ge=-150.0, le=30.0)] | None = None
    mono_ns: Annotated[int, Field(ge=0, le=MAX_SEQ)]
    clock_synced: bool
    position: Position | None = None
    identity: EpcIdentity | None = None

    @model_validator(mode="after")
    def _seen_in_order(self) -> Self:
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen is before first_seen")
        return self

    @property
    def event_time(self) -> datetime:
        """When the event happened: first sighting for an arrival, last sighting otherwise."""
        return self.first_seen if self.event is EventKind.ARRIVE else self.last_seen


class PositionFix(_LatLon):
    """One position fix of a gateway's GPS."""

    time: UtcDatetime
    mono_ns: Annotated[int, Field(ge=0, le=MAX_SEQ)]
    clock_synced: bool
    quality: FixQuality
    hdop: Annotated[float, Field(ge=0.0)] | None = None
    speed_mps: Annotated[float, Field(ge=0.0)] | None = None
    course_deg: Annotated[float, Field(ge=0.0, lt=360.0)] | None = None
    alt_m: float | None = None
    satellites: Annotated[int, Field(ge=0, le=255)] | None = None


class _Batch(WireModel):
    v: Annotated[str, Field(pattern=r"^\d{1,4}\.\d{1,4}$")] = SCHEMA_VERSION
    gateway: Identifier
    boot_id: UUID
    seq: Seq
    sent_at: UtcDatetime


class ObservationBatch(_Batch):
    """A batch of observation events from one gateway; acknowledged by ``seq``."""

    kind: Literal["obs"] = "obs"
    items: Annotated[tuple[ObservationItem, ...], Field(min_length=1, max_length=MAX_ITEMS)]


class PositionBatch(_Batch):
    """A batch of position fixes from one gateway; shares the sequence space with obs batches."""

    kind: Literal["pos"] = "pos"
    fixes: Annotated[tuple[PositionFix, ...], Field(min_length=1, max_length=MAX_ITEMS)]


class GatewayState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class ClockSource(StrEnum):
    NTP = "ntp"
    GPS = "gps"
    RTC = "rtc"
    NONE = "none"


class ClockState(WireModel):
    """Whether the gateway's wall clock can be trusted, and from where."""

    synced: bool
    source: ClockSource
    gps_offset_s: float | None = None


class DeviceState(WireModel):
    """Health of one attached device (reader or GPS)."""

    name: Identifier
    type: Literal["rfid-reader", "gps"]
    state: Literal["ok", "starting", "absent", "error"]
    detail: ShortText | None = None


class Health(WireModel):
    """The outbox and link figures a gateway reports in its status."""

    backlog_batches: Count
    backlog_items: Count
    oldest_unsent_age_s: Annotated[float, Field(ge=0.0)] | None = None
    outbox_bytes: Count
    outbox_cap_bytes: Count
    drops: dict[Identifier, Count] = Field(default_factory=dict, max_length=64)
    last_ack_at: UtcDatetime | None = None
    last_ack_seq: Seq | None = None
    alerts: Annotated[tuple[ShortText, ...], Field(max_length=16)] = ()
    inflight_batches: Count | None = None
    """Since 1.2: batches sent on the current connection and not acknowledged yet."""
    oldest_unacked_age_s: Annotated[float, Field(ge=0.0)] | None = None
    """Since 1.2: how long the oldest of those has waited for its ack."""
    resends: Count | None = None
    """Since 1.2: batches sent again for want of an ack, since the agent started."""


class Status(WireModel):
    """Retained gateway status; with ``state=offline`` and no figures it is the last will."""

    v: Annotated[str, Field(pattern=r"^\d{1,4}\.\d{1,4}$")] = SCHEMA_VERSION
    kind: Literal["status"] = "status"
    gateway: Identifier
    boot_id: UUID
    time: UtcDatetime
    state: GatewayState
    agent_version: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    health: Health | None = None
    clock: ClockState | None = None
    devices: Annotated[tuple[DeviceState, ...], Field(max_length=64)] = ()


class Rejection(WireModel):
    """A batch the collector will never store, and why (the gateway drops it and counts it)."""

    seq: Seq
    reason: ShortText


class Ping(WireModel):
    """A gateway asks the collector to answer on its ack topic (``tagtrail-edge doctor``).

    Since 1.1. ``boot_id`` names the asking session, not an agent boot: the answer is an
    :class:`Ack` with ``pong`` set, the same ``boot_id`` and no sequences, which a running agent
    of the same gateway receives too and finds nothing to remove for.
    """

    v: Annotated[str, Field(pattern=r"^\d{1,4}\.\d{1,4}$")] = SCHEMA_VERSION
    kind: Literal["ping"] = "ping"
    gateway: Identifier
    boot_id: UUID
    time: UtcDatetime


class Ack(WireModel):
    """The collector's word that batches are stored (or rejected for good), or a ping's answer."""

    v: Annotated[str, Field(pattern=r"^\d{1,4}\.\d{1,4}$")] = SCHEMA_VERSION
    kind: Literal["ack"] = "ack"
    gateway: Identifier
    boot_id: UUID
    time: UtcDatetime
    stored: Annotated[tuple[Seq, ...], Field(max_length=MAX_ITEMS)] = ()
    rejected: Annotated[tuple[Rejection, ...], Field(max_length=MAX_ITEMS)] = ()
    pong: bool = False  # since 1.1: this answers a Ping with the same boot_id

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.pong and (self.stored or self.rejected):
            raise ValueError("a ping's answer names no sequence")
        if not self.stored and not self.rejected and not self.pong:
            raise ValueError("an ack names at least one stored or rejected sequence")
        rejected = [r.seq for r in self.rejected]
        if len(set(self.stored)) != len(self.stored) or len(set(rejected)) != len(rejected):
            raise ValueError("a sequence is listed twice")
        both = set(self.stored) & set(rejected)
        if both:
            raise ValueError(f"sequences {sorted(both)} are both stored and rejected")
        return self


Message = ObservationBatch | PositionBatch | Status | Ack | Ping
"""Every message that has a schema; ``cmd`` is reserved and has none yet."""

MODELS: Final[dict[str, type[Message]]] = {
    "obs": ObservationBatch,
    "pos": PositionBatch,
    "status": Status,
    "ack": Ack,
    "ping": Ping,
}
