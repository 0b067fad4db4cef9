"""Replay the positions on the US 28-point plan as of 20, 21, 22 and 23 November 2025.

Loads geneva_2025.yaml into a fresh SQLite file (the embedded default), then
prints the matrix as of each date, who moved between consecutive dates, and,
for each clause, who stands where with the quote each cell rests on.

    python examples/geneva_2025/replay.py [--db sqlite:///geneva.db]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

import negotrack
from negotrack.io.dataset import import_dataset

DATASET = Path(__file__).with_name("geneva_2025.yaml")
DATES = [date(2025, 11, day) for day in (20, 21, 22, 23)]
LEVELS = list(reversed(negotrack.Ordinal))  # support first


def print_matrices(plan: negotrack.Negotiation, out: TextIO) -> None:
    """The party x clause grid as of each date."""
    for day in DATES:
        matrix = plan.matrix(day)
        out.write(f"\n== Positions as of {day:%A %d %B %Y} ({len(matrix)} cells) ==\n")
        out.write((matrix.to_table() if len(matrix) else "(no stances recorded yet)") + "\n")


def print_moves(plan: negotrack.Negotiation, out: TextIO) -> None:
    """Who moved between consecutive dates, and on what evidence."""
    for before, after in itertools.pairwise(DATES):
        moves = plan.diff(before, after)
        out.write(f"\n== Who moved from {before:%d %b} to {after:%d %b}: {len(moves)} cells ==\n")
        for move in moves:
            quote = move.after.evidence[0].quote if move.after and move.after.evidence else ""
            out.write(f"  {move.describe():<60} “{quote}”\n")


def print_clauses(plan: negotrack.Negotiation, day: date, out: TextIO) -> None:
    """For each clause, who stands where as of ``day``, each group traced to its quote."""
    matrix = plan.matrix(day)
    clauses = plan.clauses()
    out.write(f"\n== Who stands where, clause by clause, as of {day:%d %B %Y} ==\n")
    for clause_id in matrix.clauses:
        out.write(f"\n{clause_id}: {clauses[clause_id].title}\n")
        cells = [c for c in matrix if c.clause == clause_id]
        for level in LEVELS:
            by_event: dict[str, list[negotrack.Cell]] = {}
            for cell in cells:
                if cell.stance is level:
                    by_event.setdefault(cell.event_id, []).append(cell)
            for group in by_event.values():
                first = group[0]
                evidence = first.evidence[0]
                how = "stated" if evidence.stated else "inferred"
                parties = ", ".join(c.party for c in group)
                out.write(f"  {level.label:<13} {parties}\n")
                out.write(f"  {'':<13} “{evidence.quote}” ({evidence.source.cite()}; {how})\n")


def replay(url: str, out: TextIO = sys.stdout) -> negotrack.Matrix:
    """Import the dataset into the store at ``url`` and print the replay; return the last matrix."""
    with negotrack.open(url) as tracker:
        result = import_dataset(tracker, DATASET)
        plan = tracker.negotiation(result.negotiation)
        out.write(
            f"{plan.title}\n{result.written} events imported from {DATASET.name} into {url}\n"
        )
        print_matrices(plan, out)
        print_moves(plan, out)
        print_clauses(plan, DATES[-1], out)
        notes = [n for n in plan.notes() if n.valid_at.date() <= DATES[-1]]
        out.write("\n== What happened ==\n")
        for note in notes:
            out.write(f"  {note.valid_at:%d %b}  {note.kind:<11} {note.text}\n")
        return plan.matrix(DATES[-1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", help="database URL (default: a fresh SQLite file in a temporary folder)"
    )
    args = parser.parse_args(argv)
    if args.db:
        replay(args.db)
        return 0
    with tempfile.TemporaryDirectory(prefix="negotrack-geneva-") as folder:
        replay(f"sqlite:///{Path(folder) / 'geneva_2025.db'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
