"""``with negotiation.batch():`` writes what the block records as one transaction, or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

import negotrack
from negotrack import UnknownPartyError, ValidationError
from negotrack.store.sql import SqlEventStore
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, QUOTE, day, open_test_negotiation


@contextmanager
def counted_appends(tracker: negotrack.Tracker) -> Iterator[list[int]]:
    """Count the store's appends (each one transaction) and, on SQL, its commits."""
    counts = [0, 0]  # appends, commits
    store: Any = tracker.store
    append = store.append

    def counting(*args: Any, **kwargs: Any) -> Any:
        counts[0] += 1
        return append(*args, **kwargs)

    def commit(_: object) -> None:
        counts[1] += 1

    store.append = counting
    engine = store.engine if isinstance(store, SqlEventStore) else None
    if engine is not None:
        sa.event.listen(engine, "commit", commit)
    try:
        yield counts
    finally:
        del store.append
        if engine is not None:
            sa.event.remove(engine, "commit", commit)


def _three_stances(neg: negotrack.Negotiation) -> None:
    neg.record_stance("GB", "territory", "support", valid_at=day(1), evidence=QUOTE)
    neg.record_stance("FR", "territory", "oppose", valid_at=day(1))
    neg.withdraw_stance("GB", "territory", valid_at=day(2))


def _fail_midway(neg: negotrack.Negotiation) -> None:
    with neg.batch():
        _three_stances(neg)
        raise RuntimeError("spreadsheet row 7 is unreadable")


def _record_in_batch(
    neg: negotrack.Negotiation, parties: tuple[str, ...], expected: tuple[int | None, ...] = ()
) -> None:
    """One batch: a stance of each party on territory, on successive days."""
    versions = expected or (None,) * len(parties)
    with neg.batch():
        for n, (party, version) in enumerate(zip(parties, versions, strict=True)):
            neg.record_stance(
                party, "territory", "support", valid_at=day(n + 1), expected_version=version
            )


class TestBatch:
    """A batch is one append: atomic, one transaction, its records kept."""

    def test_a_batch_is_one_transaction(self, any_backend: Backend) -> None:
        """Three writes in a batch make one append (and on SQL one commit); a read sees all three."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            before = tracker.last_position()
            with counted_appends(tracker) as counts, neg.batch() as batch:
                _three_stances(neg)
                assert tracker.last_position() == before  # nothing written yet
            assert counts[0] == 1
            if any_backend.name != "memory":
                assert counts[1] == 1
            assert [r.position for r in batch.records] == [before + 1, before + 2, before + 3]
            assert [r.event for r in batch.records] == batch.events
            assert len(neg.history("GB", "territory")) == 2

    def test_without_a_batch_each_write_is_its_own_transaction(self, any_backend: Backend) -> None:
        """The control: the same writes outside a batch append three times."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            with counted_appends(tracker) as counts:
                _three_stances(neg)
            assert counts[0] == 3

    def test_an_error_inside_the_block_writes_nothing(self, any_backend: Backend) -> None:
        """An exception raised in the block leaves the log as it was, and is raised."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            before = tracker.last_position()
            with pytest.raises(RuntimeError, match="spreadsheet row 7"):
                _fail_midway(neg)
            assert tracker.last_position() == before
            # The tracker is not left in a batch: the next write is written at once.
            recorded = neg.record_stance("UA", "territory", "support", valid_at=day(1))
            assert recorded.position == before + 1

    def test_a_refusal_at_the_end_writes_nothing(self, any_backend: Backend) -> None:
        """A write rule broken by one event of the batch refuses the whole batch."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            before = tracker.last_position()
            with pytest.raises(UnknownPartyError, match="'XX'"):
                _record_in_batch(neg, ("GB", "XX"))
            assert tracker.last_position() == before

    def test_queued_records_are_marked_not_yet_written(self, any_backend: Backend) -> None:
        """Inside the block a write returns its event's record as queued: position 0."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            with neg.batch() as batch:
                queued = neg.record_stance("GB", "territory", "support", valid_at=day(1))
                assert queued.position == 0
                assert queued.recorded_at == negotrack.batch.NOT_YET_RECORDED
            assert batch.records[0].event == queued.event
            assert batch.records[0].position > 0

    def test_a_repeated_call_is_queued_once(self, any_backend: Backend) -> None:
        """The same call twice makes the same readable id, so it is written once, as outside."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            with neg.batch() as batch:
                for _ in range(2):
                    neg.record_stance("GB", "territory", "support", valid_at=day(1))
            assert len(batch.records) == 1

    def test_a_batch_inside_a_batch_joins_it(self, any_backend: Backend) -> None:
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            with counted_appends(tracker) as counts, neg.batch() as outer:
                with neg.batch() as inner:
                    neg.record_stance("GB", "territory", "support", valid_at=day(1))
                assert inner is outer
                neg.record_stance("FR", "territory", "support", valid_at=day(1))
            assert counts[0] == 1
            assert len(outer.records) == 2

    def test_corrections_join_the_batch(self, any_backend: Backend) -> None:
        """correct() queues its retraction and replacement with the rest."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            stance = neg.record_stance("GB", "territory", "support", valid_at=day(1))
            with counted_appends(tracker) as counts, neg.batch() as batch:
                neg.correct(stance.event.event_id, reason="misread", stance="oppose")
                neg.record_stance("FR", "territory", "support", valid_at=day(1))
            assert counts[0] == 1
            assert len(batch.records) == 3

    def test_opening_a_negotiation_inside_a_batch_is_refused(self, any_backend: Backend) -> None:
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            with (
                pytest.raises(ValidationError, match="open it before the batch"),
                neg.batch(),
            ):
                tracker.open_negotiation("other-talks", title="Other")
            assert [n.id for n in tracker.negotiations()] == [NEGOTIATION]

    def test_two_expectations_of_one_cell_must_agree(self, any_backend: Backend) -> None:
        """A cell's expected version is the one it has before the batch: given twice, it agrees."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            with pytest.raises(ValidationError, match="expected at version 0 and at version 1"):
                _record_in_batch(neg, ("GB", "GB"), expected=(0, 1))
            assert not len(neg.history("GB", "territory"))
