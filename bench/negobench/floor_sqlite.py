"""The floor: raw SQL through sqlite3 (the same rows negotrack writes), and the floor queries."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from negotrack.store.sql.engine import SQLITE_PRAGMAS

from .workload import GENESIS, NEGOTIATION, Cell, FloorItem, Workload, dumps

# ---------------------------------------------------------------------------
# The floor: raw SQL through sqlite3 (and psycopg for PostgreSQL)
# ---------------------------------------------------------------------------


class RawConn:
    """A DB-API connection in autocommit mode, with explicit BEGIN / COMMIT."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect

    @classmethod
    def sqlite(cls, path: str) -> RawConn:
        conn = sqlite3.connect(path, isolation_level=None)
        # The settings negotrack's engine uses: WAL, synchronous=NORMAL, its checkpoint size.
        conn.execute("PRAGMA journal_mode=WAL")
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        return cls(conn, "sqlite")

    def _sql(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else sql.replace("?", "%s")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cur = self.conn.execute(self._sql(sql), params)
        return list(cur.fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        cursor = self.conn.cursor()
        cursor.executemany(self._sql(sql), rows)
        cursor.close()

    def script(self, sql: str) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                self.conn.execute(statement)

    def begin(self, immediate: bool = True) -> None:
        # BEGIN IMMEDIATE takes SQLite's write lock up front, as negotrack's writers do.
        self.conn.execute("BEGIN IMMEDIATE" if immediate and self.dialect == "sqlite" else "BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


# The floors are the best raw design for each query, not negotrack's layout: the
# as-of seek and a cell's history walk one index keyed by the stream (one text
# column: negotiation/party/clause) then the valid time, instead of three text columns.
FLOOR_DDL = """
CREATE TABLE events (
    position       {pk} PRIMARY KEY,
    event_id       VARCHAR(200) NOT NULL UNIQUE,
    stream         VARCHAR(420) NOT NULL,
    version        INTEGER NOT NULL,
    type           VARCHAR(64) NOT NULL,
    schema_version SMALLINT NOT NULL,
    negotiation    VARCHAR(200) NOT NULL,
    party          VARCHAR(200),
    clause         VARCHAR(200),
    valid_at       BIGINT,
    recorded_at    BIGINT NOT NULL,
    payload        TEXT NOT NULL,
    hash           VARCHAR(64) NOT NULL,
    UNIQUE (stream, version)
);
CREATE INDEX events_as_of ON events (stream, valid_at, position);
CREATE INDEX events_recorded_at ON events (recorded_at);
CREATE TABLE cells (
    stream      VARCHAR(420) PRIMARY KEY,
    negotiation VARCHAR(200) NOT NULL,
    party       VARCHAR(200) NOT NULL,
    clause      VARCHAR(200) NOT NULL
)
"""
EVENT_COLUMNS = (
    "position, event_id, stream, version, type, schema_version, negotiation, "
    "party, clause, valid_at, recorded_at, payload, hash"
)
SAME_ROWS = "same rows: JSON payload + sha256 chain"
INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 13)})"
# negotrack's own tables (the nt-schema floor): its cell index rows and declared cells.
INSERT_ENTRY = (
    "INSERT INTO cell_entries (negotiation, party, clause, version, valid_at, "
    "position, withdrawn) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_NT_CELL = "INSERT INTO cells (negotiation, party, clause) VALUES (?, ?, ?)"
INSERT_CELL = "INSERT INTO cells (stream, negotiation, party, clause) VALUES (?, ?, ?, ?)"
HEAD = "SELECT position, recorded_at, hash FROM events ORDER BY position DESC LIMIT 1"

# The narrow floor: one row per event, plain columns instead of a JSON payload, no hash,
# and only the index the as-of query and the history need.
NARROW = "narrow rows: columns, no JSON, no hash, one index"
NARROW_DDL = """
CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    stream   TEXT NOT NULL,
    valid_at INTEGER NOT NULL,
    stance   TEXT NOT NULL,
    outlet   TEXT NOT NULL,
    quote    TEXT NOT NULL
);
CREATE INDEX events_as_of ON events (stream, valid_at, position);
CREATE TABLE cells (
    stream      TEXT PRIMARY KEY,
    negotiation TEXT NOT NULL,
    party       TEXT NOT NULL,
    clause      TEXT NOT NULL
)
"""
INSERT_NARROW = (
    "INSERT INTO events (event_id, stream, valid_at, stance, outlet, quote) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)

# The as-of queries return, for every cell, the row of its latest stance valid at T.
CELL_ROW = "party, clause, event_id, position, valid_at, recorded_at, payload"
AS_OF_MAX_JOIN = """
SELECT e.party, e.clause, e.event_id, e.position, e.valid_at, e.recorded_at, e.payload
FROM (SELECT stream, MAX(valid_at) AS valid_at FROM events
      WHERE negotiation = ? AND valid_at <= ? GROUP BY stream) AS m
JOIN events AS e ON e.stream = m.stream AND e.valid_at = m.valid_at
"""
AS_OF_WINDOW = f"""
SELECT {CELL_ROW} FROM (
    SELECT {CELL_ROW}, ROW_NUMBER() OVER (
        PARTITION BY stream ORDER BY valid_at DESC, position DESC) AS rn
    FROM events WHERE negotiation = ? AND valid_at <= ?) AS w
WHERE rn = 1
"""
# One index seek per cell, walking back from T: the cost follows the cells, not the log.
_SEEK = """
    SELECT x.position FROM events AS x
    WHERE x.stream = c.stream AND x.valid_at <= ? {known}
    ORDER BY x.valid_at DESC, x.position DESC LIMIT 1"""
AS_OF_SEEK_SQLITE = f"""
SELECT c.party, c.clause, e.event_id, e.position, e.valid_at, e.recorded_at, e.payload
FROM cells AS c JOIN events AS e ON e.position = ({_SEEK})
WHERE c.negotiation = ?
"""
AS_OF_SEEK_PG = """
SELECT c.party, c.clause, e.event_id, e.position, e.valid_at, e.recorded_at, e.payload
FROM cells AS c CROSS JOIN LATERAL (
    SELECT x.event_id, x.position, x.valid_at, x.recorded_at, x.payload FROM events AS x
    WHERE x.stream = c.stream AND x.valid_at <= ? {known}
    ORDER BY x.valid_at DESC, x.position DESC LIMIT 1) AS e
WHERE c.negotiation = ?
"""
NARROW_SEEK = """
SELECT c.party, c.clause, e.event_id, e.position, e.valid_at, e.stance, e.outlet, e.quote
FROM cells AS c JOIN events AS e ON e.position = (
    SELECT x.position FROM events AS x WHERE x.stream = c.stream AND x.valid_at <= ?
    ORDER BY x.valid_at DESC, x.position DESC LIMIT 1)
WHERE c.negotiation = ?
"""
# Record times increase with the position (one writer at a time assigns both), so the
# newest position known at K is one seek down the recorded_at index.
KNOWN_POSITION = (
    "SELECT position FROM events WHERE recorded_at <= ? ORDER BY recorded_at DESC LIMIT 1"
)
CELL_HISTORY = """
SELECT position, event_id, valid_at, recorded_at, payload FROM events
WHERE stream = ? ORDER BY valid_at, position
"""
NARROW_HISTORY = """
SELECT position, event_id, valid_at, stance, outlet, quote FROM events
WHERE stream = ? ORDER BY valid_at, position
"""
READ_PAGE = (
    "SELECT position, type, party, clause, valid_at, payload FROM events "
    "WHERE position > ? ORDER BY position LIMIT ?"
)
NARROW_PAGE = (
    "SELECT position, event_id, stream, valid_at, stance, outlet, quote FROM events "
    "WHERE position > ? ORDER BY position LIMIT ?"
)
PAGE = 2_000  # rows per page when reading the whole log, as negotrack's read() does


def now_us() -> int:
    return time.time_ns() // 1000


def chain(previous: str, values: Sequence[Any]) -> str:
    """sha256 of the previous hash and the row's columns, each prefixed by its length ("~" for
    NULL): negotrack's encoding, which check_same_rows compares on rows negotrack stored."""
    parts = [previous]
    for value in values:
        if value is None:
            parts.append("~")
        else:
            text = str(value)
            parts.append(f"{len(text)}:{text}")
    return hashlib.sha256("".join(parts).encode()).hexdigest()


@dataclass
class FloorLog:
    """A raw connection plus what a single writer keeps in memory (stream versions)."""

    conn: RawConn
    versions: dict[str, int] = field(default_factory=dict)
    cells: set[Cell] = field(default_factory=set)
    entries: bool = False  # negotrack's own tables: also write its cell_entries and cells rows


def floor_append(log: FloorLog, batches: Iterable[Sequence[FloorItem]]) -> None:
    """One transaction per batch: read the head, number, serialise, hash and insert."""
    conn = log.conn
    for batch in batches:
        conn.begin()
        head = conn.query(HEAD)
        position, last_recorded, previous = head[0] if head else (0, 0, GENESIS)
        recorded = max(now_us(), last_recorded + 1)
        rows: list[tuple[Any, ...]] = []
        entries: list[tuple[Any, ...]] = []
        new_cells: list[tuple[str, str, str]] = []
        for offset, item in enumerate(batch):
            position += 1
            version = log.versions.get(item.stream, 0) + 1
            log.versions[item.stream] = version
            values = (
                position,
                item.event_id,
                item.stream,
                version,
                "StanceRecorded",
                2,
                NEGOTIATION,
                item.party,
                item.clause,
                item.valid_us,
                recorded + offset,
                dumps(item.payload),
            )
            previous = chain(previous, values)
            rows.append((*values, previous))
            if log.entries:
                entries.append(
                    (NEGOTIATION, item.party, item.clause, version, item.valid_us, position, False)
                )
                if (item.party, item.clause) not in log.cells:
                    log.cells.add((item.party, item.clause))
                    new_cells.append((NEGOTIATION, item.party, item.clause))
        conn.executemany(INSERT_EVENT, rows)
        if log.entries:
            conn.executemany(INSERT_ENTRY, entries)
            conn.executemany(INSERT_NT_CELL, new_cells)
        conn.commit()


def declared_cells(wl: Workload) -> list[tuple[str, str, str, str]]:
    """(stream, negotiation, party, clause) of every declared cell, as the floors store them."""
    return [(f"{NEGOTIATION}/{p}/{c}", NEGOTIATION, p, c) for p in wl.parties for c in wl.clauses]


def floor_create(conn: RawConn, wl: Workload) -> None:
    conn.script(FLOOR_DDL.format(pk="INTEGER" if conn.dialect == "sqlite" else "BIGINT"))
    # The floor knows the declared cells (registration), as negotrack's cells table does.
    conn.begin()
    conn.executemany(INSERT_CELL, declared_cells(wl))
    conn.commit()


def narrow_create(conn: RawConn, wl: Workload) -> None:
    conn.script(NARROW_DDL)
    conn.begin()
    conn.executemany(INSERT_CELL, declared_cells(wl))
    conn.commit()


def narrow_rows(wl: Workload) -> list[tuple[Any, ...]]:
    """One row per event: the plain values, no JSON, no hash."""
    return [
        (s.event_id, s.stream, s.valid_us, s.stance.label, s.outlet, s.quote) for s in wl.stances
    ]


def narrow_append(conn: RawConn, batches: Iterable[Sequence[tuple[Any, ...]]]) -> None:
    for batch in batches:
        conn.begin()
        conn.executemany(INSERT_NARROW, batch)
        conn.commit()


def as_of_seek_sql(dialect: str, known: bool) -> str:
    template = AS_OF_SEEK_SQLITE if dialect == "sqlite" else AS_OF_SEEK_PG
    return template.format(known="AND x.position <= ?" if known else "")


def floor_seek(conn: RawConn, as_of_us: int, known_at_us: int | None = None) -> list[Any]:
    """The best as-of query: a per-cell seek (two queries with known_at, as negotrack)."""
    if known_at_us is None:
        return conn.query(as_of_seek_sql(conn.dialect, False), (as_of_us, NEGOTIATION))
    found = conn.query(KNOWN_POSITION, (known_at_us,))
    position = found[0][0] if found else 0
    return conn.query(as_of_seek_sql(conn.dialect, True), (as_of_us, position, NEGOTIATION))


def floor_cells(
    conn: RawConn, as_of_us: int, known_at_us: int | None = None
) -> list[tuple[Any, dict[str, Any]]]:
    """The same data a matrix holds: each cell's row with its payload decoded."""
    return [(row, json.loads(row[6])) for row in floor_seek(conn, as_of_us, known_at_us)]


def narrow_seek(conn: RawConn, as_of_us: int) -> list[Any]:
    """The as-of seek on the narrow rows: the stance and evidence come back as columns."""
    return conn.query(NARROW_SEEK, (as_of_us, NEGOTIATION))


def floor_history(conn: RawConn, cell: Cell) -> list[tuple[Any, dict[str, Any]]]:
    rows = conn.query(CELL_HISTORY, (f"{NEGOTIATION}/{cell[0]}/{cell[1]}",))
    return [(row, json.loads(row[4])) for row in rows]


def narrow_history(conn: RawConn, cell: Cell) -> list[Any]:
    return conn.query(NARROW_HISTORY, (f"{NEGOTIATION}/{cell[0]}/{cell[1]}",))


def floor_diff(conn: RawConn, from_us: int, to_us: int) -> set[Cell]:
    """Two as-of queries, decode the stances, compare cell by cell."""
    before = {(r[0], r[1]): json.loads(r[6])["stance"] for r in floor_seek(conn, from_us)}
    after = {(r[0], r[1]): json.loads(r[6])["stance"] for r in floor_seek(conn, to_us)}
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def fold(
    best: dict[Cell, tuple[int, int, str]], cell: Cell, valid_us: int, position: int, event_id: str
) -> None:
    """Keep, per cell, the latest (valid time, position) seen so far and its event id."""
    current = best.get(cell)
    if current is None or (valid_us, position) > current[:2]:
        best[cell] = (valid_us, position, event_id)


def floor_replay(conn: RawConn, as_of_us: int) -> tuple[int, dict[Cell, str]]:
    """Read every row page by page, decode its JSON and fold the as-of matrix."""
    best: dict[Cell, tuple[int, int, str]] = {}
    after, count = 0, 0
    while True:
        rows = conn.query(READ_PAGE, (after, PAGE))
        for position, type_, party, clause, valid_us, payload in rows:
            data = json.loads(payload)
            count += 1
            if type_ == "StanceRecorded" and valid_us <= as_of_us:
                fold(best, (party, clause), valid_us, position, data["event_id"])
        if len(rows) < PAGE:
            return count, {k: v[2] for k, v in best.items()}
        after = rows[-1][0]


def narrow_replay(conn: RawConn, as_of_us: int) -> tuple[int, dict[Cell, str]]:
    """Read every narrow row page by page (columns: nothing to decode) and fold."""
    best: dict[Cell, tuple[int, int, str]] = {}
    after, count = 0, 0
    while True:
        rows = conn.query(NARROW_PAGE, (after, PAGE))
        for position, event_id, stream, valid_us, _stance, _outlet, _quote in rows:
            count += 1
            if valid_us <= as_of_us:
                _, party, clause = stream.split("/")
                fold(best, (party, clause), valid_us, position, event_id)
        if len(rows) < PAGE:
            return count, {k: v[2] for k, v in best.items()}
        after = rows[-1][0]


def cells_of_rows(rows: Iterable[Any]) -> dict[Cell, str]:
    return {(r[0], r[1]): r[2] for r in rows}
