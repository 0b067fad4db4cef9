"""Engines for the URLs the SQL store accepts, with the pragmas and BEGIN it needs."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import StaticPool

from negotrack.errors import MissingDependencyError, StoreError

__all__ = [
    "LARGE_WRITE_CACHE_KIB",
    "SQLITE_PRAGMAS",
    "in_memory",
    "large_write_cache",
    "make_engine",
    "use_wal",
]

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

LARGE_WRITE_CACHE_KIB = 32 * 1024
"""SQLite's page cache, in KiB, while a large append (an import, a restore) is written.

Its inserts dirty index pages all over the file (event ids, streams, the cell
index); SQLite's default cache (2 MiB) cannot hold them until the commit, so
it writes them out and reads them back mid-transaction.  The raw inserts of
100,000 stances in one transaction took 4.2 s with the default, 2.9 s with
16 MiB, 2.8 s with 32, 2.7 s with 64 (``bench/index_costs.py --bulk``).
Only the large append's connection gets it, and only until it commits: then
the connection has its previous size again (SQLite's default on the store's
own engine).
"""


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


@contextlib.contextmanager
def large_write_cache(conn: Connection) -> Iterator[None]:
    """SQLite: :data:`LARGE_WRITE_CACHE_KIB` of page cache on ``conn`` for the block.

    Set through the driver, outside any transaction (a PRAGMA through
    SQLAlchemy would begin one); the block holds the write transaction, and
    the previous size comes back once it has committed or rolled back (a
    connection that cannot take it back is invalidated, not pooled).  If the
    cache cannot be set, the block runs without it.  Other backends: nothing.
    """
    driver = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
    previous = None
    if driver is not None:
        try:
            (previous,) = driver.execute("PRAGMA cache_size").fetchone()
            driver.execute(f"PRAGMA cache_size=-{LARGE_WRITE_CACHE_KIB}")
        except sqlite3.Error:
            # Only a speed-up: no append fails for want of it (nor with a driver
            # error no boundary maps); a broken connection fails in the append.
            previous = None
    try:
        yield
    finally:
        if driver is not None and previous is not None:
            try:
                driver.execute(f"PRAGMA cache_size={int(previous)}")
            except sqlite3.Error:
                conn.invalidate()  # so the pool never hands it out with the large cache


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
        try:
            if driver.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                driver.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            # Raised by the driver itself: wrapped as SQLAlchemy wraps what it
            # runs, so that the storage boundary (boundary.py) maps it.
            raise sa_exc.DBAPIError.instance(
                "PRAGMA journal_mode=WAL", None, exc, sqlite3.Error
            ) from exc
