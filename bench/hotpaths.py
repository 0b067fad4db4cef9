#!/usr/bin/env python3
"""Where negotrack's batched append and replay spend their time.

Two views of the same work, on the benchmark's workload:

  * **per-event costs**, timed without a profiler: each step of the write path
    (reference checks, encoding, the hash chain, SQLAlchemy's inserts against
    the same rows through the driver's executemany) and of the read path
    (fetching the rows, json.loads, decoding through cattrs, and the trusted
    decode reads use) run alone in a loop;
  * **a cProfile of the whole call**, its own time summed by area (sqlite3,
    SQLAlchemy, cattrs, attrs validators, json, hashing, negotrack's modules),
    plus the functions with the most own time; the same for a YAML import.

Both count the CPU time of this process (``time.process_time``), not wall
time: on a shared machine other processes stretch wall time, not CPU time.
Time spent waiting (a disk flush, the PostgreSQL server) is therefore not
counted.  cProfile slows Python-heavy code more than C calls, so its shares
lean towards Python; the per-event table is the one to quote for absolute costs.

    python bench/hotpaths.py                # 20,000 events over 2,000 cells
    python bench/hotpaths.py -n 50000 --top 30
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from negobench.cases import nt_open_fresh, split
from negobench.workload import (
    NEGOTIATION,
    at,
    dataset_yaml,
    make_workload,
    registration_events,
    stance_event,
)
from sqlalchemy import insert

import negotrack
from negotrack import codec
from negotrack.io.dataset import import_dataset
from negotrack.projections.matrix import project_matrix
from negotrack.store.chain import chain
from negotrack.store.schema import cell_entries, events
from negotrack.store.sql import SqlEventStore

# Areas of a profile, by the file (or built-in) a function lives in; first match wins.
AREAS: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("sqlite3 (C: execute, fetch, commit)", lambda f, n: "sqlite3" in n or "sqlite3" in f),
    ("SQLAlchemy", lambda f, n: "sqlalchemy" in f),
    ("PyYAML (the pure-Python loader)", lambda f, n: "/yaml/" in f or "_yaml" in n),
    ("negotrack dataset import (specs, checks)", lambda f, n: "negotrack/io/" in f),
    ("cattrs (un)structure", lambda f, n: "cattrs" in f or "cattrs" in n),
    ("attrs __init__ and validators", lambda f, n: "attr" in f or "negotrack/model.py" in f),
    ("json", lambda f, n: "json" in f or "json" in n or "encode_basestring" in n),
    ("hashing (sha256)", lambda f, n: "sha256" in n or "hexdigest" in n or "integrity.py" in f),
    ("negotrack codec", lambda f, n: "negotrack/codec.py" in f),
    ("negotrack store", lambda f, n: "negotrack/store/" in f),
    ("negotrack tracker (reference checks)", lambda f, n: "negotrack/tracker.py" in f),
    ("negotrack events (validators), time, projections", lambda f, n: "negotrack/" in f),
    ("datetime, enum and other built-ins", lambda f, n: f == "~"),
)


def area_of(filename: str, name: str) -> str:
    for area, matches in AREAS:
        if matches(filename, name):
            return area
    return "other Python"


def per_call(fn: Callable[[], Any], count: int, min_time: float = 0.3) -> float:
    """Seconds per item of ``fn()`` (which handles ``count`` items), best of three loops."""
    best = float("inf")
    for _ in range(3):
        loops, start = 0, time.process_time()
        while True:
            fn()
            loops += 1
            elapsed = time.process_time() - start
            if elapsed >= min_time / 3:
                break
        best = min(best, elapsed / loops / count)
    return best


def profile(fn: Callable[[], Any], top: int) -> tuple[float, list[tuple[str, float]], str]:
    """CPU time under cProfile, own time per area (seconds), and the top functions."""
    profiler = cProfile.Profile(time.process_time)
    start = time.process_time()
    profiler.runcall(fn)
    wall = time.process_time() - start
    stats = pstats.Stats(profiler)
    areas: dict[str, float] = defaultdict(float)
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        areas[area_of(filename, name)] += own
    text = _top(stats, top)
    return wall, sorted(areas.items(), key=lambda kv: -kv[1]), text


def _top(stats: pstats.Stats, top: int) -> str:
    import io

    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return "\n".join(line.replace(os.getcwd() + "/", "") for line in lines[start:])


def report_areas(title: str, wall: float, n: int, areas: Sequence[tuple[str, float]]) -> None:
    total = sum(seconds for _, seconds in areas)
    print(f"\n{title}: {wall:.2f} s CPU under cProfile ({n:,} events); own time by area:")
    for area, seconds in areas:
        print(
            f"  {area:<50} {seconds:7.2f} s  {100 * seconds / total:5.1f}%  "
            f"{1e6 * seconds / n:6.1f} us/event"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("-n", "--events", type=int, default=20_000)
    parser.add_argument("-s", "--cells", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--top", type=int, default=20, help="functions listed per profile")
    parser.add_argument(
        "--yaml-stances", type=int, default=2_000, help="stances of the profiled YAML import"
    )
    args = parser.parse_args(argv)
    wl = make_workload(args.events, args.cells, args.batch, 1234)
    evs = [stance_event(s) for s in wl.stances]
    batches = split(evs, args.batch)
    work = tempfile.mkdtemp(prefix="negotrack-profile-", dir="/tmp")
    try:
        run(args, wl, evs, batches, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run(args: argparse.Namespace, wl: Any, evs: list[Any], batches: Any, work: str) -> None:
    n = wl.n
    url = f"sqlite:///{os.path.join(work, 'nt.sqlite')}"
    print(f"workload: {n:,} stance events over {wl.cells:,} cells, batches of {args.batch}")

    # -- the write path, whole and step by step --------------------------------
    tracker = nt_open_fresh(url, registration_events(wl))
    start = time.process_time()
    for batch in batches:
        tracker.append(batch)
    append_wall = time.process_time() - start
    rows = [
        dict(r._mapping)
        for r in tracker.store.engine.connect().execute(events.select().order_by(events.c.position))
    ]
    stance_rows = [r for r in rows if r["type"] == "StanceRecorded"]
    entries = [
        {
            "negotiation": NEGOTIATION,
            "party": r["party"],
            "clause": r["clause"],
            "version": i,
            "valid_at": r["valid_at"],
            "position": r["position"],
            "withdrawn": False,
        }
        for i, r in enumerate(stance_rows)
    ]
    steps: list[tuple[str, float]] = [
        ("whole batched append (Tracker.append per 100)", append_wall / n),
        ("Tracker._admit (the write rules)", per_call(lambda: tracker._admit(evs, None), n)),
        (
            "codec.encode (cattrs unstructure + canonical JSON)",
            per_call(lambda: [codec.encode(e) for e in evs], n),
        ),
        (
            "  of which codec.unstructure_event",
            per_call(lambda: [codec.unstructure_event(e) for e in evs], n),
        ),
        (
            "hash chain (integrity.chain per row)",
            per_call(lambda: [chain("0" * 64, r) for r in stance_rows], n),
        ),
    ]
    steps += insert_costs(work, stance_rows, entries, args.batch)
    tracker.close()

    # -- the read path --------------------------------------------------------------
    tracker = nt_open_fresh(url.replace("nt.sqlite", "nt2.sqlite"), registration_events(wl))
    for batch in batches:
        tracker.append(batch)
    as_of = at(wl.as_of_us)
    start = time.process_time()
    project_matrix(tracker.events(), NEGOTIATION, as_of)
    replay_wall = time.process_time() - start
    raw = sqlite3.connect(url.removeprefix("sqlite:///").replace("nt.sqlite", "nt2.sqlite"))
    select_all = "SELECT * FROM events ORDER BY position"
    payloads = [
        (r[0], r[1], r[2])
        for r in raw.execute(
            "SELECT type, schema_version, payload FROM events WHERE type = 'StanceRecorded'"
        )
    ]
    decoded = [json.loads(p) for _, _, p in payloads]
    records = list(tracker.events())
    steps += [
        ("whole replay (project_matrix(tracker.events()))", replay_wall / n),
        ("  fetch every row, raw sqlite3", per_call(lambda: raw.execute(select_all).fetchall(), n)),
        (
            "  json.loads of the payload",
            per_call(lambda: [json.loads(p) for _, _, p in payloads], n),
        ),
        (
            "  codec.structure_event (cattrs + attrs validators)",
            per_call(
                lambda: [
                    codec.structure_event(t, v, d)
                    for (t, v, _), d in zip(payloads, decoded, strict=True)
                ],
                n,
            ),
        ),
        (
            "  codec.decode (json.loads + structure)",
            per_call(lambda: [codec.decode(t, v, p) for t, v, p in payloads], n),
        ),
        (
            "  codec.decode_stored (what reads use: no checks again)",
            per_call(lambda: [codec.decode_stored(t, v, p) for t, v, p in payloads], n),
        ),
        (
            "  project_matrix over records already decoded",
            per_call(lambda: project_matrix(records, NEGOTIATION, as_of), n),
        ),
    ]
    raw.close()

    print("\nPer-event CPU cost of each step, timed alone (no profiler):")
    for what, seconds in steps:
        print(f"  {what:<58} {1e6 * seconds:8.1f} us")

    # -- cProfile of both -----------------------------------------------------------------
    tracker.close()
    tracker = nt_open_fresh(url.replace("nt.sqlite", "nt3.sqlite"), registration_events(wl))

    def append_all() -> None:
        for batch in batches:
            tracker.append(batch)

    wall, areas, text = profile(append_all, args.top)
    report_areas("batched append", wall, n, areas)
    print(text)
    wall, areas, text = profile(
        lambda: project_matrix(tracker.events(), NEGOTIATION, as_of), args.top
    )
    report_areas("replay", wall, n, areas)
    print(text)
    tracker.close()

    # -- the YAML import ----------------------------------------------------------------
    count = min(args.yaml_stances, n)
    path = os.path.join(work, "dataset.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(dataset_yaml(wl, count))
    tracker = negotrack.open(url.replace("nt.sqlite", "yaml.sqlite"))
    wall, areas, text = profile(lambda: import_dataset(tracker, path), args.top)
    report_areas(f"YAML import of {os.path.getsize(path):,} bytes", wall, count, areas)
    print(text)
    tracker.close()


def insert_costs(
    work: str, rows: list[dict[str, Any]], entries: list[dict[str, Any]], batch: int
) -> list[tuple[str, float]]:
    """The two hot INSERTs of an append, through SQLAlchemy Core and through the driver."""
    # negotrack's own tables and engine settings (WAL, synchronous=NORMAL, explicit BEGIN),
    # in a fresh file for every run (the tables are append-only: triggers refuse DELETE).
    stores: list[SqlEventStore] = []

    def fresh() -> Any:
        stores.append(SqlEventStore(f"sqlite:///{os.path.join(work, f'ins{len(stores)}.sqlite')}"))
        return stores[-1].engine

    n = len(rows)
    row_batches, entry_batches = split(rows, batch), split(entries, batch)
    columns = list(rows[0])
    sql = f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    entry_columns = list(entries[0])
    entry_sql = (
        f"INSERT INTO cell_entries ({', '.join(entry_columns)}) "
        f"VALUES ({', '.join('?' * len(entry_columns))})"
    )
    tuples = [tuple(r[c] for c in columns) for r in rows]
    entry_tuples = [tuple(e[c] for c in entry_columns) for e in entries]

    def timed(fn: Callable[[Any], None]) -> float:
        engine = fresh()
        start = time.process_time()
        fn(engine)
        return (time.process_time() - start) / n

    def core_events(engine: Any) -> None:
        for chunk in row_batches:
            with engine.begin() as conn:
                conn.execute(insert(events), chunk)

    def core_both(engine: Any) -> None:
        for chunk, entry_chunk in zip(row_batches, entry_batches, strict=True):
            with engine.begin() as conn:
                conn.execute(insert(events), chunk)
                conn.execute(insert(cell_entries), entry_chunk)

    def driver_both(engine: Any) -> None:
        raw = engine.raw_connection()
        cursor = raw.cursor()
        for i in range(0, n, batch):
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(sql, tuples[i : i + batch])
            cursor.executemany(entry_sql, entry_tuples[i : i + batch])
            cursor.execute("COMMIT")
        raw.close()

    result = [
        ("INSERT events, SQLAlchemy Core, per 100", min(timed(core_events) for _ in range(3))),
        ("INSERT events + cell_entries, SQLAlchemy Core", min(timed(core_both) for _ in range(3))),
        (
            "INSERT events + cell_entries, driver executemany",
            min(timed(driver_both) for _ in range(3)),
        ),
    ]
    for store in stores:
        store.close()
    return result


if __name__ == "__main__":
    sys.exit(main())
