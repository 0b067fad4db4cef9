"""Bloc rows: a bloc's stance on each clause, stated by the bloc or derived from its members.

A bloc (or group) row can come from the bloc's own statement (a cell of the
bloc party itself) or be derived, as of a valid time, from the stances of the
parties that are members at that time.  The caller names the rule:

- ``unanimous``: the members' common stance, if all members with a stance agree
  and every member has one; otherwise no derived stance;
- ``majority``: the stance held by more than half of the members (those without
  a stance count against every stance);
- ``mean``: the mean of the members' stances (a number; on the ordinal scale,
  -2..+2), over the members that have one.

A member whose cell is a conflict (claims the claim rule cannot choose
between) has no stance for any of the rules.
"""

from __future__ import annotations

import enum
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from negotrack.errors import ValidationError
from negotrack.model import Ordinal, Party, StanceValue
from negotrack.projections.matrix import Cell, Matrix

__all__ = ["BlocRow", "BlocStance", "Rule", "derive_bloc", "members_at"]


class Rule(enum.StrEnum):
    """How a derived bloc stance is computed from the members' stances."""

    UNANIMOUS = "unanimous"
    MAJORITY = "majority"
    MEAN = "mean"


@attrs.frozen(kw_only=True)
class BlocStance:
    """The bloc's stance on one clause: stated, derived, or both side by side."""

    clause: str
    stated: Cell | None
    """The bloc's own stance, when the bloc itself said something."""
    derived: StanceValue | None
    """The stance derived from the members by the rule (``None``: the rule gives none)."""
    members: Mapping[str, Cell]
    """The members' cells the derivation used, by party."""


@attrs.frozen(kw_only=True)
class BlocRow:
    """A bloc's row of the matrix as of ``as_of``."""

    bloc: str
    rule: Rule
    as_of: datetime
    members: tuple[str, ...]
    stances: Mapping[str, BlocStance]

    def __getitem__(self, clause: str) -> BlocStance:
        return self.stances[clause]


def members_at(parties: Mapping[str, Party], bloc: str, instant: datetime) -> tuple[str, ...]:
    """The parties that are members of ``bloc`` at ``instant``, sorted."""
    return tuple(
        sorted(
            party.id
            for party in parties.values()
            if any(m.group == bloc and m.holds_at(instant) for m in party.memberships)
        )
    )


def _derive(rule: Rule, stances: list[StanceValue], members: int) -> StanceValue | None:
    if not stances:
        return None
    if rule is Rule.MEAN:
        return statistics.fmean(float(s) for s in stances)
    counts = Counter(stances)
    stance, count = counts.most_common(1)[0]
    if rule is Rule.UNANIMOUS:
        return stance if count == members else None
    return stance if count * 2 > members else None


def derive_bloc(
    matrix: Matrix, bloc: str, members: Iterable[str], rule: Rule | str = Rule.MAJORITY
) -> BlocRow:
    """The bloc's row: for each clause any member or the bloc holds a stance on.

    Args:
        matrix: the matrix as of the time the row is for.
        bloc: the bloc's party id (its own stated stances are shown beside).
        members: the members at that time (see :func:`members_at`).
        rule: ``unanimous``, ``majority`` or ``mean``.

    Raises:
        ValidationError: an unknown rule.
    """
    try:
        rule = Rule(rule)
    except ValueError:
        raise ValidationError(
            f"unknown bloc rule {rule!r}: expected one of {', '.join(Rule)}"
        ) from None
    group = tuple(sorted(set(members)))
    clauses = {cell.clause for cell in matrix if cell.party in group or cell.party == bloc}
    stances = {}
    for clause in sorted(clauses):
        held = {p: c for p in group if (c := matrix.get(p, clause)) is not None}
        # A member whose claims conflict holds no single stance: it counts as
        # a member without one (the denominator stays the whole group).
        values = [c.stance for c in held.values() if c.stance is not None]
        if rule is not Rule.MEAN and not all(isinstance(v, Ordinal) for v in values):
            values = [float(v) for v in values]
        stances[clause] = BlocStance(
            clause=clause,
            stated=matrix.get(bloc, clause),
            derived=_derive(rule, values, len(group)),
            members=held,
        )
    return BlocRow(bloc=bloc, rule=rule, as_of=matrix.as_of, members=group, stances=stances)
