"""The history of one cell on both timelines: when it held, and when we learned it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from negotrack._time import to_micros
from negotrack.events import (
    JointStatementRecorded,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
)
from negotrack.model import Evidence, Precision, StanceValue, stance_label
from negotrack.store import CellEntry, RecordedEvent
from negotrack.trusted import maker

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = ["History", "HistoryEntry", "build_history", "history_entry", "project_history"]


@attrs.frozen(kw_only=True)
class HistoryEntry:
    """One stance event of a cell, with both times and its retraction, if any."""

    kind: str
    """``stance``, ``joint_statement`` or ``withdrawal``."""
    stance: StanceValue | None
    valid_at: datetime
    precision: Precision
    recorded_at: datetime
    event_id: str
    position: int
    evidence: tuple[Evidence, ...] = ()
    retracted_at: datetime | None = None
    retraction_reason: str | None = None
    replaced_by: str | None = None
    earliest: datetime | None = None
    """When the valid time is a range: its earliest bound (``valid_at`` is the latest)."""
    basis: str | None = None
    """How the valid time was worked out, in the analyst's words."""

    @property
    def retracted(self) -> bool:
        """Whether a retraction (known in this view) removed the entry from the record."""
        return self.retracted_at is not None

    @property
    def label(self) -> str | float | None:
        """The stance as written, ``None`` for a withdrawal."""
        return None if self.stance is None else stance_label(self.stance)

    def to_record(self) -> dict[str, Any]:
        """The entry as JSON-ready data."""
        return {
            "kind": self.kind,
            "stance": self.label,
            "valid_at": self.valid_at.isoformat(),
            "earliest": None if self.earliest is None else self.earliest.isoformat(),
            "basis": self.basis,
            "recorded_at": self.recorded_at.isoformat(),
            "event_id": self.event_id,
            "retracted_at": None if self.retracted_at is None else self.retracted_at.isoformat(),
            "retraction_reason": self.retraction_reason,
            "replaced_by": self.replaced_by,
            "evidence": [
                {"source": e.source.cite(), "quote": e.quote, "stated": e.stated}
                for e in self.evidence
            ],
        }


def history_entry(entry: CellEntry, known_position: int | None = None) -> HistoryEntry:
    """The history entry of a stored cell entry, its retraction seen at ``known_position``."""
    event = entry.record.event
    retraction = entry.retracted_by
    if retraction is not None and not _known(retraction, known_position):
        retraction = None
    retracting = retraction.event if retraction is not None else None
    assert retracting is None or isinstance(retracting, StanceRetracted)
    if isinstance(event, StanceWithdrawn):
        kind, stance = "withdrawal", None
    elif isinstance(event, JointStatementRecorded):
        kind, stance = "joint_statement", event.stance
    elif isinstance(event, StanceRecorded):
        kind, stance = "stance", event.stance
    else:
        raise TypeError(f"{type(event).__name__} is not a stance event")
    return _history_entry(
        kind=kind,
        stance=stance,
        valid_at=event.valid_at,
        precision=event.precision,
        recorded_at=entry.record.recorded_at,
        event_id=event.event_id,
        position=entry.record.position,
        evidence=event.evidence,
        retracted_at=None if retraction is None else retraction.recorded_at,
        retraction_reason=None if retracting is None else retracting.reason,
        replaced_by=None if retracting is None else retracting.replaced_by,
        earliest=event.earliest,
        basis=event.basis,
    )


# Every field comes from a stored event and its record: nothing to check again.
_history_entry = maker(HistoryEntry)


@attrs.frozen(kw_only=True)
class History:
    """Every stance event of one cell, by valid time (then position).

    ``as_recorded()`` gives the same entries in the order the store learned them.
    """

    negotiation: str
    party: str
    clause: str
    known_at: datetime | None
    entries: tuple[HistoryEntry, ...]

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def as_recorded(self) -> list[HistoryEntry]:
        """The entries in the order they were recorded (the record timeline)."""
        return sorted(self.entries, key=lambda e: e.position)

    def current(self) -> list[HistoryEntry]:
        """The entries not retracted in this view."""
        return [e for e in self.entries if not e.retracted]

    # The views are imported on first use: `import negotrack` loads neither pandas nor pyarrow.

    def to_pandas(self) -> pandas.DataFrame:
        """A DataFrame, one row per entry (see :func:`negotrack.io.frames.histories_to_pandas`)."""
        from negotrack.io.frames import histories_to_pandas  # noqa: PLC0415

        return histories_to_pandas([self])

    def to_arrow(self) -> pyarrow.Table:
        """An Arrow table, one row per entry (see :mod:`negotrack.io.frames`)."""
        from negotrack.io.frames import histories_to_arrow  # noqa: PLC0415

        return histories_to_arrow([self])

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream of :meth:`to_arrow`: pandas, polars and DuckDB read it."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def __repr__(self) -> str:
        from negotrack.report.notebook import history_repr  # noqa: PLC0415

        return history_repr(self)

    def _repr_html_(self) -> str:
        from negotrack.report.notebook import history_html  # noqa: PLC0415

        return history_html(self)


def _known(record: RecordedEvent, known_position: int | None) -> bool:
    """Whether a view known at ``known_position`` (``None``: now) sees the record.

    Record times increase with positions, so "recorded at or before K" and "at
    or before the last position recorded by K" are the same rule; every view
    applies it to positions.
    """
    return known_position is None or record.position <= known_position


def build_history(
    entries: Iterable[CellEntry],
    negotiation: str,
    party: str,
    clause: str,
    *,
    known_at: datetime | None = None,
    known_position: int | None = None,
) -> History:
    """The history of one cell from its entries, as known at ``known_position``.

    Args:
        entries: the cell's stance events, each with its retraction if any.
        known_at: the instant the view is known at (kept on the value).
        known_position: the last position recorded by ``known_at`` (``None``:
            everything); entries and retractions after it are not known yet.
    """
    result = [history_entry(e, known_position) for e in entries if _known(e.record, known_position)]
    # Valid times are held at fixed UTC offsets (canonical_instant), so they compare as instants.
    result.sort(key=lambda e: (e.valid_at, e.position))
    return History(
        negotiation=negotiation,
        party=party,
        clause=clause,
        known_at=known_at,
        entries=tuple(result),
    )


def project_history(
    records: Iterable[RecordedEvent],
    negotiation: str,
    party: str,
    clause: str,
    known_at: datetime | None = None,
) -> History:
    """The reference fold of a cell's history over the log."""
    entries: list[CellEntry] = []
    retractions: dict[str, RecordedEvent] = {}
    for record in records:
        if known_at is not None and to_micros(record.recorded_at) > to_micros(known_at):
            break  # the log is in record order: nothing later is known at known_at
        event = record.event
        if event.negotiation != negotiation:
            continue
        if isinstance(event, StanceRetracted):
            retractions[event.retracted] = record
        elif (
            isinstance(event, StanceRecorded | StanceWithdrawn)
            and (event.party, event.clause) == (party, clause)
        ) or (
            isinstance(event, JointStatementRecorded)
            and event.clause == clause
            and party in event.signatories
        ):
            entries.append(CellEntry(party=party, record=record))
    return build_history(
        [attrs.evolve(e, retracted_by=retractions.get(e.record.event.event_id)) for e in entries],
        negotiation,
        party,
        clause,
        known_at=known_at,
    )
