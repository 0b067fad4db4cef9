"""Schema migrations with Alembic, shipped in the package.

``0001`` is the baseline (the schema before migrations, store schema 1);
``0002`` adds the follower checkpoints and the SQL face; ``0003`` makes the SQL
face follow the claim rule; ``0004`` refuses upserts; ``0005`` keys the cell
index by the as-of seek.  The database records
its revision in the table ``negotrack_alembic_version`` (not Alembic's default
name, so that an application's own Alembic history can share the database).

Deciding whether a store is up to date needs no Alembic and no DDL: one
``SELECT`` of the version table (:func:`state`).  Alembic is imported only to
upgrade and to list the history.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from sqlalchemy import Connection, Engine, inspect, text

from negotrack.errors import SchemaBehindError, StoreError
from negotrack.store.sql.engine import use_wal

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "BASELINE",
    "HEAD",
    "REVISIONS",
    "VERSION_TABLE",
    "Revision",
    "State",
    "current",
    "history",
    "refuse_unless_current",
    "require_current",
    "state",
    "upgrade",
]

VERSION_TABLE = "negotrack_alembic_version"
REVISIONS = ("0001", "0002", "0003", "0004", "0005")
"""Every revision, oldest first (a test holds it equal to the scripts in versions/)."""
BASELINE = REVISIONS[0]
HEAD = REVISIONS[-1]

_LEGACY_TABLE = "negotrack_store"  # present in every store, with or without migrations


class State(enum.Enum):
    """Where a database stands against this negotrack's migrations."""

    EMPTY = "empty"
    """No negotrack tables: a new store (upgrading creates everything)."""
    CURRENT = "current"
    """At :data:`HEAD`: open it as it is."""
    BEHIND = "behind"
    """At an older revision, or a store from before migrations: upgrade it first."""
    AHEAD = "ahead"
    """At a revision this negotrack does not know: a newer negotrack migrated it."""


def _found(conn: Connection) -> tuple[bool, str | None]:
    """(has negotrack tables, revision recorded or ``None``), by reading only."""
    names = set(inspect(conn).get_table_names())
    if VERSION_TABLE in names:
        revision = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        return True, None if revision is None else str(revision)
    return _LEGACY_TABLE in names, None


def state(conn: Connection) -> tuple[State, str | None]:
    """Where the database of ``conn`` stands, and the revision it records (``None``: none).

    Reads the catalogue and one row; takes no lock beyond reading and runs no DDL.
    """
    has_tables, revision = _found(conn)
    if not has_tables:
        return State.EMPTY, None
    if revision == HEAD:
        return State.CURRENT, revision
    if revision is None or revision in REVISIONS:
        return State.BEHIND, revision
    return State.AHEAD, revision


def require_current(conn: Connection, where: str) -> None:
    """Refuse a database this negotrack cannot use as it is.

    Raises:
        SchemaBehindError: it is empty or behind (the message names the command).
        StoreError: it was migrated by a newer negotrack.
    """
    refuse_unless_current(*state(conn), where)


def refuse_unless_current(found: State, revision: str | None, where: str) -> None:
    """Raise the error for a database found in ``found`` at ``revision``, unless it is current.

    Raises:
        SchemaBehindError: it is empty or behind (the message names the command).
        StoreError: it was migrated by a newer negotrack.
    """
    if found is State.AHEAD:
        raise StoreError(
            f"the store at {where} is at schema revision {revision}, which this negotrack "
            f"(up to {HEAD}) does not know: upgrade negotrack"
        )
    if found is not State.CURRENT:
        raise SchemaBehindError(where, revision, HEAD)


def _config(conn: Connection | None = None) -> Config:
    try:
        from alembic.config import Config  # noqa: PLC0415 - only upgrades need Alembic
    except ImportError as exc:  # pragma: no cover - alembic is a dependency
        raise StoreError("alembic is needed to migrate the store: pip install alembic") from exc
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for the whole upgrade, alone: two first opens of a new store wait in turn.

    On SQLite it holds the write lock from the start (BEGIN IMMEDIATE); on
    PostgreSQL an advisory lock per schema, so that the second upgrade reads
    the state the first one committed instead of creating the same tables.
    """
    use_wal(engine)
    with engine.connect().execution_options(negotrack_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(hashtext('negotrack-migrate:' || current_schema()))"
            )
        yield conn


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the database of ``engine`` to ``revision`` (default: the newest); return it.

    An empty database gets every table; a store from before migrations is
    stamped at the baseline first (it holds exactly that schema).  All steps
    run in one transaction: a failure leaves the database as it was.

    Raises:
        StoreError: the database was migrated by a newer negotrack, or
            ``revision`` is not one of :data:`REVISIONS`.
    """
    from alembic import command  # noqa: PLC0415 - only upgrades need Alembic
    from alembic.util import CommandError  # noqa: PLC0415

    with _migrating(engine) as conn:
        found, recorded = state(conn)
        if found is State.AHEAD:
            require_current(conn, engine.url.render_as_string(hide_password=True))
        config = _config(conn)
        try:
            if found is State.BEHIND and recorded is None:
                command.stamp(config, BASELINE)
            command.upgrade(config, revision)
        except CommandError as exc:
            raise StoreError(f"cannot upgrade to {revision!r}: {exc}") from exc
        return str(_found(conn)[1])


def current(engine: Engine) -> tuple[State, str | None]:
    """Where the database of ``engine`` stands (see :func:`state`)."""
    with engine.connect() as conn:
        return state(conn)


@attrs.frozen
class Revision:
    """One migration: its id and what it does."""

    revision: str
    down_revision: str | None
    doc: str


def history() -> list[Revision]:
    """Every migration shipped with this negotrack, oldest first."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only history needs Alembic

    scripts = ScriptDirectory.from_config(_config())
    found = [
        Revision(
            revision=script.revision,
            down_revision=script.down_revision,  # type: ignore[arg-type]
            doc=script.doc,
        )
        for script in scripts.walk_revisions()
    ]
    return found[::-1]
