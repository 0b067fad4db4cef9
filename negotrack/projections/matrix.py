"""Position matrices: party x clause cells as of a valid time, as known at a record time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

from negotrack._time import to_micros
from negotrack.events import (
    JointStatementRecorded,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
)
from negotrack.model import Evidence, Ordinal, Precision, StanceValue, stance_label
from negotrack.store import CellEntry, RecordedEvent

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = ["Cell", "Matrix", "build_matrix", "cell_of", "project_matrix"]


@attrs.frozen(kw_only=True)
class Cell:
    """What one party held on one clause, and the record it rests on."""

    party: str
    clause: str
    stance: StanceValue
    valid_at: datetime
    precision: Precision
    recorded_at: datetime
    event_id: str
    position: int
    evidence: tuple[Evidence, ...] = ()
    salience: float | None = None
    confidence: float | None = None
    conditions: str | None = None
    speaker: str | None = None
    signatories: tuple[str, ...] = ()
    """All signatories when the stance comes from a joint statement, else empty."""

    @property
    def label(self) -> str | float:
        """The stance as written: ``"lean_oppose"``, or the number on an interval scale."""
        return stance_label(self.stance)

    def to_record(self) -> dict[str, Any]:
        """The cell as JSON-ready data."""
        return {
            "party": self.party,
            "clause": self.clause,
            "stance": self.label,
            "valid_at": self.valid_at.isoformat(),
            "precision": self.precision.value,
            "recorded_at": self.recorded_at.isoformat(),
            "event_id": self.event_id,
            "salience": self.salience,
            "confidence": self.confidence,
            "conditions": self.conditions,
            "speaker": self.speaker,
            "signatories": list(self.signatories),
            "evidence": [
                {"source": e.source.cite(), "quote": e.quote, "stated": e.stated}
                for e in self.evidence
            ],
        }


def cell_of(entry: CellEntry) -> Cell | None:
    """The cell an entry fills, or ``None`` when the entry is a withdrawal."""
    event = entry.record.event
    if isinstance(event, StanceWithdrawn):
        return None
    if not isinstance(event, StanceRecorded | JointStatementRecorded):
        raise TypeError(f"{type(event).__name__} does not fill a cell")
    joint = isinstance(event, JointStatementRecorded)
    return Cell(
        party=entry.party,
        clause=event.clause,
        stance=event.stance,
        valid_at=event.valid_at,
        precision=event.precision,
        recorded_at=entry.record.recorded_at,
        event_id=event.event_id,
        position=entry.record.position,
        evidence=event.evidence,
        salience=event.salience,
        confidence=event.confidence,
        conditions=event.conditions,
        speaker=None if joint else event.speaker,  # type: ignore[union-attr]
        signatories=event.signatories if joint else (),  # type: ignore[union-attr]
    )


@attrs.frozen(kw_only=True)
class Matrix:
    """A party x clause matrix of stances: a value, as of ``as_of`` and known at ``known_at``.

    Index it with ``matrix["GB", "military-cap"]`` (``KeyError`` for an empty
    cell), or ``matrix.get("GB", "military-cap")`` (``None``); iterate over its
    cells in party, clause order.
    """

    negotiation: str
    as_of: datetime
    known_at: datetime | None
    cells: Mapping[tuple[str, str], Cell]
    hint: str | None = attrs.field(default=None, eq=False)
    """Why the matrix may be emptier than expected (``known_at`` before every record), or None.

    Not part of the value: two matrices with the same cells are equal.
    """

    def __getitem__(self, key: tuple[str, str]) -> Cell:
        return self.cells[key]

    def get(self, party: str, clause: str) -> Cell | None:
        """The cell of ``party`` on ``clause``, or ``None`` when no stance is recorded."""
        return self.cells.get((party, clause))

    def __contains__(self, key: object) -> bool:
        return key in self.cells

    def __iter__(self) -> Iterator[Cell]:
        return iter([self.cells[key] for key in sorted(self.cells)])

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def parties(self) -> list[str]:
        """The parties with at least one stance, sorted."""
        return sorted({party for party, _ in self.cells})

    @property
    def clauses(self) -> list[str]:
        """The clauses with at least one stance, sorted."""
        return sorted({clause for _, clause in self.cells})

    def to_records(self) -> list[dict[str, Any]]:
        """The cells as a list of JSON-ready dicts (one per non-empty cell)."""
        return [cell.to_record() for cell in self]

    def to_table(
        self, *, parties: Iterable[str] | None = None, clauses: Iterable[str] | None = None
    ) -> str:
        """A plain-text grid, parties down and clauses across, with short stance marks."""
        rows = list(parties) if parties is not None else self.parties
        columns = list(clauses) if clauses is not None else self.clauses
        width = max([len(p) for p in rows] + [5])
        header = " " * width + " " + " ".join(f"{i + 1:>3}" for i in range(len(columns)))
        lines = [header]
        for party in rows:
            marks = [_mark(self.cells.get((party, clause))) for clause in columns]
            lines.append(f"{party:<{width}} " + " ".join(f"{m:>3}" for m in marks))
        lines.append("")
        lines += [f"{i + 1:>3} {clause}" for i, clause in enumerate(columns)]
        return "\n".join(lines)

    # The views live in negotrack.io.frames and negotrack.report.notebook; they are
    # imported on first use so that `import negotrack` loads neither pandas nor pyarrow.

    def to_pandas(
        self, *, wide: bool = False, values: Literal["stance", "score"] = "stance"
    ) -> pandas.DataFrame:
        """A DataFrame: a row per cell and its evidence, or ``wide`` (see negotrack.io.frames)."""
        from negotrack.io.frames import matrix_to_pandas  # noqa: PLC0415

        return matrix_to_pandas(self, wide=wide, values=values)

    def to_arrow(self) -> pyarrow.Table:
        """An Arrow table, one row per cell (see :func:`negotrack.io.frames.matrix_to_arrow`)."""
        from negotrack.io.frames import matrix_to_arrow  # noqa: PLC0415

        return matrix_to_arrow(self)

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream of :meth:`to_arrow`: pandas, polars and DuckDB read it."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def __repr__(self) -> str:
        from negotrack.report.notebook import matrix_repr  # noqa: PLC0415

        return matrix_repr(self)

    def _repr_html_(self) -> str:
        from negotrack.report.notebook import matrix_html  # noqa: PLC0415

        return matrix_html(self)


_MARKS = {
    Ordinal.SUPPORT: "++",
    Ordinal.LEAN_SUPPORT: "+",
    Ordinal.NEUTRAL: "0",
    Ordinal.LEAN_OPPOSE: "-",
    Ordinal.OPPOSE: "--",
}


def _mark(cell: Cell | None) -> str:
    if cell is None:
        return "."
    if isinstance(cell.stance, Ordinal):
        return _MARKS[cell.stance]
    return f"{cell.stance:g}"


def build_matrix(
    entries: Iterable[CellEntry],
    negotiation: str,
    as_of: datetime,
    known_at: datetime | None = None,
) -> Matrix:
    """The matrix of the entry that decides each cell (a withdrawal leaves its cell empty).

    A store's as-of query picks those entries; :func:`project_matrix` picks
    them from the log itself.
    """
    cells = {}
    for entry in entries:
        cell = cell_of(entry)
        if cell is not None:
            cells[(cell.party, cell.clause)] = cell
    return Matrix(negotiation=negotiation, as_of=as_of, known_at=known_at, cells=cells)


def project_matrix(
    records: Iterable[RecordedEvent],
    negotiation: str,
    as_of: datetime,
    known_at: datetime | None = None,
) -> Matrix:
    """The reference fold: the matrix from the log itself, one event at a time.

    For each cell, the latest (by valid time, then position) stance event with
    ``valid_at <= as_of``, recorded at or before ``known_at`` and not retracted
    by a retraction recorded at or before ``known_at``; a withdrawal empties it.
    """
    # Instants are compared as microseconds: two datetimes sharing one ZoneInfo
    # compare by wall clock in Python, which misorders the hour a clock repeats.
    candidates: dict[tuple[str, str], list[CellEntry]] = {}
    retracted: set[str] = set()
    as_of_us = to_micros(as_of)
    known_us = None if known_at is None else to_micros(known_at)
    for record in records:
        if known_us is not None and to_micros(record.recorded_at) > known_us:
            break  # the log is in record order: nothing later is known at known_at
        event = record.event
        if event.negotiation != negotiation:
            continue
        if isinstance(event, StanceRetracted):
            retracted.add(event.retracted)
        elif isinstance(event, StanceRecorded | StanceWithdrawn | JointStatementRecorded):
            if to_micros(event.valid_at) > as_of_us:
                continue
            parties = (
                event.signatories if isinstance(event, JointStatementRecorded) else (event.party,)
            )
            for party in parties:
                key = (party, event.clause)
                candidates.setdefault(key, []).append(CellEntry(party=party, record=record))
    deciding = []
    for entries in candidates.values():
        live = [e for e in entries if e.record.event.event_id not in retracted]
        if live:
            deciding.append(
                max(live, key=lambda e: (to_micros(e.record.event.valid_at), e.record.position))  # type: ignore[union-attr]
            )
    return build_matrix(deciding, negotiation, as_of, known_at)
