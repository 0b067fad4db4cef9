"""The reference fold of a cell's history against a plain model of the log."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import attrs
from hypothesis import given
from hypothesis import strategies as st

from negotrack import (
    Event,
    JointStatementRecorded,
    RecordedEvent,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
)
from negotrack.projections.history import project_history
from tests.strategies import (
    BASE,
    CLAUSES,
    NEGOTIATION,
    PARTIES,
    recorded_in_order,
    stance_event_logs,
)

KINDS = {
    StanceRecorded: "stance",
    JointStatementRecorded: "joint_statement",
    StanceWithdrawn: "withdrawal",
}


def model_history(
    records: list[RecordedEvent], party: str, clause: str, known_at: datetime | None
) -> list[tuple[object, ...]]:
    """Every stance event on the cell known at K, its retraction if known at K, by valid time."""
    known = [
        r
        for r in records
        if r.event.negotiation == NEGOTIATION and (known_at is None or r.recorded_at <= known_at)
    ]
    retraction = {r.event.retracted: r for r in known if isinstance(r.event, StanceRetracted)}
    rows = []
    for r in known:
        e = r.event
        if isinstance(e, StanceRecorded | StanceWithdrawn):
            on_cell = (e.party, e.clause) == (party, clause)
        elif isinstance(e, JointStatementRecorded):
            on_cell = e.clause == clause and party in e.signatories
        else:
            on_cell = False
        if not on_cell:
            continue
        gone = retraction.get(e.event_id)
        rows.append(
            (
                KINDS[type(e)],
                getattr(e, "stance", None),
                e.valid_at,
                r.recorded_at,
                e.event_id,
                r.position,
                None if gone is None else gone.recorded_at,
                None if gone is None else gone.event.reason,  # type: ignore[attr-defined]
            )
        )
    return sorted(rows, key=lambda row: (row[2], row[5]))  # type: ignore[arg-type,return-value]


def other_negotiation(event: Event) -> Event:
    """The same event in another negotiation, under its own ids."""
    if isinstance(event, StanceRetracted):
        return attrs.evolve(
            event,
            negotiation="other-talks",
            event_id=f"{event.event_id}-x",
            retracted=f"{event.retracted}-x",
        )
    return attrs.evolve(event, negotiation="other-talks", event_id=f"{event.event_id}-x")


class TestProjectHistory:
    @given(stance_event_logs(), st.data())
    def test_equals_the_model(self, events: list[Event], data: st.DataObject) -> None:
        """Each cell's entries and retractions as known now and at each record time (and before the first), another negotiation ignored."""
        log: list[Event] = []
        for event in events:
            if data.draw(st.booleans()):
                log.append(other_negotiation(event))
            log.append(event)
        records = recorded_in_order(log)
        times = [None, BASE + timedelta(days=30), *(r.recorded_at for r in records)]
        for known_at, party, clause in itertools.product(times, PARTIES[:3], CLAUSES[:2]):
            history = project_history(records, NEGOTIATION, party, clause, known_at)
            got = [
                (
                    e.kind,
                    e.stance,
                    e.valid_at,
                    e.recorded_at,
                    e.event_id,
                    e.position,
                    e.retracted_at,
                    e.retraction_reason,
                )
                for e in history
            ]
            assert got == model_history(records, party, clause, known_at)
            assert (history.party, history.clause, history.known_at) == (
                party,
                clause,
                known_at,
            )
