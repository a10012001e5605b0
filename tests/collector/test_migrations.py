"""A registry from before the journey (migration 2) is brought up to date: new columns and
tables, ``border`` sites become ``border_crossing``, ``in-transit`` becomes ``in_transit``,
closed shipments get their closing time. Its data stays."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tagtrail_collector.store.registry.db import connect
from tagtrail_collector.store.registry.records import ShipmentStatus, SiteKind
from tagtrail_collector.store.registry.registry import Registry

NEW_TABLES = ("geofence_events", "geofence_states", "geofence_dirty", "milestones",
              "status_history", "lane_transfers", "journey_marks", "journey_due",
              "door_sightings", "journey_vehicles")  # fmt: skip
NEW_SITE_COLUMNS = ("geofence", "unlocode", "gln", "country", "confirm_fixes", "confirm_s",
                    "margin_m", "updated_at")  # fmt: skip


def as_before_the_journey(path: Path) -> None:
    """Take a current registry back to what migration 2 left."""
    with sqlite3.connect(path) as db:
        for table in NEW_TABLES:
            db.execute(f"DROP TABLE {table}")
        for column in NEW_SITE_COLUMNS:
            db.execute(f"ALTER TABLE sites DROP COLUMN {column}")
        db.execute("ALTER TABLE shipments DROP COLUMN closed_at")
        db.execute("DELETE FROM schema_migrations WHERE version = 3")
        db.execute("UPDATE sites SET kind = 'border' WHERE id = 'b1'")
        db.execute("UPDATE shipments SET status = 'in-transit' WHERE reference = 'moving'")
        db.execute("UPDATE shipments SET status = 'delivered' WHERE reference = 'done'")
        db.execute("UPDATE shipment_identifiers SET released_at = 5 WHERE shipment_id ="
                   " (SELECT id FROM shipments WHERE reference = 'done')")  # fmt: skip


def test_a_registry_from_before_the_journey_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    registry = Registry(connect(f"sqlite:///{path}"))
    registry.create_site("b1", name="Border post", kind=SiteKind.BORDER_CROSSING)
    registry.create_carrier("c", "C")
    moving = registry.create_shipment("c", reference="moving", epcs=["3034257BF7194E4000000001"])
    done = registry.create_shipment("c", reference="done", epcs=["3034257BF7194E4000000002"])
    registry.engine.dispose()
    as_before_the_journey(path)
    with sqlite3.connect(path) as db:
        assert "geofence" not in {r[1] for r in db.execute("PRAGMA table_info(sites)")}
    engine = connect(f"sqlite:///{path}")
    again = Registry(engine)
    assert again.site("b1").kind is SiteKind.BORDER_CROSSING
    assert again.shipment(moving.id, carrier_id="c").status is ShipmentStatus.IN_TRANSIT
    closed = again.shipment(done.id, carrier_id="c")
    assert (closed.status, closed.closed_at) == (ShipmentStatus.DELIVERED, 5)
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert set(NEW_TABLES) <= tables
        assert set(NEW_SITE_COLUMNS) <= {r[1] for r in db.execute("PRAGMA table_info(sites)")}
        assert [r[0] for r in db.execute("SELECT version FROM schema_migrations")] == [1, 2, 3]
    again.update_site("b1", unlocode="NLVEN", margin_m=40.0)
    assert again.site("b1").margin_m == 40.0
