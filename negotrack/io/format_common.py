"""The parts of a dataset file's shape that every format version shares.

The negotiation, its sources and parties, an interval scale and a reading of
who signed: ``negotrack/1`` (:mod:`negotrack.io.dataset`) and ``negotrack/2``
(:mod:`negotrack.io.format_v2`) declare them alike.
"""

from __future__ import annotations

from datetime import date

import attrs

from negotrack.model import PartyKind

__all__ = ["NegotiationSpec", "PartySpec", "ReadingSpec", "ScaleSpec", "SourceSpec"]


@attrs.frozen(kw_only=True)
class NegotiationSpec:
    id: str
    title: str
    timezone: str = "UTC"
    description: str | None = None


@attrs.frozen(kw_only=True)
class SourceSpec:
    outlet: str
    title: str | None = None
    url: str | None = None
    published: date | None = None
    file: str | None = None


@attrs.frozen(kw_only=True)
class PartySpec:
    id: str
    name: str
    kind: PartyKind
    aliases: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ScaleSpec:
    low: float
    high: float
    labels: dict[float, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ReadingSpec:
    source: str
    signatories: tuple[str, ...]
    note: str | None = None
