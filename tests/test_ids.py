"""Readable, stable event ids: a retry writes nothing new, different records never share an id."""

from __future__ import annotations

import re

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import negotrack
from negotrack.events import Event
from negotrack.ids import MAX_EVENT_ID, readable_event_id
from tests.conftest import Backend
from tests.strategies import (
    NEGOTIATION,
    QUOTE,
    any_event,
    apply,
    command_lists,
    day,
    open_test_negotiation,
)

_DIGEST = re.compile(r"/[0-9a-f]{16}\Z")


def _content(event: Event) -> Event:
    """The event with a fixed id: two events are the same record when these are equal."""
    return attrs.evolve(event, event_id="x")


class TestReadableIds:
    """readable_event_id() on its own."""

    @given(first=any_event, second=any_event)
    def test_different_records_never_share_an_id(self, first: Event, second: Event) -> None:
        """Two events get the same id exactly when they record the same thing (their own ids aside)."""
        same = _content(first) == _content(second)
        assert (readable_event_id(first) == readable_event_id(second)) == same

    @given(event=any_event, occurrence=st.integers(2, 5))
    def test_a_later_occurrence_is_another_id(self, event: Event, occurrence: int) -> None:
        """The same record made again after a retraction gets an id of its own."""
        assert readable_event_id(event, occurrence) != readable_event_id(event)
        assert readable_event_id(event, occurrence) == readable_event_id(event, occurrence)

    @given(event=any_event)
    def test_ids_fit_the_log(self, event: Event) -> None:
        """Every id is accepted as an event id, at most 200 characters, ending in the digest."""
        made = readable_event_id(event)
        assert attrs.evolve(event, event_id=made).event_id == made
        assert len(made) <= MAX_EVENT_ID
        assert _DIGEST.search(made)
        assert made.startswith(f"{event.negotiation}/")

    def test_the_limit_is_the_logs(self) -> None:
        """MAX_EVENT_ID is the event id validator's limit."""
        event = negotrack.NoteRecorded(
            negotiation="talks", kind="call", text="a call", valid_at=day(1), event_id="a"
        )
        attrs.evolve(event, event_id="a" * MAX_EVENT_ID)
        with pytest.raises(negotrack.InvalidIdError):
            attrs.evolve(event, event_id="a" * (MAX_EVENT_ID + 1))

    def test_long_names_are_cut_not_the_digest(self) -> None:
        """With very long ids the readable part is cut to fit; records still differ by their digest."""
        tracker = negotrack.open("memory://")
        long_name = "-".join(["negotiation"] * 8)  # ids may be 100 characters at most
        neg = tracker.open_negotiation(long_name, title="Long")
        party, clause = "-".join(["party"] * 15), "-".join(["clause"] * 14)
        neg.register_party(party, "A party with a long id")
        neg.table_clause(clause, "A clause with a long id", valid_at=day(1))
        first = neg.record_stance(party, clause, "oppose", valid_at=day(1)).event.event_id
        second = neg.record_stance(party, clause, "support", valid_at=day(1)).event.event_id
        assert len(first) == len(second) == MAX_EVENT_ID
        assert first != second
        assert _DIGEST.search(first)


class TestThroughTheTracker:
    """The tracker's write methods give readable ids, and a retry is idempotent without passing one."""

    def test_a_stance_id_says_what_it_records(self, tracker: negotrack.Tracker) -> None:
        """negotiation/stance/party/clause/valid date/digest."""
        neg = open_test_negotiation(tracker)
        recorded = neg.record_stance("GB", "territory", "oppose", valid_at=day(1), evidence=QUOTE)
        prefix = f"{NEGOTIATION}/stance/GB/territory/{day(1).date().isoformat()}/"
        assert recorded.event.event_id.startswith(prefix)
        assert _DIGEST.search(recorded.event.event_id)

    @given(cmds=command_lists)
    def test_retrying_every_call_writes_nothing_new(
        self, any_backend: Backend, cmds: list[object]
    ) -> None:
        """Each call made twice (a retry after a lost reply) gives the log of each call made once."""
        logs = []
        for retry in (False, True):
            with any_backend.tracker() as tracker:
                neg = open_test_negotiation(tracker)
                if retry:
                    open_test_negotiation_again(tracker)
                recorded: list[str] = []
                for command in cmds:
                    before = list(recorded)  # the retry sees what the first call saw
                    apply(neg, command, recorded)  # type: ignore[arg-type]
                    if retry:
                        apply(neg, command, before)  # type: ignore[arg-type]
                logs.append(
                    [(r.position, r.stream, r.version, r.event) for r in tracker.events()]
                )
        assert logs[1] == logs[0]

    def test_recording_again_after_a_retraction_is_a_new_record(
        self, tracker: negotrack.Tracker
    ) -> None:
        """A record retracted by mistake and made again is written (and fills its cell); retrying that writes nothing."""
        neg = open_test_negotiation(tracker)

        def record() -> negotrack.RecordedEvent:
            return neg.record_stance("GB", "territory", "oppose", valid_at=day(1), evidence=QUOTE)

        first = record()
        neg.retract(first.event.event_id, reason="retracted by mistake")
        again = record()
        assert again.event.event_id != first.event.event_id
        assert again.position == tracker.last_position()
        assert [c.label for c in neg.matrix(day(2))] == ["oppose"]
        assert record() == again  # the retry of the new record
        assert tracker.last_position() == again.position

    def test_correcting_back_to_the_first_record(self, tracker: negotrack.Tracker) -> None:
        """Correcting A to B, then B back to A, leaves A in the cell (the second A is a new record)."""
        neg = open_test_negotiation(tracker)
        first = neg.record_stance("GB", "territory", "oppose", valid_at=day(1), evidence=QUOTE)
        _, second = neg.correct(first.event.event_id, reason="wrong stance", stance="support")
        _, third = neg.correct(second.event.event_id, reason="it was right", stance="oppose")
        assert third.event.event_id != first.event.event_id
        assert [c.label for c in neg.matrix(day(2))] == ["oppose"]


def open_test_negotiation_again(tracker: negotrack.Tracker) -> None:
    """The retry of open_test_negotiation(): every declaration again, none written twice."""
    before = tracker.last_position()
    open_test_negotiation(tracker)
    assert tracker.last_position() == before
