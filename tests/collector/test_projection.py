"""Projections: latest sighting and site visits come out the same whatever the arrival order."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagtrail_collector.store.db import connect
from tagtrail_collector.store.projection import Sighting, Visit, latest, merge_visits, rebuild
from tagtrail_collector.store.state import State

SITES = ["port", "truck", "depot"]


def sighting(epc: str, t: int, site: str, event: str = "observe") -> Sighting:
    return Sighting(epc, t, site, f"gw-{site}", f"{site}-rp", event)


histories = st.lists(
    st.tuples(st.integers(0, 10_000), st.sampled_from(SITES)), min_size=1, max_size=40,
    unique_by=lambda x: x[0],
)  # fmt: skip


@given(histories, st.randoms(use_true_random=False))
def test_the_latest_sighting_does_not_depend_on_order(
    history: list[tuple[int, str]], rnd: random.Random
) -> None:
    sightings = [sighting("E", t, site) for t, site in history]
    shuffled = sightings[:]
    rnd.shuffle(shuffled)
    expected = max(sightings, key=lambda s: s.time_ns)
    assert latest(None, shuffled) == expected
    assert latest(expected, shuffled[:3]) == expected


def test_visits_are_runs_of_one_site() -> None:
    history = [(1, "port", "g1"), (5, "port", "g1"), (9, "truck", "g2"), (12, "port", "g1")]
    assert rebuild("E", history) == [
        Visit("E", "port", "g1", 1, 5),
        Visit("E", "truck", "g2", 9, 9),
        Visit("E", "port", "g1", 12, 12),
    ]


def test_a_shipment_s_tags_make_one_stay_per_site() -> None:
    visits = [
        Visit("A", "port", "g1", 1, 10),
        Visit("B", "port", "g1", 3, 12),
        Visit("A", "truck", "g2", 20, 30),
        Visit("B", "truck", "g2", 21, 31),
    ]
    assert [(v.site, v.arrived, v.last_seen) for v in merge_visits(visits)] == [
        ("port", 1, 12),
        ("truck", 20, 31),
    ]


@settings(max_examples=40, deadline=None)
@given(histories, st.randoms(use_true_random=False), st.integers(1, 5))
def test_visits_kept_on_ingest_equal_visits_from_the_whole_history(
    tmp_path_factory: pytest.TempPathFactory,
    history: list[tuple[int, str]],
    rnd: random.Random,
    batches: int,
) -> None:
    engine = connect(f"sqlite:///{tmp_path_factory.mktemp('reg')}/registry.db")
    stored: list[tuple[int, str, str]] = []

    def series(epc: str, since: int) -> list[tuple[int, str, str]]:
        return sorted(h for h in stored if h[0] >= since)

    state = State(engine, history=series)
    sightings = [sighting("E", t, site) for t, site in history]
    rnd.shuffle(sightings)
    size = max(1, len(sightings) // batches)
    for start in range(0, len(sightings), size):
        chunk = sightings[start : start + size]
        stored.extend((s.time_ns, s.site, s.gateway) for s in chunk)  # the time series first
        state.apply_sightings(chunk)
        if rnd.random() < 0.3:
            state.apply_sightings(chunk)  # a replayed batch changes nothing
    expected = rebuild("E", sorted(stored))
    kept = [Visit(v.epc, v.site, v.gateway, v.arrived, v.last_seen) for v in _visits(state)]
    assert kept == expected
    engine.dispose()


def _visits(state: State) -> list[Visit]:
    from tagtrail_collector.store.records import Shipment, ShipmentStatus  # noqa: PLC0415

    shipment = Shipment("shp_x", "c", "r", ShipmentStatus.REGISTERED, None, None, None, 0, ("E",))
    with state.engine.begin() as conn:
        from sqlalchemy import insert  # noqa: PLC0415

        from tagtrail_collector.store import schema  # noqa: PLC0415

        conn.execute(insert(schema.carriers).values(id="c", name="c", created_at=0))
        conn.execute(
            insert(schema.shipments).values(
                id="shp_x", carrier_id="c", reference="r", status="registered", created_at=0
            )
        )
        conn.execute(insert(schema.shipment_tags).values(epc="E", shipment_id="shp_x"))
    return state.visits(shipment)
