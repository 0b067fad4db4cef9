"""Claims: every stance a cell holds at one valid time, and the rule that picks the one shown.

A cell can hold several claims at the same valid time: Finland signs the
allies' joint statement (lean_support, stated) and the Baltic 8 statement
(neutral, inferred) on the same day.  Which one the matrix shows must never
depend on the order the events were recorded in, so it is chosen by a
:class:`ClaimRule`, a documented list of preferences the caller can change.
What the rule cannot settle is a *conflict*: the cell shows no single stance,
and every claim stays visible (see docs/claims.md).

"At the same time" means the same valid instant.  A date is the first instant
of that day in the negotiation's zone, so two day-precision claims of one day
are simultaneous, and a claim with a time of day is later than a
day-precision claim of the same day, as everywhere else in negotrack.  The
definition has to be transitive for "the latest claims of a cell" to mean
anything: if a day-precision claim were simultaneous with both 10:00 and
15:00 of its day, those two would have to be simultaneous with each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, cast

import attrs

from negotrack._time import to_micros
from negotrack.events import (
    JointStatementRecorded,
    Reading,
    StanceEvent,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
)
from negotrack.model import Evidence, Precision, StanceValue, stance_label
from negotrack.store import RecordedEvent
from negotrack.trusted import maker

__all__ = [
    "CONFIDENCE",
    "DEFAULT_RULE",
    "STATED",
    "CellRecords",
    "Claim",
    "ClaimRule",
    "Preference",
    "Resolution",
    "claims_of",
    "fold_cells",
    "latest_resolution",
    "project_claims_matrix",
    "resolve_cells",
]


@attrs.frozen(kw_only=True)
class Claim:
    """One stance event as it bears on one cell: what it says, and on what evidence.

    ``stance`` is ``None`` for a withdrawal: the claim that the party holds no
    stance from ``valid_at`` on.
    """

    party: str
    clause: str
    stance: StanceValue | None
    valid_at: datetime
    precision: Precision
    stated: bool
    """Said by the party itself: at least one piece of its evidence is stated."""
    confidence: float | None
    event_id: str
    position: int
    recorded_at: datetime
    evidence: tuple[Evidence, ...] = ()
    signatories: tuple[str, ...] = ()
    """All signatories when the claim comes from a joint statement, else empty."""
    speaker: str | None = None
    conditions: str | None = None
    salience: float | None = None
    readings: tuple[Reading, ...] = ()
    """Other sources' readings of who signed, when the claim comes from a joint statement."""
    answers: str | None = None
    """The event id of the clause text the stance answers, when the stance names it.

    ``None`` means the text in force at ``valid_at`` (see
    :mod:`negotrack.projections.stale`).
    """

    @property
    def label(self) -> str | float | None:
        """The stance as written (``"lean_oppose"``, a number), or ``None`` for a withdrawal."""
        return None if self.stance is None else stance_label(self.stance)


# Claims are made from events the log checked: every field given, nothing checked again.
_claim = maker(Claim)


def claims_of(record: RecordedEvent) -> list[Claim]:
    """The claims a stance event makes: one per party whose cell it fills or empties.

    Raises:
        TypeError: the event is not a stance event.
    """
    event = record.event
    if not isinstance(event, StanceRecorded | JointStatementRecorded | StanceWithdrawn):
        raise TypeError(f"{type(event).__name__} makes no claim on a cell")
    # With no evidence at all nothing shows the party said it: the claim is ours.
    stated = any(e.stated for e in event.evidence)
    held: dict[str, Any] = {"signatories": (), "readings": (), "speaker": None}
    if isinstance(event, StanceWithdrawn):
        parties: tuple[str, ...] = (event.party,)
        held.update(stance=None, confidence=None, salience=None, conditions=None)
    else:
        parties = (event.party,) if isinstance(event, StanceRecorded) else event.signatories
        held.update(
            stance=event.stance,
            confidence=event.confidence,
            salience=event.salience,
            conditions=event.conditions,
            speaker=event.speaker,
        )
        if isinstance(event, JointStatementRecorded):
            held.update(signatories=event.signatories, readings=event.readings)
    # The clause version a stance names, once the format can say it;
    # events without the field answer the text in force at valid_at.
    answers = getattr(event, "answers", None)
    return [
        _claim(
            party=party,
            clause=event.clause,
            valid_at=event.valid_at,
            precision=event.precision,
            stated=stated,
            event_id=event.event_id,
            position=record.position,
            recorded_at=record.recorded_at,
            evidence=event.evidence,
            answers=answers,
            **held,
        )
        for party in parties
    ]


@attrs.frozen
class Preference:
    """One step of a claim rule: claims ranked higher by ``rank`` beat the others.

    Args:
        name: what the step says, in the analyst's words ("stated beats inferred").
        rank: a number for each claim; only the claims with the highest survive.
    """

    name: str
    rank: Callable[[Claim], float] = attrs.field(eq=False)


STATED = Preference("stated beats inferred", lambda claim: 1.0 if claim.stated else 0.0)
"""A claim the party made itself beats one the analyst inferred."""

CONFIDENCE = Preference(
    "higher confidence",
    # A claim that gives no confidence ranks below any that gives one, even 0.
    lambda claim: -1.0 if claim.confidence is None else claim.confidence,
)
"""A claim with a higher confidence beats one with a lower (or no) confidence."""


@attrs.frozen(kw_only=True)
class Resolution:
    """The claims of one cell at its latest valid time, and what the rule made of them.

    ``claims`` holds every claim, ``chosen`` those the rule left standing, both
    ordered by event id so that the value never depends on recording order.
    """

    claims: tuple[Claim, ...]
    chosen: tuple[Claim, ...]
    rule: str
    """The name of the rule that chose, e.g. ``stated beats inferred, then higher confidence``."""

    @property
    def conflict(self) -> bool:
        """Whether the claims the rule left standing disagree: no single stance is shown."""
        chosen = self.chosen
        return len(chosen) > 1 and len({claim.stance for claim in chosen}) > 1

    @property
    def stance(self) -> StanceValue | None:
        """The stance shown, or ``None`` for a conflict or a withdrawal."""
        return None if self.conflict else self.chosen[0].stance

    @property
    def withdrawn(self) -> bool:
        """Whether the cell is emptied: every claim left standing is a withdrawal."""
        return not self.conflict and self.chosen[0].stance is None


_resolution = maker(Resolution)  # made by ClaimRule.resolve from the claims it was given
_event_id = attrgetter("event_id")


def _by_event_id(claims: Iterable[Claim]) -> tuple[Claim, ...]:
    return tuple(sorted(claims, key=_event_id))


@attrs.frozen
class ClaimRule:
    """The preferences, in order, that pick the claim shown among simultaneous ones.

    Each preference keeps only the claims it ranks highest; the next one
    breaks the ties the previous left.  Claims that still disagree after the
    last preference are a conflict.  ``ClaimRule(())`` lets every
    disagreement stand as a conflict.
    """

    preferences: tuple[Preference, ...]

    @property
    def name(self) -> str:
        """The rule in words: its preferences joined by ``then``."""
        return ", then ".join(p.name for p in self.preferences) or "no preference"

    def resolve(self, claims: Iterable[Claim]) -> Resolution:
        """Apply the rule to the claims of one cell at one valid time.

        Raises:
            ValueError: there are no claims.
        """
        every = _by_event_id(claims)
        if not every:
            raise ValueError("a resolution needs at least one claim")
        if len(every) == 1:  # most cells: one claim, chosen by every preference
            return _resolution(claims=every, chosen=every, rule=self.name)
        standing = list(every)
        for preference in self.preferences:
            best = max(preference.rank(claim) for claim in standing)
            standing = [claim for claim in standing if preference.rank(claim) == best]
        return _resolution(claims=every, chosen=tuple(standing), rule=self.name)


DEFAULT_RULE = ClaimRule((STATED, CONFIDENCE))
"""Stated beats inferred, then higher confidence; what is left tied is a conflict."""


def project_claims_matrix(
    records: Iterable[RecordedEvent],
    negotiation: str,
    as_of: datetime,
    known_at: datetime | None = None,
    rule: ClaimRule = DEFAULT_RULE,
) -> Mapping[tuple[str, str], Resolution]:
    """The reference fold for cells with claims: every cell's latest claims, resolved.

    For each cell, the claims of the stance events with ``valid_at <= as_of``,
    recorded at or before ``known_at`` and not retracted by a retraction
    recorded at or before ``known_at``; of those, the claims at the latest
    valid instant are resolved by ``rule``.  A cell whose resolution is a
    withdrawal is left out (it is empty); a conflict stays in.

    Args:
        records: the log, in position order.
        negotiation: the negotiation whose cells are wanted.
        as_of: the valid time the matrix is for.
        known_at: the record time the matrix is as known at (``None``: now).
        rule: the rule that picks the stance shown among simultaneous claims.
    """
    return resolve_cells(fold_cells(records, negotiation, as_of, known_at), rule)


@attrs.define
class CellRecords:
    """What :func:`fold_cells` keeps of a log: each cell's stance records, and the retracted ids."""

    cells: dict[tuple[str, str], list[RecordedEvent]] = attrs.Factory(dict)
    """The records of the stance events in each cell with ``valid_at <= as_of``, in log order."""
    retracted: set[str] = attrs.Factory(set)
    """The ids of the events retracted by retractions known at ``known_at``."""


def fold_cells(
    records: Iterable[RecordedEvent],
    negotiation: str,
    as_of: datetime,
    known_at: datetime | None = None,
    other: Callable[[RecordedEvent], object] | None = None,
) -> CellRecords:
    """One pass over the log: the records each cell may show as of ``as_of``, known at ``known_at``.

    Only what a cell needs is read of each event; claims are made afterwards
    (:func:`resolve_cells`), for the records at each cell's latest instant
    alone, since a replay reads many more events than a matrix shows.

    Args:
        other: called with every record of the negotiation known at
            ``known_at`` that is neither a stance event nor a retraction, so
            that a caller reads the log (a generator, perhaps) only once.
    """
    held = CellRecords()
    cells, retracted = held.cells, held.retracted
    # Aware datetimes compare as instants, except two that share one tzinfo,
    # which compare by wall clock: in UTC, the wall clock is the instant.
    as_of_utc = as_of.astimezone(UTC)
    known_utc = None if known_at is None else known_at.astimezone(UTC)
    for record in records:
        if known_utc is not None and record.recorded_at > known_utc:
            break  # the log is in record order: nothing later is known at known_at
        event = record.event
        if event.negotiation != negotiation:
            continue
        if isinstance(event, StanceRecorded | StanceWithdrawn):
            if event.valid_at <= as_of_utc:
                key = (event.party, event.clause)
                found = cells.get(key)
                if found is None:
                    cells[key] = [record]
                else:
                    found.append(record)
        elif isinstance(event, JointStatementRecorded):
            if event.valid_at <= as_of_utc:
                for party in event.signatories:
                    cells.setdefault((party, event.clause), []).append(record)
        elif isinstance(event, StanceRetracted):
            retracted.add(event.retracted)
        elif other is not None:
            other(record)
    return held


def _valid_at(record: RecordedEvent) -> datetime:
    return cast("StanceEvent", record.event).valid_at  # fold_cells keeps stance events alone


def resolve_cells(
    held: CellRecords, rule: ClaimRule = DEFAULT_RULE
) -> dict[tuple[str, str], Resolution]:
    """Each cell's unretracted claims at its latest valid instant, resolved by ``rule``.

    Cells whose resolution is a withdrawal are left out (they are empty).
    """
    cells: dict[tuple[str, str], Resolution] = {}
    retracted = held.retracted
    for key, records in held.cells.items():
        live = [r for r in records if r.event.event_id not in retracted] if retracted else records
        if not live:
            continue
        if len(live) > 1:
            # Every valid time is held at a fixed UTC offset (canonical_instant),
            # so these datetimes compare as instants.
            last = max(map(_valid_at, live))
            live = [r for r in live if _valid_at(r) == last]
        party = key[0]
        claims = [claim for r in live for claim in claims_of(r) if claim.party == party]
        resolution = rule.resolve(claims)
        if not resolution.withdrawn:
            cells[key] = resolution
    return cells


def latest_resolution(claims: Iterable[Claim], rule: ClaimRule = DEFAULT_RULE) -> Resolution | None:
    """The claims of one cell at their latest valid instant, resolved by ``rule``.

    ``None`` when there is no claim, or when the rule leaves only withdrawals
    standing: the cell is empty.  Recording order plays no part: the latest
    instant is the greatest ``valid_at``, and the rule decides among the
    claims made at it.
    """
    # Instants are compared as microseconds: two datetimes sharing one ZoneInfo
    # compare by wall clock in Python, which misorders the hour a clock repeats.
    live = list(claims)
    if not live:
        return None
    if len(live) > 1:  # one claim is at its own latest instant
        last = max(to_micros(claim.valid_at) for claim in live)
        live = [c for c in live if to_micros(c.valid_at) == last]
    resolution = rule.resolve(live)
    return None if resolution.withdrawn else resolution
