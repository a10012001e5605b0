"""The journey's rules without I/O: milestones from visits and vehicle events, exceptions,
status transitions, ETA from lane history."""

from __future__ import annotations

from tagtrail_collector.journey import eta, status
from tagtrail_collector.journey.milestones import (
    DoorSighting,
    Inputs,
    Journey,
    Limits,
    Milestone,
    SiteInfo,
    TagVisit,
    VehicleEvent,
    derive,
)

S = 1_000_000_000
H = 3600 * S
SITES = {
    "port": SiteInfo("port", "port", "NL", 51.95, 4.05, 500, fixed_gateways=True),
    "customs": SiteInfo("customs", "customs", "NL", 51.90, 4.30, 300, fixed_gateways=True),
    "wh": SiteInfo("wh", "warehouse", "DE", 51.40, 6.80, 300, fixed_gateways=True),
    "truck": SiteInfo("truck", "vehicle"),
    "yard": SiteInfo("yard", "yard", "DE", 51.45, 6.70, 400, fixed_gateways=False),
    "sgp": SiteInfo("sgp", "port", "SG", 1.26, 103.82, 500, fixed_gateways=True),
}
LIMITS = Limits(
    dwell_s={"port": 48 * 3600, "customs": 6 * 3600, "yard": 24 * 3600, "warehouse": 720 * 3600},
    silent_s=12 * 3600,
    split_s=2 * 3600,
)


def visit(epc: str, site: str, gateway: str, a: float, b: float) -> TagVisit:
    return TagVisit(epc, site, gateway, int(a * H), int(b * H))


def run(
    visits: list[TagVisit],
    *,
    now_h: float,
    events: dict[str, list[VehicleEvent]] | None = None,
    heard: dict[str, int] | None = None,
    dest: str = "wh",
) -> Journey:
    return derive(Inputs(visits, SITES, events or {}, heard or {}, int(now_h * H), dest, LIMITS))


def types(found: tuple[Milestone, ...]) -> list[str]:
    return [
        m.type if m.type != "exception" else f"exception:{dict(m.detail)['reason']}" for m in found
    ]


def test_customs_hold_and_release_then_delivery() -> None:
    visits = [
        visit("A", "port", "gate", 0, 1),
        visit("A", "customs", "c-gw", 2, 4),
        visit("A", "truck", "truck-gw", 5, 8),
        visit("A", "wh", "dock", 9, 9.5),
    ]
    found = run(visits, now_h=10).milestones
    assert types(found) == [
        "arrived",
        "departed",
        "arrived",
        "customs_hold",
        "customs_released",
        "departed",
        "loaded",
        "unloaded",
        "arrived",
        "delivered",
    ]
    hold = next(m for m in found if m.type == "customs_hold")
    assert hold.biz == ("holding", "unavailable")
    assert hold.country == "NL"
    derived, now = status.transitions([(m.id_in("s"), m) for m in found], [])
    assert now == "delivered"
    assert ("at_site", "held") in [(t.from_status, t.to_status) for t in derived]


def test_dwell_beyond_the_limit_of_the_site_kind_is_an_exception_and_when_it_falls_due() -> None:
    visits = [visit("A", "customs", "c-gw", 0, 1)]
    early = run(visits, now_h=5)
    assert types(early.milestones) == ["arrived", "customs_hold"]
    assert early.due_ns == 6 * H  # time alone adds the exception then
    late = run(visits, now_h=7)
    assert types(late.milestones) == ["arrived", "customs_hold", "exception:dwell"]
    assert late.milestones[-1].time_ns == 6 * H


def test_silence_in_transit_is_an_exception_with_the_vehicle_fixes_counting() -> None:
    visits = [visit("A", "port", "gate", 0, 1), visit("A", "truck", "truck-gw", 2, 3)]
    quiet = run(visits, now_h=20)
    assert types(quiet.milestones)[-1] == "exception:silent"
    assert quiet.milestones[-1].time_ns == 15 * H  # 12 h after the last sighting aboard
    heard = run(visits, now_h=20, heard={"truck-gw": int(19 * H)})
    assert "exception:silent" not in types(heard.milestones)
    assert heard.due_ns == 31 * H


def test_impossible_travel_is_flagged_with_both_places() -> None:
    visits = [visit("A", "port", "gate", 0, 1), visit("A", "sgp", "sg-gate", 3, 4)]
    found = run(visits, now_h=5).milestones
    flagged = [m for m in found if m.type == "exception"]
    assert len(flagged) == 1
    detail = dict(flagged[0].detail)
    assert detail["reason"] == "impossible_travel"
    assert detail["from_site"] == "port"
    assert detail["km"] > 10_000
    assert flagged[0].biz == ("inspecting", "unknown")
    # a plausible flight is not flagged: 16 hours for 10,500 km
    slow = [visit("A", "port", "gate", 0, 1), visit("A", "sgp", "sg-gate", 17, 18)]
    assert all(m.type != "exception" for m in run(slow, now_h=19).milestones)


def test_a_tag_left_behind_is_a_split_consignment_after_the_limit_only() -> None:
    loading = [
        visit("A", "port", "gate", 0, 1),
        visit("B", "port", "gate", 0, 1),
        visit("A", "truck", "truck-gw", 1, 4),
        visit("B", "truck", "truck-gw", 1.01, 4),
    ]
    assert "exception:split_consignment" not in types(run(loading, now_h=4).milestones)
    left = [
        visit("A", "port", "gate", 0, 5),
        visit("B", "port", "gate", 0, 5),
        visit("A", "truck", "truck-gw", 1, 5),
    ]
    found = run(left, now_h=5).milestones
    split = [m for m in found if m.type == "exception"]
    assert [dict(m.detail)["reason"] for m in split] == ["split_consignment"]
    assert dict(split[0].detail)["sites"] == ("port", "truck")
    assert split[0].biz == ("inspecting", "mismatch_quantity")


def test_geofence_arrival_without_fixed_gateway_at_the_destination_is_delivery() -> None:
    visits = [visit("A", "port", "gate", 0, 1), visit("A", "truck", "truck-gw", 1.5, 9)]
    events = {
        "truck-gw": [
            VehicleEvent("exit", int(1.6 * H), "geofence", "port"),
            VehicleEvent("cross", int(3 * H), "interpolated", None, "NL", "DE", 600.0),
            VehicleEvent("enter", int(5 * H), "geofence", "yard"),
        ]
    }
    found = run(visits, now_h=9, events=events, dest="yard").milestones
    assert types(found) == [
        "arrived",
        "departed",
        "loaded",
        "crossed_border",
        "arrived",
        "delivered",
    ]
    assert found[1].time_ns == int(1 * H)  # not loaded inside the port's fence: left on sighting
    crossing = found[3]
    assert crossing.source == "interpolated"
    assert dict(crossing.detail) == {"from": "NL", "to": "DE", "accuracy_s": 600.0}


def test_loaded_inside_the_fence_departs_with_the_vehicle() -> None:
    visits = [visit("A", "port", "gate", 0, 1), visit("A", "truck", "truck-gw", 1.5, 9)]
    events = {
        "truck-gw": [
            VehicleEvent("enter", int(0.5 * H), "geofence", "port"),
            VehicleEvent("exit", int(2 * H), "geofence", "port"),
        ]
    }
    found = run(visits, now_h=9, events=events).milestones
    assert types(found)[:3] == ["arrived", "loaded", "departed"]
    assert (found[2].time_ns, found[2].source) == (2 * H, "geofence")


def test_ids_are_stable_and_differ_between_shipments() -> None:
    visits = [visit("A", "port", "gate", 0, 1)]
    first, again = run(visits, now_h=2).milestones[0], run(visits, now_h=3).milestones[0]
    assert first.id_in("shp_1") == again.id_in("shp_1")
    assert first.id_in("shp_1") != first.id_in("shp_2")


def test_status_follows_allowed_transitions_and_manual_changes_in_time() -> None:
    arrive = Milestone("arrived", 1 * H, "sighting", "port")
    depart = Milestone("departed", 2 * H, "sighting", "port")
    deliver = Milestone("delivered", 3 * H, "sighting", "wh")
    again = Milestone("arrived", 4 * H, "sighting", "port")  # after delivery: no move back
    pairs = [(f"m{i}", m) for i, m in enumerate((arrive, depart, deliver, again))]
    derived, now = status.transitions(pairs, [])
    assert [(t.from_status, t.to_status) for t in derived] == [
        ("registered", "at_site"),
        ("at_site", "in_transit"),
        ("in_transit", "delivered"),
    ]
    assert now == "delivered"
    held = status.Transition(int(1.5 * H), "at_site", "held", "manual", manual=True)
    derived, now = status.transitions(pairs[:2], [held])
    assert [(t.from_status, t.to_status) for t in derived] == [
        ("registered", "at_site"),
        ("held", "in_transit"),
    ]
    assert now == "in_transit"


def test_eta_is_the_median_of_the_lane_and_none_without_history() -> None:
    departed = Milestone("departed", 10 * H, "geofence", "port")
    history = {("port", "departed", "wh"): [3600.0 * h for h in (5, 6, 7, 8, 20)]}
    lookup = lambda site, event, to: history.get((site, event, to), [])  # noqa: E731
    found = eta.estimate([departed], "wh", lookup)
    assert found is not None
    assert found.time_ns == 17 * H  # 10 h + median 7 h
    assert found.p90_ns == 30 * H  # nearest rank of 5: the 5th
    assert found.transfers == 5
    assert eta.estimate([departed], "yard", lookup) is None
    delivered = Milestone("delivered", 12 * H, "sighting", "wh")
    assert eta.estimate([departed, delivered], "wh", lookup) is None


def test_transfers_pair_each_start_with_the_first_later_arrival_elsewhere() -> None:
    found = eta.transfers(
        [
            Milestone("arrived", 0, "sighting", "port"),
            Milestone("departed", 1 * H, "sighting", "port"),
            Milestone("arrived", 5 * H, "geofence", "wh"),
            Milestone("delivered", 5 * H, "sighting", "wh"),
        ]
    )
    assert {(t.from_site, t.from_event, t.to_site, t.duration_s) for t in found} == {
        ("port", "arrived", "wh", 5 * 3600.0),
        ("port", "departed", "wh", 4 * 3600.0),
    }


def test_a_dock_doors_direction_loads_and_unloads_without_a_vehicle_reader() -> None:
    """Out through the door at the port (inside, then outside): loaded; in through the door
    at the warehouse (outside, then inside): unloaded. A truck without a reader."""
    visits = [visit("A", "port", "port-door", 0, 1), visit("A", "wh", "wh-door", 5, 6)]
    doors = [
        DoorSighting("A", "port-door", "port", "inside", int(0.5 * H)),
        DoorSighting("A", "port-door", "port", "inside", int(0.6 * H)),
        DoorSighting("A", "port-door", "port", "outside", int(0.9 * H)),
        DoorSighting("A", "wh-door", "wh", "outside", int(5 * H)),
        DoorSighting("A", "wh-door", "wh", "inside", int(5.1 * H)),
    ]
    found = derive(Inputs(visits, SITES, {}, {}, int(7 * H), "wh", LIMITS, doors)).milestones
    assert types(found) == ["arrived", "loaded", "departed", "arrived", "delivered", "unloaded"]
    loaded = found[1]
    assert (loaded.time_ns, loaded.site) == (int(0.9 * H), "port")
    assert dict(loaded.detail) == {"via": "door"}
    assert found[-1].time_ns == int(5.1 * H)
    # with a vehicle's reader, the door adds nothing: loaded and unloaded come from the vehicle
    aboard = [
        visit("A", "port", "port-door", 0, 1),
        visit("A", "truck", "truck-gw", 1, 4),
        visit("A", "wh", "wh-door", 5, 6),
    ]
    again = derive(Inputs(aboard, SITES, {}, {}, int(7 * H), "wh", LIMITS, doors)).milestones
    assert types(again).count("loaded") == 1
    assert types(again).count("unloaded") == 1
