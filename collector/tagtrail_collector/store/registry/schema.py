"""The registry's tables (SQLAlchemy Core). Times are epoch nanoseconds (BigInteger, UTC).

Reference data: carriers, api_keys, sites, gateways, read_points, shipments and the identifiers
attached to them (shipment_identifiers: an EPC or an SSCC, from when to when).
Projections kept on ingest: tag_locations (latest event per EPC), tag_visits (site visits per
EPC), gateway_positions (latest fix per gateway), gateway_status; geofence_events (entries,
exits and border crossings of mobile gateways) with the tracker's saved states; milestones,
status_history and lane_transfers per shipment. Plus dead_letters.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()
_ID = 64  # identifiers, as in the wire contract

carriers = Table(
    "carriers",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),  # the key's public prefix
    Column("hash", String(64), nullable=False),  # sha256 hex of the whole key
    Column("role", String(16), nullable=False),  # "carrier" or "admin"
    Column("carrier_id", String(_ID), ForeignKey("carriers.id"), nullable=True),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

sites = Table(
    "sites",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(24), nullable=False),  # records.SiteKind
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("radius_m", Float, nullable=True),  # with lat/lon: a circular geofence
    Column("created_at", BigInteger, nullable=False),
    Column("geofence", Text, nullable=True),  # a GeoJSON (Multi)Polygon; wins over the circle
    Column("unlocode", String(5), nullable=True),
    Column("gln", String(13), nullable=True),
    Column("country", String(64), nullable=True),  # ISO 3166-1 alpha-2 (or a name)
    Column("confirm_fixes", Integer, nullable=True),  # None: the [journey] default
    Column("confirm_s", Float, nullable=True),
    Column("margin_m", Float, nullable=True),
    Column("updated_at", BigInteger, nullable=True),
)

gateways = Table(
    "gateways",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("site_id", String(_ID), ForeignKey("sites.id"), nullable=False),
    Column("mobile", Boolean, nullable=False, default=False),
    Column("description", String(200), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
)

read_points = Table(
    "read_points",
    metadata,
    Column("gateway_id", String(_ID), ForeignKey("gateways.id"), primary_key=True),
    Column("antenna", Integer, primary_key=True),
    Column("name", String(_ID), nullable=False),
    Column("zone", String(200), nullable=False, default=""),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", String(32), primary_key=True),  # random, not guessable: "shp_..."
    Column("carrier_id", String(_ID), ForeignKey("carriers.id"), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("origin_site", String(_ID), ForeignKey("sites.id"), nullable=True),
    Column("destination_site", String(_ID), ForeignKey("sites.id"), nullable=True),
    Column("sscc", String(18), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("closed_at", BigInteger, nullable=True),  # the carrier closed it (delivered, cancelled)
    UniqueConstraint("carrier_id", "reference", name="uq_shipment_reference"),
)

_ATTACHED = text("released_at IS NULL")
shipment_identifiers = Table(
    "shipment_identifiers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("shipment_id", String(32), ForeignKey("shipments.id"), nullable=False, index=True),
    Column("key", String(130), nullable=False),  # "sscc:<18 digits>" or "epc:<hex>"
    Column("epc", String(124), nullable=True, index=True),  # as registered (None: SSCC only)
    Column("sscc", String(18), nullable=True, index=True),  # the SSCC, also one an EPC encodes
    Column("attached_at", BigInteger, nullable=False),
    Column("released_at", BigInteger, nullable=True),  # when the shipment was closed
    # One shipment at a time holds an identifier.
    Index(
        "uq_identifier_attached",
        "key",
        unique=True,
        sqlite_where=_ATTACHED,
        postgresql_where=_ATTACHED,
    ),
)

tag_locations = Table(
    "tag_locations",
    metadata,
    Column("epc", String(124), primary_key=True),
    Column("event_time", BigInteger, nullable=False),
    Column("event", String(8), nullable=False),
    Column("gateway_id", String(_ID), nullable=False),
    Column("site_id", String(_ID), nullable=False, index=True),
    Column("read_point", String(_ID), nullable=False),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("fix_age_s", Float, nullable=True),
    Column("sscc", String(18), nullable=True, index=True),
    Column("updated_at", BigInteger, nullable=False),
)

tag_visits = Table(
    "tag_visits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("epc", String(124), nullable=False),
    Column("site_id", String(_ID), nullable=False),
    Column("gateway_id", String(_ID), nullable=False),
    Column("arrived", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Index("ix_tag_visits_epc_arrived", "epc", "arrived"),
)

gateway_positions = Table(
    "gateway_positions",
    metadata,
    Column("gateway_id", String(_ID), primary_key=True),
    Column("time", BigInteger, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("hdop", Float, nullable=True),
    Column("speed_mps", Float, nullable=True),
    Column("course_deg", Float, nullable=True),
)

gateway_status = Table(
    "gateway_status",
    metadata,
    Column("gateway_id", String(_ID), primary_key=True),
    Column("site_id", String(_ID), nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("payload", Text, nullable=False),  # the Status message as JSON
)

geofence_events = Table(
    "geofence_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("gateway_id", String(_ID), nullable=False),
    Column("kind", String(8), nullable=False),  # enter, exit, cross
    Column("time_ns", BigInteger, nullable=False),
    Column("site_id", String(_ID), nullable=True),
    Column("from_country", String(64), nullable=True),
    Column("to_country", String(64), nullable=True),
    Column("source", String(16), nullable=False),  # geofence, interpolated
    Column("accuracy_s", Float, nullable=False),
    Column("emitted_by", BigInteger, nullable=False),  # the fix that confirmed it
    Index("ix_geofence_events_gateway_time", "gateway_id", "time_ns"),
)

door_sightings = Table(
    "door_sightings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("epc", String(124), nullable=False),
    Column("gateway_id", String(_ID), nullable=False),
    Column("site_id", String(_ID), nullable=False),
    Column("side", String(8), nullable=False),  # inside or outside: the read point's zone
    Column("time_ns", BigInteger, nullable=False),
    UniqueConstraint("epc", "gateway_id", "side", "time_ns", name="uq_door_sighting"),
    Index("ix_door_sightings_epc_time", "epc", "time_ns"),
)

geofence_states = Table(
    "geofence_states",
    metadata,
    Column("gateway_id", String(_ID), primary_key=True),
    Column("bucket", BigInteger, primary_key=True),  # the hour of time_ns: one saved state each
    Column("time_ns", BigInteger, nullable=False),  # the state after the fixes up to here
    Column("state", Text, nullable=False),
)

geofence_dirty = Table(
    "geofence_dirty",
    metadata,
    Column("gateway_id", String(_ID), primary_key=True),
    Column("since_ns", BigInteger, nullable=False),  # late fixes from here: replay
    Column("marked_at", BigInteger, nullable=False),  # the latest late fix came then
    Column("first_marked_at", BigInteger, nullable=False),
)

milestones = Table(
    "milestones",
    metadata,
    Column("id", String(40), primary_key=True),  # derived from its content: stable on rebuild
    Column("shipment_id", String(32), nullable=False),
    Column("time_ns", BigInteger, nullable=False),
    Column("seq", Integer, nullable=False),  # its place in the stream (order at one time)
    Column("type", String(24), nullable=False),
    Column("site_id", String(_ID), nullable=True),
    Column("country", String(64), nullable=True),
    Column("source", String(16), nullable=False),  # sighting, geofence, interpolated, derived
    Column("biz_step", String(32), nullable=False),
    Column("disposition", String(40), nullable=False),
    Column("gateway_id", String(_ID), nullable=True),
    Column("detail", Text, nullable=False),  # JSON
    Column("recorded_at", BigInteger, nullable=False),
    Index("ix_milestones_shipment_time", "shipment_id", "time_ns"),
)

status_history = Table(
    "status_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("shipment_id", String(32), nullable=False, index=True),
    Column("time_ns", BigInteger, nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("cause", String(200), nullable=False),  # a milestone's type and id, or "manual"
    Column("manual", Boolean, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
)

lane_transfers = Table(
    "lane_transfers",
    metadata,
    Column("shipment_id", String(32), primary_key=True),
    Column("from_site", String(_ID), primary_key=True),
    Column("from_event", String(8), primary_key=True),  # arrived or departed
    Column("to_site", String(_ID), primary_key=True),
    Column("started_ns", BigInteger, nullable=False),
    Column("duration_s", Float, nullable=False),
    Index("ix_lane_transfers_lane", "from_site", "to_site", "from_event"),
)

journey_marks = Table(
    "journey_marks",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

journey_vehicles = Table(
    "journey_vehicles",
    metadata,
    Column("shipment_id", String(32), primary_key=True),
    Column("gateway_id", String(_ID), primary_key=True, index=True),  # a vehicle's gateway
)

journey_due = Table(
    "journey_due",
    metadata,
    Column("shipment_id", String(32), primary_key=True),
    Column("due_ns", BigInteger, nullable=False, index=True),  # when time alone may change it
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", BigInteger, nullable=False, index=True),
    Column("topic", String(300), nullable=False),
    Column("gateway_id", String(_ID), nullable=True),
    Column("reason", String(32), nullable=False),  # a stable code for counting
    Column("detail", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("applied_at", BigInteger, nullable=False),
)
