"""Diffs between two matrices against a plain model, and a move's words and record."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
from hypothesis import given

import negotrack
from negotrack import Ordinal, Precision
from negotrack.projections.diff import Move, diff
from tests.strategies import NEGOTIATION, matrices


def model_moves(before: negotrack.Matrix, after: negotrack.Matrix) -> list[tuple[object, ...]]:
    """Every cell filled on one side only, or whose stance differs (a label is never a number)."""

    def point(cell: negotrack.Cell | None) -> object:
        if cell is None:
            return None
        return ("label", cell.stance.name) if isinstance(cell.stance, Ordinal) else cell.stance

    keys = sorted(set(before.cells) | set(after.cells))
    return [
        (party, clause, before.cells.get((party, clause)), after.cells.get((party, clause)))
        for party, clause in keys
        if point(before.cells.get((party, clause))) != point(after.cells.get((party, clause)))
    ]


class TestDiff:
    @given(matrices(), matrices())
    def test_equals_the_model(self, before: negotrack.Matrix, after: negotrack.Matrix) -> None:
        """The moves are the cells that changed, in party, clause order, whatever sorts first."""
        # The same stance under new evidence is no move: share half the cells, restated.
        shared = {
            key: attrs.evolve(cell, event_id=f"{cell.event_id}-restated")
            for i, (key, cell) in enumerate(sorted(before.cells.items()))
            if i % 2 == 0
        }
        after = attrs.evolve(after, cells={**after.cells, **shared})
        moves = diff(before, after)
        assert [(m.party, m.clause, m.before, m.after) for m in moves] == model_moves(before, after)
        assert (moves.before, moves.after) == (before, after)


GB_TERRITORY = negotrack.Cell(
    party="GB",
    clause="territory",
    stance=Ordinal.OPPOSE,
    valid_at=datetime(2025, 11, 21, tzinfo=UTC),
    precision=Precision.DAY,
    recorded_at=datetime(2025, 11, 22, 9, tzinfo=UTC),
    event_id=f"{NEGOTIATION}/stance/1",
    position=1,
)


class TestMove:
    def test_describe_a_new_and_a_dropped_stance(self) -> None:
        """An empty side reads ``(none)``."""
        new = Move(party="GB", clause="territory", before=None, after=GB_TERRITORY)
        dropped = Move(party="GB", clause="territory", before=GB_TERRITORY, after=None)
        assert new.describe() == "GB on territory: (none) -> oppose"
        assert dropped.describe() == "GB on territory: oppose -> (none)"

    def test_to_record(self) -> None:
        """A move as JSON-ready data: party, clause, change, and each side's cell record."""
        moved = Move(
            party="GB",
            clause="territory",
            before=GB_TERRITORY,
            after=attrs.evolve(GB_TERRITORY, stance=Ordinal.SUPPORT),
        )
        record = moved.to_record()
        assert (record["party"], record["clause"], record["change"]) == (
            "GB",
            "territory",
            "moved",
        )
        assert (record["before"]["stance"], record["after"]["stance"]) == ("oppose", "support")
        new = Move(party="GB", clause="territory", before=None, after=GB_TERRITORY).to_record()
        assert (new["change"], new["before"], new["after"]["event_id"]) == (
            "new",
            None,
            GB_TERRITORY.event_id,
        )
        dropped = Move(party="GB", clause="territory", before=GB_TERRITORY, after=None)
        assert dropped.to_record()["after"] is None
