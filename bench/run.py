#!/usr/bin/env python3
"""negotrack benchmark: negotrack beside the best raw SQL (the floors) and eventsourcing (the peer).

One process generates one workload (stance events of one negotiation, over
party x clause cells) and runs the same work through:

  * raw ``sqlite3``, the floors, each the best raw design for its query: the
    *same rows* negotrack writes (JSON payload, sha256 hash chain) with an
    as-of index on ``(stream, valid_at, position)``; the *narrow* rows (one
    row per event, plain columns, only that index); and negotrack's own
    schema filled by raw SQL (the cost of negotrack's Python layer alone);
  * the ``eventsourcing`` library (9.5, SQLite persistence), the peer;
  * negotrack on SQLite and, with ``--postgres URL``, on PostgreSQL (beside a
    raw ``psycopg`` floor writing the same rows).

Cases (see bench/README.md for the method):

  1. append in batches of 100 (one transaction each) and as one bulk import;
  2. the as-of matrix of every cell, warm and cold, and as known at K;
  3. the history of one cell, and the diff of two dates;
  4. a full replay: read, decode and fold every event;
  5. the matrix and the history again on a log of ``--scale-n`` events;
  6, 7. cases 2 and 3 on PostgreSQL;
  8. the YAML import of a dataset file (stances/s, peak memory vs file size);
  9. ``record_stance``, one stance per transaction.

The cases compared with each other form a group, and a group's repetitions are
interleaved (A1 B1 C1 A2 B2 C2 ...) so that a change in the machine's load hits
every system alike; the load average seen is reported per case.  A query runs
in a loop long enough (``--min-time``) to be timed reliably, and its time is per
call.  The peak memory of a case (tracemalloc) comes from one more, untimed run.
Every result is checked against the answer computed in plain Python from the
workload; a wrong answer stops the run with exit status 1.  Timings are never
asserted: the targets of issue #12 are printed as met / not met.

Examples:

    python bench/run.py --quick                       # CI: well under two minutes
    python bench/run.py --skip-scale --json out.json
    python bench/run.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --json bench/results/full.json --markdown bench/results/full.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime

from negobench.cases import (
    Run,
    append_cases,
    check_same_rows,
    nt_schema_fits,
    open_backend,
    query_cases,
    replay_cases,
    scale_cases,
    single_cases,
    yaml_cases,
)
from negobench.floor_postgres import PgSchemas
from negobench.floor_sqlite import RawConn
from negobench.harness import DISTURBED, Bench, cpu_times, expect, own_seconds
from negobench.peer import HAVE_EVENTSOURCING
from negobench.report import (
    cpu_summary,
    evaluate_targets,
    markdown,
    negotrack_source,
    package_versions,
    print_report,
    source_digest,
    to_json,
)
from negobench.workload import (
    QUOTE_LEN,
    cell_shape,
    floor_item,
    make_workload,
    registration_events,
    stance_event,
)

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
        default=3,
        help="repetitions per case, interleaved across the systems of a group; "
        "the median is reported (default 3)",
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
        "--yaml-stances",
        type=int,
        default=5_000,
        help="stances in the dataset file of the YAML import (default 5000)",
    )
    parser.add_argument(
        "--single",
        type=int,
        default=2_000,
        help="stances recorded one per transaction by record_stance (default 2000)",
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
        help="CI size: -n 2000 -s 200 --repeat 1 --min-time 0.02 --skip-scale "
        "--yaml-stances 200 --single 100",
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
        args.yaml_stances, args.single = 200, 100
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


def run_all(run: Run) -> None:
    """Every case, in order: appends, queries, replay, scale, YAML import, single stances."""
    args, wl = run.args, run.wl
    append_cases(run)
    floor = RawConn.sqlite(run.path("floor.sqlite"))
    narrow = RawConn.sqlite(run.path("narrow.sqlite"))
    backends = [
        open_backend(
            "sqlite", "sqlite3", f"sqlite:///{run.path('nt.sqlite')}", floor, wl, narrow=narrow
        )
    ]
    # The hash chain of the query database must hold (untimed; it reads the whole log).
    expect(backends[0].tracker.verify().position, run.total_events, "verified events")
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
    try:
        for backend in backends:
            query_cases(run, backend)
        replay_cases(run, backends)
    finally:
        for backend in backends:
            backend.close()
        if run.es_app is not None:
            run.es_app.close()
    if not args.skip_scale:
        scale_cases(run)
    yaml_cases(run)
    single_cases(run)


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
    run.nt_schema = nt_schema_fits(work_dir)
    if not run.nt_schema:
        run.notes.append(
            "negotrack's tables no longer have the columns the nt-schema floor writes: "
            "that floor (1c, 1j) was skipped"
        )
    try:
        run_all(run)
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
    targets = evaluate_targets(bench.results, run.yaml_bytes)
    print_report(bench.results, targets, meta, run.notes)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(to_json(bench.results, targets, meta, run.notes), f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(bench.results, targets, meta, run.notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
