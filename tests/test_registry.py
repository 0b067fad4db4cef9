"""The registry folds: parties with their memberships, clauses with their text versions."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given

from negotrack import (
    ClauseAmended,
    ClauseTabled,
    ClauseWithdrawn,
    Event,
    MembershipEnded,
    MembershipStarted,
    PartyRegistered,
)
from negotrack.projections.registry import project_clauses, project_parties
from tests.strategies import recorded_in_order, registry_logs

Span = tuple[str, str, object, datetime, datetime | None]
"""A membership in the model: member, group, role, from, until."""


def model_parties(events: list[Event]) -> dict[str, tuple[object, ...]]:
    """Each registered party with its memberships; an end closes the open span it names."""
    registered: dict[str, tuple[object, ...]] = {}
    spans: list[list[object]] = []  # [member, group, role, from, until], in recording order
    for event in events:
        if isinstance(event, PartyRegistered):
            registered[event.party] = (event.name, event.kind, event.aliases)
        elif isinstance(event, MembershipStarted):
            spans.append([event.member, event.group, event.role, event.valid_at, None])
        elif isinstance(event, MembershipEnded):
            still_open = [s for s in spans if s[:2] == [event.member, event.group] and s[4] is None]
            if still_open:
                still_open[0][4] = event.valid_at
    return {
        party: (
            *registered[party],
            [
                tuple(s[1:])
                for s in sorted(
                    (s for s in spans if s[0] == party),
                    key=lambda s: s[3],  # type: ignore[arg-type,return-value]
                )
            ],
        )
        for party in sorted(registered)
    }


def model_clauses(events: list[Event]) -> dict[str, tuple[object, ...]]:
    """Each tabled clause with its versions (change, valid time, text, event) by valid time."""
    heads: dict[str, tuple[object, ...]] = {}
    versions: dict[str, list[tuple[str, datetime, str | None, str]]] = {}
    for event in events:
        if isinstance(event, ClauseTabled):
            heads[event.clause] = (event.title, event.topic, event.scale)
            versions[event.clause] = [("tabled", event.valid_at, event.text, event.event_id)]
        elif isinstance(event, ClauseAmended):
            versions[event.clause].append(("amended", event.valid_at, event.text, event.event_id))
        elif isinstance(event, ClauseWithdrawn):
            versions[event.clause].append(("withdrawn", event.valid_at, None, event.event_id))
    return {
        clause: (*heads[clause], sorted(versions[clause], key=lambda v: v[1]))
        for clause in sorted(heads)
    }


class TestProjectParties:
    @given(registry_logs())
    def test_equals_the_model(self, events: list[Event]) -> None:
        """Names, kinds, aliases, and memberships with role and span, by valid time, parties sorted."""
        parties = project_parties(recorded_in_order(events))
        assert list(parties) == list(model_parties(events))
        got = {
            pid: (
                party.name,
                party.kind,
                party.aliases,
                [(m.group, m.role, m.valid_from, m.valid_until) for m in party.memberships],
            )
            for pid, party in parties.items()
        }
        assert got == model_parties(events)
        assert all(
            party.id == pid and all(m.member == pid for m in party.memberships)
            for pid, party in parties.items()
        )


class TestProjectClauses:
    @given(registry_logs())
    def test_equals_the_model(self, events: list[Event]) -> None:
        """Title, topic, scale, and every text version by valid time, clauses sorted."""
        clauses = project_clauses(recorded_in_order(events))
        assert list(clauses) == list(model_clauses(events))
        got = {
            cid: (
                clause.title,
                clause.topic,
                clause.scale,
                [(v.change, v.valid_at, v.text, v.event_id) for v in clause.versions],
            )
            for cid, clause in clauses.items()
        }
        assert got == model_clauses(events)
        assert all(clause.id == cid for cid, clause in clauses.items())
