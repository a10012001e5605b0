"""Registry records and projections -> API bodies (the read side of the routes)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

from tagtrail_collector.api.deps import Services
from tagtrail_collector.api.schemas import (
    Coordinates,
    DeadLetterOut,
    EtaOut,
    LocationOut,
    MilestoneOut,
    ShipmentOut,
    ShipmentSummaryOut,
    SiteRef,
    TrackingEventOut,
)
from tagtrail_collector.errors import InvalidRequest
from tagtrail_collector.journey import eta
from tagtrail_collector.journey.milestones import Milestone
from tagtrail_collector.projections.model import merge_visits
from tagtrail_collector.store.registry.journey import StoredMilestone
from tagtrail_collector.store.registry.records import (
    DeadLetter,
    Shipment,
    Sighting,
    SiteKind,
    Visit,
)
from tagtrail_collector.store.series.points import ns

EARLIEST = datetime(1677, 9, 22, tzinfo=UTC)  # InfluxDB's time range, in whole days
LATEST = datetime(2262, 4, 10, tzinfo=UTC)


def instant_ns(name: str, value: datetime) -> int:
    """A request's time as epoch ns: zoned, and within what the stores can hold (else 400)."""
    if value.tzinfo is None:
        raise InvalidRequest(f"{name} needs a time zone, e.g. 2026-11-22T08:00:00Z")
    if not EARLIEST <= value <= LATEST:
        raise InvalidRequest(f"{name} must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return ns(value)


def dt(time_ns: int) -> datetime:
    return datetime.fromtimestamp(time_ns // 1_000_000_000, UTC).replace(
        microsecond=(time_ns % 1_000_000_000) // 1000
    )


def shipment_out(shipment: Shipment) -> ShipmentOut:
    return ShipmentOut(**_summary(shipment), epcs=list(shipment.epcs))


def shipment_summary_out(shipment: Shipment, epc_count: int) -> ShipmentSummaryOut:
    return ShipmentSummaryOut(**_summary(shipment), epc_count=epc_count)


def _summary(shipment: Shipment) -> dict[str, Any]:
    return {
        "id": shipment.id,
        "reference": shipment.reference,
        "status": shipment.status,
        "origin_site": shipment.origin_site,
        "destination_site": shipment.destination_site,
        "sscc": shipment.sscc,
        "created_at": dt(shipment.created_at),
    }


def site_ref(svc: Services, site_id: str) -> SiteRef:
    site = svc.directory.site(site_id)
    if site is None:
        return SiteRef(id=site_id)
    return SiteRef(id=site.id, name=site.name, kind=site.kind)


def location_out(svc: Services, shipment: Shipment) -> LocationOut:
    """Where the shipment is: its latest sighting (``time``, ``age_s``) and, apart, the position
    that stands for it (``coordinates`` with their own time and age). ``stale`` follows the
    evidence: aboard a mobile gateway, the fresher of the sighting and the gateway's fix;
    elsewhere the sighting."""
    seen = svc.reads.location(shipment.id)
    if seen is None:
        return LocationOut(
            shipment_id=shipment.id, located=False, status=shipment.status,
            eta=eta_out(svc, shipment),
        )  # fmt: skip
    gateway = svc.directory.gateway(seen.gateway)
    mobile = gateway.mobile if gateway is not None else seen.lat is not None
    aboard = mobile and seen.event != "depart"
    now = time.time_ns()
    coordinates = _coordinates(svc, seen, aboard=aboard, now_ns=now)
    age = max(0.0, (now - seen.time_ns) / 1e9)
    evidence = age
    if aboard and coordinates is not None and coordinates.age_s is not None:
        evidence = min(age, coordinates.age_s)
    return LocationOut(
        shipment_id=shipment.id,
        located=True,
        site=site_ref(svc, seen.site),
        read_point=seen.read_point or None,
        gateway=seen.gateway,
        event=seen.event,  # type: ignore[arg-type]
        epc=seen.epc,
        time=dt(seen.time_ns),
        age_s=age,
        stale=evidence > svc.settings.stale_after_s,
        aboard_mobile_gateway=aboard,
        coordinates=coordinates,
        status=shipment.status,
        eta=eta_out(svc, shipment),
    )


def _coordinates(svc: Services, seen: Sighting, *, aboard: bool, now_ns: int) -> Coordinates | None:
    """The freshest position known for a sighting.

    Aboard a mobile gateway: the gateway's latest fix or the fix stamped on the sighting,
    whichever is newer. Otherwise (or with neither) the site's registered coordinates.
    """
    options: list[tuple[int, str, float, float]] = []
    fix = svc.lookups.gateway_position(seen.gateway) if aboard else None
    if fix is not None:
        options.append((fix.time, "gateway-fix", fix.lat, fix.lon))
    if seen.lat is not None and seen.lon is not None:
        fixed_at = seen.time_ns - int((seen.fix_age_s or 0.0) * 1e9)
        options.append((fixed_at, "event-fix", seen.lat, seen.lon))
    if not options:
        return _site_coordinates(svc, seen.site)
    at, source, lat, lon = max(options, key=lambda option: option[0])
    return Coordinates(
        lat=lat, lon=lon, source=source,  # type: ignore[arg-type]
        time=dt(at), age_s=max(0.0, (now_ns - at) / 1e9),
    )  # fmt: skip


def _site_coordinates(svc: Services, site_id: str) -> Coordinates | None:
    site = svc.directory.site(site_id)
    if site is None or site.lat is None or site.lon is None:
        return None
    return Coordinates(lat=site.lat, lon=site.lon, source="site")


def milestone_out(svc: Services, m: StoredMilestone) -> MilestoneOut:
    return MilestoneOut(
        id=m.id, type=m.type,  # type: ignore[arg-type]
        time=dt(m.time_ns), site=None if m.site_id is None else site_ref(svc, m.site_id),
        country=m.country, source=m.source,  # type: ignore[arg-type]
        biz_step=m.biz_step, biz_step_uri=f"urn:epcglobal:cbv:bizstep:{m.biz_step}",
        disposition=m.disposition, disposition_uri=f"urn:epcglobal:cbv:disp:{m.disposition}",
        gateway=m.gateway_id, detail=m.detail, recorded_at=dt(m.recorded_at),
    )  # fmt: skip


def eta_out(svc: Services, shipment: Shipment) -> EtaOut | None:
    """The ETA to the destination from the lane's history (none without history)."""
    stored = svc.journey.milestones(shipment.id, limit=10_000)
    milestones = [Milestone(m.type, m.time_ns, m.source, m.site_id) for m in stored]
    found = eta.estimate(
        milestones,
        shipment.destination_site,
        lambda site, event, to: svc.journey.lane(site, event, to, besides=shipment.id),
    )
    if found is None:
        return None
    return EtaOut(
        time=dt(found.time_ns), p90=dt(found.p90_ns), from_site=found.from_site,
        from_event=found.from_event,  # type: ignore[arg-type]
        from_time=dt(found.from_time_ns), transfers=found.transfers,
        overdue=found.time_ns < time.time_ns(),
    )  # fmt: skip


def tracking_events(svc: Services, visits: list[Visit]) -> list[TrackingEventOut]:
    """Arrived/departed per stay at a site; the latest stay has no departure yet."""
    stays = merge_visits(visits)
    events: list[TrackingEventOut] = []
    for index, stay in enumerate(stays):
        site = site_ref(svc, stay.site)
        events.append(_event(site, stay, "arrived", stay.arrived))
        if index + 1 < len(stays):
            events.append(_event(site, stay, "departed", stay.last_seen))
    return events


def _event(site: SiteRef, stay: Visit, kind: str, when: int) -> TrackingEventOut:
    vehicle = site.kind is SiteKind.VEHICLE
    step = {
        ("arrived", False): "arriving",
        ("departed", False): "departing",
        ("arrived", True): "loading",
        ("departed", True): "unloading",
    }[(kind, vehicle)]
    return TrackingEventOut(
        type=kind,  # type: ignore[arg-type]
        time=dt(when),
        site=site,
        gateway=stay.gateway,
        biz_step=step,
        biz_step_uri=f"urn:epcglobal:cbv:bizstep:{step}",
    )


def dead_letter_out(letter: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut(
        id=letter.id,
        received_at=dt(letter.received_at),
        topic=letter.topic,
        gateway_id=letter.gateway_id,
        reason=letter.reason,
        detail=letter.detail,
        payload_base64=base64.b64encode(letter.payload).decode(),
    )
