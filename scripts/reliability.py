"""Rerun the reliability figures of docs/reliability.md and print them as a Markdown table.

It runs the hostile-input suite (tests/test_hostile.py) with as many examples
as asked, the JSON Lines tampering suite (tests/test_jsonl.py) and the store's
tamper table (tests/test_trust.py), then the load and the crashes of
tests/pressure.py at the full size, on SQLite and, when
``NEGOTRACK_TEST_POSTGRES_URL`` is set, PostgreSQL too; then counts what was
tried and what held.  Any foreign exception, any refused call that changed the
log, any tampering not caught fails a test, and any event lost, duplicated or
skipped, any conflict missed, any false alarm or partial batch fails the run.

    .venv/bin/python scripts/reliability.py --examples 2000 --writers 8 --appends 2000 --kills 100
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the harness lives with the tests

from tests import pressure  # noqa: E402
from tests.conftest import POSTGRES_URL, Backend  # noqa: E402


def run_suite(examples: int, folder: Path) -> tuple[Counter[str], Counter[str], int]:
    """Run the suites; return the hostile tally, the tests passed by class, the exit code."""
    tally_file = folder / "tally.json"
    junit = folder / "junit.xml"
    env = {
        **os.environ,
        "NEGOTRACK_HOSTILE_EXAMPLES": str(examples),
        "NEGOTRACK_RELIABILITY_TALLY": str(tally_file),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "tests/test_hostile.py",
        "tests/test_jsonl.py",
        "tests/test_trust.py",
    ]
    status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603
    tally: Counter[str] = Counter(json.loads(tally_file.read_text(encoding="utf-8")))
    passed: Counter[str] = Counter()
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our own file
        if not any(child.tag in {"failure", "error", "skipped"} for child in case):
            passed[case.get("classname", "").rsplit(".", 1)[-1]] += 1
    return tally, passed, status


def run_pressure(
    args: argparse.Namespace, folder: Path
) -> tuple[dict[str, pressure.Load], dict[str, pressure.Kills]]:
    """The load and the crashes on each SQL backend, by backend name."""
    loads, kills = {}, {}
    for name in ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]:
        backend = Backend(name, folder)
        try:
            print(f"{time.strftime('%H:%M:%S')} load on {name}", file=sys.stderr, flush=True)
            loads[name] = pressure.load(
                backend.url(), writers=args.writers, appends=args.appends, folder=folder
            )
            print(f"{time.strftime('%H:%M:%S')} kills on {name}", file=sys.stderr, flush=True)
            kills[name] = pressure.kills(backend.url(), kills=args.kills, folder=folder)
        finally:
            backend.close()
    return loads, kills


def _each(figures: dict[str, T], value: Callable[[T], int]) -> str:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    return ", ".join(f"{names[n]} {value(f):,}" for n, f in figures.items())


def main() -> int:
    """Run the suites and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="examples per hostile property")
    parser.add_argument("--writers", type=int, default=8, help="writer processes of the load")
    parser.add_argument("--appends", type=int, default=2000, help="appends per writer")
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs of a batch writer")
    parser.add_argument(
        "--suites-only",
        action="store_true",
        help="run the suites only, not the load and the crashes (a long hostile run alone)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tally, passed, status = run_suite(args.examples, Path(folder))
        loads, kills = ({}, {}) if args.suites_only else run_pressure(args, Path(folder))
    bad = {n: v for f in [*loads.values(), *kills.values()] for n, v in f.bad().items() if v}
    backends = "SQLite" + (
        " and PostgreSQL" if os.environ.get("NEGOTRACK_TEST_POSTGRES_URL") else ""
    )
    rows = [
        ("backends", backends),
        ("examples per hostile property", f"{args.examples:,}"),
        *((name, f"{count:,}") for name, count in sorted(tally.items())),
        ("foreign exceptions (not a NegotrackError)", "0" if status == 0 else "see the failures"),
        ("JSON Lines tamperings refused, line named", f"{passed['TestTampering']:,}"),
        ("JSON Lines record-time attacks refused", f"{passed['TestRecordTimes']:,}"),
        ("hostile JSON Lines files refused", f"{passed['TestHostileFiles']:,}"),
        (
            "store tamperings, each caught as the tamper table says",
            f"{passed['TestTamperTable']:,}",
        ),
        ("upserts refused by the database", f"{passed['TestUpserts']:,}"),
        (
            "verify() false alarms under concurrent writers",
            "0" if passed["TestOneSnapshot"] else "-",
        ),
    ]
    pressure_rows = [
        (
            f"load held: {args.writers} writer processes x {args.appends:,} appends, "
            "a follower and a verify() loop alongside; appends acknowledged",
            _each(loads, lambda f: f.acknowledged),
        ),
        (
            "conflicts on purpose (stale versions), each raised",
            _each(loads, lambda f: f.conflicts_on_purpose),
        ),
        (
            "conflicts raced on shared cells, each with cause",
            _each(loads, lambda f: f.conflicts_raced),
        ),
        ("verify() runs during the load", _each(loads, lambda f: f.verify_runs)),
        (
            "kills survived (SIGKILL of a batch writer; mid-batch)",
            ", ".join(
                f"{_each({n: f}, lambda f: f.kills)} ({f.mid_batch:,})" for n, f in kills.items()
            ),
        ),
        (
            "batches acknowledged before the kills, all found whole",
            _each(kills, lambda f: f.acknowledged),
        ),
        (
            "events lost, duplicated or skipped; conflicts missed; false alarms; partial batches",
            f"{sum(bad.values()):,}" + (f" ({bad})" if bad else ""),
        ),
    ]
    print("| figure | value |\n|---|---|")
    for name, value in rows + (pressure_rows if loads else []):
        print(f"| {name} | {value} |")
    return status or bool(bad)


if __name__ == "__main__":
    raise SystemExit(main())
