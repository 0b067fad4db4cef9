"""The cases: negotrack beside the floors and the peer, each group's repetitions interleaved."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import negotrack
from negotrack.events import Event, StanceRecorded
from negotrack.io.dataset import import_dataset
from negotrack.model import Evidence, Source
from negotrack.projections.matrix import project_matrix
from negotrack.store.sql import SqlEventStore
from negotrack.tracker import Negotiation, Tracker

from .floor_postgres import PgSchemas
from .floor_sqlite import (
    AS_OF_MAX_JOIN,
    AS_OF_WINDOW,
    EVENT_COLUMNS,
    NARROW,
    SAME_ROWS,
    FloorLog,
    RawConn,
    cells_of_rows,
    chain,
    floor_append,
    floor_cells,
    floor_create,
    floor_diff,
    floor_history,
    floor_replay,
    floor_seek,
    narrow_append,
    narrow_create,
    narrow_history,
    narrow_replay,
    narrow_rows,
    narrow_seek,
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
    dataset_yaml,
    dumps,
    floor_item,
    floor_payload,
    make_workload,
    registration_events,
    stance_event,
)


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
    nt_schema: bool = True  # negotrack's tables are the ones the nt-schema floor fills
    pg_schemas: dict[str, str] = field(default_factory=dict)  # kind -> schema kept for queries
    yaml_bytes: int = 0  # the size of the dataset file of case 8

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


def split(seq: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [seq[i : i + size] for i in range(0, len(seq), size)]


def count_rows(conn: RawConn, table: str = "events") -> int:
    return int(conn.query(f"SELECT COUNT(*) FROM {table}")[0][0])


class PgFresh:
    """A fresh PostgreSQL schema per repetition and kind; the last one of each kind is kept."""

    def __init__(self, pg: PgSchemas) -> None:
        self.pg = pg
        self.schemas: dict[str, str] = {}

    def schema(self, kind: str) -> str:
        if kind in self.schemas:
            self.pg.drop(self.schemas[kind])
        self.schemas[kind] = self.pg.create()
        return self.schemas[kind]

    def floor(self, wl: Workload) -> FloorLog:
        conn = self.pg.raw(self.schema("floor"))
        floor_create(conn, wl)
        return FloorLog(conn)

    def tracker(self, registration: Sequence[Event]) -> Tracker:
        return nt_open_fresh(self.pg.sqlalchemy_url(self.schema("negotrack")), registration)


# -- 1. append ------------------------------------------------------------------

# The letter of each system's append case; the bulk cases take the letters 7 further on.
APPEND_IDS = {
    "narrow": "a",
    "floor": "b",
    "nt_schema": "c",
    "peer": "d",
    "nt": "e",
    "pg_floor": "f",
    "pg_nt": "g",
}


def append_id(kind: str, mode: str) -> str:
    letter = APPEND_IDS[kind]
    return "1" + (letter if mode == "batched" else chr(ord(letter) + len(APPEND_IDS)))


def append_cases(run: Run) -> None:
    """Case 1: append in batches (one transaction each), then bulk import (one transaction)."""
    # Bulk first, so that the databases left for the queries are the batched ones,
    # whose record times spread over the whole append like a real log's.
    for mode, size in (("bulk", run.wl.n), ("batched", run.wl.batch_size)):
        cases = sqlite_append_cases(run, mode, size) + pg_append_cases(run, mode, size)
        run.bench.run_group(cases)


def sqlite_append_cases(run: Run, mode: str, size: int) -> list[Case]:
    wl = run.wl
    items, events = split(run.items, size), split(run.events, size)
    narrow_batches = split(narrow_rows(wl), size)
    paths = {kind: run.path(f"{kind}.sqlite") for kind in ("narrow", "floor", "nt_schema", "nt")}

    def fresh(kind: str) -> RawConn:
        remove_db(paths[kind])
        return RawConn.sqlite(paths[kind])

    def fresh_narrow() -> RawConn:
        conn = fresh("narrow")
        narrow_create(conn, wl)
        return conn

    def fresh_floor() -> FloorLog:
        conn = fresh("floor")
        floor_create(conn, wl)
        return FloorLog(conn)

    def fresh_nt_schema() -> FloorLog:
        # negotrack's own tables, indexes and triggers, created by negotrack, filled raw.
        remove_db(paths["nt_schema"])
        SqlEventStore(f"sqlite:///{paths['nt_schema']}").close()
        return FloorLog(RawConn.sqlite(paths["nt_schema"]), entries=True)

    def fresh_nt() -> Tracker:
        remove_db(paths["nt"])
        return nt_open_fresh(f"sqlite:///{paths['nt']}", run.registration)

    def check_narrow(_: Any, conn: RawConn) -> None:
        expect(count_rows(conn), wl.n, "narrow rows")

    def check_floor(_: Any, log: FloorLog) -> None:
        expect(count_rows(log.conn), wl.n, "floor rows")
        if log.entries:
            expect(count_rows(log.conn, "cell_entries"), wl.n, "floor cell entries")

    def check_nt(_: Any, tracker: Tracker) -> None:
        expect(tracker.store.last_position(), run.total_events, "negotrack events stored")

    def close(conn: RawConn) -> None:
        conn.close()

    def close_log(log: FloorLog) -> None:
        log.conn.close()

    def ident(kind: str) -> str:
        return append_id(kind, mode)

    # kind, system, label, call, setup, check, teardown: one floor case each.
    floors: list[tuple[str, str, str, Callable[[Any], Any], Any, Any, Any]] = [
        ("narrow", "sqlite3 narrow", NARROW, lambda c: narrow_append(c, narrow_batches),
         fresh_narrow, check_narrow, close),
        ("floor", "sqlite3 floor", SAME_ROWS, lambda log: floor_append(log, items),
         fresh_floor, check_floor, close_log),
    ]  # fmt: skip
    if run.nt_schema:
        floors.append(
            ("nt_schema", "sqlite3 nt-schema", "same rows into negotrack's own tables",
             lambda log: floor_append(log, items), fresh_nt_schema, check_floor, close_log)
        )  # fmt: skip
    cases = [
        Case(ident(kind), system, label, fn, wl.n, setup=setup, check=check, teardown=teardown)
        for kind, system, label, fn, setup, check, teardown in floors
    ]
    if not run.args.skip_eventsourcing:
        cases.append(peer_append_case(run, mode, size))
    cases.append(
        Case(
            ident("nt"),
            "negotrack/sqlite",
            NT_APPEND[mode],
            lambda tracker: nt_append_batches(tracker, events),
            wl.n,
            setup=fresh_nt,
            check=check_nt,
            teardown=lambda tracker: tracker.close(),
            floor=(ident("narrow"), ident("floor")),
            peer=None if run.args.skip_eventsourcing else ident("peer"),
        )
    )
    return cases


# negotrack's append call, per mode, as the report labels it (SQLite and PostgreSQL alike).
NT_APPEND = {"batched": "Tracker.append(batch)", "bulk": "Tracker.append(all events)"}


def peer_append_case(run: Run, mode: str, size: int) -> Case:
    wl = run.wl
    path = run.path("eventsourcing.sqlite")
    batches = split([es_args(s) for s in wl.stances], size)

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

    return Case(
        append_id("peer", mode),
        "eventsourcing",
        "app.save per batch" if mode == "batched" else "one app.save of all",
        lambda app: es_save(app, batches),
        wl.n,
        setup=fresh,
        check=check,
        note="makes its events in the timed run",
    )


def pg_append_cases(run: Run, mode: str, size: int) -> list[Case]:
    if run.pg is None:
        return []
    wl, fresh = run.wl, PgFresh(run.pg)
    items, events = split(run.items, size), split(run.events, size)
    if mode == "batched":  # keep the batched databases for the queries
        run.pg_schemas = fresh.schemas

    def check_floor(_: Any, log: FloorLog) -> None:
        expect(count_rows(log.conn), wl.n, "pg floor rows")

    def check_nt(_: Any, tracker: Tracker) -> None:
        expect(tracker.store.last_position(), run.total_events, "negotrack events stored")

    floor_id = append_id("pg_floor", mode)
    return [
        Case(
            floor_id,
            "psycopg floor",
            SAME_ROWS,
            lambda log: floor_append(log, items),
            wl.n,
            setup=lambda: fresh.floor(wl),
            check=check_floor,
            teardown=lambda log: log.conn.close(),
        ),
        Case(
            append_id("pg_nt", mode),
            "negotrack/postgresql",
            NT_APPEND[mode],
            lambda tracker: nt_append_batches(tracker, events),
            wl.n,
            setup=lambda: fresh.tracker(run.registration),
            check=check_nt,
            teardown=lambda tracker: tracker.close(),
            floor=(floor_id,),
        ),
    ]


# -- 2-4. queries ------------------------------------------------------------------


@dataclass
class Backend:
    """One negotrack database and its floors, holding the same workload."""

    name: str  # "sqlite" or "postgresql"
    prefix: str  # the system label prefix: "sqlite3" or "psycopg"
    tracker: Tracker
    floor: RawConn
    floor_known_at_us: int  # the floor's record time of the known_at event
    cold: Tracker  # the same database without the store's decoded-event cache
    narrow: RawConn | None  # the narrow floor (SQLite only)

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
        if self.narrow is not None:
            self.narrow.close()


def open_backend(
    name: str, prefix: str, url: str, floor: RawConn, wl: Workload, *, narrow: RawConn | None = None
) -> Backend:
    # The store keeps decoded events (keyed by row hash) for reads, so a query
    # repeated on the default store is "warm": it skips decoding.  The "cold"
    # tracker has no such cache, so every call decodes what it returns.
    tracker = negotrack.open(url)
    cold = Tracker(SqlEventStore(url, create=False, decoded_cache=0))
    known_id = wl.stances[wl.known_index].event_id
    known = floor.query("SELECT recorded_at FROM events WHERE event_id = ?", (known_id,))
    return Backend(name, prefix, tracker, floor, int(known[0][0]), cold, narrow)


def nt_known_at(backend: Backend, wl: Workload) -> datetime:
    """The record time of the event in the middle of the recording history."""
    return backend.tracker.event(wl.stances[wl.known_index].event_id).recorded_at


def matrix_cells(matrix: Any) -> dict[Cell, str]:
    return {key: cell.event_id for key, cell in matrix.cells.items()}


# The group of each backend's matrix and history cases; the scale cases are group 5.
GROUP_OF_BACKEND = {"sqlite": ("2", "3"), "postgresql": ("6", "7")}
# The floors a matrix is held to: the best raw as-of queries returning the same data
# (the payload decoded, or the narrow columns).
SAME_DATA = ("d", "e")


def matrix_cases(run: Run, backend: Backend, group: str, with_peer: bool) -> list[Case]:
    """The as-of matrix of every cell, warm and cold, beside the raw as-of queries."""
    wl, conn = run.wl, backend.floor
    p, nt = backend.prefix, f"negotrack/{backend.name}"
    expected, expected_known = wl.expected_matrix(), wl.expected_matrix(known=True)
    as_of, known_at = at(wl.as_of_us), nt_known_at(backend, wl)
    cells = len(expected)
    scale = f", N={wl.n:,}" if group == "5" else ""

    def check_rows(want: dict[Cell, str]) -> Callable[[Any, Any], None]:
        return lambda rows, _: expect_cells(cells_of_rows(rows), want, "raw as-of rows")

    def check_decoded(want: dict[Cell, str]) -> Callable[[Any, Any], None]:
        return lambda out, _: expect_cells(cells_of_rows(r for r, _ in out), want, "raw cells")

    def check_matrix(want: dict[Cell, str]) -> Callable[[Any, Any], None]:
        return lambda m, _: expect_cells(matrix_cells(m), want, "negotrack matrix")

    def case(letter: str, system: str, label: str, fn: Callable[[Any], Any], **kw: Any) -> Case:
        return Case(
            group + letter, system, label + scale, fn, kw.pop("count", cells), "query", **kw
        )

    same = tuple(group + x for x in SAME_DATA if backend.narrow is not None or x != "e")
    known_floor = (group + "f",)
    cases = []
    if group != "5":  # the plain SQL forms, for reference (at scale they only show the scan)
        plain_forms: list[tuple[str, str, Callable[[Any], Any]]] = [
            ("a", "as-of T, MAX() join",
             lambda _: conn.query(AS_OF_MAX_JOIN, (NEGOTIATION, wl.as_of_us))),
            ("b", "as-of T, window function",
             lambda _: conn.query(AS_OF_WINDOW, (NEGOTIATION, wl.as_of_us))),
            ("c", "as-of T, per-cell seek, payload not decoded",
             lambda _: floor_seek(conn, wl.as_of_us)),
        ]  # fmt: skip
        cases += [
            case(letter, f"{p} floor", label, fn, check=check_rows(expected))
            for letter, label, fn in plain_forms
        ]
    cases.append(
        case(
            "d",
            f"{p} floor",
            "as-of T, per-cell seek + json.loads",
            lambda _: floor_cells(conn, wl.as_of_us),
            check=check_decoded(expected),
        )
    )
    narrow = backend.narrow
    if narrow is not None:
        cases.append(
            case(
                "e",
                f"{p} narrow",
                "as-of T, per-cell seek, columns",
                lambda _: narrow_seek(narrow, wl.as_of_us),
                check=check_rows(expected),
            )
        )
    cases.append(
        case(
            "f",
            f"{p} floor",
            "as-of T, known_at K, seek + json.loads",
            lambda _: floor_cells(conn, wl.as_of_us, backend.floor_known_at_us),
            check=check_decoded(expected_known),
        )
    )
    peer = None
    if with_peer and run.es_app is not None:
        app = run.es_app
        es_ids = [EsCell.create_id(pa, cl) for pa in wl.parties for cl in wl.clauses]
        peer = group + "g"
        cases.append(
            case(
                "g",
                "eventsourcing",
                f"repository.get x {len(es_ids)} cells",
                lambda _: [app.repository.get(i) for i in es_ids],
                count=wl.n,
                check=lambda aggs, _: expect(sum(a.version for a in aggs), wl.n, "replayed"),
                note="current state only: no as-of query",
            )
        )
    # The same two matrices on the default store (warm) and without its cache (cold).
    for plain, known, what, negotiation in (
        ("h", "i", "warm", backend.negotiation),
        ("j", "k", "cold", backend.cold_negotiation),
    ):
        cases += [
            case(
                plain,
                nt,
                f"matrix(as_of=T), {what}",
                lambda _, n=negotiation: n.matrix(as_of),
                check=check_matrix(expected),
                floor=same,
                peer=peer,
            ),
            case(
                known,
                nt,
                f"matrix(as_of=T, known_at=K), {what}",
                lambda _, n=negotiation: n.matrix(as_of, known_at=known_at),
                check=check_matrix(expected_known),
                floor=known_floor,
            ),
        ]
    return cases


def history_cases(run: Run, backend: Backend, group: str, with_peer: bool) -> list[Case]:
    """The history of one cell, warm and cold, and (not at scale) the diff of two dates."""
    wl, conn = run.wl, backend.floor
    p, nt = backend.prefix, f"negotrack/{backend.name}"
    cell, history = wl.history_cell, wl.expected_history()
    scale = f", N={wl.n:,}" if group == "5" else ""
    letters = {"a": "l", "b": "m", "c": "n", "d": "o", "e": "p"} if group == "5" else {}

    def case(letter: str, system: str, label: str, fn: Callable[[Any], Any], **kw: Any) -> Case:
        return Case(
            group + letters.get(letter, letter),
            system,
            label + scale,
            fn,
            kw.pop("count", len(history)),
            "query",
            **kw,
        )

    def check_history(h: Any, _: Any) -> None:
        expect([e.event_id for e in h], history, "negotrack history")

    floors = tuple(group + letters.get(x, x) for x in ("a", "b") if backend.narrow or x == "a")
    cases = [
        case(
            "a",
            f"{p} floor",
            "history of one cell + json.loads",
            lambda _: floor_history(conn, cell),
            check=lambda out, _: expect([r[1] for r, _ in out], history, "raw history"),
        ),
    ]
    narrow = backend.narrow
    if narrow is not None:
        cases.append(
            case(
                "b",
                f"{p} narrow",
                "history of one cell, columns",
                lambda _: narrow_history(narrow, cell),
                check=lambda out, _: expect([r[1] for r in out], history, "narrow history"),
            )
        )
    peer = None
    if with_peer and run.es_app is not None:
        app, es_id = run.es_app, EsCell.create_id(*cell)
        peer = group + "c"
        cases.append(
            case(
                "c",
                "eventsourcing",
                "events.get of one cell aggregate",
                lambda _: list(app.events.get(es_id)),
                check=lambda out, _: expect(len(out), len(history), "peer history"),
                note="version order, not valid time",
            )
        )
    warm_and_cold = (("d", "warm", backend.negotiation), ("e", "cold", backend.cold_negotiation))
    cases += [
        case(letter, nt, f"history(party, clause), {what}",
             lambda _, n=negotiation: n.history(*cell), check=check_history, floor=floors,
             peer=peer)
        for letter, what, negotiation in warm_and_cold
    ]  # fmt: skip
    if group == "5":
        return cases
    moves = wl.expected_moves()
    from_, to = at(wl.diff_from_us), at(wl.diff_to_us)

    def check_diff(d: Any, _: Any) -> None:
        expect({(m.party, m.clause) for m in d}, moves, "negotrack diff")

    cases.append(
        case(
            "f",
            f"{p} floor",
            "diff of two dates (2 seeks + json)",
            lambda _: floor_diff(conn, wl.diff_from_us, wl.diff_to_us),
            count=wl.cells,
            check=lambda out, _: expect(out, moves, "raw diff"),
        )
    )
    cases += [
        case(chr(ord(letter) + 3), nt, f"diff(from_, to), {what}",
             lambda _, n=negotiation: n.diff(from_, to), count=wl.cells, check=check_diff,
             floor=(group + "f",))
        for letter, what, negotiation in warm_and_cold
    ]  # fmt: skip
    return cases


def query_cases(run: Run, backend: Backend) -> None:
    """Cases 2 and 3 (6 and 7 on PostgreSQL): the matrix, then the history and diff."""
    matrix_group, history_group = GROUP_OF_BACKEND[backend.name]
    with_peer = backend.name == "sqlite"
    run.bench.run_group(matrix_cases(run, backend, matrix_group, with_peer))
    run.bench.run_group(history_cases(run, backend, history_group, with_peer))


# The letter of each replay case.
REPLAY_IDS = {
    ("sqlite", "floor"): "4a",
    ("sqlite", "narrow"): "4b",
    ("sqlite", "peer"): "4c",
    ("sqlite", "nt"): "4d",
    ("postgresql", "floor"): "4e",
    ("postgresql", "nt"): "4f",
}


def replay_cases(run: Run, backends: Sequence[Backend]) -> None:
    """Case 4: read every event, decode it, fold the as-of matrix (one group)."""
    cases: list[Case] = []
    for backend in backends:
        cases += replay_on(run, backend)
    run.bench.run_group(cases)


def replay_on(run: Run, backend: Backend) -> list[Case]:
    wl, conn, tracker = run.wl, backend.floor, backend.tracker
    expected = wl.expected_matrix()
    as_of = at(wl.as_of_us)

    def check_fold(out: tuple[int, dict[Cell, str]], _: Any) -> None:
        expect(out[0], wl.n, "events read")
        expect_cells(out[1], expected, "replayed matrix")

    floors = [REPLAY_IDS[backend.name, "floor"]]
    cases = [
        Case(
            floors[0],
            f"{backend.prefix} floor",
            "read + json.loads + fold, pages",
            lambda _: floor_replay(conn, wl.as_of_us),
            wl.n,
            check=check_fold,
        ),
    ]
    narrow = backend.narrow
    if narrow is not None:
        floors.append(REPLAY_IDS[backend.name, "narrow"])
        cases.append(
            Case(
                floors[-1],
                f"{backend.prefix} narrow",
                "read columns + fold, pages",
                lambda _: narrow_replay(narrow, wl.as_of_us),
                wl.n,
                check=check_fold,
            )
        )
    peer_id = None
    if backend.name == "sqlite" and run.es_app is not None:
        app = run.es_app
        peer_id = REPLAY_IDS["sqlite", "peer"]
        cases.append(
            Case(
                peer_id,
                "eventsourcing",
                "read log + decode + fold, pages",
                lambda _: es_replay(app, wl.as_of_us),
                wl.n,
                check=check_fold,
            )
        )
    cases.append(
        Case(
            REPLAY_IDS[backend.name, "nt"],
            f"negotrack/{backend.name}",
            "project_matrix(tracker.events())",
            lambda _: project_matrix(tracker.events(), NEGOTIATION, as_of),
            run.total_events,
            check=lambda m, _: expect_cells(matrix_cells(m), expected, "project_matrix"),
            floor=tuple(floors),
            peer=peer_id,
        )
    )
    return cases


# -- 5. scale ------------------------------------------------------------------------


def scale_cases(run: Run) -> None:
    """Case 5: the matrix and the history again on a log of --scale-n events."""
    args = run.args
    print(
        f"generating the scale workload: N={args.scale_n:,} S={args.cells:,} ...",
        file=sys.stderr,
        flush=True,
    )
    wl = make_workload(args.scale_n, args.cells, args.batch, args.seed)
    chunk = 10_000

    # Build the logs once, in chunks (bulk import of a million events would only
    # measure memory); the build times are reported for information.
    start = time.perf_counter()
    nt_url = f"sqlite:///{run.path('scale-negotrack.sqlite')}"
    tracker = nt_open_fresh(nt_url, registration_events(wl))
    for i in range(0, wl.n, chunk):
        tracker.append([stance_event(s) for s in wl.stances[i : i + chunk]])
    tracker.close()
    nt_build = time.perf_counter() - start
    start = time.perf_counter()
    floor = RawConn.sqlite(run.path("scale-floor.sqlite"))
    floor_create(floor, wl)
    log = FloorLog(floor)
    for i in range(0, wl.n, chunk):
        floor_append(log, [[floor_item(s) for s in wl.stances[i : i + chunk]]])
    floor_build = time.perf_counter() - start
    narrow = RawConn.sqlite(run.path("scale-narrow.sqlite"))
    narrow_create(narrow, wl)
    narrow_append(narrow, split(narrow_rows(wl), chunk))
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
    backend = open_backend("sqlite", "sqlite3", nt_url, floor, wl, narrow=narrow)
    scaled = Run(args, wl, run.bench, run.work_dir, None)
    try:
        cases = matrix_cases(scaled, backend, "5", False)
        cases += history_cases(scaled, backend, "5", False)
        run.bench.run_group(cases, min(run.bench.repeat, args.scale_repeat))
    finally:
        backend.close()


# -- 8. YAML import ------------------------------------------------------------------


def yaml_cases(run: Run) -> None:
    """Case 8: import a dataset file of --yaml-stances stances into a fresh log."""
    import yaml

    count = min(run.args.yaml_stances, run.wl.n)
    path = run.path("dataset.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(dataset_yaml(run.wl, count))
    run.yaml_bytes = os.path.getsize(path)
    db = run.path("yaml.sqlite")
    declared = 1 + len(run.wl.parties) + len(run.wl.clauses)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def parse(_: Any) -> Any:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader

    def fresh() -> Tracker:
        remove_db(db)
        return negotrack.open(f"sqlite:///{db}")

    def check(result: Any, _: Any) -> None:
        expect(result.written, declared + count, "events imported")

    size = f"{run.yaml_bytes / 2**20:.1f} MiB file"
    run.bench.run_group(
        [
            Case(
                "8a",
                "PyYAML",
                f"parse the file only ({loader.__name__})",
                parse,
                count,
                check=lambda data, _: expect(len(data["stances"]), count, "stances parsed"),
                note=size,
            ),
            Case(
                "8b",
                "negotrack/sqlite",
                "import_dataset(tracker, path)",
                lambda tracker: import_dataset(tracker, path),
                count,
                setup=fresh,
                check=check,
                teardown=lambda tracker: tracker.close(),
                note=size,
            ),
        ]
    )


# -- 9. one stance per transaction ---------------------------------------------------


def single_cases(run: Run) -> None:
    """Case 9: record_stance one per transaction (--single stances), beside the floor."""
    wl = run.wl
    count = min(run.args.single, wl.n)
    stances, items = wl.stances[:count], [[item] for item in run.items[:count]]
    path, nt_path = run.path("single-floor.sqlite"), run.path("single-negotrack.sqlite")

    def record(tracker: Tracker) -> None:
        negotiation = tracker.negotiation(NEGOTIATION)
        for s in stances:
            negotiation.record_stance(
                s.party,
                s.clause,
                s.stance,
                valid_at=at(s.valid_us),
                evidence=Evidence(source=Source(outlet=s.outlet), quote=s.quote),
                event_id=s.event_id,
            )

    def fresh_floor() -> FloorLog:
        remove_db(path)
        conn = RawConn.sqlite(path)
        floor_create(conn, wl)
        return FloorLog(conn)

    def fresh_nt() -> Tracker:
        remove_db(nt_path)
        return nt_open_fresh(f"sqlite:///{nt_path}", run.registration)

    def check_floor(_: Any, log: FloorLog) -> None:
        expect(count_rows(log.conn), count, "floor rows")

    def check_nt(_: Any, tracker: Tracker) -> None:
        expect(
            tracker.store.last_position(),
            1 + len(run.registration) + count,
            "negotrack events stored",
        )

    label = f"{count:,} x record_stance"
    # (floor id, floor system, floor setup), (negotrack id, negotrack system, its setup)
    backends: list[tuple[str, str, Callable[[], Any], str, str, Callable[[], Any]]] = [
        ("9a", "sqlite3 floor", fresh_floor, "9b", "negotrack/sqlite", fresh_nt),
    ]
    if run.pg is not None:
        fresh = PgFresh(run.pg)
        backends.append(
            ("9c", "psycopg floor", lambda: fresh.floor(wl), "9d", "negotrack/postgresql",
             lambda: fresh.tracker(run.registration))
        )  # fmt: skip
    cases = []
    for floor_id, floor_system, floor_setup, nt_id, nt_system, nt_setup in backends:
        cases += [
            Case(floor_id, floor_system, f"{count:,} transactions of 1, same rows",
                 lambda log: floor_append(log, items), count, setup=floor_setup,
                 check=check_floor, teardown=lambda log: log.conn.close()),
            Case(nt_id, nt_system, label, record, count, setup=nt_setup, check=check_nt,
                 teardown=lambda tracker: tracker.close(), floor=(floor_id,)),
        ]  # fmt: skip
    try:
        run.bench.run_group(cases)
    finally:
        if run.pg is not None:
            for schema in fresh.schemas.values():
                run.pg.drop(schema)


# -- start-up checks ----------------------------------------------------------------


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


NT_SCHEMA_COLUMNS = {
    "cell_entries": {
        "negotiation",
        "party",
        "clause",
        "version",
        "valid_at",
        "position",
        "withdrawn",
    },
    "cells": {"negotiation", "party", "clause"},
}


def nt_schema_fits(work_dir: str) -> bool:
    """Whether negotrack's tables still have the columns the nt-schema floor writes."""
    path = os.path.join(work_dir, "nt-schema-probe.sqlite")
    SqlEventStore(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    try:
        return all(
            columns <= {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for table, columns in NT_SCHEMA_COLUMNS.items()
        )
    finally:
        conn.close()
        remove_db(path)
