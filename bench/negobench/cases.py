"""The negotrack cases, beside the floor and the peer: append, queries, replay, scale."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import negotrack
from negotrack.events import Event, StanceRecorded
from negotrack.projections.matrix import project_matrix
from negotrack.store.sql import SqlEventStore
from negotrack.tracker import Negotiation, Tracker

from .floor_postgres import PgSchemas
from .floor_sqlite import (
    AS_OF_MAX_JOIN,
    AS_OF_WINDOW,
    EVENT_COLUMNS,
    INSERT_NARROW,
    NARROW_DDL,
    SAME_ROWS,
    FloorLog,
    RawConn,
    cells_of_rows,
    chain,
    floor_append,
    floor_create,
    floor_diff,
    floor_history,
    floor_replay,
    floor_seek,
    narrow_rows,
)
from .harness import Bench, Case, expect, expect_cells, remove_db
from .peer import BenchApp, EsCell, es_args, es_replay, es_save
from .workload import (
    GENESIS,
    NEGOTIATION,
    Cell,
    FloorItem,
    Workload,
    at,
    dumps,
    floor_item,
    floor_payload,
    make_workload,
    registration_events,
    stance_event,
)

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


# negotrack's append call, per mode, as the report labels it (SQLite and PostgreSQL alike).
NT_APPEND = {"batched": "Tracker.append(batch)", "bulk": "Tracker.append(all events)"}


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

    def append_floor(log: FloorLog) -> None:
        floor_append(log, items)

    def close_conn(conn: RawConn) -> None:
        conn.close()

    def close_log(log: FloorLog) -> None:
        log.conn.close()

    # system, label, call, setup, check, teardown: one case each, ids in this order.
    table: list[
        tuple[str, str, Callable[[Any], Any], Callable[[], Any], Callable[[Any, Any], None], Any]
    ] = [
        ("sqlite3 narrow", "anchors-style rows: no JSON, no hash", append_narrow,
         fresh_narrow, check_narrow, close_conn),
        ("sqlite3 floor", SAME_ROWS, append_floor, fresh_floor, check_floor, close_log),
        ("sqlite3 nt-schema", "same rows into negotrack's own tables", append_floor,
         fresh_schema, check_floor, close_log),
    ]  # fmt: skip
    for system, label, fn, setup, check, teardown in table:
        bench.run(
            Case(next(ids), system, label, fn, wl.n, setup=setup, check=check, teardown=teardown)
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

    what = NT_APPEND[mode.name]
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
    what = NT_APPEND[mode.name]
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


# One scale case: kind, id, system, label, call, events per call, check, floor ids.
ScaleRow = tuple[
    str, str, str, str, Callable[[Any], Any], int, Callable[[Any, Any], None], tuple[str, ...]
]


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

    def check_known_rows(rows: list[Any], _: Any) -> None:
        expect_cells(cells_of_rows(rows), expected_known, "raw known")

    def check_matrix(want: dict[Cell, str], what: str) -> Callable[[Any, Any], None]:
        return lambda m, _: expect_cells(matrix_cells(m), want, what)

    def check_raw_history(out: Any, _: Any) -> None:
        expect([r[1] for r, _ in out], history, "raw history")

    def check_history(h: Any, _: Any) -> None:
        expect([e.event_id for e in h], history, "history")

    floor, nt, seeks = "sqlite3 floor", "negotrack/sqlite", ("5a", "5b", "5c")
    # The label gets ", N=..." appended.
    table: list[ScaleRow] = [
        ("max_join", "5a", floor, "as-of T, per-cell MAX() join",
         lambda _: conn.query(AS_OF_MAX_JOIN, (NEGOTIATION, wl.as_of_us, NEGOTIATION)),
         cells, check_rows, ()),
        ("window", "5b", floor, "as-of T, window function",
         lambda _: conn.query(AS_OF_WINDOW, (NEGOTIATION, wl.as_of_us)), cells, check_rows, ()),
        ("seek", "5c", floor, "as-of T, per-cell index seek",
         lambda _: floor_seek(conn, wl.as_of_us), cells, check_rows, ()),
        ("known_floor", "5d", floor, "as-of T, known_at K, seek",
         lambda _: floor_seek(conn, wl.as_of_us, backend.floor_known_at_us),
         cells, check_known_rows, ()),
        ("matrix", "5e", nt, "matrix(as_of=T)",
         lambda _: neg.matrix(as_of), cells, check_matrix(expected, "matrix"), seeks),
        ("known", "5f", nt, "matrix(as_of=T, known_at=K)",
         lambda _: neg.matrix(as_of, known_at=known_at),
         cells, check_matrix(expected_known, "known matrix"), ("5d",)),
        ("history_floor", "5g", floor, "history of one cell + json",
         lambda _: floor_history(conn, wl.history_cell), len(history), check_raw_history, ()),
        ("history", "5h", nt, "history(party, clause)",
         lambda _: neg.history(*wl.history_cell), len(history), check_history, ("5g",)),
        ("matrix_cold", "5i", nt, "matrix(as_of=T), cold",
         lambda _: cold.matrix(as_of), cells, check_matrix(expected, "matrix"), seeks),
        ("known_cold", "5j", nt, "matrix(as_of=T, known_at=K), cold",
         lambda _: cold.matrix(as_of, known_at=known_at),
         cells, check_matrix(expected_known, "known matrix"), ("5d",)),
        ("history_cold", "5k", nt, "history(party, clause), cold",
         lambda _: cold.history(*wl.history_cell), len(history), check_history, ("5g",)),
    ]  # fmt: skip
    for kind, case_id, system, what, fn, count, check, floor_ids in table:
        label = f"{what}, N={n}"
        bench.run(Case(case_id, system, label, fn, count, "query", check=check, floor=floor_ids))
        got[kind] = case_id
    return got


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
