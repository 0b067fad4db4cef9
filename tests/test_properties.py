"""The invariants of DESIGN.md as hypothesis properties, on every backend (memory included)."""

from __future__ import annotations

import contextlib
import itertools
import random
from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import negotrack
from negotrack import Event, Matrix, RecordedEvent, StanceRetracted
from negotrack.projections.claims import CONFIDENCE, DEFAULT_RULE, ClaimRule
from negotrack.projections.matrix import project_matrix
from tests.conftest import POSTGRES_URL, SKIP_POSTGRES, Backend
from tests.model import model_cells, model_history
from tests.strategies import (
    CLAUSES,
    NEGOTIATION,
    PARTIES,
    Record,
    as_of_times,
    build_log,
    command_lists,
    day,
    known_at_times,
    open_test_negotiation,
    stance_commands,
    stance_event_logs,
)


def _essence(matrix: Matrix) -> dict[tuple[str, str], tuple[object, ...]]:
    """What a cell says, without the ids and record times a store assigns."""
    return {k: (c.stance, c.valid_at, c.signatories) for k, c in matrix.cells.items()}


def _cells(matrix: Matrix) -> dict[tuple[str, str], dict[str, object]]:
    """Every field of every cell, the claims by event id (the model's form)."""
    return {
        key: {**attrs.asdict(cell, recurse=False), "claims": [c.event_id for c in cell.claims]}
        for key, cell in matrix.cells.items()
    }


def _known_ats(records: list[RecordedEvent]) -> list[datetime]:
    """The instants where a bug at the boundary shows: exactly at, and just before, each retraction."""
    return [
        r.recorded_at + timedelta(microseconds=shift)
        for r in records
        if isinstance(r.event, StanceRetracted)
        for shift in (0, -1)
    ]


class TestStoreEqualsModel:
    """Invariant 1: every backend's answers equal a plain model of the semantics (tests/model.py)."""

    @given(cmds=command_lists, data=st.data())
    def test_matrix_equals_model(
        self, any_backend: Backend, cmds: list[object], data: st.DataObject
    ) -> None:
        """For random logs, random as_of and random known_at, every field of every cell is the model's."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            build_log(neg, cmds)  # type: ignore[arg-type]
            records = list(tracker.events())
            drawn = [data.draw(known_at_times(records), label="known_at") for _ in range(3)]
            for known_at in [*drawn, *_known_ats(records)]:
                as_of = data.draw(as_of_times(), label="as_of")
                expected = model_cells(records, NEGOTIATION, as_of, known_at)
                assert _cells(neg.matrix(as_of, known_at=known_at)) == expected

    @given(cmds=command_lists, data=st.data())
    def test_history_equals_model(
        self, any_backend: Backend, cmds: list[object], data: st.DataObject
    ) -> None:
        """A cell's history, for any known_at, has the model's entries field by field."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            build_log(neg, cmds)  # type: ignore[arg-type]
            records = list(tracker.events())
            party = data.draw(st.sampled_from(PARTIES))
            clause = data.draw(st.sampled_from(CLAUSES))
            for known_at in [data.draw(known_at_times(records)), *_known_ats(records)]:
                found = neg.history(party, clause, known_at=known_at)
                expected = model_history(records, NEGOTIATION, party, clause, known_at)
                assert [attrs.asdict(e, recurse=False) for e in found] == expected


class TestAppendOnly:
    """Invariant 2: any later read of the log extends every earlier read."""

    @given(first=command_lists, second=command_lists)
    def test_later_reads_extend_earlier_ones(
        self, any_backend: Backend, first: list[object], second: list[object]
    ) -> None:
        """Appending more never changes, reorders or removes what was read before."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            build_log(neg, first)  # type: ignore[arg-type]
            before = list(tracker.events())
            build_log(neg, second)  # type: ignore[arg-type]
            after = list(tracker.events())
            assert after[: len(before)] == before
            assert [r.position for r in after] == list(range(1, len(after) + 1))
            assert all(a.recorded_at < b.recorded_at for a, b in itertools.pairwise(after))
            assert tracker.verify().position == len(after)


class TestIdempotency:
    """Invariant 4: appending an event id again writes nothing new."""

    @given(cmds=command_lists)
    def test_reappending_the_log_writes_nothing(
        self, any_backend: Backend, cmds: list[object]
    ) -> None:
        """Every event appended a second time comes back as stored, and the log is unchanged."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            build_log(neg, cmds)  # type: ignore[arg-type]
            log = list(tracker.events())
            again = tracker.append([r.event for r in log])
            assert again == log
            assert list(tracker.events()) == log


class TestBitemporal:
    """Invariant 6: known_at after the last record is "now"; retractions act from their record on."""

    @given(cmds=command_lists, as_of=as_of_times())
    def test_known_now_equals_plain_as_of(
        self, any_backend: Backend, cmds: list[object], as_of: object
    ) -> None:
        """A view known at or after the last record time is the plain as-of view."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            build_log(neg, cmds)  # type: ignore[arg-type]
            last = list(tracker.events())[-1].recorded_at
            assert neg.matrix(as_of, known_at=last).cells == neg.matrix(as_of).cells  # type: ignore[arg-type]
            later = last + timedelta(days=400)
            assert neg.matrix(as_of, known_at=later).cells == neg.matrix(as_of).cells  # type: ignore[arg-type]

    @given(cmds=stance_commands.filter(bool), pick=st.randoms(use_true_random=False))
    def test_retraction_changes_only_views_known_after_it(
        self, any_backend: Backend, cmds: list[Record], pick: random.Random
    ) -> None:
        """Views known before the retraction are untouched; views known after it lose the event."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            ids = build_log(neg, cmds)
            k1 = list(tracker.events())[-1].recorded_at
            as_of_days = [day(n, 23) for n in (0, 3, 9, 30)]
            views = {t: neg.matrix(t, known_at=k1).cells for t in as_of_days}
            target = pick.choice(ids)
            k2 = neg.retract(target, reason="misquote").recorded_at
            for t, cells in views.items():
                assert neg.matrix(t, known_at=k1).cells == cells  # unchanged before K2
                after = neg.matrix(t, known_at=k2)
                assert target not in {c.event_id for c in after}
                expected = model_cells(list(tracker.events()), NEGOTIATION, t, k2)
                assert _cells(after) == expected
            assert neg.matrix(as_of_days[-1]).cells == neg.matrix(as_of_days[-1], known_at=k2).cells


class TestRecordingOrder:
    """Invariant 7: recording order does not change a matrix when valid times are distinct."""

    @given(cmds=stance_commands, order=st.randoms(), as_of=as_of_times())
    def test_permuted_recording_gives_the_same_matrix(
        self, any_backend: Backend, cmds: list[Record], order: random.Random, as_of: object
    ) -> None:
        """The same stances recorded in another order give the same cells."""
        distinct = list({(c.party, c.clause, c.valid_day, c.hours): c for c in cmds}.values())
        shuffled = list(distinct)
        order.shuffle(shuffled)
        results = []
        for sequence in (distinct, shuffled):
            with any_backend.tracker() as tracker:
                neg = open_test_negotiation(tracker)
                build_log(neg, sequence)
                results.append(
                    {k: c.stance for k, c in neg.matrix(as_of).cells.items()}  # type: ignore[arg-type]
                )
        assert results[0] == results[1]


def _observations_then_retractions(events: list[Event]) -> tuple[list[Event], list[Event]]:
    """The stance events of a log, and the retractions a store accepts after all of them."""
    observations = [e for e in events if not isinstance(e, StanceRetracted)]
    stance_ids = {e.event_id for e in observations}
    retractions, retracted = [], set()
    for event in events:
        if isinstance(event, StanceRetracted) and event.retracted in stance_ids - retracted:
            retractions.append(event)
            retracted.add(event.retracted)
    return observations, retractions


def _shown(matrix: Matrix) -> dict[tuple[str, str], tuple[object, ...]]:
    """What each cell shows and rests on, without the positions and times a store assigns."""
    return {
        key: (
            c.stance,
            c.conflicting,
            c.event_id,
            c.evidence,
            c.confidence,
            c.chosen,
            [claim.event_id for claim in c.claims],
        )
        for key, c in matrix.cells.items()
    }


rules = st.sampled_from([DEFAULT_RULE, ClaimRule(()), ClaimRule((CONFIDENCE,))])


class TestSameInstantClaims:
    """Recording order never decides a cell, even among claims made at one valid instant."""

    @given(events=stance_event_logs(), order=st.randoms(), data=st.data())
    def test_any_permutation_of_the_observations_gives_the_same_matrices(
        self, any_backend: Backend, events: list[Event], order: random.Random, data: st.DataObject
    ) -> None:
        """The same observations appended in another order give the same cells, for any rule."""
        observations, retractions = _observations_then_retractions(events)
        shuffled = list(observations)
        order.shuffle(shuffled)
        times = [data.draw(as_of_times(), label="as_of") for _ in range(3)]
        rule = data.draw(rules, label="rule")
        results = []
        for sequence in (observations, shuffled):
            with any_backend.tracker() as tracker:
                neg = open_test_negotiation(tracker)
                for event in [*sequence, *retractions]:
                    tracker.append([event])
                results.append([_shown(neg.matrix(t, rule=rule)) for t in times])
        assert results[0] == results[1]

    @given(events=stance_event_logs(), order=st.randoms(), data=st.data())
    def test_the_store_equals_the_claims_fold_over_the_log(
        self, any_backend: Backend, events: list[Event], order: random.Random, data: st.DataObject
    ) -> None:
        """The store's as-of query, resolved by any rule, equals the fold over its log."""
        observations, retractions = _observations_then_retractions(events)
        sequence = [*observations, *retractions]
        order.shuffle(sequence)
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            for event in sequence:
                # In this order a retraction may come before its target: then it is left out.
                with contextlib.suppress(negotrack.UnknownEventError):
                    tracker.append([event])
            records = list(tracker.events())
            rule = data.draw(rules, label="rule")
            for known_at in [data.draw(known_at_times(records)), *_known_ats(records)]:
                as_of = data.draw(as_of_times(), label="as_of")
                fold = project_matrix(records, NEGOTIATION, as_of, known_at, rule)
                assert neg.matrix(as_of, known_at=known_at, rule=rule).cells == fold.cells


@pytest.mark.postgres
@pytest.mark.skipif(POSTGRES_URL is None, reason=SKIP_POSTGRES)
class TestBackendsAgree:
    """Invariant 8: SQLite and PostgreSQL give identical answers on the same log."""

    @given(cmds=command_lists, data=st.data())
    @settings(max_examples=25)
    def test_sqlite_and_postgresql_agree(
        self, cmds: list[object], data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        """The same commands on both backends give the same matrices and histories."""
        sqlite = Backend("sqlite", tmp_path_factory.mktemp("agree"))
        postgres = Backend("postgresql", tmp_path_factory.mktemp("agree"))
        try:
            answers = []
            as_of = data.draw(as_of_times())
            for backend in (sqlite, postgres):
                with backend.tracker() as tracker:
                    neg = open_test_negotiation(tracker)
                    build_log(neg, cmds)  # type: ignore[arg-type]
                    answers.append(
                        (
                            _essence(neg.matrix(as_of)),
                            [
                                (e.kind, e.stance, e.valid_at, e.retracted)
                                for e in neg.history("GB", "territory")
                            ],
                        )
                    )
            assert answers[0] == answers[1]
        finally:
            sqlite.close()
            postgres.close()
