"""Stale cells: a stance that answers an older text of its clause.

When a clause is amended, what a party said about the earlier text may not
hold for the new one.  The matrix keeps showing that stance (it is still the
party's latest word) but marks the cell *stale* until the party speaks to
the text in force.

A stance answers the clause version it names (:attr:`Claim.answers`, the
event id of a tabling or an amendment) or, when it names none, the version
in force at its own valid time.  A cell is stale as of ``T`` when the text in
force at ``T`` is an amendment that none of the claims the rule chose
answers.  A stance on the tabled text is never stale before the first
amendment, even when it predates the tabling; a withdrawal of the clause
changes no text, so it makes nothing stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from negotrack._time import to_micros
from negotrack.model import ClauseVersion
from negotrack.projections.claims import Claim

__all__ = ["answered_version", "is_stale", "text_in_force"]


def text_in_force(versions: Sequence[ClauseVersion], at: datetime) -> ClauseVersion | None:
    """The clause text in force at ``at``: its latest tabled or amended version by then."""
    limit = to_micros(at)
    texts = [v for v in versions if v.change != "withdrawn" and to_micros(v.valid_at) <= limit]
    return max(texts, key=lambda v: to_micros(v.valid_at), default=None)


def answered_version(claim: Claim, versions: Sequence[ClauseVersion]) -> str | None:
    """The event id of the clause version ``claim`` answers (``None``: no text yet)."""
    if claim.answers is not None:
        return claim.answers
    held = text_in_force(versions, claim.valid_at)
    return None if held is None else held.event_id


def is_stale(chosen: Iterable[Claim], versions: Sequence[ClauseVersion], as_of: datetime) -> bool:
    """Whether the text in force at ``as_of`` is an amendment none of ``chosen`` answers."""
    current = text_in_force(versions, as_of)
    if current is None or current.change != "amended":
        return False
    return all(answered_version(claim, versions) != current.event_id for claim in chosen)
