"""Append-only against upserts: SQLite's INSERT OR REPLACE is refused on the log's tables.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

SQLite carries out ``INSERT OR REPLACE`` (and ``REPLACE INTO``) by deleting
the row in the way and inserting the new one; the delete fires no DELETE
trigger unless the connection set ``recursive_triggers``, which a tamperer's
connection does not.  So each of the log's tables gets a BEFORE INSERT
trigger that refuses a row whose key (any unique key) is already taken: a
plain INSERT of such a row fails anyway, and the replacing one now fails too.

PostgreSQL needs nothing new: ``INSERT ... ON CONFLICT DO UPDATE`` fires the
BEFORE UPDATE row trigger of the baseline, which refuses it.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
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


def upgrade() -> None:
    """On SQLite, refuse an insert onto a taken key (the first half of a REPLACE)."""
    if op.get_bind().dialect.name == "sqlite":
        for table, keys in _KEYS.items():
            op.execute(_trigger(table, keys))


def downgrade() -> None:
    """Drop the triggers :func:`upgrade` created."""
    if op.get_bind().dialect.name == "sqlite":
        for table in _KEYS:
            op.execute(f"DROP TRIGGER {table}_no_replace")
