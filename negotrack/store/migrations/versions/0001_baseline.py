"""The baseline: the schema negotrack had before migrations (store schema 1).

Revision ID: 0001
Revises:
Create Date: 2025-12-01

A frozen copy of the tables of :mod:`negotrack.store.schema` as they were at
store schema 1, so that this step creates the same database whatever the
current code looks like.  Stores created before migrations hold exactly this;
:func:`negotrack.store.migrations.upgrade` stamps them at this revision
instead of running it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from negotrack.store.schema import append_only_ddl

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid alias
_ID = sa.String(200)


def upgrade() -> None:
    """Create the log's tables, their indexes and the append-only triggers."""
    op.create_table(
        "events",
        sa.Column("position", _POSITION, primary_key=True, autoincrement=False),
        sa.Column("event_id", _ID, nullable=False, unique=True),
        sa.Column("stream", sa.String(420), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("schema_version", sa.SmallInteger, nullable=False),
        sa.Column("negotiation", _ID, nullable=False),
        sa.Column("party", _ID),
        sa.Column("clause", _ID),
        sa.Column("valid_at", sa.BigInteger),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("stream", "version", name="events_stream_version"),
    )
    op.create_index("events_negotiation_type", "events", ["negotiation", "type"])
    op.create_index("events_recorded_at", "events", ["recorded_at"])
    op.create_table(
        "cells",
        sa.Column("negotiation", _ID, primary_key=True),
        sa.Column("party", _ID, primary_key=True),
        sa.Column("clause", _ID, primary_key=True),
    )
    op.create_table(
        "cell_entries",
        sa.Column("negotiation", _ID, primary_key=True),
        sa.Column("party", _ID, primary_key=True),
        sa.Column("clause", _ID, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("valid_at", sa.BigInteger, nullable=False),
        sa.Column("position", _POSITION, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
    )
    op.create_index(
        "cell_entries_as_of",
        "cell_entries",
        ["negotiation", "party", "clause", "valid_at", "position"],
    )
    op.create_table(
        "retractions",
        sa.Column("retracted", _POSITION, primary_key=True),
        sa.Column("position", _POSITION, nullable=False),
    )
    op.create_index("retractions_position", "retractions", ["position"])
    store_info = op.create_table(
        "negotrack_store",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.bulk_insert(store_info, [{"key": "schema", "value": "1"}])
    # The trigger statements are idempotent and cover these four tables; a later
    # change to them must freeze a copy here before it changes append_only_ddl.
    for statement in append_only_ddl(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    """The baseline is not undone: drop the database (or schema) instead."""
    raise NotImplementedError("the baseline cannot be downgraded: drop the database instead")
