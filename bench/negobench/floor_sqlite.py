"""The floor: raw SQL through sqlite3 (the same rows negotrack writes), and the floor queries."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
        # The settings negotrack's engine uses: WAL, synchronous=NORMAL.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
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
CREATE INDEX events_as_of ON events (negotiation, party, clause, valid_at, position);
CREATE INDEX events_recorded_at ON events (recorded_at);
CREATE TABLE cells (
    negotiation VARCHAR(200) NOT NULL,
    party       VARCHAR(200) NOT NULL,
    clause      VARCHAR(200) NOT NULL,
    PRIMARY KEY (negotiation, party, clause)
)
"""
EVENT_COLUMNS = (
    "position, event_id, stream, version, type, schema_version, negotiation, "
    "party, clause, valid_at, recorded_at, payload, hash"
)
SAME_ROWS = "same rows: JSON payload + sha256 chain"
INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 13)})"
INSERT_ENTRY = (
    "INSERT INTO cell_entries (negotiation, party, clause, version, valid_at, "
    "position, withdrawn) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CELL = "INSERT INTO cells (negotiation, party, clause) VALUES (?, ?, ?)"
HEAD = "SELECT position, recorded_at, hash FROM events ORDER BY position DESC LIMIT 1"

NARROW_DDL = """
CREATE TABLE events (
    pos      INTEGER PRIMARY KEY,
    stream   TEXT NOT NULL,
    version  INTEGER NOT NULL,
    valid_at INTEGER NOT NULL,
    stance   TEXT NOT NULL,
    outlet   TEXT NOT NULL,
    quote    TEXT NOT NULL,
    UNIQUE (stream, version)
);
CREATE INDEX events_stream_valid ON events (stream, valid_at)
"""
INSERT_NARROW = (
    "INSERT INTO events (stream, version, valid_at, stance, outlet, quote) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)

# The as-of queries return, for every cell, the row of its latest stance valid at T.
CELL_ROW = "party, clause, event_id, position, valid_at, recorded_at, payload"
AS_OF_MAX_JOIN = """
SELECT e.party, e.clause, e.event_id, e.position, e.valid_at, e.recorded_at, e.payload
FROM (SELECT party, clause, MAX(valid_at) AS valid_at FROM events
      WHERE negotiation = ? AND valid_at <= ? GROUP BY party, clause) AS m
JOIN events AS e ON e.negotiation = ? AND e.party = m.party AND e.clause = m.clause
                AND e.valid_at = m.valid_at
"""
AS_OF_WINDOW = f"""
SELECT {CELL_ROW} FROM (
    SELECT {CELL_ROW}, ROW_NUMBER() OVER (
        PARTITION BY party, clause ORDER BY valid_at DESC, position DESC) AS rn
    FROM events WHERE negotiation = ? AND valid_at <= ?) AS w
WHERE rn = 1
"""
# One index seek per cell, walking back from T: the cost follows the cells, not the log.
_SEEK = """
    SELECT x.position FROM events AS x
    WHERE x.negotiation = c.negotiation AND x.party = c.party AND x.clause = c.clause
      AND x.valid_at <= ? {known}
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
    WHERE x.negotiation = c.negotiation AND x.party = c.party AND x.clause = c.clause
      AND x.valid_at <= ? {known}
    ORDER BY x.valid_at DESC, x.position DESC LIMIT 1) AS e
WHERE c.negotiation = ?
"""
# Record times increase with the position (one writer at a time assigns both), so the
# newest position known at K is one seek down the recorded_at index.
KNOWN_POSITION = (
    "SELECT position FROM events WHERE recorded_at <= ? ORDER BY recorded_at DESC LIMIT 1"
)
CELL_HISTORY = """
SELECT position, event_id, valid_at, recorded_at, payload FROM events
WHERE negotiation = ? AND party = ? AND clause = ? ORDER BY valid_at, position
"""
READ_PAGE = (
    "SELECT position, type, party, clause, valid_at, payload FROM events "
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
    entries: bool = False  # also write negotrack's cell_entries and cells rows


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
            conn.executemany(INSERT_CELL, new_cells)
        conn.commit()


def floor_create(conn: RawConn, wl: Workload) -> None:
    conn.script(FLOOR_DDL.format(pk="INTEGER" if conn.dialect == "sqlite" else "BIGINT"))
    # The floor knows the declared cells (registration), as negotrack's cells table does.
    conn.begin()
    conn.executemany(INSERT_CELL, [(NEGOTIATION, p, c) for p in wl.parties for c in wl.clauses])
    conn.commit()


def narrow_rows(wl: Workload) -> list[tuple[Any, ...]]:
    """Anchors-style rows: six plain columns, no JSON, no hash."""
    versions: dict[str, int] = {}
    rows = []
    for s in wl.stances:
        versions[s.stream] = versions.get(s.stream, 0) + 1
        rows.append((s.stream, versions[s.stream], s.valid_us, s.stance.label, s.outlet, s.quote))
    return rows


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


def floor_history(conn: RawConn, cell: Cell) -> list[tuple[Any, dict[str, Any]]]:
    rows = conn.query(CELL_HISTORY, (NEGOTIATION, *cell))
    return [(row, json.loads(row[4])) for row in rows]


def floor_diff(conn: RawConn, from_us: int, to_us: int) -> set[Cell]:
    """Two as-of queries, decode the stances, compare cell by cell."""
    before = {(r[0], r[1]): json.loads(r[6])["stance"] for r in floor_seek(conn, from_us)}
    after = {(r[0], r[1]): json.loads(r[6])["stance"] for r in floor_seek(conn, to_us)}
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


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
                key = (party, clause)
                current = best.get(key)
                if current is None or (valid_us, position) > current[:2]:
                    best[key] = (valid_us, position, data["event_id"])
        if len(rows) < PAGE:
            return count, {k: v[2] for k, v in best.items()}
        after = rows[-1][0]


def cells_of_rows(rows: Iterable[Any]) -> dict[Cell, str]:
    return {(r[0], r[1]): r[2] for r in rows}
