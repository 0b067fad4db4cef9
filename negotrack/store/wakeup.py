"""Waking the followers of a log when it grows.

A writer calls :func:`notify_appended` inside its append transaction; a
follower holds a :class:`Wakeup` and waits on it between reads:

* PostgreSQL: ``NOTIFY`` on the channel ``negotrack_appended`` (the payload
  names the schema), delivered only when the append commits, to a connection
  that ``LISTEN``\\s;
* a SQLite file: ``PRAGMA data_version``, which changes whenever another
  connection commits, polled with a backoff from 1 ms to 50 ms;
* anything else (an in-memory database, a store without an engine): plain
  polling with the same backoff.

A wakeup only says "look again": the follower re-reads the log from its last
position, so a lost or spurious wakeup costs a read, never an event.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.pool import StaticPool

__all__ = ["CHANNEL", "Wakeup", "notify_appended", "wakeup_for"]

CHANNEL = "negotrack_appended"
"""The PostgreSQL channel appends are announced on; the payload is the schema's name."""

_FIRST_POLL = 0.001
_LAST_POLL = 0.05


def notify_appended(conn: Connection) -> None:
    """Announce, from inside an append's transaction, that the log grows when it commits.

    PostgreSQL queues the notification and delivers it at commit (never for a
    rolled-back append); on other backends this does nothing.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_notify('{CHANNEL}', current_schema())")


class Wakeup(Protocol):
    """How a follower waits for the log to grow."""

    def arm(self) -> None:
        """Mark now: a commit after this call ends the next :meth:`wait` early."""
        ...

    def wait(self, timeout: float) -> None:
        """Return when the log may have grown since :meth:`arm`, or after ``timeout`` seconds."""
        ...

    def close(self) -> None:
        """Release the connection held for waiting."""
        ...


class _Polling:
    """Sleep with a growing backoff; the follower's next read finds out."""

    def __init__(self) -> None:
        self._pause = _FIRST_POLL

    def arm(self) -> None:
        pass

    def wait(self, timeout: float) -> None:
        time.sleep(max(0.0, min(self._pause, timeout)))
        self._pause = min(self._pause * 2, _LAST_POLL)

    def close(self) -> None:
        pass


class _DataVersion:
    """SQLite: poll ``PRAGMA data_version`` on a connection of our own (a cheap call)."""

    def __init__(self, engine: Engine) -> None:
        self._conn = engine.raw_connection()
        self._seen = self._version()
        self._pause = _FIRST_POLL

    def _version(self) -> int:
        cursor = self._conn.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            row = cursor.fetchone()
        finally:
            cursor.close()
        assert row is not None
        return int(row[0])

    def arm(self) -> None:
        self._seen = self._version()

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._version() == self._seen:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(self._pause, left))
            self._pause = min(self._pause * 2, _LAST_POLL)
        self._pause = _FIRST_POLL

    def close(self) -> None:
        self._conn.close()


class _Listen:
    """PostgreSQL: ``LISTEN`` on a dedicated autocommit connection.

    The ``LISTEN`` is issued before the follower's first read, so an append
    that commits while the follower reads still wakes its next wait.
    """

    def __init__(self, engine: Engine) -> None:
        self._raw = engine.raw_connection()
        driver = self._raw.driver_connection
        assert driver is not None
        self._driver: Any = driver
        self._driver.autocommit = True
        self._schema = self._driver.execute("SELECT current_schema()").fetchone()[0]
        self._driver.execute(f"LISTEN {CHANNEL}")

    def arm(self) -> None:
        pass

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            # Consume each generator fully: a suspended one holds the connection's lock.
            notes = list(self._driver.notifies(timeout=left, stop_after=1))
            if any(note.payload == self._schema for note in notes):  # other logs share it
                # Swallow what is already queued: one read covers it all.  (A
                # timeout of 0 would mean "no limit" to psycopg.)
                list(self._driver.notifies(timeout=0.001))
                return

    def close(self) -> None:
        try:
            self._driver.execute(f"UNLISTEN {CHANNEL}")
        finally:
            # Not back to the pool: the connection was switched to autocommit.
            self._raw.invalidate()


def wakeup_for(engine: Engine | None) -> Wakeup:
    """The best way to wait for the log on ``engine`` (polling when there is none)."""
    if engine is None:
        return _Polling()
    if engine.dialect.name == "postgresql":
        return _Listen(engine)
    if engine.dialect.name == "sqlite" and not isinstance(engine.pool, StaticPool):
        # A StaticPool means one shared in-memory connection: data_version never
        # changes for a connection's own writes, so only polling sees them.
        return _DataVersion(engine)
    return _Polling()
