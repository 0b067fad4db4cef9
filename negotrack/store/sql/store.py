"""The SQL event store: wires the engine, the caches, the write path and the queries."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine

from negotrack import codec
from negotrack._time import to_micros
from negotrack.errors import (
    ConflictError,
    DatabaseUnavailableError,
    StoreError,
    UnknownEventError,
)
from negotrack.events import Event
from negotrack.store import DECODED_CACHE, CellEntry, CellKey, RecordedEvent, keying, migrations
from negotrack.store.integrity import verify_log
from negotrack.store.receipt import Receipt
from negotrack.store.sql import queries, write
from negotrack.store.sql.boundary import mapped_errors
from negotrack.store.sql.caches import DecodedEvents, Versions
from negotrack.store.sql.engine import in_memory, large_write_cache, make_engine
from negotrack.store.sql.rows import PAGE, record_of
from negotrack.store.sql.write import Append, write_transaction
from negotrack.store.wakeup import notify_appended

__all__ = ["SqlEventStore"]


def _missing_file(engine: Engine) -> str | None:
    """The path of a SQLite file the engine names that does not exist yet (else ``None``).

    SQLite creates a missing file on connecting; a caller who only reads
    must hear about the typo instead.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or in_memory(engine) or not database:
        return None
    path = database.removeprefix("file:") if engine.url.query.get("uri") else database
    return None if Path(path).exists() else path


class SqlEventStore:
    """The log on a SQLAlchemy engine.

    Every use of a connection runs inside
    :func:`~negotrack.store.sql.boundary.mapped_errors`: what the database
    driver raises reaches the caller as a :class:`~negotrack.errors.NegotrackError`.

    Args:
        url: a database URL (``sqlite:///negotiations.db``,
            ``postgresql+psycopg://user@host/db``) or an existing engine.
        create: make a new store when the database has none (the default);
            with ``False``, a database (or SQLite file) without one is refused.
        upgrade: bring a store made by an older negotrack to the newest
            schema; without it such a store is refused.
        decoded_cache: how many decoded events to keep for reads (0: none).

    Raises:
        MissingDependencyError: the URL needs a driver that is not installed.
        SchemaBehindError: the store is behind and ``upgrade`` is not set
            (the message names ``negotrack db upgrade``).
        StoreError: the database has no store and ``create`` is not set, or a
            newer negotrack migrated it.
        DatabaseUnavailableError: the database cannot be opened, or the
            SQLite file does not exist and ``create`` is not set.
    """

    def __init__(
        self,
        url: str | Engine,
        *,
        create: bool = True,
        upgrade: bool = False,
        decoded_cache: int = DECODED_CACHE,
    ) -> None:
        self.engine = url if isinstance(url, Engine) else make_engine(url)
        self.dialect = self.engine.dialect.name
        self._where = self.engine.url.render_as_string(hide_password=True)
        self._lock = threading.Lock()  # one append at a time from this object
        self._versions: Versions | None = None
        self._decoded = DecodedEvents(decoded_cache)
        self._chain_key = keying.from_environment()
        # An in-memory SQLite database lives on one shared connection; a second
        # thread would run its statements inside the first one's transaction.
        self._owner = threading.get_ident() if in_memory(self.engine) else None
        try:
            self._open_schema(create=create, upgrade=upgrade)
        except BaseException:
            if not isinstance(url, Engine):  # ours to dispose of; a caller's engine is theirs
                self.engine.dispose()
            raise

    # -- connections ----------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A connection, with every driver error translated at this boundary."""
        if self._owner is not None and threading.get_ident() != self._owner:
            raise StoreError(
                "an in-memory store belongs to the thread that opened it: "
                "use a SQLite file or PostgreSQL to share a store between threads"
            )
        with mapped_errors(self._where), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A connection in one read-only transaction: every read in it sees the same log.

        SQLite gives a read transaction one snapshot of a WAL file;
        PostgreSQL needs REPEATABLE READ for that (READ COMMITTED takes a
        new snapshot for each statement).
        """
        with self._connection() as conn:
            if self.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _writing(self, rows: int) -> Iterator[Connection]:
        """A connection in a transaction that holds the writers' lock, for ``rows`` events.

        An append of more than one chunk of rows gets a larger page cache on
        SQLite until it commits (see :data:`~negotrack.store.sql.engine.LARGE_WRITE_CACHE_KIB`).
        """
        with self._connection() as conn:
            cache: AbstractContextManager[None] = (
                large_write_cache(conn) if rows > write.WRITE_CHUNK else nullcontext()
            )
            with cache, write_transaction(conn):
                yield conn

    # -- schema ---------------------------------------------------------------

    def _open_schema(self, *, create: bool, upgrade: bool) -> None:
        """Check where the schema stands, by reading only; migrate only a new store or on request.

        Opening an up-to-date store runs no DDL and takes no lock beyond
        reading, so it never waits behind another client's transaction, and a
        read-only role or file can open it.
        """
        missing = _missing_file(self.engine)
        if missing is not None and not create:
            raise DatabaseUnavailableError(
                self._where, f"there is no store there: the file {missing} does not exist"
            )
        with self._connection() as conn:
            found, revision = migrations.state(conn)
        new, behind = migrations.State.EMPTY, migrations.State.BEHIND
        if (found is new and create) or (found is behind and upgrade):
            with mapped_errors(self._where):
                migrations.upgrade(self.engine)
            return
        if found is migrations.State.EMPTY:
            raise StoreError(
                f"the database at {self._where} has no negotrack store: "
                "open it with create=True, or run `negotrack db upgrade`"
            )
        migrations.refuse_unless_current(found, revision, self._where)

    # -- writing --------------------------------------------------------------

    def append(
        self,
        events_: Sequence[Event],
        *,
        expected_versions: Mapping[str, int] | None = None,
    ) -> list[RecordedEvent]:
        """Append events atomically, in order, after the current head of the log.

        Events whose id is already stored with the same content are skipped and
        returned as stored: appending the same events twice writes nothing new.

        Args:
            events_: the events to append, in order.
            expected_versions: stream name -> the version the caller last read;
                a cell's stream is ``cell_stream(negotiation, party, clause)``.

        Returns:
            The stored record of every event, in the order given.

        Raises:
            ConcurrencyError: a stream is not at its expected version.
            DuplicateError: a negotiation, party or clause is introduced twice,
                or an event id is reused for a different event.
            AlreadyRetractedError: a retraction names an event already retracted.
            UnknownEventError: a retraction names an event that is not stored.
        """
        batch = list(events_)
        if not batch and not expected_versions:
            return []
        payloads = [codec.encode(e) for e in batch]
        expected = expected_versions or {}
        with self._lock:
            try:
                # Fast path: assume every event is new.  An id already stored then
                # surfaces as a conflict (a unique violation, mapped at the
                # boundary), and the careful path below sorts stored events from new ones.
                return self._append_once(batch, payloads, expected, check_stored=False)
            except ConflictError:
                pass
            return self._append_once(batch, payloads, expected, check_stored=True)

    def _append_once(
        self,
        batch: list[Event],
        payloads: list[str],
        expected: Mapping[str, int],
        *,
        check_stored: bool,
        recorded_at: Sequence[int] | None = None,
        hashes: Sequence[str | None] | None = None,
    ) -> list[RecordedEvent]:
        try:
            with self._writing(len(batch)) as conn:
                append = Append(
                    conn,
                    batch,
                    payloads,
                    expected,
                    versions=self._versions,
                    recorded_at=recorded_at,
                    hashes=hashes,
                    chain_key=self._chain_key,
                )
                records = append.run(check_stored=check_stored)
                notify_appended(conn)
            self._versions = append.versions
            if self._versions.too_big():
                self._versions = None
            return records
        except BaseException:
            self._versions = None  # it may hold versions of a rolled-back append
            raise

    def restore(self, records: Sequence[RecordedEvent]) -> list[RecordedEvent]:
        """Load an exported log into an empty store, keeping each event's record time.

        This is the one way to write ``recorded_at`` from outside: a backup or a
        move between backends must keep what was known when.  Positions are
        renumbered from 1 in the order given.

        Raises:
            StoreError: the store is not empty, or record times do not strictly
                increase or lie past the store's clock (see ``CLOCK_SKEW``).
        """
        times = [to_micros(r.recorded_at) for r in records]
        batch = [r.event for r in records]
        payloads = [codec.encode(e) for e in batch]
        hashes = [r.hash for r in records]
        with self._lock:
            return self._append_once(
                batch, payloads, {}, check_stored=True, recorded_at=times, hashes=hashes
            )

    # -- reading --------------------------------------------------------------

    def read(self, *, after: int = 0, negotiation: str | None = None) -> Iterator[RecordedEvent]:
        """Stream events in position order, a page at a time (memory stays flat).

        Events are decoded through the cache the matrix and history use, so a
        replay after a matrix (or a second replay of a short log) decodes nothing again;
        a log longer than the cache does not flush it (see :meth:`DecodedEvents.scan`).
        """
        decode = self._decoded.scan
        while True:
            with self._connection() as conn:
                rows = queries.log_page(conn, after, negotiation)
            for row in rows:
                yield record_of(row, decode)
            if len(rows) < PAGE:
                return
            after = rows[-1].position

    def get(self, event_id: str) -> RecordedEvent:
        """The stored event with ``event_id``."""
        with self._connection() as conn:
            found = queries.event_by_id(conn, event_id, self._decoded)
        if found is None:
            raise UnknownEventError(event_id)
        return found

    def stream_version(self, stream: str) -> int:
        """The current version of ``stream`` (0 when it has no events)."""
        with self._connection() as conn:
            versions = Versions(0)
            versions.load_named(conn, [stream])
            return versions.current(stream)

    def last_position(self) -> int:
        """The position of the newest event, 0 for an empty log."""
        with self._connection() as conn:
            return queries.last_position(conn)

    def position_known_at(self, known_at: datetime) -> int:
        """The newest position recorded at or before ``known_at`` (0 if none)."""
        with self._connection() as conn:
            return queries.position_known_at(conn, known_at)

    def matrix_entries(
        self, negotiation: str, as_of: datetime, known_position: int | None
    ) -> Iterator[CellEntry]:
        """For each cell of the negotiation, the latest known, unretracted entry as of ``as_of``."""
        with self._connection() as conn:
            yield from queries.latest_entries(
                conn, negotiation, as_of, known_position, self._decoded
            )

    def cell_entries(
        self, negotiation: str, party: str, clause: str, known_position: int | None = None
    ) -> list[CellEntry]:
        """Every stance event of a cell with its retraction, by valid time then position."""
        with self._connection() as conn:
            return queries.cell_history(
                conn, CellKey(negotiation, party, clause), known_position, self._decoded
            )

    def events_of_types(
        self, negotiation: str | None, types: Sequence[str], *, after: int = 0
    ) -> list[RecordedEvent]:
        """The events of the given types (of one negotiation, or all) after a position, in order."""
        with self._connection() as conn:
            return queries.events_of_types(conn, negotiation, types, after, self._decoded)

    def verify(self, *, expect: Receipt | None = None) -> Receipt:
        """Check the log and its indexes in one snapshot; return the log's receipt.

        Every row's hash is recomputed and its payload decoded; the columns the
        queries read must say what the payload says; the index tables the
        as-of query reads (``cell_entries``, ``cells``, ``retractions``) must
        hold exactly the rows the events imply.  Writers appending meanwhile
        are not seen, so they cause no false alarm.

        Args:
            expect: a receipt from an earlier verify(): the log must still
                reach its position with the same hash there.

        Raises:
            ChainBrokenError: a row was altered, inserted or removed, or the
                log does not hold ``expect``.
        """
        with self._snapshot() as conn:
            has_events = queries.last_position(conn) > 0
            key = keying.key_for(queries.chain_marker(conn), self._chain_key, has_events=has_events)
            return verify_log(conn, expect, key)

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self.engine.dispose()
