"""The cell index keyed by what the as-of query seeks: one B-tree a cell entry, not three.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

``cell_entries`` was a table keyed by (cell, version) with a second index on
(cell, valid_at, position) for the as-of seek: every stance appended wrote
three B-trees (the rows, the key, the index), each at a page of its own
somewhere in the file.  Its key is now the seek's, (negotiation, party,
clause, valid_at, position): on SQLite a ``WITHOUT ROWID`` table, the rows
stored in that B-tree itself; on PostgreSQL the primary key takes the place
of the index.  A cell's version is the largest ``version`` of its entries, read
along the same key.

(cell, version) is no longer a key of its own.  Versions are given out under
the writers' lock, and a stance's version is also its row's in ``events``,
whose (stream, version) stays unique; ``verify()`` checks that the entries
hold exactly the versions the events imply.

SQLite cannot change a table's key in place: the table is made anew and its
rows copied, and the view that reads it and the table's triggers are made
again (their definitions are revisions 0003's and 0004's, loaded from there).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_CELL = "negotiation, party, clause"
_NEW_KEY = f"{_CELL}, valid_at, position"
_OLD_KEY = f"{_CELL}, version"
_COLUMNS = f"{_CELL}, version, valid_at, position, withdrawn"

# The table as revision 0001 made it, with the key given; SQLite's types.
_SQLITE_TABLE = """CREATE TABLE {name} (
  negotiation VARCHAR(200) NOT NULL,
  party VARCHAR(200) NOT NULL,
  clause VARCHAR(200) NOT NULL,
  version INTEGER NOT NULL,
  valid_at BIGINT NOT NULL,
  position INTEGER NOT NULL,
  withdrawn BOOLEAN NOT NULL,
  PRIMARY KEY ({key})
){options}"""


def _revision(number: str, stem: str) -> ModuleType:
    """An earlier revision's module, whose definitions are made again here (one place for them)."""
    path = Path(__file__).with_name(f"{number}_{stem}.py")
    spec = importlib.util.spec_from_file_location(f"negotrack_migration_{number}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rebuild_sqlite(key: str, options: str, *, as_of_index: bool) -> None:
    """Make ``cell_entries`` anew with ``key``, keeping its rows, view and triggers."""
    claim_rule = _revision("0003", "claim_rule")
    no_replace = _revision("0004", "no_replace")
    op.execute("DROP VIEW negotrack_current_positions")  # it reads the table
    op.execute(_SQLITE_TABLE.format(name="cell_entries_new", key=key, options=options))
    op.execute(f"INSERT INTO cell_entries_new ({_COLUMNS}) SELECT {_COLUMNS} FROM cell_entries")
    op.execute("DROP TABLE cell_entries")  # and its triggers and index
    op.execute("ALTER TABLE cell_entries_new RENAME TO cell_entries")
    if as_of_index:
        op.execute(f"CREATE INDEX cell_entries_as_of ON cell_entries ({_NEW_KEY})")
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER cell_entries_no_{verb.lower()} BEFORE {verb} ON cell_entries "
            "BEGIN SELECT RAISE(ABORT, 'negotrack: cell_entries is append-only'); END"
        )
    op.execute(no_replace._trigger("cell_entries", (tuple(key.split(", ")),)))
    op.execute(claim_rule._current_positions("sqlite"))


def upgrade() -> None:
    """Key the cell index by (cell, valid_at, position)."""
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(_NEW_KEY, " WITHOUT ROWID", as_of_index=False)
        return
    op.execute("ALTER TABLE cell_entries DROP CONSTRAINT cell_entries_pkey")
    op.execute("DROP INDEX cell_entries_as_of")
    op.execute(f"ALTER TABLE cell_entries ADD PRIMARY KEY ({_NEW_KEY})")


def downgrade() -> None:
    """Put back the key (cell, version) and the as-of index."""
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(_OLD_KEY, "", as_of_index=True)
        return
    op.execute("ALTER TABLE cell_entries DROP CONSTRAINT cell_entries_pkey")
    op.execute(f"ALTER TABLE cell_entries ADD PRIMARY KEY ({_OLD_KEY})")
    op.execute(f"CREATE INDEX cell_entries_as_of ON cell_entries ({_NEW_KEY})")
