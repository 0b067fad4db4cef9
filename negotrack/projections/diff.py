"""Who moved between two matrices, from what to what, on which evidence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from negotrack.model import Ordinal
from negotrack.projections.matrix import Cell, Matrix

if TYPE_CHECKING:
    import pandas
    import pyarrow

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
        if self.before.stance is None or self.after.stance is None:
            return None  # a conflict has no single stance to measure from
        return float(self.after.stance) - float(self.before.stance)

    def describe(self) -> str:
        """One line: ``GB on military-cap: lean_oppose -> oppose``."""

        def show(cell: Cell | None) -> str:
            if cell is None:
                return "(none)"
            return "(conflict)" if cell.conflicting else str(cell.label)

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


def _shown(cell: Cell) -> frozenset[tuple[bool, object]]:
    """The stances a cell shows: one, or those of the claims left in conflict."""
    # The Ordinal flag keeps SUPPORT (2) apart from 2.0 on an interval scale.
    stances = (
        [cell.stance]
        if not cell.conflicting
        else [claim.stance for claim in cell.claims if claim.event_id in cell.chosen]
    )
    return frozenset((isinstance(s, Ordinal), s) for s in stances)


def same_position(a: Cell, b: Cell) -> bool:
    """Whether two cells hold the same stance (whatever their evidence and times).

    Two conflicting cells hold the same position when the same stances are
    left in conflict; a conflict and a single stance never do.
    """
    # Restating the same stance (new evidence, same point) is not a move.
    return a.conflicting == b.conflicting and _shown(a) == _shown(b)


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

    # The views are imported on first use: `import negotrack` loads neither pandas nor pyarrow.

    def to_pandas(self) -> pandas.DataFrame:
        """A DataFrame, one row per move (see :func:`negotrack.io.frames.diff_to_pandas`)."""
        from negotrack.io.frames import diff_to_pandas  # noqa: PLC0415

        return diff_to_pandas(self)

    def to_arrow(self) -> pyarrow.Table:
        """An Arrow table, one row per move (see :func:`negotrack.io.frames.diff_to_arrow`)."""
        from negotrack.io.frames import diff_to_arrow  # noqa: PLC0415

        return diff_to_arrow(self)

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream of :meth:`to_arrow`: pandas, polars and DuckDB read it."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def __repr__(self) -> str:
        from negotrack.report.notebook import diff_repr  # noqa: PLC0415

        return diff_repr(self)

    def _repr_html_(self) -> str:
        from negotrack.report.notebook import diff_html  # noqa: PLC0415

        return diff_html(self)


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
