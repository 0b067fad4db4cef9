"""Engines for the URLs the SQL store accepts, with the pragmas and BEGIN it needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from negotrack.errors import MissingDependencyError, StoreError

__all__ = ["SQLITE_PRAGMAS", "in_memory", "make_engine", "use_wal"]

SQLITE_PRAGMAS = (
    # In WAL mode a commit writes the WAL without waiting for the disk; a
    # power cut may lose the last commits, never corrupt the file.
    "PRAGMA synchronous=NORMAL",
    # An append writes index pages all over the file (one per cell it enters);
    # checkpointing every 1,000 pages (SQLite's default) copied the same pages
    # back again and again: at 10,000 (about 40 MB of WAL) an append of 100
    # stances took about 40% less time (docs/performance.md).
    "PRAGMA wal_autocheckpoint=10000",
    # ... and the WAL file is cut back to 64 MiB after a checkpoint.
    "PRAGMA journal_size_limit=67108864",
)
"""Set on every SQLite connection the store opens (the benchmark's floors use them too)."""


def in_memory(engine: Engine) -> bool:
    """Whether the engine is an in-memory SQLite database (one shared connection)."""
    database = engine.url.database
    return engine.dialect.name == "sqlite" and (
        not database or database == ":memory:" or "mode=memory" in str(engine.url)
    )


def make_engine(url: str) -> Engine:
    """An engine for a ``sqlite://`` or ``postgresql+psycopg://`` URL.

    Raises:
        MissingDependencyError: PostgreSQL without its driver.
        StoreError: any other kind of URL.
    """
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401, PLC0415
        except ImportError as exc:
            raise MissingDependencyError("psycopg", "postgres", ["PostgreSQL"]) from exc
        return create_engine(url, pool_pre_ping=True)
    if not url.startswith("sqlite"):
        raise StoreError(
            f"unsupported database URL {url!r}: use sqlite:/// or postgresql+psycopg://"
        )
    memory = url in {"sqlite://", "sqlite:///:memory:"} or "mode=memory" in url
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 60, "check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one connection, or each would see its own database
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN, so that writers can ask
        # for BEGIN IMMEDIATE (the write lock up front, no upgrade deadlock).
        # WAL is a property of the file, set once when the store is made
        # (use_wal); asking for it on every connection took a lock that
        # concurrent first opens of a new file could not get.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("negotrack_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def use_wal(engine: Engine) -> None:
    """Put a SQLite file in WAL mode (readers never wait for the writer); once, when it is made.

    The mode is kept in the file.  Changing it needs the file to itself, so
    this runs outside any transaction, before the schema is created, and
    waits its turn (the busy timeout) behind another process doing the same.
    A file already in WAL mode is left as it is.
    """
    if engine.dialect.name != "sqlite" or in_memory(engine):
        return
    with engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        assert driver is not None
        if driver.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            driver.execute("PRAGMA journal_mode=WAL")
