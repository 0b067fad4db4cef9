"""The tables of the log, and the triggers that make them append-only.

``events`` is the source of truth.  ``cells``, ``cell_entries`` and
``retractions`` are indexes of it, written in the same transaction as the
events they index, so that the as-of query reads integers from narrow indexed
rows and never parses JSON.  All four refuse UPDATE and DELETE, and an
insert that would replace a stored row (SQLite's ``INSERT OR REPLACE``,
refused by the triggers of migration 0004; PostgreSQL's ``ON CONFLICT DO
UPDATE``, refused by the UPDATE trigger).

Times are integer microseconds since the epoch (UTC): exact, comparable and
the same on every backend.

These definitions are what the code reads and writes; the database gets them
through the migrations in :mod:`negotrack.store.migrations` (a test holds the
two equal), so a change here needs a new migration.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "append_only_ddl",
    "cell_entries",
    "cells",
    "events",
    "follower_checkpoints",
    "metadata",
    "retractions",
    "store_info",
]

metadata = MetaData()

# INTEGER PRIMARY KEY is SQLite's rowid alias (the fastest key it has); BIGINT elsewhere.
_Position = BigInteger().with_variant(Integer(), "sqlite")
_Id = String(200)

events = Table(
    "events",
    metadata,
    Column("position", _Position, primary_key=True, autoincrement=False),
    Column("event_id", _Id, nullable=False, unique=True),
    Column("stream", String(420), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("schema_version", SmallInteger, nullable=False),
    Column("negotiation", _Id, nullable=False),
    Column("party", _Id),
    Column("clause", _Id),
    Column("valid_at", BigInteger),
    Column("recorded_at", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream", "version", name="events_stream_version"),
    Index("events_negotiation_type", "negotiation", "type"),
    Index("events_recorded_at", "recorded_at"),
)

cells = Table(
    "cells",
    metadata,
    Column("negotiation", _Id, primary_key=True),
    Column("party", _Id, primary_key=True),
    Column("clause", _Id, primary_key=True),
)

cell_entries = Table(
    "cell_entries",
    metadata,
    Column("negotiation", _Id, nullable=False),
    Column("party", _Id, nullable=False),
    Column("clause", _Id, nullable=False),
    Column("version", Integer, nullable=False),
    Column("valid_at", BigInteger, nullable=False),
    Column("position", _Position, nullable=False),
    Column("withdrawn", Boolean, nullable=False),
    # Keyed by what the as-of query seeks: it walks this key backwards from
    # (cell, T) to the first entry that is known and not retracted, one short
    # seek per cell.  On SQLite the rows live in that B-tree (WITHOUT ROWID), so
    # an append writes one B-tree per entry (migration 0005).
    PrimaryKeyConstraint("negotiation", "party", "clause", "valid_at", "position"),
    sqlite_with_rowid=False,
)

retractions = Table(
    "retractions",
    metadata,
    Column("retracted", _Position, primary_key=True),
    Column("position", _Position, nullable=False),
    # The as-of query asks for the first retraction to know whether to probe at all.
    Index("retractions_position", "position"),
)

store_info = Table(
    # The baseline's marker (key "schema", value "1"): a store without the
    # migrations' version table but with this one was made before migrations.
    "negotrack_store",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

follower_checkpoints = Table(
    # Not "checkpoints": that word names the materialised matrices of the design.
    "follower_checkpoints",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("position", BigInteger, nullable=False),
)
"""One row per follower: the position of the last event it finished.

See :mod:`negotrack.store.checkpoints`."""

_APPEND_ONLY = ("events", "cells", "cell_entries", "retractions")


def append_only_ddl(dialect: str) -> list[str]:
    """Statements that make the log's tables refuse UPDATE and DELETE."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'negotrack: {table} is append-only'); END"
            for table in _APPEND_ONLY
            for verb in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        statements = [
            "CREATE OR REPLACE FUNCTION negotrack_refuse_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING MESSAGE = "
            "'negotrack: ' || TG_TABLE_NAME || ' is append-only'; END $$"
        ]
        for table in _APPEND_ONLY:
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION negotrack_refuse_change()",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION negotrack_refuse_change()",
            ]
        return statements
    return []
