"""Engines for the URLs the SQL store accepts, with the pragmas and BEGIN it needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from negotrack.errors import MissingDependencyError, StoreError

__all__ = ["in_memory", "make_engine"]


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
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("negotrack_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
