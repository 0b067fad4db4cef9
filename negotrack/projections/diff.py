"""Who moved between two matrices, from what to what, on which evidence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from negotrack.model import Ordinal
from negotrack.projections.matrix import Cell, Matrix

__all__ = ["Diff", "Move", "diff", "same_position"]


@attrs.frozen(kw_only=True)
class Move:
    """A cell that changed between two matrices."""

    party: str
    clause: str
    before: Cell | None
    after: Cell | None

    @property
    def change(self) -> str:
        """``new`` (no stance before), ``dropped`` (none after) or ``moved``."""
        if self.before is None:
            return "new"
        if self.after is None:
            return "dropped"
        return "moved"

    @property
    def shift(self) -> float | None:
        """How far the stance moved (after minus before), when both are known."""
        if self.before is None or self.after is None:
            return None
        return float(self.after.stance) - float(self.before.stance)

    def describe(self) -> str:
        """One line: ``GB on military-cap: lean_oppose -> oppose``."""

        def show(cell: Cell | None) -> str:
            return "(none)" if cell is None else str(cell.label)

        return f"{self.party} on {self.clause}: {show(self.before)} -> {show(self.after)}"

    def to_record(self) -> dict[str, Any]:
        """The move as JSON-ready data."""
        return {
            "party": self.party,
            "clause": self.clause,
            "change": self.change,
            "before": None if self.before is None else self.before.to_record(),
            "after": None if self.after is None else self.after.to_record(),
        }


def same_position(a: Cell, b: Cell) -> bool:
    """Whether two cells hold the same stance (whatever their evidence and times)."""
    # Restating the same stance (new evidence, same point) is not a move; the
    # Ordinal check keeps SUPPORT (2) apart from 2.0 on an interval scale.
    return isinstance(a.stance, Ordinal) == isinstance(b.stance, Ordinal) and a.stance == b.stance


@attrs.frozen(kw_only=True)
class Diff:
    """The moves from matrix ``before`` to matrix ``after``, in party, clause order."""

    before: Matrix
    after: Matrix
    moves: tuple[Move, ...]

    def __iter__(self) -> Iterator[Move]:
        return iter(self.moves)

    def __len__(self) -> int:
        return len(self.moves)

    def movers(self) -> list[str]:
        """The parties that moved on at least one clause, sorted."""
        return sorted({m.party for m in self.moves})


def diff(before: Matrix, after: Matrix) -> Diff:
    """Compare two matrices cell by cell.

    A cell appears in the diff when it is filled on one side only, or when
    its stance differs; a restatement of the same stance is not a move.
    """
    moves = []
    for key in sorted(before.cells.keys() | after.cells.keys()):
        a, b = before.cells.get(key), after.cells.get(key)
        if a is not None and b is not None and same_position(a, b):
            continue
        moves.append(Move(party=key[0], clause=key[1], before=a, after=b))
    return Diff(before=before, after=after, moves=tuple(moves))
