"""Embedding: follower checkpoints, and the SQL face for plain clients.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01

Views for psql, Datasette, pandas and BI tools, with times as timestamps
(ISO 8601 text in UTC on SQLite, ``timestamptz`` on PostgreSQL) and the
payload's fields as columns (on PostgreSQL the payload is ``jsonb``):

* ``negotrack_events``: every event of the log;
* ``negotrack_current_positions``: each cell's latest stance by valid time, as
  known now (the current matrix of every negotiation);
* PostgreSQL only: ``negotrack_positions_as_of(negotiation, as_of [, known_at])``.

The events table keeps the payload as the exact text the hash chain covers;
the views parse it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _sqlite_iso(column: str) -> str:
    """ISO 8601 UTC text of a microsecond column, exact to the microsecond (floor for < 1970)."""
    micros = f"((({column} % 1000000) + 1000000) % 1000000)"
    seconds = f"(({column} - {micros}) / 1000000)"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE "
        f"strftime('%Y-%m-%dT%H:%M:%S', {seconds}, 'unixepoch') "
        f"|| '.' || printf('%06d', {micros}) || 'Z' END"
    )


def _postgres_time(column: str) -> str:
    # Exact: no float on the way (to_timestamp takes a double).
    return f"timestamptz 'epoch' + {column} * interval '1 microsecond'"


_FIELDS = (
    # (column of the view, key of the payload)
    ("stance", "stance"),
    ("precision", "precision"),
    ("salience", "salience"),
    ("confidence", "confidence"),
    ("conditions", "conditions"),
    ("speaker", "speaker"),
    ("signatories", "signatories"),
    ("evidence", "evidence"),
    ("retracted_event", "retracted"),
    ("replaced_by", "replaced_by"),
    ("reason", "reason"),
    ("note", "note"),
)


def _events_view(dialect: str) -> str:
    if dialect == "postgresql":
        lists = {"signatories", "evidence"}
        fields = ",\n  ".join(
            f"p.j -> '{key}' AS {name}" if name in lists else f"p.j ->> '{key}' AS {name}"
            for name, key in _FIELDS
        )
        return f"""CREATE VIEW negotrack_events AS
SELECT
  e.position, e.event_id, e.negotiation, e.type, e.party, e.clause,
  {_postgres_time("e.valid_at")} AS valid_at,
  {_postgres_time("e.recorded_at")} AS recorded_at,
  {fields},
  e.stream, e.version, e.schema_version, p.j AS payload, e.hash
FROM events e CROSS JOIN LATERAL (SELECT e.payload::jsonb AS j) p"""
    fields = ",\n  ".join(f"json_extract(e.payload, '$.{key}') AS {name}" for name, key in _FIELDS)
    return f"""CREATE VIEW negotrack_events AS
SELECT
  e.position, e.event_id, e.negotiation, e.type, e.party, e.clause,
  {_sqlite_iso("e.valid_at")} AS valid_at,
  {_sqlite_iso("e.recorded_at")} AS recorded_at,
  {fields},
  e.stream, e.version, e.schema_version, e.payload, e.hash
FROM events e"""


# An entry fills its cell when it is not a withdrawal, not retracted, and no
# live entry of the cell comes after it (by valid time, then position): the
# as-of rule of the design, as of the end of time and as known now.
_CURRENT_POSITIONS = """CREATE VIEW negotrack_current_positions AS
SELECT
  ce.negotiation, ce.party, ce.clause, ev.stance, ev.valid_at, ev.precision,
  ev.recorded_at, ev.salience, ev.confidence, ev.conditions, ev.speaker,
  ev.signatories, ev.evidence, ev.type, ev.event_id, ev.position
FROM cell_entries ce
JOIN negotrack_events ev ON ev.position = ce.position
WHERE NOT ce.withdrawn
  AND NOT EXISTS (SELECT 1 FROM retractions r WHERE r.retracted = ce.position)
  AND NOT EXISTS (
    SELECT 1 FROM cell_entries later
    WHERE later.negotiation = ce.negotiation
      AND later.party = ce.party
      AND later.clause = ce.clause
      AND (later.valid_at > ce.valid_at
           OR (later.valid_at = ce.valid_at AND later.position > ce.position))
      AND NOT EXISTS (SELECT 1 FROM retractions r2 WHERE r2.retracted = later.position)
  )"""

# $1 negotiation, $2 as_of, $3 known_at (NULL: now).  Positional, because a
# parameter named like a column would lose to the column inside the query.
_POSITIONS_AS_OF = """CREATE FUNCTION negotrack_positions_as_of(
  negotiation text, as_of timestamptz, known_at timestamptz DEFAULT NULL
) RETURNS TABLE (
  party text, clause text, stance text, valid_at timestamptz, "precision" text,
  recorded_at timestamptz, signatories jsonb, evidence jsonb, event_id text, "position" bigint
) LANGUAGE sql STABLE AS $$
  WITH bounds AS (
    SELECT (extract(epoch FROM $2) * 1000000)::bigint AS t,
           coalesce((extract(epoch FROM $3) * 1000000)::bigint, 9223372036854775807) AS k
  ),
  known AS (
    SELECT ce.party, ce.clause, ce.valid_at, ce.position, ce.withdrawn
    FROM cell_entries ce
    JOIN events e ON e.position = ce.position
    CROSS JOIN bounds b
    WHERE ce.negotiation = $1
      AND ce.valid_at <= b.t
      AND e.recorded_at <= b.k
      AND NOT EXISTS (
        SELECT 1 FROM retractions r JOIN events re ON re.position = r.position
        WHERE r.retracted = ce.position AND re.recorded_at <= b.k
      )
  ),
  latest AS (
    SELECT DISTINCT ON (party, clause) party, clause, position, withdrawn
    FROM known
    ORDER BY party, clause, valid_at DESC, position DESC
  )
  SELECT l.party::text, l.clause::text, ev.stance, ev.valid_at, ev.precision,
         ev.recorded_at, ev.signatories, ev.evidence, ev.event_id::text, l.position
  FROM latest l JOIN negotrack_events ev ON ev.position = l.position
  WHERE NOT l.withdrawn
  ORDER BY l.party, l.clause
$$"""


def upgrade() -> None:
    """Add the follower checkpoints table and the SQL face (views, and a function on PostgreSQL)."""
    op.create_table(
        "follower_checkpoints",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    op.execute(_events_view(dialect))
    op.execute(_CURRENT_POSITIONS)
    if dialect == "postgresql":
        op.execute(_POSITIONS_AS_OF)


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION negotrack_positions_as_of(text, timestamptz, timestamptz)")
    op.execute("DROP VIEW negotrack_current_positions")
    op.execute("DROP VIEW negotrack_events")
    op.drop_table("follower_checkpoints")
