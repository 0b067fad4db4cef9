"""Position matrices: party x clause cells as of a valid time, as known at a record time.

Each cell shows what a :class:`~negotrack.projections.claims.ClaimRule` makes
of the claims at the cell's latest valid instant (see docs/claims.md): one
stance, or a conflict when the rule cannot choose.  Every claim stays on the
cell, and a cell whose stance answers an older text of its clause is marked
stale (:mod:`negotrack.projections.stale`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

from negotrack.events import ClauseAmended, ClauseTabled, ClauseWithdrawn, Reading
from negotrack.model import ClauseVersion, Evidence, Ordinal, Precision, StanceValue, stance_label
from negotrack.projections.claims import (
    DEFAULT_RULE,
    Claim,
    ClaimRule,
    Resolution,
    claims_of,
    fold_cells,
    latest_resolution,
    resolve_cells,
)
from negotrack.projections.possibly import PossiblyHeld
from negotrack.projections.registry import project_clauses
from negotrack.projections.stale import is_stale, text_in_force
from negotrack.store import CellEntry, RecordedEvent
from negotrack.trusted import maker

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = ["CLAUSE_TYPES", "Cell", "Matrix", "build_matrix", "cell_of", "project_matrix"]


def _evidence_record(evidence: Iterable[Evidence]) -> list[dict[str, Any]]:
    return [{"source": e.source.cite(), "quote": e.quote, "stated": e.stated} for e in evidence]


def _claim_record(claim: Claim, chosen: bool) -> dict[str, Any]:
    return {
        "event_id": claim.event_id,
        "stance": claim.label,
        "chosen": chosen,
        "stated": claim.stated,
        "valid_at": claim.valid_at.isoformat(),
        "precision": claim.precision.value,
        "recorded_at": claim.recorded_at.isoformat(),
        "confidence": claim.confidence,
        "salience": claim.salience,
        "conditions": claim.conditions,
        "speaker": claim.speaker,
        "signatories": list(claim.signatories),
        "answers": claim.answers,
        "evidence": _evidence_record(claim.evidence),
    }


@attrs.frozen(kw_only=True)
class Cell:
    """What one party held on one clause, and the claims it rests on.

    The record fields (``valid_at`` to ``readings``) are those of the first
    claim the rule chose, by event id; ``claims`` holds every claim at the
    cell's latest valid instant, and ``chosen`` the ids of those the rule
    left standing.  When they disagree the cell is ``conflicting``: its
    ``stance`` is ``None`` and no single position is shown.
    """

    party: str
    clause: str
    stance: StanceValue | None
    """The stance shown; ``None`` only when the cell is ``conflicting``."""
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
    readings: tuple[Reading, ...] = ()
    """Other sources' readings of who signed the joint statement, else empty."""
    claims: tuple[Claim, ...] = ()
    """Every claim at the cell's latest valid instant, by event id."""
    chosen: tuple[str, ...] = ()
    """The event ids of the claims the rule left standing."""
    rule: str = DEFAULT_RULE.name
    """The claim rule that chose, in words."""
    conflicting: bool = False
    """The claims the rule left standing disagree: no single stance is shown."""
    stale: bool = False
    """The stance answers an older text of the clause than the one in force."""

    @property
    def label(self) -> str | float | None:
        """The stance as written (``"lean_oppose"``, a number), ``None`` for a conflict."""
        return None if self.stance is None else stance_label(self.stance)

    def to_record(self) -> dict[str, Any]:
        """The cell as JSON-ready data: every field, each claim behind it, and its flags."""
        return {
            "party": self.party,
            "clause": self.clause,
            "stance": self.label,
            "conflicting": self.conflicting,
            "stale": self.stale,
            "valid_at": self.valid_at.isoformat(),
            "precision": self.precision.value,
            "recorded_at": self.recorded_at.isoformat(),
            "event_id": self.event_id,
            "salience": self.salience,
            "confidence": self.confidence,
            "conditions": self.conditions,
            "speaker": self.speaker,
            "signatories": list(self.signatories),
            "readings": [
                {
                    "signatories": list(r.signatories),
                    "source": None if r.source is None else r.source.cite(),
                    "note": r.note,
                }
                for r in self.readings
            ],
            "evidence": _evidence_record(self.evidence),
            "rule": self.rule,
            "chosen": list(self.chosen),
            "claims": [_claim_record(c, c.event_id in self.chosen) for c in self.claims],
        }


_cell = maker(Cell)  # every field from a resolution of checked events


def cell_of(resolution: Resolution, *, stale: bool = False) -> Cell:
    """The cell a resolution shows (a withdrawn resolution leaves its cell empty: not here).

    Raises:
        ValueError: the resolution is a withdrawal.
    """
    conflict = resolution.conflict
    shown = resolution.chosen[0]
    if not conflict and shown.stance is None:
        raise ValueError("a withdrawal fills no cell")
    return _cell(
        party=shown.party,
        clause=shown.clause,
        stance=None if conflict else shown.stance,
        valid_at=shown.valid_at,
        precision=shown.precision,
        recorded_at=shown.recorded_at,
        event_id=shown.event_id,
        position=shown.position,
        evidence=shown.evidence,
        salience=shown.salience,
        confidence=shown.confidence,
        conditions=shown.conditions,
        speaker=shown.speaker,
        signatories=shown.signatories,
        readings=shown.readings,
        claims=resolution.claims,
        chosen=tuple(c.event_id for c in resolution.chosen),
        rule=resolution.rule,
        conflicting=conflict,
        stale=stale,
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
    possibly_held: Mapping[tuple[str, str], tuple[PossiblyHeld, ...]] = attrs.field(factory=dict)
    """Stances whose date range covers ``as_of``: possibly held, by cell.

    Filled only when asked (``Negotiation.matrix(..., possibly_held=True)``);
    they never change a cell (see :mod:`negotrack.projections.possibly`).
    """
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
    if cell.stance is None:
        return "?"  # claims that disagree
    if isinstance(cell.stance, Ordinal):
        return _MARKS[cell.stance]
    return f"{cell.stance:g}"


_CLAUSE_EVENTS = (ClauseTabled, ClauseAmended, ClauseWithdrawn)
CLAUSE_TYPES = tuple(cls.__name__ for cls in _CLAUSE_EVENTS)
"""The type names of the events that give a clause its text versions."""


def _matrix(
    resolutions: Mapping[tuple[str, str], Resolution],
    negotiation: str,
    as_of: datetime,
    known_at: datetime | None,
    clause_records: Iterable[RecordedEvent],
) -> Matrix:
    versions: Mapping[str, Sequence[ClauseVersion]] = {
        clause_id: clause.versions for clause_id, clause in project_clauses(clause_records).items()
    }
    # The text in force at as_of, once per clause: a cell can only be stale
    # where it is an amendment.
    amended = {
        clause
        for clause, held in versions.items()
        if (current := text_in_force(held, as_of)) is not None and current.change == "amended"
    }
    cells = {
        key: cell_of(r, stale=key[1] in amended and is_stale(r.chosen, versions[key[1]], as_of))
        for key, r in resolutions.items()
    }
    return Matrix(negotiation=negotiation, as_of=as_of, known_at=known_at, cells=cells)


def build_matrix(
    entries: Iterable[CellEntry],
    negotiation: str,
    as_of: datetime,
    known_at: datetime | None = None,
    *,
    rule: ClaimRule = DEFAULT_RULE,
    clause_records: Iterable[RecordedEvent] = (),
) -> Matrix:
    """The matrix of the entries a store's as-of query returns, each cell resolved by ``rule``.

    The store returns every entry at each cell's latest valid instant
    (:meth:`negotrack.store.EventStore.matrix_entries`); :func:`project_matrix`
    finds them in the log itself.

    Args:
        entries: the entries, in any order.
        negotiation: the negotiation the matrix is of.
        as_of: the valid time the matrix is for.
        known_at: the record time it is as known at (``None``: now).
        rule: the rule that picks the stance shown among simultaneous claims.
        clause_records: the negotiation's clause events known at ``known_at``,
            whose text versions say which cells are stale.
    """
    claims: dict[tuple[str, str], list[Claim]] = {}
    for entry in entries:
        for claim in claims_of(entry.record):
            if claim.party == entry.party:
                claims.setdefault((claim.party, claim.clause), []).append(claim)
    resolutions = {
        key: resolution
        for key, held in claims.items()
        if (resolution := latest_resolution(held, rule)) is not None
    }
    return _matrix(resolutions, negotiation, as_of, known_at, clause_records)


def project_matrix(
    records: Iterable[RecordedEvent],
    negotiation: str,
    as_of: datetime,
    known_at: datetime | None = None,
    rule: ClaimRule = DEFAULT_RULE,
) -> Matrix:
    """The reference fold: the matrix from the log itself, one event at a time.

    A view of :func:`~negotrack.projections.claims.project_claims_matrix`:
    each cell is what ``rule`` makes of its claims at its latest valid instant,
    marked stale from the clause versions known at ``known_at``.
    """
    clause_records: list[RecordedEvent] = []

    def keep_clause(record: RecordedEvent) -> None:
        # The clause events known at known_at are kept as the fold goes by,
        # so a generator (tracker.events()) is read only once.
        if isinstance(record.event, _CLAUSE_EVENTS):
            clause_records.append(record)

    held = fold_cells(records, negotiation, as_of, known_at, other=keep_clause)
    return _matrix(resolve_cells(held, rule), negotiation, as_of, known_at, clause_records)
