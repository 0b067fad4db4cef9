"""What each event changes in the current matrix: the change feed's fold.

The *current* matrix of a negotiation is, for each cell, what the default
claim rule makes of its claims at their latest valid time among the events
known now and not retracted, whatever that valid time is: the matrix as of the
end of time, as known now.  Stale flags are not followed here (an amendment
changes no cell of this feed).
So a back-dated record that is not the latest of its cell changes nothing, and
a retraction of the record a cell rests on changes it (back to the record
before, or to empty).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from negotrack.events import CELL_EVENTS, JointStatementRecorded, StanceEvent, StanceRetracted
from negotrack.projections.claims import claims_of, latest_resolution
from negotrack.projections.diff import Move, same_position
from negotrack.projections.matrix import Cell, cell_of
from negotrack.store import CellEntry, RecordedEvent

__all__ = ["CellChange", "Change", "CurrentPositions"]


@attrs.frozen(kw_only=True)
class CellChange:
    """Cell (party, clause) of the current matrix went from ``before`` to ``after``."""

    party: str
    clause: str
    before: Cell | None
    after: Cell | None

    @property
    def kind(self) -> str:
        """``new``, ``dropped``, ``moved``, or ``restated`` (same stance, another record)."""
        if (
            self.before is not None
            and self.after is not None
            and same_position(self.before, self.after)
        ):
            return "restated"
        return self._move().change

    def _move(self) -> Move:
        return Move(party=self.party, clause=self.clause, before=self.before, after=self.after)

    def describe(self) -> str:
        """One line: ``GB on military-cap: lean_oppose -> oppose``."""
        return self._move().describe()

    def to_record(self) -> dict[str, Any]:
        """The change as JSON-ready data."""
        return {**self._move().to_record(), "change": self.kind}


@attrs.frozen(kw_only=True)
class Change:
    """The cells of the current matrix that one event changed, in party, clause order.

    Checkpoint with ``cause.position`` once every cell is handled: the next run
    then starts after this event, with none of its cells lost or repeated.
    """

    negotiation: str
    cause: RecordedEvent
    cells: tuple[CellChange, ...]

    def __iter__(self) -> Iterator[CellChange]:
        return iter(self.cells)

    def __len__(self) -> int:
        return len(self.cells)


def _parties(event: StanceEvent) -> tuple[str, ...]:
    return event.signatories if isinstance(event, JointStatementRecorded) else (event.party,)


class CurrentPositions:
    """The current matrix of one negotiation, brought up to date one event at a time.

    It keeps every live (unretracted) stance entry, so a retraction can fall
    back to the record before; memory grows with the negotiation's stance events.
    """

    def __init__(self, negotiation: str) -> None:
        self.negotiation = negotiation
        self.cells: dict[tuple[str, str], Cell] = {}
        self._live: dict[tuple[str, str], list[CellEntry]] = {}
        self._keys_of: dict[str, list[tuple[str, str]]] = {}  # event id -> its cells

    def apply(self, record: RecordedEvent) -> Change | None:
        """Take in the next event of the log; the change it makes, or ``None``."""
        event = record.event
        if event.negotiation != self.negotiation:
            return None
        touched: list[tuple[str, str]] = []
        if isinstance(event, StanceRetracted):
            for key in self._keys_of.pop(event.retracted, []):
                self._live[key] = [
                    e for e in self._live[key] if e.record.event.event_id != event.retracted
                ]
                touched.append(key)
        elif isinstance(event, CELL_EVENTS):
            for party in _parties(event):
                key = (party, event.clause)
                self._live.setdefault(key, []).append(CellEntry(party=party, record=record))
                self._keys_of.setdefault(event.event_id, []).append(key)
                touched.append(key)
        cells = []
        for key in sorted(touched):
            before = self.cells.get(key)
            after = self._current(key)
            if after is None:
                self.cells.pop(key, None)
            else:
                self.cells[key] = after
            if before != after:
                cells.append(CellChange(party=key[0], clause=key[1], before=before, after=after))
        if not cells:
            return None
        return Change(negotiation=self.negotiation, cause=record, cells=tuple(cells))

    def _current(self, key: tuple[str, str]) -> Cell | None:
        claims = [
            claim
            for entry in self._live.get(key, [])
            for claim in claims_of(entry.record)
            if claim.party == key[0]
        ]
        resolution = latest_resolution(claims)
        return None if resolution is None else cell_of(resolution)
