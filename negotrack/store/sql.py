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
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    exists,
    func,
    insert,
    inspect,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from negotrack import codec
from negotrack._time import from_micros, now_micros, to_micros
from negotrack.errors import (
    AlreadyRetractedError,
    ChainBrokenError,
    ConcurrencyError,
    ConflictError,
    DuplicateError,
    MissingDependencyError,
    StoreError,
    UnknownEventError,
    ValidationError,
)
from negotrack.events import (
    CELL_EVENTS,
    ClauseTabled,
    Event,
    JointStatementRecorded,
    NegotiationOpened,
    PartyRegistered,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
)
from negotrack.store import CellEntry, RecordedEvent, stream_of
from negotrack.store.integrity import (
    CELL_EVENT_NAMES,
    GENESIS,
    chain,
    check_cells_and_retractions,
    check_entries,
    entries_implied,
)
from negotrack.store.schema import (
    SCHEMA_VERSION,
    append_only_ddl,
    cell_entries,
    cells,
    events,
    metadata,
    retractions,
    store_info,
)
from negotrack.store.wakeup import notify_appended

__all__ = ["SqlEventStore"]

_CHUNK = 500  # ids per IN (...) list: well under every backend's parameter limit
_PAGE = 2_000  # rows per page when streaming the log
_NO_LIMIT = 2**62

_ROW_COLUMNS = (
    events.c.position,
    events.c.hash,
    events.c.recorded_at,
    events.c.stream,
    events.c.version,
    events.c.type,
    events.c.schema_version,
    events.c.payload,
)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _decode(row: Any) -> Event:
    return codec.decode(row.type, row.schema_version, row.payload)


def _record(row: Any, decode: Callable[[Any], Event] = _decode) -> RecordedEvent:
    return RecordedEvent(
        position=row.position,
        recorded_at=from_micros(row.recorded_at),
        stream=row.stream,
        version=row.version,
        event=decode(row),
        hash=row.hash,
    )


class _DecodedEvents:
    """Events already decoded, keyed by their row's hash.

    Rows never change (the tables are append-only), and the hash covers the
    whole row and its place in the chain, so a cached event cannot go stale.
    Decoding dominates a matrix over many cells; an application that asks for
    matrices on every page view pays it once per event, not once per view.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._events: dict[str, Event] = {}
        self._lock = threading.Lock()

    def __call__(self, row: Any) -> Event:
        if self._size <= 0:
            return _decode(row)
        found = self._events.get(row.hash)
        if found is None:
            found = _decode(row)
            with self._lock:
                if len(self._events) >= self._size:  # drop the older half, oldest first
                    for key in list(itertools.islice(self._events, max(1, self._size // 2))):
                        del self._events[key]
                self._events[row.hash] = found
        return found


def _party_clause(event: Event) -> tuple[str | None, str | None]:
    """The party and clause columns of an event, for indexed queries."""
    party = getattr(event, "party", None) or getattr(event, "member", None)
    return party, getattr(event, "clause", None)


def _cell_parties(event: Event) -> tuple[str, ...]:
    if isinstance(event, JointStatementRecorded):
        return event.signatories
    if isinstance(event, CELL_EVENTS):
        return (event.party,)
    return ()


_FIRST_OF_STREAM: dict[type[Any], str] = {
    NegotiationOpened: "negotiation",
    PartyRegistered: "party",
    ClauseTabled: "clause",
}


@attrs.define
class _Head:
    position: int
    recorded_at: int
    hash: str


_CELL_VERSION = select(func.coalesce(func.max(cell_entries.c.version), 0)).where(
    cell_entries.c.negotiation == bindparam("negotiation"),
    cell_entries.c.party == bindparam("party"),
    cell_entries.c.clause == bindparam("clause"),
)


_RETRACTING = events.alias("retracting")
_CELL_HISTORY = (
    # Built once: constructing this four-way join cost more than running it.
    select(
        *_ROW_COLUMNS,
        _RETRACTING.c.position.label("r_position"),
        _RETRACTING.c.recorded_at.label("r_recorded_at"),
        _RETRACTING.c.stream.label("r_stream"),
        _RETRACTING.c.version.label("r_version"),
        _RETRACTING.c.type.label("r_type"),
        _RETRACTING.c.schema_version.label("r_schema_version"),
        _RETRACTING.c.payload.label("r_payload"),
        _RETRACTING.c.hash.label("r_hash"),
    )
    .select_from(cell_entries)
    .join(events, events.c.position == cell_entries.c.position)
    .outerjoin(retractions, retractions.c.retracted == cell_entries.c.position)
    .outerjoin(_RETRACTING, _RETRACTING.c.position == retractions.c.position)
    .where(
        cell_entries.c.negotiation == bindparam("negotiation"),
        cell_entries.c.party == bindparam("party"),
        cell_entries.c.clause == bindparam("clause"),
    )
    .order_by(cell_entries.c.valid_at, cell_entries.c.position)
)


class _Versions:
    """Versions of streams and cells as of log position ``position``, read once each.

    The store keeps one between appends: when the head of the log is still at
    ``position`` (no other writer came in between), every version it holds is
    exact and an append needs no query to check or assign versions.
    """

    _LIMIT = 200_000  # entries kept between appends; past it, start afresh

    def __init__(self, position: int) -> None:
        self.position = position
        self.streams: dict[str, int] = {}
        self.cells: dict[tuple[str, str, str], int] = {}

    def load(
        self, conn: Connection, streams: Iterable[str], cell_keys: Iterable[tuple[str, str, str]]
    ) -> None:
        wanted = sorted(set(streams) - self.streams.keys())
        for chunk in _chunks(wanted):
            rows = conn.execute(
                select(events.c.stream, func.max(events.c.version))
                .where(events.c.stream.in_(chunk))
                .group_by(events.c.stream)
            )
            self.streams.update(dict.fromkeys(chunk, 0))
            self.streams.update({row[0]: row[1] for row in rows})
        wanted_cells = sorted(set(cell_keys) - self.cells.keys())
        if conn.dialect.name == "sqlite":
            # SQLite plans a row-value IN as a scan of the whole index; one seek
            # per cell is far cheaper on a long log.
            for negotiation, party, clause in wanted_cells:
                self.cells[(negotiation, party, clause)] = conn.execute(
                    _CELL_VERSION, {"negotiation": negotiation, "party": party, "clause": clause}
                ).scalar_one()
            return
        for chunk in _chunks(wanted_cells):
            cell = tuple_(cell_entries.c.negotiation, cell_entries.c.party, cell_entries.c.clause)
            found: Any = conn.execute(
                select(
                    cell_entries.c.negotiation,
                    cell_entries.c.party,
                    cell_entries.c.clause,
                    func.max(cell_entries.c.version),
                )
                .where(cell.in_(chunk))
                .group_by(cell_entries.c.negotiation, cell_entries.c.party, cell_entries.c.clause)
            )
            self.cells.update(dict.fromkeys(chunk, 0))
            self.cells.update({(r[0], r[1], r[2]): r[3] for r in found})

    def current(self, stream: str) -> int:
        """The version of a stream name; a cell's version counts all its stance events."""
        key = _cell_key(stream)
        return self.streams[stream] if key is None else self.cells[key]

    def too_big(self) -> bool:
        return len(self.streams) + len(self.cells) > self._LIMIT


class SqlEventStore:
    """The log on a SQLAlchemy engine.

    Args:
        url: a database URL (``sqlite:///negotiations.db``,
            ``postgresql+psycopg://user@host/db``) or an existing engine.
        create: create the tables if they are missing (the default).
        decoded_cache: how many decoded events to keep for reads (0: none).

    Raises:
        MissingDependencyError: the URL needs a driver that is not installed.
        StoreError: the database holds a negotrack schema of another version.
    """

    def __init__(
        self, url: str | Engine, *, create: bool = True, decoded_cache: int = 20_000
    ) -> None:
        self.engine = url if isinstance(url, Engine) else _make_engine(url)
        self.dialect = self.engine.dialect.name
        self._lock = threading.Lock()  # one append at a time from this object
        self._versions: _Versions | None = None
        self._decoded = _DecodedEvents(decoded_cache)
        # An in-memory SQLite database lives on one shared connection; a second
        # thread would run its statements inside the first one's transaction.
        self._owner = threading.get_ident() if _in_memory(self.engine) else None
        try:
            if create:
                self._create_schema()
            self._check_schema()
        except BaseException as exc:
            if not isinstance(url, Engine):  # ours to dispose of; a caller's engine is theirs
                self.engine.dispose()
            if isinstance(exc, OperationalError):
                where = self.engine.url.render_as_string(hide_password=True)
                raise StoreError(f"cannot open the store at {where}: {exc.orig}") from exc
            raise

    # -- schema ---------------------------------------------------------------

    def _create_schema(self) -> None:
        with self._writing() as conn:
            metadata.create_all(conn, checkfirst=True)
            for statement in append_only_ddl(self.dialect):
                conn.exec_driver_sql(statement)
            if (
                conn.execute(select(store_info.c.value).where(store_info.c.key == "schema")).first()
                is None
            ):
                conn.execute(insert(store_info).values(key="schema", value=str(SCHEMA_VERSION)))

    def _check_schema(self) -> None:
        with self._connect() as conn:
            found = None
            if inspect(conn).has_table(store_info.name):
                found = conn.execute(
                    select(store_info.c.value).where(store_info.c.key == "schema")
                ).scalar_one_or_none()
        if found is None:
            raise StoreError("the database has no negotrack schema; open it with create=True")
        if int(found) != SCHEMA_VERSION:
            raise StoreError(
                f"the database holds negotrack schema {found}, this version needs {SCHEMA_VERSION}"
            )

    def _connect(self) -> Connection:
        if self._owner is not None and threading.get_ident() != self._owner:
            raise StoreError(
                "an in-memory store belongs to the thread that opened it: "
                "use a SQLite file or PostgreSQL to share a store between threads"
            )
        return self.engine.connect()

    def _writing(self) -> Any:
        """A transaction that holds the writers' lock until it commits or rolls back."""
        return _WriteTransaction(self)

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
                # surfaces as a conflict or a unique violation, and the careful
                # path below sorts stored events from new ones.
                return self._append_once(batch, payloads, expected, check_stored=False)
            except (IntegrityError, ConflictError):
                pass
            try:
                return self._append_once(batch, payloads, expected, check_stored=True)
            except IntegrityError as exc:  # pragma: no cover - the lock makes this a backstop
                raise ConflictError(f"the log refused the append: {exc.orig}") from exc

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
            with self._writing() as conn:
                append = _Append(
                    conn,
                    batch,
                    payloads,
                    expected,
                    versions=self._versions,
                    recorded_at=recorded_at,
                    hashes=hashes,
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
            StoreError: the store is not empty, or record times do not strictly increase.
        """
        times = [to_micros(r.recorded_at) for r in records]
        for index, (before, after) in enumerate(itertools.pairwise(times), start=2):
            if after <= before:
                raise StoreError(
                    f"record times must strictly increase: event {index} is not after {index - 1}"
                )
        batch = [r.event for r in records]
        payloads = [codec.encode(e) for e in batch]
        hashes = [r.hash for r in records]
        with self._lock:
            return self._append_once(
                batch, payloads, {}, check_stored=True, recorded_at=times, hashes=hashes
            )

    # -- reading --------------------------------------------------------------

    def read(self, *, after: int = 0, negotiation: str | None = None) -> Iterator[RecordedEvent]:
        """Stream events in position order, a page at a time (memory stays flat)."""
        query = select(*_ROW_COLUMNS).order_by(events.c.position).limit(_PAGE)
        if negotiation is not None:
            query = query.where(events.c.negotiation == negotiation)
        while True:
            with self._connect() as conn:
                rows = conn.execute(query.where(events.c.position > after)).all()
            yield from map(_record, rows)
            if len(rows) < _PAGE:
                return
            after = rows[-1].position

    def get(self, event_id: str) -> RecordedEvent:
        """The stored event with ``event_id``."""
        with self._connect() as conn:
            row = conn.execute(select(*_ROW_COLUMNS).where(events.c.event_id == event_id)).first()
        if row is None:
            raise UnknownEventError(event_id)
        return _record(row, self._decoded)

    def stream_version(self, stream: str) -> int:
        """The current version of ``stream`` (0 when it has no events)."""
        with self._connect() as conn:
            versions = _Versions(0)
            key = _cell_key(stream)
            versions.load(conn, [] if key else [stream], [key] if key else [])
            return versions.current(stream)

    def last_position(self) -> int:
        """The position of the newest event, 0 for an empty log."""
        with self._connect() as conn:
            return int(
                conn.execute(select(func.coalesce(func.max(events.c.position), 0))).scalar_one()
            )

    def position_known_at(self, known_at: datetime) -> int:
        """The newest position recorded at or before ``known_at`` (0 if none).

        Record times increase with the position, so the newest row by record
        time is the newest by position: one seek down the ``recorded_at`` index,
        where ``MAX(position)`` would scan every row recorded before ``known_at``.
        """
        query = (
            select(events.c.position)
            .where(events.c.recorded_at <= to_micros(known_at))
            .order_by(events.c.recorded_at.desc())
            .limit(1)
        )
        with self._connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def matrix_entries(
        self, negotiation: str, as_of: datetime, known_position: int | None
    ) -> Iterator[CellEntry]:
        """For each cell of the negotiation, the latest known, unretracted entry as of ``as_of``.

        The entry may be a withdrawal (the caller leaves that cell empty).  One
        indexed seek per cell: the cost follows the number of cells, not of events.
        """
        known = _NO_LIMIT if known_position is None else known_position
        entry = cell_entries.alias("entry")
        conditions = [
            entry.c.negotiation == cells.c.negotiation,
            entry.c.party == cells.c.party,
            entry.c.clause == cells.c.clause,
            entry.c.valid_at <= to_micros(as_of),
            entry.c.position <= known,
        ]
        with self._connect() as conn:
            # The retraction probe runs for every entry the seek walks past; when
            # no retraction is known at all (the common case) it is left out.
            first_retraction = conn.execute(select(func.min(retractions.c.position))).scalar()
            if first_retraction is not None and first_retraction <= known:
                retraction = retractions.alias("retraction")
                conditions.append(
                    ~exists().where(
                        retraction.c.retracted == entry.c.position,
                        retraction.c.position <= known,
                    )
                )
            latest = (
                select(entry.c.position)
                .where(*conditions)
                .order_by(entry.c.valid_at.desc(), entry.c.position.desc())
                .limit(1)
                .scalar_subquery()
            )
            chosen = (
                select(cells.c.party, latest.label("position"))
                .where(cells.c.negotiation == negotiation)
                .subquery()
            )
            query = (
                select(chosen.c.party, *_ROW_COLUMNS)
                .join_from(chosen, events, events.c.position == chosen.c.position)
                .order_by(events.c.position)
            )
            for row in conn.execute(query):
                yield CellEntry(party=row.party, record=_record(row, self._decoded))

    def cell_entries(self, negotiation: str, party: str, clause: str) -> list[CellEntry]:
        """Every stance event of a cell with its retraction, by valid time then position."""
        where = {"negotiation": negotiation, "party": party, "clause": clause}
        with self._connect() as conn:
            rows = conn.execute(_CELL_HISTORY, where).all()
        return [
            CellEntry(
                party=party,
                record=_record(row, self._decoded),
                retracted_by=None
                if row.r_position is None
                else RecordedEvent(
                    position=row.r_position,
                    recorded_at=from_micros(row.r_recorded_at),
                    stream=row.r_stream,
                    version=row.r_version,
                    event=codec.decode(row.r_type, row.r_schema_version, row.r_payload),
                    hash=row.r_hash,
                ),
            )
            for row in rows
        ]

    def events_of_types(
        self, negotiation: str | None, types: Sequence[str], *, after: int = 0
    ) -> list[RecordedEvent]:
        """The events of the given types (of one negotiation, or all) after a position, in order."""
        query = (
            select(*_ROW_COLUMNS)
            .where(events.c.type.in_(types), events.c.position > after)
            .order_by(events.c.position)
        )
        if negotiation is not None:
            query = query.where(events.c.negotiation == negotiation)
        with self._connect() as conn:
            return [_record(row, self._decoded) for row in conn.execute(query)]

    def verify(self) -> int:
        """Check the log and its indexes; return how many events were verified.

        The hash chain covers every row of ``events``; the index tables the
        as-of query reads (``cell_entries``, ``cells``, ``retractions``) must be
        exactly what the events imply, so an inserted or altered index row is
        caught too.

        Raises:
            ChainBrokenError: a row was altered, inserted or removed.
        """
        previous, expected_position, count = GENESIS, 1, 0
        versions: dict[tuple[str, str, str], int] = {}
        retraction_events = 0
        query = select(events).order_by(events.c.position).limit(_PAGE)
        after = 0
        while True:
            with self._connect() as conn:
                rows = conn.execute(query.where(events.c.position > after)).mappings().all()
                expected_entries = []
                for row in rows:
                    if row["position"] != expected_position:
                        raise ChainBrokenError(
                            expected_position, "the event at this position is missing"
                        )
                    digest = chain(previous, row)
                    if digest != row["hash"]:
                        raise ChainBrokenError(
                            row["position"], "the stored hash does not match the row"
                        )
                    previous, expected_position, count = digest, expected_position + 1, count + 1
                    expected_entries += entries_implied(row, versions)
                    retraction_events += row["type"] == "StanceRetracted"
                if rows:
                    check_entries(conn, expected_entries, after, rows[-1]["position"])
            if len(rows) < _PAGE:
                break
            after = rows[-1]["position"]
        with self._connect() as conn:
            check_cells_and_retractions(conn, set(versions), retraction_events)
        return count

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self.engine.dispose()


def _cell_key(stream: str) -> tuple[str, str, str] | None:
    """(negotiation, party, clause) if ``stream`` names a cell, else ``None``."""
    parts = stream.split("/")
    if "#" in stream or len(parts) != 3:
        return None
    return parts[0], parts[1], parts[2]


def _cell_keys_of(streams: Iterable[str]) -> list[tuple[str, str, str]]:
    return [key for key in map(_cell_key, streams) if key is not None]


def _index_entries(
    event_: Event,
    row: Mapping[str, Any],
    versions: _Versions,
    new_cells: dict[tuple[str, str, str], None],
) -> list[dict[str, Any]]:
    """The cell entries of one new event, bumping each cell's version (and noting new cells)."""
    entries = []
    for party in _cell_parties(event_):
        key = (row["negotiation"], party, row["clause"] or "")
        if versions.cells[key] == 0:
            new_cells[key] = None
        versions.cells[key] += 1
        entries.append(
            {
                "negotiation": key[0],
                "party": party,
                "clause": key[2],
                "version": versions.cells[key],
                "valid_at": row["valid_at"],
                "position": row["position"],
                "withdrawn": isinstance(event_, StanceWithdrawn),
            }
        )
    return entries


class _Append:
    """One append, inside the writers' lock: check, number, chain, insert."""

    def __init__(
        self,
        conn: Connection,
        batch: list[Event],
        payloads: list[str],
        expected: Mapping[str, int],
        *,
        versions: _Versions | None,
        recorded_at: Sequence[int] | None = None,
        hashes: Sequence[str | None] | None = None,
    ) -> None:
        self.conn = conn
        self.batch = batch
        self.payloads = payloads
        self.expected = expected
        self.recorded_at = recorded_at  # given only by restore(), into an empty log
        self.hashes = hashes  # the exported chain a restore must reproduce, where known
        self.versions = versions or _Versions(-1)

    def run(self, *, check_stored: bool) -> list[RecordedEvent]:
        head = self._head()
        if self.recorded_at is not None and head.position != 0:
            raise StoreError("a log can be restored only into an empty store")
        if self.versions.position != head.position:  # another writer came in: start afresh
            self.versions = _Versions(head.position)
        versions = self.versions
        ids = [e.event_id for e in self.batch]
        if len(set(ids)) != len(ids):
            twice = next(i for i in ids if ids.count(i) > 1)
            raise ValidationError(f"event id {twice!r} appears twice in one append")
        stored = self._already_stored() if check_stored else {}
        fresh = [i for i, e in enumerate(self.batch) if e.event_id not in stored]
        if stored and not fresh:
            # Every event is already stored as given: a retried append (its reply
            # was lost) succeeds again, whatever versions it expected then.
            return [stored[event_id] for event_id in ids]
        streams = [stream_of(self.batch[i]) for i in fresh]
        cell_keys = [
            (self.batch[i].negotiation, party, self.batch[i].clause)  # type: ignore[union-attr]
            for i in fresh
            for party in _cell_parties(self.batch[i])
        ]
        named = [*streams, *self.expected]
        versions.load(
            self.conn, [s for s in named if _cell_key(s) is None], cell_keys + _cell_keys_of(named)
        )
        for stream, version in self.expected.items():
            if versions.current(stream) != version:
                raise ConcurrencyError(stream, version, versions.current(stream))
        retracted = self._retraction_targets([self.batch[i] for i in fresh])

        recorded = max(now_micros(), head.recorded_at + 1)
        given = self.recorded_at
        rows: list[dict[str, Any]] = []
        entry_rows: list[dict[str, Any]] = []
        new_cells: dict[tuple[str, str, str], None] = {}
        retraction_rows: list[dict[str, Any]] = []
        records: dict[str, RecordedEvent] = dict(stored)
        position, previous = head.position, head.hash
        for offset, (index, stream) in enumerate(zip(fresh, streams, strict=True)):
            event_ = self.batch[index]
            position += 1
            version = self._next_version(event_, stream, versions)
            party, clause = _party_clause(event_)
            valid_at: datetime | None = getattr(event_, "valid_at", None)
            row: dict[str, Any] = {
                "position": position,
                "event_id": event_.event_id,
                "stream": stream,
                "version": version,
                "type": type(event_).__name__,
                "schema_version": event_.schema_version,
                "negotiation": event_.negotiation,
                "party": party,
                "clause": clause,
                "valid_at": None if valid_at is None else to_micros(valid_at),
                "recorded_at": recorded + offset if given is None else given[index],
                "payload": self.payloads[index],
            }
            previous = row["hash"] = chain(previous, row)
            rows.append(row)
            entry_rows += _index_entries(event_, row, versions, new_cells)
            if isinstance(event_, StanceRetracted):
                target = retracted[event_.retracted]
                if target is None:  # retracts an event earlier in this same batch
                    target = next(r["position"] for r in rows if r["event_id"] == event_.retracted)
                retraction_rows.append({"retracted": target, "position": position})
            if self.hashes is not None and self.hashes[index] not in (None, row["hash"]):
                raise StoreError(
                    f"event {index + 1} of the restore does not continue the exported hash "
                    "chain: the export was altered, or an event before it is missing"
                )
            records[event_.event_id] = RecordedEvent(
                position=position,
                recorded_at=from_micros(row["recorded_at"]),
                stream=stream,
                version=version,
                event=event_,
                hash=row["hash"],
            )
        self._insert(rows, entry_rows, list(new_cells), retraction_rows)
        versions.position = position
        return [records[e.event_id] for e in self.batch]

    def _already_stored(self) -> dict[str, RecordedEvent]:
        """Events of the batch already in the log; the same id must mean the same event."""
        ids = [e.event_id for e in self.batch]
        stored: dict[str, RecordedEvent] = {}
        by_id = {e.event_id: p for e, p in zip(self.batch, self.payloads, strict=True)}
        for chunk in _chunks(ids):
            for row in self.conn.execute(
                select(*_ROW_COLUMNS, events.c.event_id).where(events.c.event_id.in_(chunk))
            ):
                if row.payload != by_id[row.event_id]:
                    raise DuplicateError("event", row.event_id)
                stored[row.event_id] = _record(row)
        return stored

    def _retraction_targets(self, fresh: list[Event]) -> dict[str, int | None]:
        """Position of each event retracted in the batch (``None``: earlier in the batch).

        A retraction names a stance event of its own negotiation, stored or
        appended before it in the same batch.
        """
        retractions = [e for e in fresh if isinstance(e, StanceRetracted)]
        if not retractions:
            return {}
        stored: dict[str, tuple[int, str, str]] = {}
        for chunk in _chunks([e.retracted for e in retractions]):
            query = select(
                events.c.event_id, events.c.position, events.c.type, events.c.negotiation
            ).where(events.c.event_id.in_(chunk))
            for event_id, position, type_, negotiation in self.conn.execute(query):
                stored[event_id] = (position, type_, negotiation)
        earlier: dict[str, Event] = {}
        found: dict[str, int | None] = {}
        for event_ in fresh:
            if isinstance(event_, StanceRetracted):
                target = event_.retracted
                if target in stored:
                    position, kind, negotiation = stored[target]
                elif target in earlier:
                    position, kind = None, type(earlier[target]).__name__
                    negotiation = earlier[target].negotiation
                elif any(e.event_id == target for e in fresh):
                    raise ValidationError(
                        f"the retraction of {target!r} comes before that event in the append"
                    )
                else:
                    raise UnknownEventError(target, event_.negotiation)
                if negotiation != event_.negotiation:
                    raise UnknownEventError(target, event_.negotiation)
                if kind not in CELL_EVENT_NAMES:
                    raise ValidationError(
                        f"event {target!r} is a {kind}: only stance events can be retracted"
                    )
                found[target] = position
            earlier[event_.event_id] = event_
        return found

    def _next_version(self, event_: Event, stream: str, versions: _Versions) -> int:
        if isinstance(event_, StanceRecorded | StanceWithdrawn):
            # A cell's stream: its version is the cell's, bumped with the entry in run().
            return versions.current(stream) + 1
        current = versions.streams[stream]
        what = _FIRST_OF_STREAM.get(type(event_))
        if what is not None and current > 0:
            name = stream if what == "negotiation" else stream.rsplit("/", 1)[-1]
            raise DuplicateError(what, name, None if what == "negotiation" else event_.negotiation)
        if isinstance(event_, StanceRetracted) and current > 0:
            raise AlreadyRetractedError(event_.retracted)
        versions.streams[stream] = current + 1
        return current + 1

    def _head(self) -> _Head:
        row = self.conn.execute(
            select(events.c.position, events.c.recorded_at, events.c.hash)
            .order_by(events.c.position.desc())
            .limit(1)
        ).first()
        if row is None:
            return _Head(position=0, recorded_at=0, hash=GENESIS)
        return _Head(position=row.position, recorded_at=row.recorded_at, hash=row.hash)

    def _insert(
        self,
        rows: list[dict[str, Any]],
        entry_rows: list[dict[str, Any]],
        new_cells: list[tuple[str, str, str]],
        retraction_rows: list[dict[str, Any]],
    ) -> None:
        if not rows:
            return
        self.conn.execute(insert(events), rows)
        if entry_rows:
            self.conn.execute(insert(cell_entries), entry_rows)
        if new_cells:  # a cell's first entry: its row in `cells` is written with it
            self.conn.execute(
                insert(cells),
                [{"negotiation": n, "party": p, "clause": c} for n, p, c in new_cells],
            )
        if retraction_rows:
            self.conn.execute(insert(retractions), retraction_rows)


class _WriteTransaction:
    """``with`` block: a connection in a transaction that holds the writers' lock."""

    def __init__(self, store: SqlEventStore) -> None:
        self._store = store
        self._conn: Connection | None = None
        self._tx: Any = None

    def __enter__(self) -> Connection:
        conn = self._store._connect().execution_options(negotrack_write=True)
        self._conn = conn
        self._tx = conn.begin()
        if self._store.dialect == "postgresql":
            # One advisory lock per schema: the writers of this log wait for each
            # other until commit; readers and other schemas' logs never wait.
            conn.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(hashtext('negotrack:' || current_schema()))"
            )
        return conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._conn is not None
        try:
            if exc_type is None:
                self._tx.commit()
            else:
                self._tx.rollback()
        finally:
            self._conn.close()


def _in_memory(engine: Engine) -> bool:
    database = engine.url.database
    return engine.dialect.name == "sqlite" and (
        not database or database == ":memory:" or "mode=memory" in str(engine.url)
    )


def _make_engine(url: str) -> Engine:
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
    in_memory = url in {"sqlite://", "sqlite:///:memory:"} or "mode=memory" in url
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 60, "check_same_thread": False}}
    if in_memory:
        kwargs["poolclass"] = StaticPool  # one connection, or each would see its own database
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN, so that writers can ask
        # for BEGIN IMMEDIATE (the write lock up front, no upgrade deadlock).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("negotrack_write", False)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        except OperationalError as exc:
            raise StoreError(f"cannot begin a transaction on {url}: {exc.orig}") from exc

    return engine
