"""The SQL face follows the claim rule: recording order never decides a cell.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

``negotrack_current_positions`` and, on PostgreSQL,
``negotrack_positions_as_of`` chose among the live entries of a cell at its
latest valid instant by position, so the later line of a file won.  They now
apply the default claim rule of :mod:`negotrack.projections.claims`: a stated
claim beats an inferred one, then a higher confidence (none ranks below any);
the claims left standing that disagree are a conflict (``stance`` NULL,
``conflicting`` true); the row shows the first of them by event id, as
``Cell`` does.  Both gain a ``conflicting`` column.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_VIEW_COLUMNS = """r.negotiation, r.party, r.clause,
  CASE WHEN r.conflicting THEN NULL ELSE ev.stance END AS stance,
  r.conflicting, ev.valid_at, ev.precision, ev.recorded_at, ev.salience, ev.confidence,
  ev.conditions, ev.speaker, ev.signatories, ev.evidence, ev.type, ev.event_id, ev.position"""


def _stated(dialect: str) -> str:
    """SQL true when at least one piece of an event's evidence is stated (``e``: events)."""
    if dialect == "postgresql":
        return (
            "EXISTS (SELECT 1 FROM jsonb_array_elements(e.payload::jsonb -> 'evidence') x "
            "WHERE (x ->> 'stated')::boolean)"
        )
    return (
        "EXISTS (SELECT 1 FROM json_each(e.payload, '$.evidence') x "
        "WHERE json_extract(x.value, '$.stated') = 1)"
    )


def _field(dialect: str, key: str, cast: str = "") -> str:
    if dialect == "postgresql":
        return f"(e.payload::jsonb ->> '{key}'){cast}"
    return f"json_extract(e.payload, '$.{key}')"


def _resolved(dialect: str, live: str) -> str:
    """CTEs ending in ``resolved``: the cells the claim rule fills, from ``live`` entries.

    ``live`` selects (negotiation, party, clause, at, position) of the entries
    that count (not retracted, known, valid by the date asked).  ``resolved``
    has a row per filled cell: ``conflicting``, and the ``position`` of the
    claim shown (the first by event id among those the rule left standing).
    """
    by_id = 'COLLATE "C"' if dialect == "postgresql" else "COLLATE BINARY"
    same_cell = (
        "{0}.negotiation = {1}.negotiation AND {0}.party = {1}.party AND {0}.clause = {1}.clause"
    )
    # A claim that gives no confidence ranks below any that gives one, even 0.
    confidence = f"coalesce({_field(dialect, 'confidence', '::float8')}, -1)"
    return f"""live AS ({live}),
latest AS (
  SELECT l.* FROM live l
  WHERE l.at = (SELECT max(l2.at) FROM live l2 WHERE {same_cell.format("l2", "l")})
),
ranked AS (
  SELECT lt.negotiation, lt.party, lt.clause, lt.position, e.event_id,
         {_field(dialect, "stance")} AS stance,
         rank() OVER (PARTITION BY lt.negotiation, lt.party, lt.clause
                      ORDER BY CASE WHEN {_stated(dialect)} THEN 1 ELSE 0 END DESC,
                               {confidence} DESC) AS place
  FROM latest lt JOIN events e ON e.position = lt.position
),
chosen AS (SELECT * FROM ranked WHERE place = 1),
cells AS (
  SELECT negotiation, party, clause,
         count(DISTINCT coalesce(stance, '(withdrawn)')) > 1 AS conflicting,
         min(event_id {by_id}) AS shown
  FROM chosen GROUP BY negotiation, party, clause
),
resolved AS (
  SELECT c.negotiation, c.party, c.clause, c.conflicting, ch.position
  FROM cells c JOIN chosen ch ON {same_cell.format("ch", "c")} AND ch.event_id = c.shown
  WHERE c.conflicting OR ch.stance IS NOT NULL
)"""


_LIVE_NOW = """SELECT ce.negotiation, ce.party, ce.clause, ce.valid_at AS at, ce.position
  FROM cell_entries ce
  WHERE NOT EXISTS (SELECT 1 FROM retractions r WHERE r.retracted = ce.position)"""

# $1 negotiation, $2 as_of, $3 known_at (NULL: now).  Positional, because a
# parameter named like a column would lose to the column inside the query.
_LIVE_AS_OF = """SELECT ce.negotiation, ce.party, ce.clause, ce.valid_at AS at, ce.position
  FROM cell_entries ce JOIN events k ON k.position = ce.position
  WHERE ce.negotiation = $1
    AND ce.valid_at <= (extract(epoch FROM $2) * 1000000)::bigint
    AND k.recorded_at <= coalesce((extract(epoch FROM $3) * 1000000)::bigint,
                                  9223372036854775807)
    AND NOT EXISTS (
      SELECT 1 FROM retractions r JOIN events re ON re.position = r.position
      WHERE r.retracted = ce.position
        AND re.recorded_at <= coalesce((extract(epoch FROM $3) * 1000000)::bigint,
                                       9223372036854775807)
    )"""


def _current_positions(dialect: str) -> str:
    return f"""CREATE VIEW negotrack_current_positions AS
WITH {_resolved(dialect, _LIVE_NOW)}
SELECT {_VIEW_COLUMNS}
FROM resolved r JOIN negotrack_events ev ON ev.position = r.position"""


_POSITIONS_AS_OF = f"""CREATE FUNCTION negotrack_positions_as_of(
  negotiation text, as_of timestamptz, known_at timestamptz DEFAULT NULL
) RETURNS TABLE (
  party text, clause text, stance text, conflicting boolean, valid_at timestamptz,
  "precision" text, recorded_at timestamptz, signatories jsonb, evidence jsonb,
  event_id text, "position" bigint
) LANGUAGE sql STABLE AS $$
  WITH {_resolved("postgresql", _LIVE_AS_OF)}
  SELECT r.party::text, r.clause::text,
         CASE WHEN r.conflicting THEN NULL ELSE ev.stance END, r.conflicting,
         ev.valid_at, ev.precision, ev.recorded_at, ev.signatories, ev.evidence,
         ev.event_id::text, r.position
  FROM resolved r JOIN negotrack_events ev ON ev.position = r.position
  ORDER BY r.party, r.clause
$$"""

_DROP_FUNCTION = "DROP FUNCTION negotrack_positions_as_of(text, timestamptz, timestamptz)"


def _embedding() -> ModuleType:
    """Revision 0002, whose definitions a downgrade puts back (one place for them)."""
    path = Path(__file__).with_name("0002_embedding.py")
    spec = importlib.util.spec_from_file_location("negotrack_migration_0002", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    """Redefine the current positions view (and the as-of function) by the claim rule."""
    dialect = op.get_bind().dialect.name
    op.execute("DROP VIEW negotrack_current_positions")
    op.execute(_current_positions(dialect))
    if dialect == "postgresql":
        op.execute(_DROP_FUNCTION)
        op.execute(_POSITIONS_AS_OF)


def downgrade() -> None:
    """Put back revision 0002's definitions (the latest entry by position)."""
    dialect = op.get_bind().dialect.name
    before = _embedding()
    op.execute("DROP VIEW negotrack_current_positions")
    op.execute(before._CURRENT_POSITIONS)
    if dialect == "postgresql":
        op.execute(_DROP_FUNCTION)
        op.execute(before._POSITIONS_AS_OF)
