"""Projections: latest sighting and site visits come out the same whatever the arrival order."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from tagtrail_collector.projections import GatewayReport, Ingested
from tagtrail_collector.projections.gateways import GatewayProjection
from tagtrail_collector.projections.model import latest, merge_visits, rebuild
from tagtrail_collector.projections.tags import TagProjection
from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.db import connect
from tagtrail_collector.store.registry.records import GatewayPosition, Sighting, Visit

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
@given(
    st.lists(histories, min_size=1, max_size=3),
    st.randoms(use_true_random=False),
    st.integers(1, 5),
)
def test_visits_kept_on_ingest_equal_visits_from_the_whole_history(
    tmp_path_factory: pytest.TempPathFactory,
    histories_by_epc: list[list[tuple[int, str]]],
    rnd: random.Random,
    batches: int,
) -> None:
    engine = connect(f"sqlite:///{tmp_path_factory.mktemp('reg')}/registry.db")
    stored: list[Sighting] = []

    def series(epcs: Sequence[str], since: int) -> dict[str, list[tuple[int, str, str]]]:
        out: dict[str, list[tuple[int, str, str]]] = {}
        for s in sorted(stored, key=lambda s: s.time_ns):
            if s.epc in epcs and s.time_ns >= since:
                out.setdefault(s.epc, []).append((s.time_ns, s.site, s.gateway))
        return out

    def observations(epcs: Sequence[str], until: int) -> dict[str, list[Sighting]]:
        raise AssertionError("ingest never reads whole observations back")

    state = TagProjection(engine, history=series, observations=observations)
    sightings = [
        sighting(f"E{n}", t, site)
        for n, history in enumerate(histories_by_epc)
        for t, site in history
    ]
    rnd.shuffle(sightings)
    size = max(1, len(sightings) // batches)
    for start in range(0, len(sightings), size):
        chunk = sightings[start : start + size]
        stored.extend(chunk)  # the time series first
        changes = state.apply_sightings(chunk)
        opened = {(c.subject, c.time_ns) for c in changes if c.kind == "visit_opened"}
        assert opened <= {(s.epc, s.time_ns) for s in chunk}  # a visit opens at a sighting
        if rnd.random() < 0.3:
            replayed = state.apply_sightings(chunk)  # a replayed batch changes nothing...
            assert {c.kind for c in replayed} <= {"visits_rebuilt"}  # ...nor opens anything
    for n in range(len(histories_by_epc)):
        epc = f"E{n}"
        expected = rebuild(epc, series([epc], 0).get(epc, []))
        assert _visits(engine, epc) == expected
    engine.dispose()


def _visits(engine: Engine, epc: str) -> list[Visit]:
    table = schema.tag_visits
    with engine.connect() as conn:
        rows = conn.execute(
            select(table).where(table.c.epc == epc).order_by(table.c.arrived)
        ).mappings()
        return [
            Visit(r["epc"], r["site_id"], r["gateway_id"], r["arrived"], r["last_seen"])
            for r in rows
        ]


def no_history(epcs: Sequence[str], since: int) -> dict[str, list[tuple[int, str, str]]]:
    return {}


def no_observations(epcs: Sequence[str], until: int) -> dict[str, list[Sighting]]:
    return {}


def test_projections_report_what_changed(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path}/registry.db")
    tags = TagProjection(engine, history=no_history, observations=no_observations)
    gateways = GatewayProjection(engine)
    first = Ingested(sightings=(sighting("E1", 10, "port"), sighting("E1", 20, "port")))
    assert [(c.kind, c.site, c.time_ns) for c in tags.apply(first)] == [
        ("visit_opened", "port", 10)
    ]
    assert tags.apply(first) == []  # a replay reports nothing
    assert tags.apply(Ingested(sightings=(sighting("E1", 25, "port"),))) == []  # extended only
    moved = tags.apply(Ingested(sightings=(sighting("E1", 40, "yard"),)))
    assert [(c.kind, c.subject, c.site, c.time_ns) for c in moved] == [
        ("visit_closed", "E1", "port", 25), ("visit_opened", "E1", "yard", 40),
    ]  # fmt: skip
    fix = GatewayPosition("truck-7", 100, 51.9, 4.1, None, None, None)
    older = GatewayPosition("truck-7", 50, 52.0, 4.2, None, None, None)
    assert [c.kind for c in gateways.apply(Ingested(positions=(fix,)))] == ["gateway_moved"]
    assert gateways.apply(Ingested(positions=(older, fix))) == []  # nothing newer
    report = GatewayReport("truck-7", "fleet", 100, "online", "{}")
    assert [c.detail for c in gateways.apply(Ingested(reports=(report,)))] == ["online"]
    stale = GatewayReport("truck-7", "fleet", 90, "offline", "{}")
    assert gateways.apply(Ingested(reports=(stale,))) == []
    engine.dispose()
