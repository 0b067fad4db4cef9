"""Rerun the reliability figures of docs/reliability.md and print them as a Markdown table.

It runs the hostile-input suite (tests/test_hostile.py) with as many examples
as asked, the JSON Lines tampering suite (tests/test_jsonl.py) and the store's
tamper table (tests/test_trust.py), on SQLite
and, when ``NEGOTRACK_TEST_POSTGRES_URL`` is set, PostgreSQL too; then counts
what was tried and what held.  Any foreign exception, any refused call that
changed the log, any tampering not caught fails a test, so the script fails.

    .venv/bin/python scripts/reliability.py --examples 2000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> int:
    """Run the suites and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="examples per hostile property")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tally, passed, status = run_suite(args.examples, Path(folder))
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
    print("| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
