"""The shape of a ``negotrack/2`` dataset file: what it adds to ``negotrack/1``.

Only the shape lives here (attrs classes the strict converter of
:mod:`negotrack.io.dataset` structures the YAML into); the importer turns
them into events.  docs/dataset-format.md documents every key.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeAlias

import attrs

from negotrack.io.format_common import (
    NegotiationSpec,
    PartySpec,
    ReadingSpec,
    ScaleSpec,
    SourceSpec,
)
from negotrack.model import Role

__all__ = [
    "ClauseSpec",
    "ClauseVersionSpec",
    "CorrectionSpec",
    "DatasetFileV2",
    "MembershipSpec",
    "NoteSpec",
    "PositionSpec",
    "QuoteSpec",
    "RangeSpec",
    "ReportedSpec",
    "RetractionSpec",
    "StanceSpec",
    "StatementSpec",
    "WhenV2",
    "WithdrawalSpec",
]

When: TypeAlias = date | datetime


@attrs.frozen(kw_only=True)
class RangeSpec:
    """``{earliest: ..., latest: ...}``: the true date is somewhere between the two."""

    earliest: When
    latest: When


WhenV2: TypeAlias = When | RangeSpec
"""A valid time in ``negotrack/2``: a date, a date-time with a zone, or a range."""


@attrs.frozen(kw_only=True)
class MembershipSpec:
    member: str
    group: str
    role: Role = Role.MEMBER
    valid_from: WhenV2
    valid_until: WhenV2 | None = None
    dated: str | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class ClauseVersionSpec:
    change: str
    valid: WhenV2
    dated: str | None = None
    text: str | None = None
    reason: str | None = None
    source: str | None = None
    quote: str | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class ClauseSpec:
    id: str
    title: str
    topic: str | None = None
    text: str | None = None
    scale: ScaleSpec | None = None
    tabled: WhenV2
    dated: str | None = None
    versions: tuple[ClauseVersionSpec, ...] = ()


@attrs.frozen(kw_only=True)
class QuoteSpec:
    """One outlet's report of an observation: where, the words, and whether the party said them."""

    source: str
    quote: str
    stated: bool = True


@attrs.frozen(kw_only=True)
class ReportedSpec:
    """What a stance and a withdrawal both give: who, on what, when, and on which evidence."""

    id: str
    party: str
    clause: str
    valid: WhenV2
    dated: str | None = None
    speaker: str | None = None
    source: str | None = None
    quote: str | None = None
    stated: bool = True
    sources: tuple[QuoteSpec, ...] = ()
    note: str | None = None


@attrs.frozen(kw_only=True)
class StanceSpec(ReportedSpec):
    stance: str | float
    conditions: str | None = None
    confidence: float | None = None
    salience: float | None = None


@attrs.frozen(kw_only=True)
class WithdrawalSpec(ReportedSpec):
    reason: str | None = None


@attrs.frozen(kw_only=True)
class PositionSpec:
    clause: str
    stance: str | float
    quote: str | None = None
    stated: bool = True
    quotes: tuple[QuoteSpec, ...] = ()
    conditions: str | None = None
    confidence: float | None = None
    salience: float | None = None


@attrs.frozen(kw_only=True)
class StatementSpec:
    id: str
    title: str | None = None
    signatories: tuple[str, ...]
    speaks_for_members: bool = False
    valid: WhenV2
    dated: str | None = None
    speaker: str | None = None
    note: str | None = None
    source: str | None = None
    sources: tuple[str, ...] = ()
    readings: tuple[ReadingSpec, ...] = ()
    positions: tuple[PositionSpec, ...]


@attrs.frozen(kw_only=True)
class RetractionSpec:
    of: str
    clause: str | None = None
    reason: str


@attrs.frozen(kw_only=True)
class CorrectionSpec:
    id: str
    of: str
    reason: str
    set: dict[str, Any]


@attrs.frozen(kw_only=True)
class NoteSpec:
    id: str
    kind: str
    valid: WhenV2
    dated: str | None = None
    parties: tuple[str, ...] = ()
    text: str
    source: str | None = None
    quote: str | None = None


@attrs.frozen(kw_only=True)
class DatasetFileV2:
    """A whole ``negotrack/2`` file, structured but not yet checked for references."""

    format: str
    negotiation: NegotiationSpec
    sources: dict[str, SourceSpec] = attrs.field(factory=dict)
    parties: tuple[PartySpec, ...] = ()
    memberships: tuple[MembershipSpec, ...] = ()
    clauses: tuple[ClauseSpec, ...] = ()
    stances: tuple[StanceSpec, ...] = ()
    withdrawals: tuple[WithdrawalSpec, ...] = ()
    statements: tuple[StatementSpec, ...] = ()
    retractions: tuple[RetractionSpec, ...] = ()
    corrections: tuple[CorrectionSpec, ...] = ()
    notes: tuple[NoteSpec, ...] = ()
