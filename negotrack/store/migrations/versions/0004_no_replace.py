"""Append-only against upserts, and a keyed store's marker kept.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

SQLite carries out ``INSERT OR REPLACE`` (and ``REPLACE INTO``) by deleting
the row in the way and inserting the new one; the delete fires no DELETE
trigger unless the connection set ``recursive_triggers``, which a tamperer's
connection does not.  So each of the log's tables gets a BEFORE INSERT
trigger that refuses a row whose key (any unique key) is already taken: a
plain INSERT of such a row fails anyway, and the replacing one now fails too.

PostgreSQL needs nothing new for the log: ``INSERT ... ON CONFLICT DO
UPDATE`` fires the BEFORE UPDATE row trigger of the baseline, which refuses it.

On both, the row of ``negotrack_store`` that says a store's chain is keyed
(:mod:`negotrack.store.keying`) can be written once and never changed or
removed, like the log it describes.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Each table with each of its unique keys: a row replaced through any of them is refused.
_KEYS = {
    "events": (("position",), ("event_id",), ("stream", "version")),
    "cells": (("negotiation", "party", "clause"),),
    "cell_entries": (("negotiation", "party", "clause", "version"),),
    "retractions": (("retracted",),),
}


def _trigger(table: str, keys: tuple[tuple[str, ...], ...]) -> str:
    taken = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE "
        + " AND ".join(f"{column} = NEW.{column}" for column in key)
        + ")"
        for key in keys
    )
    return (
        f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {taken} "
        f"BEGIN SELECT RAISE(ABORT, 'negotrack: {table} is append-only'); END"
    )


_MARKER = "key = 'chain'"  # negotrack.store.keying.MARKER_ROW, frozen here
_REFUSE_MARKER = "SELECT RAISE(ABORT, 'negotrack: the chain marker is written once')"


def upgrade() -> None:
    """SQLite: refuse an insert onto a taken key (a REPLACE). Both: keep the chain marker."""
    if op.get_bind().dialect.name == "sqlite":
        for table, keys in _KEYS.items():
            op.execute(_trigger(table, keys))
        op.execute(
            "CREATE TRIGGER negotrack_store_marker_no_replace BEFORE INSERT ON negotrack_store "
            f"WHEN NEW.{_MARKER} AND EXISTS (SELECT 1 FROM negotrack_store WHERE {_MARKER}) "
            f"BEGIN {_REFUSE_MARKER}; END"
        )
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER negotrack_store_marker_no_{verb.lower()} BEFORE {verb} "
                f"ON negotrack_store WHEN OLD.{_MARKER} BEGIN {_REFUSE_MARKER}; END"
            )
        return
    op.execute(
        "CREATE FUNCTION negotrack_keep_marker() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'negotrack: the chain marker is written once'; END $$"
    )
    op.execute(
        "CREATE TRIGGER negotrack_store_marker BEFORE UPDATE OR DELETE ON negotrack_store "
        f"FOR EACH ROW WHEN (OLD.{_MARKER}) EXECUTE FUNCTION negotrack_keep_marker()"
    )
    op.execute(
        "CREATE TRIGGER negotrack_store_no_truncate BEFORE TRUNCATE ON negotrack_store "
        "FOR EACH STATEMENT EXECUTE FUNCTION negotrack_keep_marker()"
    )


def downgrade() -> None:
    """Drop the triggers (and function) :func:`upgrade` created."""
    if op.get_bind().dialect.name == "sqlite":
        for table in _KEYS:
            op.execute(f"DROP TRIGGER {table}_no_replace")
        for verb in ("replace", "update", "delete"):
            op.execute(f"DROP TRIGGER negotrack_store_marker_no_{verb}")
        return
    op.execute("DROP TRIGGER negotrack_store_no_truncate ON negotrack_store")
    op.execute("DROP TRIGGER negotrack_store_marker ON negotrack_store")
    op.execute("DROP FUNCTION negotrack_keep_marker()")
