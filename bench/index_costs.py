#!/usr/bin/env python3
"""What each guarantee of negotrack's schema costs a batched append, in raw SQL.

negotrack writes the benchmark's workload (batches of 100 stances) into a
SQLite file; its rows (``events``, ``cell_entries``, ``cells``) are read back,
and the very same rows are then inserted again by raw ``sqlite3``, batch by
batch, into negotrack's own schema and into the same schema with one thing
taken away at a time:

  * ``UNIQUE (event_id)``: the database's own refusal of a second event with
    an id (idempotency), which a writer's check under the lock also makes;
  * ``UNIQUE (stream, version)``: its refusal of two events at one version of
    a stream (optimistic concurrency), which the writers' lock also ensures;
  * both of them;
  * the cell index (``cell_entries``), which the as-of query seeks;
  * the two indexes that grow only at their right edge (negotiation and type,
    record time);
  * the BEFORE INSERT triggers that refuse an ``INSERT OR REPLACE`` (migration
    0004): each looks up every unique key of the new row before the insert does.

No Python of negotrack's runs in the timed part: the differences are what the
database spends on each index.  The cells' rows are written before the timer
starts (negotrack writes each with its first stance), the same for every variant.

With ``--bulk`` the stances go in one transaction instead (inserted 500 rows
at a time, as negotrack's large appends are), into negotrack's schema with
SQLite's page cache at its default and at larger sizes: what the page cache
of a large append (``LARGE_WRITE_CACHE_KIB``) saves.  Repetitions are interleaved across the
variants, and the median is shown.  docs/performance.md quotes a run
("What the remaining targets would take").

    python bench/index_costs.py                  # 100,000 stances over 2,000 cells
    python bench/index_costs.py -n 20000 --repeat 5 --markdown out.md
    python bench/index_costs.py --bulk           # one transaction, page cache sizes
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from negobench.cases import nt_open_fresh, split
from negobench.harness import remove_db
from negobench.workload import make_workload, registration_events, stance_event

from negotrack.store.sql.engine import LARGE_WRITE_CACHE_KIB, SQLITE_PRAGMAS
from negotrack.store.sql.write import WRITE_CHUNK

# A unique key taken away goes with its lookup in the REPLACE guard (without its
# index, that lookup would scan the table).
_EVENT_ID_UNIQUE = (
    ", \n\tUNIQUE (event_id)",
    " OR EXISTS (SELECT 1 FROM events WHERE event_id = NEW.event_id)",
)
_STREAM_VERSION_UNIQUE = (
    ", \n\tCONSTRAINT events_stream_version UNIQUE (stream, version)",
    " OR EXISTS (SELECT 1 FROM events WHERE stream = NEW.stream AND version = NEW.version)",
)
_GROWING = ("CREATE INDEX events_negotiation_type", "CREATE INDEX events_recorded_at")
_REPLACE_GUARDS = tuple(
    f"CREATE TRIGGER {table}_no_replace" for table in ("events", "cell_entries", "cells")
)


@dataclass(frozen=True)
class Variant:
    """negotrack's schema with some of its DDL taken away."""

    name: str
    cut: tuple[str, ...] = ()  # fragments removed from the CREATE TABLE statements
    skip: tuple[str, ...] = ()  # statements left out: those starting with one of these
    entries: bool = True  # whether the cell index rows are written
    cache_kib: int | None = None  # SQLite's page cache (None: its default)


VARIANTS = (
    Variant("negotrack's schema"),
    Variant("without UNIQUE (event_id)", cut=_EVENT_ID_UNIQUE),
    Variant("without UNIQUE (stream, version)", cut=_STREAM_VERSION_UNIQUE),
    Variant("without both unique keys", cut=_EVENT_ID_UNIQUE + _STREAM_VERSION_UNIQUE),
    Variant(
        "without the cell index",
        skip=('CREATE TABLE "cell_entries"', "CREATE TRIGGER cell_entries_"),
        entries=False,
    ),
    Variant("without the two growing indexes", skip=_GROWING),
    Variant("without the REPLACE guards (migration 0004)", skip=_REPLACE_GUARDS),
)

BULK_VARIANTS = (
    Variant("SQLite's default page cache"),
    Variant("16 MiB page cache", cache_kib=16 * 1024),
    Variant("32 MiB page cache (negotrack's large append)", cache_kib=LARGE_WRITE_CACHE_KIB),
    Variant("64 MiB page cache", cache_kib=64 * 1024),
)


@dataclass
class Rows:
    """negotrack's rows of one run, and the DDL of its tables."""

    ddl: list[str]
    registration: list[tuple[Any, ...]]  # the events before the first stance
    stances: list[tuple[Any, ...]]
    entries: list[tuple[Any, ...]]
    cells: list[tuple[Any, ...]]
    batch: int  # stances a transaction; 0: all of them in one
    times: dict[str, list[float]] = field(default_factory=dict)


def negotrack_rows(path: str, n: int, s: int, batch: int, seed: int) -> Rows:
    """Write the workload through negotrack, then read its rows back in position order."""
    wl = make_workload(n, s, batch or n, seed)
    tracker = nt_open_fresh(f"sqlite:///{path}", registration_events(wl))
    for chunk in split([stance_event(st) for st in wl.stances], batch or n):
        tracker.append(chunk)
    tracker.close()
    conn = sqlite3.connect(path)
    try:
        ddl = [
            sql
            for (sql,) in conn.execute(
                # The tables, their indexes and triggers, as negotrack's migrations made them.
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND tbl_name IN ('events', 'cell_entries', 'cells') "
                "ORDER BY type = 'trigger', rowid"
            )
        ]
        events = conn.execute("SELECT * FROM events ORDER BY position").fetchall()
        entries = conn.execute("SELECT * FROM cell_entries ORDER BY position").fetchall()
        cells = conn.execute("SELECT * FROM cells").fetchall()
    finally:
        conn.close()
    first = len(events) - len(entries)  # every stance has one entry; the declarations none
    if any(entry[5] != row[0] for row, entry in zip(events[first:], entries, strict=True)):
        raise SystemExit("the stances and their cell entries do not pair up by position")
    return Rows(ddl, events[:first], events[first:], entries, cells, batch)


def schema_of(rows: Rows, variant: Variant) -> list[str]:
    """The DDL of ``variant``; fails if a fragment it cuts is not in negotrack's schema."""
    for start in variant.skip:
        if not any(sql.startswith(start) for sql in rows.ddl):
            raise SystemExit(f"{variant.name}: no {start!r} in the schema")
    statements = [sql for sql in rows.ddl if not sql.startswith(variant.skip)]
    for fragment in variant.cut:
        matching = [i for i, sql in enumerate(statements) if fragment in sql]
        if len(matching) != 1:
            raise SystemExit(f"{variant.name}: {fragment!r} is not in the schema once")
        statements[matching[0]] = statements[matching[0]].replace(fragment, "")
    return statements


def insert_all(path: str, rows: Rows, variant: Variant) -> float:
    """Seconds to insert the stances' rows into a new file, a batch a transaction (or
    all in one, a chunk of rows at a time)."""
    remove_db(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        if variant.cache_kib is not None:
            conn.execute(f"PRAGMA cache_size=-{variant.cache_kib}")
        for sql in schema_of(rows, variant):
            conn.execute(sql)
        marks = ", ".join("?" * len(rows.stances[0]))
        insert_event = f"INSERT INTO events VALUES ({marks})"
        insert_entry = f"INSERT INTO cell_entries VALUES ({', '.join('?' * len(rows.entries[0]))})"
        conn.executemany("INSERT INTO cells VALUES (?, ?, ?)", rows.cells)
        conn.executemany(insert_event, rows.registration)
        step = rows.batch or WRITE_CHUNK
        started = time.perf_counter()
        if not rows.batch:
            conn.execute("BEGIN IMMEDIATE")
        for start in range(0, len(rows.stances), step):
            if rows.batch:
                conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert_event, rows.stances[start : start + step])
            if variant.entries:
                conn.executemany(insert_entry, rows.entries[start : start + step])
            if rows.batch:
                conn.execute("COMMIT")
        if not rows.batch:
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
        if count != len(rows.registration) + len(rows.stances):
            raise SystemExit(f"{variant.name}: {count} events written")
        return elapsed
    finally:
        conn.close()


def report(rows: Rows, variants: Sequence[Variant]) -> str:
    n = len(rows.stances)
    full = statistics.median(rows.times[variants[0].name])
    repeat, load = len(rows.times[variants[0].name]), os.getloadavg()[0]
    how = f"in batches of {rows.batch}" if rows.batch else "in one transaction"
    lines = [
        f"{n:,} stances {how}, raw sqlite3, negotrack's own rows "
        f"(medians of {repeat}; 1-minute load {load:.1f} at the end)",
        "",
        f"| variant | time | µs an event | saved against {variants[0].name} |",
        "|---|---:|---:|---:|",
    ]
    for variant in variants:
        median = statistics.median(rows.times[variant.name])
        saved = f"{(full - median) / n * 1e6:.1f} µs ({1 - median / full:.0%})"
        if variant is variants[0]:
            saved = "-"
        lines.append(f"| {variant.name} | {median:.2f} s | {median / n * 1e6:.1f} | {saved} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--events", type=int, default=100_000, help="stances (100,000)")
    parser.add_argument("-s", "--cells", type=int, default=2_000, help="cells (2,000)")
    parser.add_argument("--batch", type=int, default=100, help="stances a transaction (100)")
    parser.add_argument(
        "--bulk", action="store_true", help="all stances in one transaction; page cache sizes"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each variant (3)")
    parser.add_argument("--seed", type=int, default=1234, help="workload seed (the benchmark's)")
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args(argv)

    batch, variants = (0, BULK_VARIANTS) if args.bulk else (args.batch, VARIANTS)
    with tempfile.TemporaryDirectory(prefix="negotrack-index-costs-") as tmp:
        print(f"negotrack writes {args.events:,} stances ...", file=sys.stderr)
        rows = negotrack_rows(
            os.path.join(tmp, "negotrack.sqlite"), args.events, args.cells, batch, args.seed
        )
        target = os.path.join(tmp, "raw.sqlite")
        for repetition in range(args.repeat):
            for variant in variants:  # interleaved: drift hits every variant alike
                seconds = insert_all(target, rows, variant)
                rows.times.setdefault(variant.name, []).append(seconds)
                print(f"  {repetition + 1}  {variant.name:44} {seconds:.2f} s", file=sys.stderr)
    table = report(rows, variants)
    print(table)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
