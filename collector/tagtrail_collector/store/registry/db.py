"""Opening the registry database and running its migrations (registered, transactional)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert, UpdateBase

from tagtrail_collector.errors import RegistryError
from tagtrail_collector.store.registry import schema
from tagtrail_collector.store.registry.identity import ShipmentIdentifier

log = logging.getLogger(__name__)
Migration = Callable[[Connection], None]
MIGRATIONS: Final[dict[int, tuple[str, Migration]]] = {}
_SQLITE_BUSY_MS: Final = 30_000


def migration(version: int, name: str) -> Callable[[Migration], Migration]:
    """Register a migration; each runs once, in its own transaction with its bookkeeping row."""

    def register(func: Migration) -> Migration:
        if version in MIGRATIONS:
            raise RuntimeError(f"migration {version} registered twice")
        MIGRATIONS[version] = (name, func)
        return func

    return register


@migration(1, "initial")
def _initial(conn: Connection) -> None:
    tables = [t for name, t in schema.metadata.tables.items() if name != "schema_migrations"]
    schema.metadata.create_all(conn, tables=tables)


@migration(2, "shipment identifiers")
def _identifiers(conn: Connection) -> None:
    """shipment_tags -> shipment_identifiers (EPCs and SSCCs, with when they were attached), and
    an SSCC no longer unique among shipments: it is unique among attached identifiers."""
    if "shipment_tags" not in inspect(conn).get_table_names():
        schema.shipment_identifiers.create(conn, checkfirst=True)  # a new registry
        return
    shipments = conn.execute(text("SELECT id, sscc, created_at FROM shipments ORDER BY created_at"))
    created = {}
    found: list[tuple[str, ShipmentIdentifier]] = []
    for shipment_id, sscc, created_at in shipments:
        created[shipment_id] = created_at
        if sscc is not None:
            found.append((shipment_id, ShipmentIdentifier.of_sscc(sscc)))
    for epc, shipment_id in conn.execute(text("SELECT epc, shipment_id FROM shipment_tags")):
        found.append((shipment_id, ShipmentIdentifier.of_epc(epc)))
    conn.execute(text("DROP TABLE shipment_tags"))
    _drop_sscc_unique(conn)
    schema.shipment_identifiers.create(conn)
    held: set[str] = set()
    rows = []
    for shipment_id, ident in sorted(found, key=lambda f: created[f[0]]):
        at = created[shipment_id]
        # An identifier two shipments held (an EPC encoding another shipment's SSCC): the later
        # registration never sees it.
        released = at if ident.key in held else None
        if released is not None:
            log.warning("registry migration: %s of %s was held already", ident.key, shipment_id)
        held.add(ident.key)
        rows.append(
            {"shipment_id": shipment_id, "key": ident.key, "epc": ident.epc, "sscc": ident.sscc,
             "attached_at": at, "released_at": released}
        )  # fmt: skip
    if rows:
        conn.execute(insert(schema.shipment_identifiers), rows)


@migration(3, "journey")
def _journey(conn: Connection) -> None:
    """Sites get geofences, codes and tracker rules; shipments a closing time; the journey's
    tables. Site kind ``border`` is now ``border_crossing``; status ``in-transit`` is
    ``in_transit``."""
    _add_missing_columns(conn, schema.sites)
    _add_missing_columns(conn, schema.shipments)
    conn.execute(text("UPDATE sites SET kind = 'border_crossing' WHERE kind = 'border'"))
    conn.execute(text("UPDATE shipments SET status = 'in_transit' WHERE status = 'in-transit'"))
    conn.execute(
        text(
            "UPDATE shipments SET closed_at = COALESCE((SELECT MAX(released_at) FROM"
            " shipment_identifiers WHERE shipment_id = shipments.id), created_at)"
            " WHERE status IN ('delivered', 'cancelled') AND closed_at IS NULL"
        )
    )
    for table in (
        schema.geofence_events, schema.geofence_states, schema.geofence_dirty,
        schema.door_sightings, schema.milestones,
        schema.status_history, schema.lane_transfers, schema.journey_marks, schema.journey_due,
        schema.journey_vehicles,
    ):  # fmt: skip
        table.create(conn, checkfirst=True)


def _add_missing_columns(conn: Connection, table: Table) -> None:
    """ALTER TABLE ... ADD COLUMN for the table's nullable columns the database lacks."""
    present = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for column in table.columns:
        if column.name not in present:
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}')


def _drop_sscc_unique(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE shipments DROP CONSTRAINT IF EXISTS shipments_sscc_key")
        return
    # SQLite cannot drop a column's UNIQUE: the table is built again (nothing references it now).
    present = {c["name"] for c in inspect(conn).get_columns("shipments")}
    columns = ", ".join(c.name for c in schema.shipments.columns if c.name in present)
    conn.exec_driver_sql("ALTER TABLE shipments RENAME TO shipments_v1")
    schema.shipments.create(conn)
    conn.exec_driver_sql(
        f"INSERT INTO shipments ({columns}) SELECT {columns} FROM shipments_v1"  # noqa: S608
    )
    conn.exec_driver_sql("DROP TABLE shipments_v1")


_READ_ONLY: Final = "tagtrail_read_only"


def connect(url: str) -> Engine:
    """An engine for ``url`` (SQLite file by default, PostgreSQL by URL), migrated to the latest."""
    try:
        sqlite = url.startswith("sqlite")
        engine = create_engine(url, pool_pre_ping=not sqlite)  # a file cannot drop a connection
        if sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin_immediate)
        migrate(engine)
    except SQLAlchemyError as exc:
        raise RegistryError(f"cannot open the registry at {_safe(url)}: {exc}") from None
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:  # noqa: ANN401
    dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
    cursor.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # Writers queue on the lock at BEGIN instead of failing on upgrade from a read lock.
    # Readers (see ``reader``) take no lock: in WAL mode they never wait for a writer.
    if conn.get_execution_options().get(_READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def reader(engine: Engine) -> Engine:
    """The same engine (same pool) for read-only work: on SQLite its transactions are deferred,
    so API reads do not queue behind ingest's writes."""
    return engine.execution_options(**{_READ_ONLY: True})


def migrate(engine: Engine) -> list[int]:
    """Apply pending migrations in order; return the versions applied."""
    schema.schema_migrations.create(engine, checkfirst=True)
    applied: list[int] = []
    for version in sorted(MIGRATIONS):
        name, func = MIGRATIONS[version]
        with engine.begin() as conn:
            done = conn.scalar(
                select(schema.schema_migrations.c.version).where(
                    schema.schema_migrations.c.version == version
                )
            )
            if done is not None:
                continue
            func(conn)
            conn.execute(
                insert(schema.schema_migrations).values(
                    version=version, name=name, applied_at=time.time_ns()
                )
            )
            applied.append(version)
            log.info("registry migration %d (%s) applied", version, name)
    return applied


@contextmanager
def translated() -> Iterator[None]:
    """Turn SQLAlchemy errors into RegistryError at the store boundary."""
    try:
        yield
    except SQLAlchemyError as exc:
        detail = exc.args[0] if exc.args else exc
        raise RegistryError(f"registry: {type(exc).__name__}: {detail}") from exc


def _safe(url: str) -> str:
    # Never print a password from a database URL.
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "<unparseable URL>"


def execute_many(
    conn: Connection, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run ``statement`` once per row (executemany), handing the rows to the driver directly.

    SQLAlchemy's own executemany processes each row's parameters in Python, which for ingest's
    thousands of rows per write cost more than the database did. The statement is compiled for
    the connection's dialect and paramstyle; a statement whose parameters need converting (a
    type with a bind processor) goes through SQLAlchemy as usual.
    """
    if not rows:
        return
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(rows[0]))
    if any(b.type.bind_processor(conn.dialect) for b in compiled.binds.values()):
        conn.execute(statement, list(rows))
        return
    names = compiled.positiontup
    if names is None:
        conn.exec_driver_sql(compiled.string, [dict(row) for row in rows])
    else:
        conn.exec_driver_sql(compiled.string, [tuple(row[n] for n in names) for row in rows])


def upsert(
    conn: Connection, table: Table, key: str | tuple[str, ...], *,
    newer: Callable[[Any, Any], Any],
) -> Insert:  # fmt: skip
    """INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE newer(excluded, current).

    Executed with a list of rows (executemany): one statement, compiled once and cached.
    """
    stmt = _insert(conn, table)
    excluded = stmt.excluded
    keys = (key,) if isinstance(key, str) else key
    columns = {c.name: excluded[c.name] for c in table.columns if c.name not in keys}
    upsert: Insert = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys], set_=columns, where=newer(excluded, table.c)
    )
    return upsert


def insert_new(conn: Connection, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING: rows already there (by any unique key) are kept."""
    done: Insert = _insert(conn, table).on_conflict_do_nothing()
    return done


def _insert(conn: Connection, table: Table) -> Any:  # noqa: ANN401 (a dialect's Insert)
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"registry on {dialect} is not supported (SQLite, PostgreSQL)")
