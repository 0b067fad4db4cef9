#!/usr/bin/env python3
"""negotrack benchmark: negotrack beside raw SQL (the floor) and eventsourcing (the peer).

One process generates one workload (stance events of one negotiation, over
party x clause cells) and runs the same work through:

  * raw ``sqlite3``, the floor: the same rows negotrack writes (JSON payload,
    sha256 hash chain) into one table; plus two reference floors, the narrow
    anchors-style rows (no JSON, no hash) and negotrack's own schema filled by
    raw SQL (which isolates the cost of negotrack's Python layer);
  * the ``eventsourcing`` library (9.5, SQLite persistence), the peer;
  * negotrack on SQLite and, with ``--postgres URL``, on PostgreSQL (beside a
    raw ``psycopg`` floor writing the same rows).

Cases (see bench/README.md for the method):

  1. append in batches of 100 (one transaction each) and as one bulk import;
  2. the as-of matrix of every cell at the median valid time, and the same
     view as known in the middle of the recording history (``known_at``);
  3. the history of one cell, and the diff of two dates;
  4. a full replay: read, decode and fold every event;
  5. the as-of query, known_at view and history again on a log of
     ``--scale-n`` events over the same cells, to show how the cost grows.

Each case runs ``--repeat`` times (median shown); a query runs in a loop long
enough (``--min-time``) to be timed reliably, and its time is per call.  The
peak memory of a case (tracemalloc) comes from one more, untimed run.  Every
result is checked against the answer computed in plain Python from the
workload; a wrong answer stops the run with exit status 1.  Timings are never
asserted: the targets are printed as met / not met.

Examples:

    python bench/run.py --quick                       # CI: well under a minute
    python bench/run.py --skip-scale --json out.json
    python bench/run.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --json bench/results/full.json --markdown bench/results/full.md
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import hashlib
import io
import json
import math
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Any

import negotrack
from negotrack.events import ClauseTabled, Event, PartyRegistered, StanceRecorded
from negotrack.model import Evidence, Ordinal, PartyKind, Source
from negotrack.projections.matrix import project_matrix
from negotrack.store.sql import SqlEventStore
from negotrack.tracker import Negotiation, Tracker

try:  # the peer is optional: --skip-eventsourcing, and --quick skips it when missing
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    HAVE_EVENTSOURCING = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_EVENTSOURCING = False


# ---------------------------------------------------------------------------
# Workload
# ---------------------------------------------------------------------------

NEGOTIATION = "bench-negotiation"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = datetime(2025, 1, 1, tzinfo=UTC)
T0_US = (T0 - EPOCH) // timedelta(microseconds=1)
SPAN_US = 90 * 86_400 * 1_000_000  # valid times spread over 90 days
LAG_US = 3 * 86_400 * 1_000_000  # a stance is logged up to 3 days after it held
QUOTE_LEN = 80
GENESIS = "0" * 64
ORDINALS = tuple(Ordinal)
OUTLETS = ("Reuters", "AP", "AFP", "RFE/RL", "Kyiv Independent", "TASS", "BBC", "Le Monde")
WORDS = (
    "we",
    "will",
    "not",
    "accept",
    "any",
    "ceasefire",
    "that",
    "freezes",
    "the",
    "line",
    "guarantees",
    "must",
    "be",
    "binding",
    "sanctions",
    "relief",
    "only",
    "after",
    "withdrawal",
    "of",
    "forces",
    "security",
    "council",
    "review",
    "in",
    "principle",
    "agreed",
    "subject",
    "to",
)


def at(micros: int) -> datetime:
    """The UTC instant of a count of microseconds since the epoch (negotrack's storage unit)."""
    return EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True, slots=True)
class Stance:
    """One stance event of the workload, in plain values every system can take."""

    event_id: str
    party: str
    clause: str
    stance: Ordinal
    valid_us: int
    outlet: str
    quote: str

    @property
    def stream(self) -> str:
        return f"{NEGOTIATION}/{self.party}/{self.clause}"


Cell = tuple[str, str]  # (party, clause)


@dataclass
class Workload:
    """The stance events in append (recording) order, and the answers every query must give."""

    stances: list[Stance]
    parties: list[str]
    clauses: list[str]
    batch_size: int
    seed: int
    as_of_us: int = field(init=False)
    """The median valid time: the as-of instant of case 2."""
    known_index: int = field(init=False)
    """The event in the middle of the recording history: known_at is its record time."""
    diff_from_us: int = field(init=False)
    diff_to_us: int = field(init=False)
    history_cell: Cell = field(init=False)

    def __post_init__(self) -> None:
        valid = sorted(s.valid_us for s in self.stances)
        self.as_of_us = valid[self.n // 2]
        self.diff_from_us = valid[self.n // 3]
        self.diff_to_us = valid[2 * self.n // 3]
        self.known_index = self.n // 2
        self.history_cell = (
            self.parties[len(self.parties) // 2],
            self.clauses[len(self.clauses) // 2],
        )

    @property
    def n(self) -> int:
        return len(self.stances)

    @property
    def cells(self) -> int:
        return len(self.parties) * len(self.clauses)

    def batches(self) -> list[list[Stance]]:
        b = self.batch_size
        return [self.stances[i : i + b] for i in range(0, self.n, b)]

    # -- the answers, in plain Python ------------------------------------------

    def latest(self, as_of_us: int, upto: int | None = None) -> dict[Cell, Stance]:
        """Per cell, the latest stance (by valid time, then log order) valid at ``as_of_us``,
        among the events up to index ``upto`` of the recording order (all by default)."""
        best: dict[Cell, tuple[int, int]] = {}
        stop = self.n if upto is None else upto + 1
        for i in range(stop):
            s = self.stances[i]
            if s.valid_us <= as_of_us:
                key = (s.party, s.clause)
                current = best.get(key)
                if current is None or (s.valid_us, i) > current:
                    best[key] = (s.valid_us, i)
        return {key: self.stances[i] for key, (_, i) in best.items()}

    def expected_matrix(self, known: bool = False) -> dict[Cell, str]:
        upto = self.known_index if known else None
        return {k: s.event_id for k, s in self.latest(self.as_of_us, upto).items()}

    def expected_history(self) -> list[str]:
        party, clause = self.history_cell
        entries = [
            (s.valid_us, i, s.event_id)
            for i, s in enumerate(self.stances)
            if (s.party, s.clause) == (party, clause)
        ]
        return [event_id for _, _, event_id in sorted(entries)]

    def expected_moves(self) -> set[Cell]:
        before, after = self.latest(self.diff_from_us), self.latest(self.diff_to_us)
        return {
            k
            for k in before.keys() | after.keys()
            if (before[k].stance if k in before else None)
            != (after[k].stance if k in after else None)
        }


def cell_shape(s: int) -> tuple[int, int]:
    """Parties x clauses = s, as square as the divisors of s allow (2,000 -> 40 x 50)."""
    parties = max(d for d in range(1, math.isqrt(s) + 1) if s % d == 0)
    return parties, s // parties


def make_workload(n: int, s: int, batch_size: int, seed: int) -> Workload:
    """n stance events over s cells, interleaved: each round visits every cell once."""
    rng = random.Random(seed)
    n_parties, n_clauses = cell_shape(s)
    pw, cw = max(2, len(str(n_parties - 1))), max(4, len(str(n_clauses - 1)))
    parties = [f"party-{i:0{pw}d}" for i in range(n_parties)]
    clauses = [f"clause-{j:0{cw}d}" for j in range(n_clauses)]
    cells = [(p, c) for p in parties for c in clauses]
    per_cell = [n // s + (1 if i < n % s else 0) for i in range(s)]
    order: list[int] = []
    for round_no in range(max(per_cell)):
        visiting = [i for i in range(s) if per_cell[i] > round_no]
        rng.shuffle(visiting)
        order.extend(visiting)

    step = SPAN_US / n
    used: set[int] = set()
    stances: list[Stance] = []
    for pos, i in enumerate(order):
        # Valid time follows the recording order, less a random reporting lag, so
        # a cell's events are not in valid-time order: the as-of query must sort.
        valid = max(T0_US, T0_US + int((pos + 1) * step) - rng.randrange(LAG_US))
        while valid in used:  # unique valid times: the as-of answer is unambiguous
            valid += 1
        used.add(valid)
        quote = " ".join(rng.choices(WORDS, k=18))[:QUOTE_LEN].ljust(QUOTE_LEN, ".")
        stances.append(
            Stance(
                event_id=f"{rng.getrandbits(128):032x}",
                party=cells[i][0],
                clause=cells[i][1],
                stance=rng.choice(ORDINALS),
                valid_us=valid,
                outlet=rng.choice(OUTLETS),
                quote=quote,
            )
        )
    return Workload(stances, parties, clauses, batch_size, seed)


# -- the workload as each system takes it (built before timing) -----------------


def registration_events(wl: Workload) -> list[Event]:
    """The parties and clauses a negotiation must declare before any stance on them."""
    declared: list[Event] = [
        PartyRegistered(negotiation=NEGOTIATION, party=p, name=p.title(), kind=PartyKind.STATE)
        for p in wl.parties
    ]
    declared += [
        ClauseTabled(negotiation=NEGOTIATION, clause=c, title=c.title(), valid_at=T0)
        for c in wl.clauses
    ]
    return declared


def stance_event(s: Stance) -> StanceRecorded:
    return StanceRecorded(
        negotiation=NEGOTIATION,
        party=s.party,
        clause=s.clause,
        stance=s.stance,
        valid_at=at(s.valid_us),
        evidence=(Evidence(source=Source(outlet=s.outlet), quote=s.quote),),
        event_id=s.event_id,
    )


def floor_payload(s: Stance) -> dict[str, Any]:
    """The same JSON object negotrack stores for the stance (checked in check_payloads)."""
    return {
        "clause": s.clause,
        "conditions": None,
        "confidence": None,
        "event_id": s.event_id,
        "evidence": [
            {
                "quote": s.quote,
                "source": {
                    "file": None,
                    "outlet": s.outlet,
                    "published": None,
                    "title": None,
                    "url": None,
                },
                "stated": True,
            }
        ],
        "negotiation": NEGOTIATION,
        "note": None,
        "party": s.party,
        "precision": "instant",
        "salience": None,
        "speaker": None,
        "stance": s.stance.label,
        "valid_at": at(s.valid_us).isoformat(),
    }


@dataclass(frozen=True, slots=True)
class FloorItem:
    """What the floor starts from: the plain values and payload object of one event."""

    event_id: str
    stream: str
    party: str
    clause: str
    valid_us: int
    payload: dict[str, Any]


def floor_item(s: Stance) -> FloorItem:
    return FloorItem(s.event_id, s.stream, s.party, s.clause, s.valid_us, floor_payload(s))


def dumps(payload: dict[str, Any]) -> str:
    """Canonical JSON, as negotrack writes it."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_same_rows(wl: Workload, work_dir: str) -> list[str]:
    """Warnings if the floor would not write the very rows negotrack writes.

    negotrack appends a few events; the floor's payload text and hash chain are
    then recomputed from the stored columns and compared.  A difference does not
    stop the run (negotrack's answers are still checked), but the append ratios
    then compare unequal work, so the report says so.
    """
    path = os.path.join(work_dir, "same-rows.sqlite")
    tracker = nt_open_fresh(f"sqlite:///{path}", registration_events(wl))
    tracker.append([stance_event(s) for s in wl.stances[:20]])
    tracker.close()
    conn = sqlite3.connect(path)
    rows = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY position").fetchall()
    conn.close()
    remove_db(path)
    payloads = {s.event_id: dumps(floor_payload(s)) for s in wl.stances[:20]}
    warnings, previous = [], GENESIS
    for row in rows:
        if row[1] in payloads and payloads[row[1]] != row[11]:
            warnings.append("the floor's JSON payload differs from negotrack's")
        if chain(previous, row[:12]) != row[12]:
            warnings.append("the floor's hash chain differs from negotrack's")
        previous = row[12]
    return sorted(set(warnings))


# ---------------------------------------------------------------------------
# Timing harness
# ---------------------------------------------------------------------------


def _nothing() -> Any:
    return None


def _no_check(out: Any, ctx: Any) -> None:
    pass


def _no_teardown(ctx: Any) -> None:
    pass


@dataclass
class Case:
    case_id: str
    system: str  # "sqlite3 floor", "eventsourcing", "negotrack/sqlite", ...
    label: str
    fn: Callable[[Any], Any]
    count: int  # events one call handles (the rate is count / time)
    unit: str = "ev"  # "ev": one long call; "query": looped to --min-time, time per call
    setup: Callable[[], Any] = _nothing
    check: Callable[[Any, Any], None] = _no_check
    teardown: Callable[[Any], None] = _no_teardown
    floor: tuple[str, ...] = ()  # the fastest of these is the floor of the ratio
    peer: str | None = None
    repeat: int | None = None
    note: str = ""


@dataclass
class Result:
    case_id: str
    system: str
    label: str
    times: list[float]
    count: int
    unit: str
    loops: int
    floor: tuple[str, ...]
    peer: str | None
    peak_bytes: int | None
    note: str
    other_cpu: float | None = None
    """CPU used by other processes while the case was timed, in CPUs (1.0: one whole CPU)."""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def rate(self) -> float:
        return self.count / self.median


class Bench:
    """Runs cases and keeps their results; progress goes to stderr."""

    def __init__(self, repeat: int, min_time: float, memory: bool, profile_dir: str | None) -> None:
        self.repeat = repeat
        self.min_time = min_time
        self.memory = memory
        self.profile_dir = profile_dir
        self.results: dict[str, Result] = {}

    def run(self, case: Case) -> Result:
        loops = self._calibrate(case) if case.unit == "query" else 1
        times = []
        machine, own, wall = busy_seconds(), own_seconds(), time.perf_counter()
        for _rep in range(case.repeat or self.repeat):
            ctx = case.setup()
            gc.collect()
            start = time.perf_counter()
            for _loop in range(loops):
                out = case.fn(ctx)
            elapsed = (time.perf_counter() - start) / loops
            case.check(out, ctx)
            del out
            case.teardown(ctx)
            times.append(elapsed)
        other = None
        machine_after = busy_seconds()
        if machine is not None and machine_after is not None:
            # Another process on the machine (a test run, say) slows the case down:
            # record how much CPU the others took meanwhile (jiffy resolution).
            others = (machine_after - machine) - (own_seconds() - own)
            other = max(0.0, others) / (time.perf_counter() - wall)
        peak = self._peak(case) if self.memory else None
        if self.profile_dir and case.system.startswith("negotrack"):
            self._profile(case)
        result = Result(
            case.case_id,
            case.system,
            case.label,
            times,
            case.count,
            case.unit,
            loops,
            case.floor,
            case.peer,
            peak,
            case.note,
            other,
        )
        self.results[case.case_id] = result
        spread = " ".join(f"{t:.4g}" for t in times)
        mem = "" if peak is None else f"  peak {peak / 2**20:7.1f} MiB"
        print(
            f"  {case.case_id:<4} {case.system:<22} {case.label:<44} "
            f"median {fmt_seconds(result.median):>9}{mem}  [{spread}]",
            file=sys.stderr,
            flush=True,
        )
        return result

    def _calibrate(self, case: Case) -> int:
        """Loops per repetition so that one repetition lasts about --min-time (a warm-up too)."""
        ctx = case.setup()
        start = time.perf_counter()
        out = case.fn(ctx)
        elapsed = time.perf_counter() - start
        case.check(out, ctx)
        case.teardown(ctx)
        return max(1, min(1000, math.ceil(self.min_time / max(elapsed, 1e-6))))

    def _peak(self, case: Case) -> int:
        """Peak of Python allocations during one untimed call (SQLite's own cache not traced)."""
        ctx = case.setup()
        gc.collect()
        tracemalloc.start()
        try:
            out = case.fn(ctx)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        case.check(out, ctx)
        del out
        case.teardown(ctx)
        return peak

    def _profile(self, case: Case) -> None:
        assert self.profile_dir is not None
        ctx = case.setup()
        profiler = cProfile.Profile()
        out = profiler.runcall(case.fn, ctx)
        case.check(out, ctx)
        del out
        case.teardown(ctx)
        base = os.path.join(self.profile_dir, case.case_id)
        profiler.dump_stats(base + ".pstats")
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        with open(base + ".txt", "w") as f:
            f.write(text.getvalue())


def expect(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def expect_cells(actual: dict[Cell, str], expected: dict[Cell, str], what: str) -> None:
    """Compare (party, clause) -> event id maps, naming a few differing cells."""
    if actual != expected:
        wrong = sorted(
            k for k in actual.keys() | expected.keys() if actual.get(k) != expected.get(k)
        )
        raise AssertionError(
            f"{what}: {len(actual)} cells, expected {len(expected)}; "
            f"{len(wrong)} differ, e.g. {wrong[:3]}"
        )


def fmt_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def remove_db(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


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
DISTURBED = 0.25  # other processes' CPU share above which a case is flagged as disturbed
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


# ---------------------------------------------------------------------------
# The peer: the eventsourcing library
# ---------------------------------------------------------------------------
# Its classes live at module level: a stored event names its class by topic
# (module:qualname), which is resolved again when the event is read.

if HAVE_EVENTSOURCING:

    class EsCell(Aggregate):
        """One party x clause cell; each event carries what a negotrack stance carries."""

        @staticmethod
        def create_id(party: str, clause: str) -> uuid.UUID:
            return uuid.uuid5(uuid.NAMESPACE_URL, f"negotrack-bench/{party}/{clause}")

        @event("Created")
        def __init__(
            self,
            *,
            party: str,
            clause: str,
            event_id: str,
            stance: str,
            valid_at: int,
            outlet: str,
            quote: str,
        ) -> None:
            self.party, self.clause = party, clause
            self.event_id, self.stance, self.valid_at = event_id, stance, valid_at
            self.outlet, self.quote = outlet, quote

        @event("Recorded")
        def record(
            self,
            *,
            party: str,
            clause: str,
            event_id: str,
            stance: str,
            valid_at: int,
            outlet: str,
            quote: str,
        ) -> None:
            self.event_id, self.stance, self.valid_at = event_id, stance, valid_at
            self.outlet, self.quote = outlet, quote

    class BenchApp(Application[uuid.UUID]):
        log_section_size = PAGE  # the largest page the notification log hands out


def es_args(s: Stance) -> dict[str, Any]:
    return {
        "party": s.party,
        "clause": s.clause,
        "event_id": s.event_id,
        "stance": s.stance.label,
        "valid_at": s.valid_us,
        "outlet": s.outlet,
        "quote": s.quote,
    }


def es_save(app: Any, batches: Sequence[Sequence[dict[str, Any]]]) -> None:
    """One app.save() per batch; a cell's first event creates its aggregate."""
    cells: dict[tuple[str, str], Any] = {}
    for batch in batches:
        touched: dict[tuple[str, str], Any] = {}
        for args in batch:
            key = (args["party"], args["clause"])
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = EsCell(**args)
            else:
                cell.record(**args)
            touched[key] = cell
        app.save(*touched.values())


def es_replay(app: Any, as_of_us: int) -> tuple[int, dict[Cell, str]]:
    """Read the notification log page by page, decode every event, fold the as-of matrix."""
    best: dict[Cell, tuple[int, int, str]] = {}
    start, count = 1, 0
    while page := app.notification_log.select(start, PAGE):
        for notification in page:
            e = app.mapper.to_domain_event(notification)
            count += 1
            if e.valid_at <= as_of_us:
                key = (e.party, e.clause)
                current = best.get(key)
                if current is None or (e.valid_at, notification.id) > current[:2]:
                    best[key] = (e.valid_at, notification.id, e.event_id)
        start = page[-1].id + 1
    return count, {k: v[2] for k, v in best.items()}


# ---------------------------------------------------------------------------
# PostgreSQL: a fresh schema per database
# ---------------------------------------------------------------------------


class PgSchemas:
    """Creates throw-away schemas and gives URLs whose search_path points at them."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.engine = create_engine(url)
        self.run_id = uuid.uuid4().hex[:8]
        self.count = 0
        self.live: list[str] = []

    def create(self) -> str:
        from sqlalchemy import text

        self.count += 1
        name = f"bench_{self.run_id}_{self.count}"
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        self.live.append(name)
        return name

    def drop(self, name: str) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self.live.remove(name)

    def sqlalchemy_url(self, schema: str) -> str:
        url = self.url.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def raw(self, schema: str) -> RawConn:
        import psycopg

        base = self.url.set(drivername="postgresql", query={})
        conn = psycopg.connect(
            base.render_as_string(hide_password=False),
            autocommit=True,
            options=f"-csearch_path={schema}",
        )
        return RawConn(conn, "postgresql")

    def server_version(self) -> str:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())

    def close(self) -> None:
        for name in list(self.live):
            self.drop(name)
        self.engine.dispose()


# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------


@dataclass
class Run:
    """What the case builders share: the options, the workload and the open databases."""

    args: argparse.Namespace
    wl: Workload
    bench: Bench
    work_dir: str
    pg: PgSchemas | None
    events: list[StanceRecorded] = field(default_factory=list)
    items: list[FloorItem] = field(default_factory=list)
    registration: list[Event] = field(default_factory=list)
    es_app: Any = None
    notes: list[str] = field(default_factory=list)
    pg_schemas: dict[str, str] = field(default_factory=dict)  # kind -> schema kept for queries
    scale_kinds: dict[str, str] = field(default_factory=dict)

    def path(self, name: str) -> str:
        return os.path.join(self.work_dir, name)

    @property
    def total_events(self) -> int:
        """Events in negotrack's log: the opening, the declarations and the stances."""
        return 1 + len(self.registration) + self.wl.n


def nt_open_fresh(url: str, registration: Sequence[Event]) -> Tracker:
    """A new log holding the negotiation and its declared parties and clauses (untimed)."""
    tracker = negotrack.open(url)
    tracker.open_negotiation(NEGOTIATION, title="Benchmark negotiation")
    tracker.append(registration)
    return tracker


def nt_append_batches(tracker: Tracker, batches: Sequence[Sequence[Event]]) -> None:
    for batch in batches:
        tracker.append(batch)


class Targets:
    """The thresholds of the issue, printed beside the measured values."""

    BATCHED_VS_FLOOR = 1.3
    BULK_RATE = 50_000
    BULK_VS_FLOOR = 1.6
    MATRIX_VS_FLOOR = 1.5
    MATRIX_GROWTH = 2.0
    KNOWN_VS_PLAIN = 2.0
    REPLAY_RATE = 200_000
    MEMORY_GROWTH = 1.25  # "independent of log length", with some slack for noise
    PG_BATCHED_RATE = 5_000


# -- 1. append ------------------------------------------------------------------


@dataclass
class Mode:
    """One way of appending the workload: its batches, as each system takes them."""

    name: str  # "batched" or "bulk"
    items: Sequence[Sequence[FloorItem]]
    events: Sequence[Sequence[Event]]
    batch_size: int

    def split(self, seq: Sequence[Any]) -> list[Sequence[Any]]:
        b = self.batch_size
        return [seq[i : i + b] for i in range(0, len(seq), b)]


def append_cases(run: Run) -> None:
    """Case 1: append in batches (one transaction each), then bulk import (one transaction)."""
    wl, b = run.wl, run.wl.batch_size
    modes = [
        # Bulk first, so that the databases left for the queries are the batched ones,
        # whose record times spread over the whole append like a real log's.
        Mode("bulk", [run.items], [run.events], wl.n),
        Mode(
            "batched",
            [run.items[i : i + b] for i in range(0, wl.n, b)],
            [run.events[i : i + b] for i in range(0, wl.n, b)],
            b,
        ),
    ]
    for mode in modes:
        ids = iter("1" + c for c in ("abcdefg" if mode.name == "batched" else "hijklmn"))
        floor_append_cases(run, mode, ids)
        peer_append_case(run, mode, next(ids))
        nt_sqlite_append_case(run, mode, next(ids))
        pg_append_cases(run, mode, ids)


def floor_append_cases(run: Run, mode: Mode, ids: Iterator[str]) -> None:
    wl, bench, items = run.wl, run.bench, mode.items
    narrow_batches = mode.split(narrow_rows(wl))
    narrow_path, floor_path = run.path("narrow.sqlite"), run.path("floor.sqlite")
    schema_path = run.path("floor-schema.sqlite")

    def fresh_narrow() -> RawConn:
        remove_db(narrow_path)
        conn = RawConn.sqlite(narrow_path)
        conn.script(NARROW_DDL)
        return conn

    def append_narrow(conn: RawConn) -> None:
        for batch in narrow_batches:
            conn.begin()
            conn.executemany(INSERT_NARROW, batch)
            conn.commit()

    def fresh_floor() -> FloorLog:
        remove_db(floor_path)
        conn = RawConn.sqlite(floor_path)
        floor_create(conn, wl)
        return FloorLog(conn)

    def fresh_schema() -> FloorLog:
        # negotrack's own tables, indexes and triggers, created by negotrack, filled raw.
        remove_db(schema_path)
        SqlEventStore(f"sqlite:///{schema_path}").close()
        return FloorLog(RawConn.sqlite(schema_path), entries=True)

    def count_rows(conn: RawConn, table: str = "events") -> int:
        return int(conn.query(f"SELECT COUNT(*) FROM {table}")[0][0])

    def check_narrow(_: Any, conn: RawConn) -> None:
        expect(count_rows(conn), wl.n, "narrow rows")

    def check_floor(_: Any, log: FloorLog) -> None:
        expect(count_rows(log.conn), wl.n, "floor rows")
        if log.entries:
            expect(count_rows(log.conn, "cell_entries"), wl.n, "floor cell entries")

    bench.run(
        Case(
            next(ids),
            "sqlite3 narrow",
            "anchors-style rows: no JSON, no hash",
            append_narrow,
            wl.n,
            setup=fresh_narrow,
            check=check_narrow,
            teardown=lambda conn: conn.close(),
        )
    )
    bench.run(
        Case(
            next(ids),
            "sqlite3 floor",
            SAME_ROWS,
            lambda log: floor_append(log, items),
            wl.n,
            setup=fresh_floor,
            check=check_floor,
            teardown=lambda log: log.conn.close(),
        )
    )
    bench.run(
        Case(
            next(ids),
            "sqlite3 nt-schema",
            "same rows into negotrack's own tables",
            lambda log: floor_append(log, items),
            wl.n,
            setup=fresh_schema,
            check=check_floor,
            teardown=lambda log: log.conn.close(),
        )
    )


def peer_append_case(run: Run, mode: Mode, case_id: str) -> None:
    if run.args.skip_eventsourcing:
        return
    wl, bench = run.wl, run.bench
    path = run.path("eventsourcing.sqlite")
    batches = mode.split([es_args(s) for s in wl.stances])

    def fresh() -> Any:
        if run.es_app is not None:
            run.es_app.close()
        remove_db(path)
        run.es_app = BenchApp(
            env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
        )
        return run.es_app

    def check(_: Any, app: Any) -> None:
        expect(app.recorder.max_notification_id(), wl.n, "eventsourcing events stored")

    what = "app.save per batch" if mode.name == "batched" else "one app.save of all"
    bench.run(
        Case(
            case_id,
            "eventsourcing",
            what,
            lambda app: es_save(app, batches),
            wl.n,
            setup=fresh,
            check=check,
            note="makes its events in the timed run",
        )
    )


def nt_sqlite_append_case(run: Run, mode: Mode, case_id: str) -> None:
    wl, bench, events = run.wl, run.bench, mode.events
    path = run.path("negotrack.sqlite")
    floor = "b" if mode.name == "batched" else "i"
    peer = "d" if mode.name == "batched" else "k"

    def fresh() -> Tracker:
        remove_db(path)
        return nt_open_fresh(f"sqlite:///{path}", run.registration)

    def check(_: Any, tracker: Tracker) -> None:
        expect(tracker.store.last_position(), run.total_events, "negotrack events stored")

    what = "Tracker.append(batch)" if mode.name == "batched" else "Tracker.append(all events)"
    bench.run(
        Case(
            case_id,
            "negotrack/sqlite",
            what,
            lambda tracker: nt_append_batches(tracker, events),
            wl.n,
            setup=fresh,
            check=check,
            teardown=lambda tracker: tracker.close(),
            floor=("1" + floor,),
            peer=None if run.args.skip_eventsourcing else "1" + peer,
        )
    )


def pg_append_cases(run: Run, mode: Mode, ids: Iterator[str]) -> None:
    pg = run.pg
    if pg is None:
        return
    wl, bench, items, events = run.wl, run.bench, mode.items, mode.events
    schemas: dict[str, str] = {}  # kind -> the schema of the latest repetition

    def fresh_schema(kind: str) -> str:
        if kind in schemas:
            pg.drop(schemas[kind])
        schemas[kind] = pg.create()
        return schemas[kind]

    def fresh_floor() -> FloorLog:
        conn = pg.raw(fresh_schema("floor"))
        floor_create(conn, wl)
        return FloorLog(conn)

    def check_floor(_: Any, log: FloorLog) -> None:
        expect(int(log.conn.query("SELECT COUNT(*) FROM events")[0][0]), wl.n, "pg floor rows")

    def fresh_nt() -> Tracker:
        return nt_open_fresh(pg.sqlalchemy_url(fresh_schema("negotrack")), run.registration)

    def check_nt(_: Any, tracker: Tracker) -> None:
        expect(tracker.store.last_position(), run.total_events, "negotrack events stored")

    floor_id = next(ids)
    bench.run(
        Case(
            floor_id,
            "psycopg floor",
            SAME_ROWS,
            lambda log: floor_append(log, items),
            wl.n,
            setup=fresh_floor,
            check=check_floor,
            teardown=lambda log: log.conn.close(),
        )
    )
    what = "Tracker.append(batch)" if mode.name == "batched" else "Tracker.append(all events)"
    bench.run(
        Case(
            next(ids),
            "negotrack/postgresql",
            what,
            lambda tracker: nt_append_batches(tracker, events),
            wl.n,
            setup=fresh_nt,
            check=check_nt,
            teardown=lambda tracker: tracker.close(),
            floor=(floor_id,),
        )
    )
    if mode.name == "batched":  # keep the batched databases for the queries
        run.pg_schemas = dict(schemas)


# -- 2-4. queries ------------------------------------------------------------------


@dataclass
class Backend:
    """One negotrack database and its floor, holding the same workload."""

    name: str  # "sqlite" or "postgresql"
    prefix: str  # the system label prefix: "sqlite3" or "psycopg"
    tracker: Tracker
    floor: RawConn
    floor_known_at_us: int  # the floor's record time of the known_at event
    cold: Tracker  # the same database without the store's decoded-event cache

    @property
    def negotiation(self) -> Negotiation:
        return self.tracker.negotiation(NEGOTIATION)

    @property
    def cold_negotiation(self) -> Negotiation:
        return self.cold.negotiation(NEGOTIATION)

    def close(self) -> None:
        self.tracker.close()
        self.cold.close()
        self.floor.close()


def open_backend(name: str, prefix: str, url: str, floor: RawConn, wl: Workload) -> Backend:
    # The store keeps decoded events (keyed by row hash) for reads, so a query
    # repeated on the default store is "warm": it skips decoding.  The "cold"
    # tracker has no such cache, so every call decodes what it returns.
    tracker = negotrack.open(url)
    cold = Tracker(SqlEventStore(url, create=False, decoded_cache=0))
    known_id = wl.stances[wl.known_index].event_id
    known = floor.query("SELECT recorded_at FROM events WHERE event_id = ?", (known_id,))
    return Backend(name, prefix, tracker, floor, int(known[0][0]), cold)


def nt_known_at(backend: Backend, wl: Workload) -> datetime:
    """The record time of the event in the middle of the recording history."""
    return backend.tracker.event(wl.stances[wl.known_index].event_id).recorded_at


def matrix_cells(matrix: Any) -> dict[Cell, str]:
    return {key: cell.event_id for key, cell in matrix.cells.items()}


# Fixed ids per kind of case, so that a skipped case never renumbers the others.
MATRIX_IDS = {
    "max_join": "a",
    "window": "b",
    "seek": "c",
    "seek_json": "d",
    "known_floor": "e",
    "peer_get": "f",
    "matrix": "g",
    "known": "h",
    "matrix_cold": "i",
    "known_cold": "j",
}
HISTORY_IDS = {
    "history_floor": "a",
    "history_peer": "b",
    "history": "c",
    "diff_floor": "d",
    "diff": "e",
    "history_cold": "f",
    "diff_cold": "g",
}
GROUP_OF_BACKEND = {"sqlite": ("2", "3"), "postgresql": ("6", "7")}


def query_cases(run: Run, backend: Backend, with_peer: bool) -> dict[str, str]:
    """Case 2, the as-of matrix, on one backend; returns the case id of each kind."""
    wl, bench, conn = run.wl, run.bench, backend.floor
    p, nt = backend.prefix, f"negotrack/{backend.name}"
    group = GROUP_OF_BACKEND[backend.name][0]
    expected = wl.expected_matrix()
    expected_known = wl.expected_matrix(known=True)
    as_of, known_at = at(wl.as_of_us), nt_known_at(backend, wl)
    cells = len(expected)
    got: dict[str, str] = {}

    def add(kind: str, system: str, label: str, fn: Callable[[Any], Any], **kw: Any) -> None:
        case_id = group + MATRIX_IDS[kind]
        bench.run(Case(case_id, system, label, fn, kw.pop("count", cells), "query", **kw))
        got[kind] = case_id

    def check_rows(rows: list[Any], _: Any, want: dict[Cell, str] = expected) -> None:
        expect_cells(cells_of_rows(rows), want, "raw as-of rows")

    def check_matrix(matrix: Any, _: Any, want: dict[Cell, str] = expected) -> None:
        expect_cells(matrix_cells(matrix), want, "negotrack matrix")

    add(
        "max_join",
        f"{p} floor",
        "as-of T, per-cell MAX() join",
        lambda _: conn.query(AS_OF_MAX_JOIN, (NEGOTIATION, wl.as_of_us, NEGOTIATION)),
        check=check_rows,
    )
    add(
        "window",
        f"{p} floor",
        "as-of T, window function",
        lambda _: conn.query(AS_OF_WINDOW, (NEGOTIATION, wl.as_of_us)),
        check=check_rows,
    )
    add(
        "seek",
        f"{p} floor",
        "as-of T, per-cell index seek",
        lambda _: floor_seek(conn, wl.as_of_us),
        check=check_rows,
    )
    add(
        "seek_json",
        f"{p} floor",
        "as-of T, per-cell seek + json.loads",
        lambda _: [(r, json.loads(r[6])) for r in floor_seek(conn, wl.as_of_us)],
        check=lambda out, ctx: check_rows([r for r, _ in out], ctx),
    )
    add(
        "known_floor",
        f"{p} floor",
        "as-of T, known_at K, per-cell seek",
        lambda _: floor_seek(conn, wl.as_of_us, backend.floor_known_at_us),
        check=lambda rows, ctx: check_rows(rows, ctx, expected_known),
    )
    if with_peer and run.es_app is not None:
        app = run.es_app
        es_ids = [EsCell.create_id(pa, cl) for pa in wl.parties for cl in wl.clauses]
        add(
            "peer_get",
            "eventsourcing",
            f"repository.get x {len(es_ids)} cells",
            lambda _: [app.repository.get(i) for i in es_ids],
            count=wl.n,
            check=lambda aggs, _: expect(sum(a.version for a in aggs), wl.n, "events replayed"),
            note="current state only: no as-of query",
        )
    neg = backend.negotiation
    add(
        "matrix",
        nt,
        "matrix(as_of=T)",
        lambda _: neg.matrix(as_of),
        check=check_matrix,
        floor=tuple(got[k] for k in ("max_join", "window", "seek")),
        peer=got.get("peer_get"),
    )
    add(
        "known",
        nt,
        "matrix(as_of=T, known_at=K)",
        lambda _: neg.matrix(as_of, known_at=known_at),
        check=lambda m, ctx: check_matrix(m, ctx, expected_known),
        floor=(got["known_floor"],),
    )
    cold = backend.cold_negotiation
    add(
        "matrix_cold",
        nt,
        "matrix(as_of=T), cold: no decoded cache",
        lambda _: cold.matrix(as_of),
        check=check_matrix,
        floor=tuple(got[k] for k in ("max_join", "window", "seek")),
        peer=got.get("peer_get"),
    )
    add(
        "known_cold",
        nt,
        "matrix(as_of=T, known_at=K), cold",
        lambda _: cold.matrix(as_of, known_at=known_at),
        check=lambda m, ctx: check_matrix(m, ctx, expected_known),
        floor=(got["known_floor"],),
    )
    return got


def history_cases(run: Run, backend: Backend, with_peer: bool) -> dict[str, str]:
    """Case 3: the history of one cell, and the diff of two dates."""
    wl, bench, conn = run.wl, run.bench, backend.floor
    p, nt = backend.prefix, f"negotrack/{backend.name}"
    group = GROUP_OF_BACKEND[backend.name][1]
    cell = wl.history_cell
    history = wl.expected_history()
    moves = wl.expected_moves()
    neg = backend.negotiation
    from_, to = at(wl.diff_from_us), at(wl.diff_to_us)
    got: dict[str, str] = {}

    def add(
        kind: str, system: str, label: str, fn: Callable[[Any], Any], count: int, **kw: Any
    ) -> None:
        case_id = group + HISTORY_IDS[kind]
        bench.run(Case(case_id, system, label, fn, count, "query", **kw))
        got[kind] = case_id

    add(
        "history_floor",
        f"{p} floor",
        "history of one cell + json.loads",
        lambda _: floor_history(conn, cell),
        len(history),
        check=lambda out, _: expect([r[1] for r, _ in out], history, "raw history"),
    )
    if with_peer and run.es_app is not None:
        app, es_id = run.es_app, EsCell.create_id(*cell)
        add(
            "history_peer",
            "eventsourcing",
            "events.get of one cell aggregate",
            lambda _: list(app.events.get(es_id)),
            len(history),
            check=lambda out, _: expect(len(out), len(history), "peer history"),
            note="version order, not valid time",
        )
    add(
        "history",
        nt,
        "history(party, clause)",
        lambda _: neg.history(*cell),
        len(history),
        check=lambda h, _: expect([e.event_id for e in h], history, "negotrack history"),
        floor=(got["history_floor"],),
        peer=got.get("history_peer"),
    )
    add(
        "diff_floor",
        f"{p} floor",
        "diff of two dates (2 seeks + json)",
        lambda _: floor_diff(conn, wl.diff_from_us, wl.diff_to_us),
        wl.cells,
        check=lambda out, _: expect(out, moves, "raw diff"),
    )
    add(
        "diff",
        nt,
        "diff(from_, to)",
        lambda _: neg.diff(from_, to),
        wl.cells,
        check=lambda d, _: expect({(m.party, m.clause) for m in d}, moves, "negotrack diff"),
        floor=(got["diff_floor"],),
    )
    cold = backend.cold_negotiation
    add(
        "history_cold",
        nt,
        "history(party, clause), cold",
        lambda _: cold.history(*cell),
        len(history),
        check=lambda h, _: expect([e.event_id for e in h], history, "negotrack history"),
        floor=(got["history_floor"],),
        peer=got.get("history_peer"),
    )
    add(
        "diff_cold",
        nt,
        "diff(from_, to), cold",
        lambda _: cold.diff(from_, to),
        wl.cells,
        check=lambda d, _: expect({(m.party, m.clause) for m in d}, moves, "negotrack diff"),
        floor=(got["diff_floor"],),
    )
    return got


REPLAY_IDS = {
    ("sqlite", "floor"): "4a",
    ("sqlite", "peer"): "4b",
    ("sqlite", "nt"): "4c",
    ("postgresql", "floor"): "4d",
    ("postgresql", "nt"): "4e",
}


def replay_cases(run: Run, backends: Sequence[Backend]) -> None:
    """Case 4: read every event, decode it, fold the as-of matrix."""
    for backend in backends:
        replay_on(run, backend)


def replay_on(run: Run, backend: Backend) -> None:
    wl, bench, conn, tracker = run.wl, run.bench, backend.floor, backend.tracker
    expected = wl.expected_matrix()
    as_of = at(wl.as_of_us)

    def check_fold(out: tuple[int, dict[Cell, str]], _: Any) -> None:
        expect(out[0], wl.n, "events read")
        expect_cells(out[1], expected, "replayed matrix")

    floor_id, peer_id = REPLAY_IDS[backend.name, "floor"], None
    bench.run(
        Case(
            floor_id,
            f"{backend.prefix} floor",
            "read + json.loads + fold, pages",
            lambda _: floor_replay(conn, wl.as_of_us),
            wl.n,
            check=check_fold,
        )
    )
    if backend.name == "sqlite" and run.es_app is not None:
        app = run.es_app
        peer_id = REPLAY_IDS["sqlite", "peer"]
        bench.run(
            Case(
                peer_id,
                "eventsourcing",
                "read log + decode + fold, pages",
                lambda _: es_replay(app, wl.as_of_us),
                wl.n,
                check=check_fold,
            )
        )
    bench.run(
        Case(
            REPLAY_IDS[backend.name, "nt"],
            f"negotrack/{backend.name}",
            "project_matrix(tracker.events())",
            lambda _: project_matrix(tracker.events(), NEGOTIATION, as_of),
            run.total_events,
            check=lambda m, _: expect_cells(matrix_cells(m), expected, "project_matrix"),
            floor=(floor_id,),
            peer=peer_id,
        )
    )


# -- 5. scale ------------------------------------------------------------------------


def scale_cases(run: Run) -> None:
    """Case 5: the as-of query, known_at view and history on a log of --scale-n events."""
    args, bench = run.args, run.bench
    print(
        f"generating the scale workload: N={args.scale_n:,} S={args.cells:,} ...",
        file=sys.stderr,
        flush=True,
    )
    wl = make_workload(args.scale_n, args.cells, args.batch, args.seed)
    nt_path, floor_path = run.path("scale-negotrack.sqlite"), run.path("scale-floor.sqlite")
    chunk = 10_000

    # Build both logs once, in chunks (bulk import of a million events would only
    # measure memory); the build times are reported for information.
    start = time.perf_counter()
    tracker = nt_open_fresh(f"sqlite:///{nt_path}", registration_events(wl))
    for i in range(0, wl.n, chunk):
        tracker.append([stance_event(s) for s in wl.stances[i : i + chunk]])
    nt_build = time.perf_counter() - start
    start = time.perf_counter()
    conn = RawConn.sqlite(floor_path)
    floor_create(conn, wl)
    log = FloorLog(conn)
    for i in range(0, wl.n, chunk):
        floor_append(log, [[floor_item(s) for s in wl.stances[i : i + chunk]]])
    floor_build = time.perf_counter() - start
    run.notes.append(
        f"the scale logs were built once, {chunk:,} events per transaction "
        f"(not a case; for information): negotrack {nt_build:.0f} s "
        f"({wl.n / nt_build:,.0f} ev/s), raw sqlite3 floor {floor_build:.0f} s "
        f"({wl.n / floor_build:,.0f} ev/s)"
    )
    print(
        f"  built: negotrack {nt_build:.0f} s, floor {floor_build:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    tracker.close()
    backend = open_backend("sqlite", "sqlite3", f"sqlite:///{nt_path}", conn, wl)
    scaled = Run(args, wl, bench, run.work_dir, None)
    try:
        run.scale_kinds = query_scale(scaled, backend)
    finally:
        backend.close()


def query_scale(run: Run, backend: Backend) -> dict[str, str]:
    """The case-2/3 queries again, at scale (ids 5a...)."""
    wl, bench, conn = run.wl, run.bench, backend.floor
    expected, expected_known = wl.expected_matrix(), wl.expected_matrix(known=True)
    history = wl.expected_history()
    cells = len(expected)
    neg, cold = backend.negotiation, backend.cold_negotiation
    as_of, known_at = at(wl.as_of_us), nt_known_at(backend, wl)
    n = f"{wl.n:,}"
    got: dict[str, str] = {}

    def check_rows(rows: list[Any], _: Any) -> None:
        expect_cells(cells_of_rows(rows), expected, "raw as-of rows at scale")

    cases = [
        (
            "max_join",
            Case(
                "5a",
                "sqlite3 floor",
                f"as-of T, per-cell MAX() join, N={n}",
                lambda _: conn.query(AS_OF_MAX_JOIN, (NEGOTIATION, wl.as_of_us, NEGOTIATION)),
                cells,
                "query",
                check=check_rows,
            ),
        ),
        (
            "window",
            Case(
                "5b",
                "sqlite3 floor",
                f"as-of T, window function, N={n}",
                lambda _: conn.query(AS_OF_WINDOW, (NEGOTIATION, wl.as_of_us)),
                cells,
                "query",
                check=check_rows,
            ),
        ),
        (
            "seek",
            Case(
                "5c",
                "sqlite3 floor",
                f"as-of T, per-cell index seek, N={n}",
                lambda _: floor_seek(conn, wl.as_of_us),
                cells,
                "query",
                check=check_rows,
            ),
        ),
        (
            "known_floor",
            Case(
                "5d",
                "sqlite3 floor",
                f"as-of T, known_at K, seek, N={n}",
                lambda _: floor_seek(conn, wl.as_of_us, backend.floor_known_at_us),
                cells,
                "query",
                check=lambda rows, _: expect_cells(
                    cells_of_rows(rows), expected_known, "raw known"
                ),
            ),
        ),
        (
            "matrix",
            Case(
                "5e",
                "negotrack/sqlite",
                f"matrix(as_of=T), N={n}",
                lambda _: neg.matrix(as_of),
                cells,
                "query",
                check=lambda m, _: expect_cells(matrix_cells(m), expected, "matrix"),
                floor=("5a", "5b", "5c"),
            ),
        ),
        (
            "known",
            Case(
                "5f",
                "negotrack/sqlite",
                f"matrix(as_of=T, known_at=K), N={n}",
                lambda _: neg.matrix(as_of, known_at=known_at),
                cells,
                "query",
                check=lambda m, _: expect_cells(matrix_cells(m), expected_known, "known matrix"),
                floor=("5d",),
            ),
        ),
        (
            "history_floor",
            Case(
                "5g",
                "sqlite3 floor",
                f"history of one cell + json, N={n}",
                lambda _: floor_history(conn, wl.history_cell),
                len(history),
                "query",
                check=lambda out, _: expect([r[1] for r, _ in out], history, "raw history"),
            ),
        ),
        (
            "history",
            Case(
                "5h",
                "negotrack/sqlite",
                f"history(party, clause), N={n}",
                lambda _: neg.history(*wl.history_cell),
                len(history),
                "query",
                check=lambda h, _: expect([e.event_id for e in h], history, "history"),
                floor=("5g",),
            ),
        ),
        (
            "matrix_cold",
            Case(
                "5i",
                "negotrack/sqlite",
                f"matrix(as_of=T), cold, N={n}",
                lambda _: cold.matrix(as_of),
                cells,
                "query",
                check=lambda m, _: expect_cells(matrix_cells(m), expected, "matrix"),
                floor=("5a", "5b", "5c"),
            ),
        ),
        (
            "known_cold",
            Case(
                "5j",
                "negotrack/sqlite",
                f"matrix(as_of=T, known_at=K), cold, N={n}",
                lambda _: cold.matrix(as_of, known_at=known_at),
                cells,
                "query",
                check=lambda m, _: expect_cells(matrix_cells(m), expected_known, "known matrix"),
                floor=("5d",),
            ),
        ),
        (
            "history_cold",
            Case(
                "5k",
                "negotrack/sqlite",
                f"history(party, clause), cold, N={n}",
                lambda _: cold.history(*wl.history_cell),
                len(history),
                "query",
                check=lambda h, _: expect([e.event_id for e in h], history, "history"),
                floor=("5g",),
            ),
        ),
    ]
    for kind, case in cases:
        bench.run(case)
        got[kind] = case.case_id
    return got


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "sqlite (library)": sqlite3.sqlite_version}
    for name in ("negotrack", "SQLAlchemy", "eventsourcing", "psycopg", "attrs", "cattrs"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def cpu_times() -> list[int] | None:
    """Aggregate CPU jiffies from /proc/stat (Linux), to report load, iowait and steal."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None


def busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy so far (all CPUs), from /proc/stat."""
    jiffies = cpu_times()
    if jiffies is None:
        return None
    return (sum(jiffies) - jiffies[3] - jiffies[4]) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    t = os.times()
    return t.user + t.system


def negotrack_source() -> str:
    """The revision of negotrack's checkout, marked when negotrack/ has uncommitted changes."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(negotrack.__file__)))
    git = shutil.which("git")
    if git is None:
        return "unknown (no git)"
    try:
        # Fixed arguments, no shell: git itself is what the noqa is about.
        head = subprocess.run(  # noqa: S603
            [git, "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603
            [git, "-C", root, "status", "--porcelain", "--", "negotrack"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" + uncommitted changes in negotrack/" if dirty else "")


def source_digest() -> str:
    """A digest of negotrack's sources, to notice a change on disk during a run."""
    root = os.path.dirname(os.path.abspath(negotrack.__file__))
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(f for f in files if f.endswith(".py")):
            with open(os.path.join(folder, name), "rb") as f:
                digest.update(name.encode() + f.read())
    return digest.hexdigest()


def cpu_summary(before: list[int] | None, after: list[int] | None) -> str:
    if not before or not after:
        return "n/a"
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta) or 1
    busy = total - delta[3] - delta[4]  # fields: user nice system idle iowait irq softirq steal
    return (
        f"busy {100 * busy / total:.0f}%, iowait {100 * delta[4] / total:.0f}%, "
        f"steal {100 * delta[7] / total:.1f}% (all CPUs, whole run)"
    )


def floor_of(results: dict[str, Result], r: Result) -> Result | None:
    """The fastest of the case's floor candidates that ran."""
    found = [results[c] for c in r.floor if c in results]
    return min(found, key=lambda x: x.median) if found else None


def ratio(a: Result | None, b: Result | None) -> float | None:
    return None if a is None or b is None else a.median / b.median


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def fmt_rate(r: Result) -> str:
    rate, unit = (r.rate, "ev/s") if r.unit == "ev" else (1 / r.median, "q/s")
    return f"{rate:,.0f} {unit}" if rate >= 100 else f"{rate:,.1f} {unit}"


def fmt_mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f}"


GROUPS = {
    "1a": "1. Append in batches: one transaction per batch",
    "1h": "1. Bulk import: every event in one transaction",
    "2": "2. As-of matrix of every cell (SQLite)",
    "3": "3. History of one cell, diff of two dates (SQLite)",
    "4": "4. Full replay: read, decode and fold every event",
    "5": "5. Scale: the same queries on the large log (SQLite)",
    "6": "2'. As-of matrix of every cell (PostgreSQL)",
    "7": "3'. History of one cell, diff of two dates (PostgreSQL)",
}


def group_of(case_id: str) -> str:
    if case_id[0] == "1":
        return "1a" if case_id[1] <= "g" else "1h"
    return case_id[0]


RATIOS = (
    # (what, numerator case, denominator case): where the time of a case goes.
    ("batched append: negotrack / raw, same rows", "1e", "1b"),
    ("batched append: negotrack / raw into negotrack's tables", "1e", "1c"),
    ("batched append: raw into negotrack's tables / raw, same rows", "1c", "1b"),
    ("batched append: raw, same rows / anchors-style narrow rows", "1b", "1a"),
    ("batched append: negotrack / eventsourcing", "1e", "1d"),
    ("bulk import: negotrack / raw, same rows", "1l", "1i"),
    ("bulk import: negotrack / raw into negotrack's tables", "1l", "1j"),
    ("bulk import: raw into negotrack's tables / raw, same rows", "1j", "1i"),
    ("bulk import: negotrack / eventsourcing", "1l", "1k"),
    ("PostgreSQL batched append: negotrack / raw psycopg", "1g", "1f"),
    ("PostgreSQL bulk import: negotrack / raw psycopg", "1n", "1m"),
    ("matrix: negotrack / raw per-cell seek", "2g", "2c"),
    ("matrix: negotrack / raw per-cell seek + json.loads", "2g", "2d"),
    ("matrix: negotrack cold / warm (decoding every cell)", "2i", "2g"),
    ("matrix: negotrack cold / raw per-cell seek + json.loads", "2i", "2d"),
    ("matrix: raw MAX() join / raw per-cell seek", "2a", "2c"),
    ("known_at: negotrack / raw per-cell seek with known_at", "2h", "2e"),
    ("known_at: negotrack cold / raw per-cell seek with known_at", "2j", "2e"),
    ("known_at: negotrack known_at / negotrack plain as-of", "2h", "2g"),
    ("history: negotrack / raw + json.loads", "3c", "3a"),
    ("history: negotrack cold / raw + json.loads", "3f", "3a"),
    ("diff: negotrack / raw", "3e", "3d"),
    ("diff: negotrack cold / raw", "3g", "3d"),
    ("replay: negotrack / raw", "4c", "4a"),
    ("replay: negotrack / eventsourcing", "4c", "4b"),
    ("PostgreSQL matrix: negotrack / raw per-cell seek", "6g", "6c"),
    ("PostgreSQL matrix: negotrack cold / raw per-cell seek", "6i", "6c"),
    ("PostgreSQL known_at: negotrack / raw", "6h", "6e"),
    ("PostgreSQL history: negotrack / raw", "7c", "7a"),
    ("PostgreSQL history: negotrack cold / raw", "7f", "7a"),
    ("PostgreSQL replay: negotrack / raw", "4e", "4d"),
    ("scale: negotrack matrix, large / default log", "5e", "2g"),
    ("scale: negotrack matrix cold, large / default log", "5i", "2i"),
    ("scale: raw per-cell seek, large / default log", "5c", "2c"),
    ("scale: raw MAX() join, large / default log", "5a", "2a"),
    ("scale: raw window function, large / default log", "5b", "2b"),
    ("scale: negotrack matrix / raw per-cell seek, large log", "5e", "5c"),
    ("scale: negotrack known_at, large / default log", "5f", "2h"),
    ("scale: negotrack known_at cold, large / default log", "5j", "2j"),
    ("scale: raw known_at seek, large / default log", "5d", "2e"),
    ("scale: negotrack known_at / plain as-of, large log", "5f", "5e"),
    ("scale: negotrack history, large / default log", "5h", "3c"),
    ("scale: negotrack history cold, large / default log", "5k", "3f"),
    ("scale: raw history, large / default log", "5g", "3a"),
)


def ratio_rows(results: dict[str, Result]) -> list[tuple[str, str, str]]:
    """(what, "a / b", ratio) for every ratio whose two cases ran."""
    return [
        (what, f"{a} / {b}", fmt_ratio(ratio(results[a], results[b])))
        for what, a, b in RATIOS
        if a in results and b in results
    ]


@dataclass
class Target:
    name: str
    threshold: str
    measured: str
    met: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "n/a"}[self.met]


def evaluate_targets(results: dict[str, Result], kinds: dict[str, dict[str, str]]) -> list[Target]:
    """The issue's targets, from the measured medians (never asserted)."""
    r = results.get
    targets: list[Target] = []

    def add(
        name: str,
        threshold: str,
        value: float | None,
        ok: Callable[[float], bool],
        shown: Callable[[float], str],
    ) -> None:
        targets.append(
            Target(
                name,
                threshold,
                "-" if value is None else shown(value),
                None if value is None else ok(value),
            )
        )

    t = Targets
    add(
        "batched append (SQLite) vs raw sqlite3, same rows",
        f"<= {t.BATCHED_VS_FLOOR}x",
        ratio(r("1e"), r("1b")),
        lambda v: v <= t.BATCHED_VS_FLOOR,
        lambda v: f"{v:.2f}x",
    )
    bulk = r("1l")
    add(
        "bulk import (SQLite) rate",
        f">= {t.BULK_RATE:,} ev/s",
        None if bulk is None else bulk.rate,
        lambda v: v >= t.BULK_RATE,
        lambda v: f"{v:,.0f} ev/s",
    )
    add(
        "bulk import (SQLite) vs raw executemany, same rows",
        f"<= {t.BULK_VS_FLOOR}x",
        ratio(bulk, r("1i")),
        lambda v: v <= t.BULK_VS_FLOOR,
        lambda v: f"{v:.2f}x",
    )
    sq, sc = kinds.get("sqlite", {}), kinds.get("scale", {})

    def times(value: float) -> str:
        return f"{value:.2f}x"

    # The store caches decoded events, so a repeated matrix is "warm"; "cold" is a
    # store without the cache (every call decodes).  Both are shown.
    for kind, what in (("matrix", "warm"), ("matrix_cold", "cold")):
        matrix = r(sq.get(kind, ""))
        add(
            f"matrix ({what}) vs best raw SQL as-of",
            f"<= {t.MATRIX_VS_FLOOR}x",
            ratio(matrix, floor_of(results, matrix) if matrix else None),
            lambda v: v <= t.MATRIX_VS_FLOOR,
            times,
        )
    for kind, what in (("matrix", "warm"), ("matrix_cold", "cold")):
        add(
            f"matrix ({what}) at scale vs at the default size",
            f"<= {t.MATRIX_GROWTH}x",
            ratio(r(sc.get(kind, "")), r(sq.get(kind, ""))),
            lambda v: v <= t.MATRIX_GROWTH,
            times,
        )
    for where, found in (("default size", sq), ("scale", sc)):
        add(
            f"known_at view vs plain as-of (warm), {where}",
            f"<= {t.KNOWN_VS_PLAIN}x",
            ratio(r(found.get("known", "")), r(found.get("matrix", ""))),
            lambda v: v <= t.KNOWN_VS_PLAIN,
            times,
        )
    replay = r("4c")
    add(
        "full replay rate (SQLite)",
        f">= {t.REPLAY_RATE:,} ev/s",
        None if replay is None else replay.rate,
        lambda v: v >= t.REPLAY_RATE,
        lambda v: f"{v:,.0f} ev/s",
    )
    for kind, what in (
        ("matrix", "matrix"),
        ("matrix_cold", "matrix (cold)"),
        ("history", "history, per returned entry"),
        ("history_cold", "history (cold), per returned entry"),
    ):
        small, large = r(sq.get(kind, "")), r(sc.get(kind, ""))
        growth = None
        if small and large and small.peak_bytes and large.peak_bytes:
            # History returns every entry of the cell, which grows with the log by
            # design: compare the peak per entry returned.
            growth = (large.peak_bytes / large.count) / (small.peak_bytes / small.count)
        add(
            f"peak memory of {what}: scale vs default",
            f"<= {t.MEMORY_GROWTH}x",
            growth,
            lambda v: v <= t.MEMORY_GROWTH,
            lambda v: f"{v:.2f}x",
        )
    pg = r("1g")
    add(
        "batched append (PostgreSQL) rate",
        f">= {t.PG_BATCHED_RATE:,} ev/s",
        None if pg is None else pg.rate,
        lambda v: v >= t.PG_BATCHED_RATE,
        lambda v: f"{v:,.0f} ev/s",
    )
    return targets


def result_rows(results: dict[str, Result]) -> list[list[str]]:
    rows = []
    for res in sorted(results.values(), key=lambda x: x.case_id):
        floor = floor_of(results, res)
        peer = results.get(res.peer) if res.peer else None
        rows.append(
            [
                res.case_id,
                res.system,
                res.label + (f" [{res.note}]" if res.note else ""),
                fmt_seconds(res.median),
                fmt_seconds(min(res.times)),
                fmt_seconds(max(res.times)),
                fmt_rate(res),
                fmt_ratio(ratio(res, floor)),
                fmt_ratio(ratio(res, peer)),
                fmt_mib(res.peak_bytes),
            ]
        )
    return rows


HEADER = ["id", "system", "case", "median", "min", "max", "rate", "x floor", "x peer", "peak MiB"]


def print_report(
    results: dict[str, Result], targets: list[Target], meta: dict[str, str], notes: list[str]
) -> None:
    print()
    print("negotrack benchmark")
    for key, value in meta.items():
        print(f"  {key + ':':<12} {value}")
    rows = result_rows(results)
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *rows, strict=True)]
    right = {3, 4, 5, 6, 7, 8, 9}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    group = None
    for row in rows:
        if group_of(row[0]) != group:
            group = group_of(row[0])
            print()
            print(GROUPS.get(group, group))
            print(line(HEADER))
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
        print(line(row))
    print()
    print("x floor = negotrack median / the fastest floor case of the same work (raw SQL);")
    print("x peer = negotrack median / the eventsourcing case (see its note for how near it is).")
    print("Queries are timed per call (looped to --min-time); appends per whole run.")
    print("peak MiB: tracemalloc peak of Python allocations in one extra, untimed run.")
    for note in notes:
        print(f"Note: {note}")
    print()
    print("Ratios (where the time goes)")
    ratios = ratio_rows(results)
    width = max([len(r[0]) for r in ratios] + [1])
    for what, pair, value in ratios:
        print(f"  {what:<{width}}  {pair:>9}  {value:>8}")
    print()
    print("Targets (printed, never asserted)")
    width = max(len(t.name) for t in targets)
    for t in targets:
        print(f"  {t.name:<{width}}  {t.threshold:>16}  {t.measured:>16}  {t.verdict}")


def markdown(
    results: dict[str, Result], targets: list[Target], meta: dict[str, str], notes: list[str]
) -> str:
    out = [
        "# negotrack performance",
        "",
        "Generated by `python bench/run.py` (see `bench/README.md` for the method).",
        "",
    ]
    out += [f"- **{key}**: {value}" for key, value in meta.items()]
    rows = result_rows(results)
    group = None
    for row in rows:
        if group_of(row[0]) != group:
            group = group_of(row[0])
            out += [
                "",
                f"## {GROUPS.get(group, group)}",
                "",
                "| " + " | ".join(HEADER) + " |",
                "|" + "|".join("---:" if i >= 3 else "---" for i in range(len(HEADER))) + "|",
            ]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    out += [
        "",
        "*x floor*: negotrack's median over the fastest raw-SQL case of the same work; "
        "*x peer*: over the eventsourcing case. Queries are timed per call; *peak MiB* is "
        "the tracemalloc peak of one extra, untimed run.",
        "",
    ]
    out += [f"- {note}" for note in notes]
    out += ["", "## Ratios", "", "| ratio | cases | value |", "|---|---|---:|"]
    out += [f"| {what} | {pair} | {value} |" for what, pair, value in ratio_rows(results)]
    out += [
        "",
        "## Targets",
        "",
        "| target | threshold | measured | verdict |",
        "|---|---:|---:|---|",
    ]
    out += [f"| {t.name} | {t.threshold} | {t.measured} | {t.verdict} |" for t in targets]
    return "\n".join(out) + "\n"


def to_json(
    results: dict[str, Result],
    targets: list[Target],
    meta: dict[str, str],
    notes: list[str],
    kinds: dict[str, dict[str, str]],
) -> dict[str, Any]:
    out_results = []
    for res in results.values():
        floor = floor_of(results, res)
        peer = results.get(res.peer) if res.peer else None
        out_results.append(
            asdict(res)
            | {
                "median": res.median,
                "rate_per_s": res.rate,
                "floor_case": None if floor is None else floor.case_id,
                "x_floor": ratio(res, floor),
                "x_peer": ratio(res, peer),
            }
        )
    ratios = [
        {"what": what, "cases": f"{a} / {b}", "value": ratio(results[a], results[b])}
        for what, a, b in RATIOS
        if a in results and b in results
    ]
    return {
        "meta": meta,
        "notes": notes,
        "case_ids": kinds,
        "results": out_results,
        "ratios": ratios,
        "targets": [asdict(t) | {"verdict": t.verdict} for t in targets],
    }


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "-n", "--events", type=int, default=100_000, help="stance events N (default 100000)"
    )
    parser.add_argument(
        "-s",
        "--cells",
        type=int,
        default=2_000,
        help="(party, clause) cells S of the negotiation (default 2000)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=100,
        help="events per transaction in the batched append (default 100)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="repetitions per case; the median is reported (default 5)",
    )
    parser.add_argument(
        "--min-time",
        type=float,
        default=0.2,
        help="seconds one repetition of a query case loops for (default 0.2)",
    )
    parser.add_argument(
        "--scale-n",
        type=int,
        default=1_000_000,
        help="events of the scaling case, over the same cells (default 1000000)",
    )
    parser.add_argument(
        "--scale-repeat",
        type=int,
        default=3,
        help="repetitions of the scaling case's queries (default 3)",
    )
    parser.add_argument("--skip-scale", action="store_true", help="skip case 5")
    parser.add_argument("--skip-eventsourcing", action="store_true", help="skip the peer")
    parser.add_argument(
        "--skip-memory", action="store_true", help="skip the extra tracemalloc run of every case"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also run negotrack (and a psycopg floor) on PostgreSQL, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test; every "
        "database is a fresh schema, dropped at the end",
    )
    parser.add_argument("--seed", type=int, default=1234, help="workload random seed")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CI size: -n 2000 -s 200 --repeat 1 --min-time 0.02 --skip-scale",
    )
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        help="write a markdown report (for docs/performance.md) to PATH",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="cProfile every negotrack case once more, into DIR/<id>.pstats/.txt",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.cells, args.repeat, args.min_time = 2_000, 200, 1, 0.02
        args.skip_scale = True
        if not HAVE_EVENTSOURCING:
            args.skip_eventsourcing = True
    if args.cells < 1 or args.events < args.cells:
        parser.error("need 1 <= S <= N")
    if args.scale_n < args.cells:
        parser.error("need S <= --scale-n")
    if not args.skip_eventsourcing and not HAVE_EVENTSOURCING:
        parser.error(
            "eventsourcing is not installed: pip install 'eventsourcing==9.5.*' "
            "or pass --skip-eventsourcing"
        )
    return args


def run_all(run: Run) -> dict[str, dict[str, str]]:
    """Every case, in order; returns the case ids by kind, per backend, for the targets."""
    args, wl = run.args, run.wl
    append_cases(run)
    floor = RawConn.sqlite(run.path("floor.sqlite"))
    backends = [
        open_backend("sqlite", "sqlite3", f"sqlite:///{run.path('negotrack.sqlite')}", floor, wl)
    ]
    # The hash chain of the query database must hold (untimed; it reads the whole log).
    expect(backends[0].tracker.verify(), run.total_events, "verified events")
    if run.pg is not None:
        schemas = run.pg_schemas
        backends.append(
            open_backend(
                "postgresql",
                "psycopg",
                run.pg.sqlalchemy_url(schemas["negotrack"]),
                run.pg.raw(schemas["floor"]),
                wl,
            )
        )
    kinds: dict[str, dict[str, str]] = {}
    try:
        for backend in backends:
            with_peer = backend.name == "sqlite"
            kinds[backend.name] = query_cases(run, backend, with_peer) | history_cases(
                run, backend, with_peer
            )
        replay_cases(run, backends)
    finally:
        for backend in backends:
            backend.close()
        if run.es_app is not None:
            run.es_app.close()
    if not args.skip_scale:
        repeat = run.bench.repeat
        run.bench.repeat = min(repeat, args.scale_repeat)
        scale_cases(run)
        run.bench.repeat = repeat
        kinds["scale"] = run.scale_kinds
    return kinds


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    revision, digest = negotrack_source(), source_digest()
    own_before = own_seconds()
    cpu_before, load_before = cpu_times(), os.getloadavg()
    work_dir = tempfile.mkdtemp(prefix="negotrack-bench-", dir="/tmp")
    pg = PgSchemas(args.postgres) if args.postgres else None
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)

    print(
        f"generating the workload: N={args.events:,} S={args.cells:,} ...",
        file=sys.stderr,
        flush=True,
    )
    wl = make_workload(args.events, args.cells, args.batch, args.seed)
    run_notes = check_same_rows(wl, work_dir)
    bench = Bench(args.repeat, args.min_time, not args.skip_memory, args.profile)
    run = Run(args, wl, bench, work_dir, pg)
    run.notes += [f"WARNING: {w}: the append ratios compare unequal work" for w in run_notes]
    run.registration = registration_events(wl)
    run.events = [stance_event(s) for s in wl.stances]
    run.items = [floor_item(s) for s in wl.stances]
    try:
        kinds = run_all(run)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        pg_version = pg.server_version() if pg is not None else None
        if pg is not None:
            pg.close()

    elapsed = (datetime.now(UTC) - started).total_seconds()
    if source_digest() != digest:
        run.notes.append(
            "WARNING: negotrack's sources changed on disk during the run; the run used "
            "the code imported at its start"
        )
    disturbed = [
        f"{r.case_id} ({r.other_cpu:.2f})"
        for r in bench.results.values()
        if r.other_cpu is not None and r.other_cpu > DISTURBED
    ]
    if disturbed:
        run.notes.append(
            f"other processes used more than {DISTURBED} of a CPU while these cases were "
            f"timed (CPUs used; on PostgreSQL this includes the server): {', '.join(disturbed)}"
        )
    versions = package_versions()
    if pg_version:
        versions["PostgreSQL server"] = pg_version
    n_parties, n_clauses = cell_shape(args.cells)
    meta = {
        "workload": (
            f"N={wl.n:,} stance events over S={wl.cells:,} cells ({n_parties} parties x "
            f"{n_clauses} clauses) of one negotiation, batches of {wl.batch_size}, "
            f"valid times over 90 days, one evidence (outlet + {QUOTE_LEN}-char "
            f"quote) each, seed {wl.seed}"
        ),
        "scale": "skipped" if args.skip_scale else f"N={args.scale_n:,} over the same cells",
        "repeat": (
            f"{args.repeat} per case, {args.scale_repeat} at scale (median shown); "
            f"queries looped >= {args.min_time} s per repetition"
        ),
        "machine": (
            f"{platform.platform()}, {os.cpu_count()} CPUs, "
            f"{platform.processor() or platform.machine()}"
        ),
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "storage": (
            "SQLite files in a temporary directory under /tmp (WAL, "
            "synchronous=NORMAL; eventsourcing keeps synchronous=FULL)"
            + ("; PostgreSQL: a fresh schema per database" if pg else "")
        ),
        "started": started.isoformat(timespec="seconds"),
        "wall time": f"{elapsed:.0f} s",
        "negotrack": f"{revision} (imported at the start of the run)",
        "cpu": cpu_summary(cpu_before, cpu_times()),
        "own cpu": f"{own_seconds() - own_before:.0f} s of this process",
        "load avg": (f"{load_before[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end (1 min)"),
    }
    targets = evaluate_targets(bench.results, kinds)
    print_report(bench.results, targets, meta, run.notes)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(to_json(bench.results, targets, meta, run.notes, kinds), f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(bench.results, targets, meta, run.notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
