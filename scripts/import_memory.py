"""Rerun the "Memory of an import" figures of docs/reliability.md.

Generates a dataset file of ``--stances`` stances (the benchmark's workload),
imports it into a fresh SQLite file, exports the log as JSON Lines and
restores that into another fresh file.  Each load runs in a fresh process, so
that its peak resident set size (``ru_maxrss``) is its own; "growth" is that
peak less what the process held once the store was open.

    .venv/bin/python scripts/import_memory.py --stances 20000
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 2**20


def peak_mib() -> float:
    """The process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make(path: Path, stances: int) -> None:
    """Write a dataset file of ``stances`` stances over 400 cells."""
    sys.path.insert(0, str(ROOT / "bench"))
    from negobench.workload import dataset_yaml, make_workload  # noqa: PLC0415

    path.write_text(dataset_yaml(make_workload(stances, 400, 100, 1), stances), encoding="utf-8")


def load(kind: str, path: Path, db: Path) -> None:
    """Load ``path`` into a new store at ``db``; print one line of figures."""
    import negotrack  # noqa: PLC0415
    from negotrack.io.dataset import import_dataset  # noqa: PLC0415
    from negotrack.io.jsonl import export_jsonl, restore_jsonl  # noqa: PLC0415

    started = time.perf_counter()
    with negotrack.open(f"sqlite:///{db}") as tracker:
        tracker.last_position()
        before = peak_mib()  # SQLAlchemy and the store loaded: the rest is the file's
        if kind == "yaml":
            import_dataset(tracker, path)
        else:
            restore_jsonl(tracker, path)
        growth = peak_mib() - before
        if kind == "yaml":  # the export the restore reads, after the figure is taken
            with (db.parent / "log.jsonl").open("w", encoding="utf-8") as out:
                export_jsonl(tracker, out)
    size = path.stat().st_size / MIB
    print(
        f"| {kind} | {size:.1f} MiB | {growth:.0f} MiB | {growth / size:.1f}x "
        f"| {time.perf_counter() - started:.0f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stances", type=int, default=20_000, help="stances in the dataset")
    parser.add_argument("--load", nargs=3, metavar=("KIND", "FILE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        kind, path, db = args.load
        load(kind, Path(path), Path(db))
        return
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        make(work / "dataset.yaml", args.stances)
        print("| input | file | growth of the peak RSS | growth / file size | time |")
        print("|---|---|---|---|---|")
        for kind, path, db in (
            ("yaml", work / "dataset.yaml", work / "imported.db"),
            ("jsonl", work / "log.jsonl", work / "restored.db"),
        ):
            command = [sys.executable, __file__, "--load", kind, str(path), str(db)]
            subprocess.run(command, check=True)  # noqa: S603 - this script, its own arguments


if __name__ == "__main__":
    main()
