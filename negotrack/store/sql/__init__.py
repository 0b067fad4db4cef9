"""The event store on SQLAlchemy 2.x Core: SQLite (embedded default) or PostgreSQL.

Writers are serialised: SQLite takes its write lock at ``BEGIN IMMEDIATE``,
PostgreSQL a transaction-level advisory lock keyed by the schema.  Under that
lock an append reads the head of the log (position, record time, hash), checks
expected versions, assigns the next positions and record times itself and
commits.  Hence:

* positions are gap-free and commit in order, so a reader that follows
  positions never skips an event committed later with a lower position;
* ``recorded_at`` strictly increases with the position;
* the hash chain links each row to the one before it, with no race.

Appends are short (one batch, a few indexed reads and one ``executemany`` per
table), so serialising them costs little; optimistic concurrency still tells a
writer when the cell it read has moved on.

The modules, one concern each: :mod:`~negotrack.store.sql.engine` (engines and
pragmas), :mod:`~negotrack.store.sql.boundary` (driver errors become
negotrack errors), :mod:`~negotrack.store.sql.rows` (rows to records),
:mod:`~negotrack.store.sql.caches` (decoded events, versions),
:mod:`~negotrack.store.sql.write` (the write transaction and the append),
:mod:`~negotrack.store.sql.queries` (the read queries), and
:mod:`~negotrack.store.sql.store` (the store that wires them).
"""

from negotrack.store.sql.store import SqlEventStore

__all__ = ["SqlEventStore"]
