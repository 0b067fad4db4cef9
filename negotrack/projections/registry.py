"""Who and what a negotiation is about: its parties (with memberships) and clauses."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from negotrack.events import (
    ClauseAmended,
    ClauseTabled,
    ClauseWithdrawn,
    MembershipEnded,
    MembershipStarted,
    PartyRegistered,
)
from negotrack.model import Clause, ClauseVersion, Membership, Party
from negotrack.store import RecordedEvent

__all__ = ["REGISTRY_TYPES", "project_clauses", "project_parties"]

REGISTRY_TYPES = tuple(
    cls.__name__
    for cls in (
        PartyRegistered,
        MembershipStarted,
        MembershipEnded,
        ClauseTabled,
        ClauseAmended,
        ClauseWithdrawn,
    )
)
"""The event types these folds read; the store fetches only those."""


def project_parties(records: Iterable[RecordedEvent]) -> dict[str, Party]:
    """Parties by id, each with its memberships (as member) in valid-time order."""
    parties: dict[str, Party] = {}
    memberships: dict[str, list[Membership]] = {}
    for record in records:
        event = record.event
        if isinstance(event, PartyRegistered):
            parties[event.party] = Party(
                id=event.party, name=event.name, kind=event.kind, aliases=event.aliases
            )
        elif isinstance(event, MembershipStarted):
            memberships.setdefault(event.member, []).append(
                Membership(
                    member=event.member,
                    group=event.group,
                    role=event.role,
                    valid_from=event.valid_at,
                )
            )
        elif isinstance(event, MembershipEnded):
            held = memberships.get(event.member, [])
            for i, membership in enumerate(held):
                if membership.group == event.group and membership.valid_until is None:
                    held[i] = attrs.evolve(membership, valid_until=event.valid_at)
                    break
    return {
        pid: attrs.evolve(
            party,
            memberships=tuple(sorted(memberships.get(pid, []), key=lambda m: m.valid_from)),
        )
        for pid, party in sorted(parties.items())
    }


def project_clauses(records: Iterable[RecordedEvent]) -> dict[str, Clause]:
    """Clauses by id, each with its text versions in valid-time order."""
    clauses: dict[str, Clause] = {}
    for record in records:
        event = record.event
        if isinstance(event, ClauseTabled):
            version = ClauseVersion(
                change="tabled", valid_at=event.valid_at, text=event.text, event_id=event.event_id
            )
            clauses[event.clause] = Clause(
                id=event.clause,
                title=event.title,
                topic=event.topic,
                scale=event.scale,
                versions=(version,),
            )
        elif isinstance(event, ClauseAmended | ClauseWithdrawn) and event.clause in clauses:
            clause = clauses[event.clause]
            version = ClauseVersion(
                change="amended" if isinstance(event, ClauseAmended) else "withdrawn",
                valid_at=event.valid_at,
                text=event.text if isinstance(event, ClauseAmended) else None,
                event_id=event.event_id,
            )
            versions = sorted((*clause.versions, version), key=lambda v: v.valid_at)
            clauses[event.clause] = attrs.evolve(clause, versions=tuple(versions))
    return dict(sorted(clauses.items()))
