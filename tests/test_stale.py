"""Stale cells: a stance that answers an older text of its clause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from negotrack import ClauseAmended, RecordedEvent
from negotrack.model import ClauseVersion, Ordinal, Precision
from negotrack.projections.claims import Claim
from negotrack.projections.matrix import project_matrix
from negotrack.projections.stale import answered_version, is_stale, text_in_force
from tests.conftest import Backend
from tests.strategies import (
    BASE,
    CLAUSES,
    NEGOTIATION,
    PARTIES,
    as_of_times,
    day,
    known_at_times,
    open_test_negotiation,
)

TABLED = ClauseVersion(change="tabled", valid_at=day(-1), text="28 points", event_id="tabled")
AMENDED = ClauseVersion(change="amended", valid_at=day(3), text="19 points", event_id="amended")
DROPPED = ClauseVersion(change="withdrawn", valid_at=day(6), text=None, event_id="dropped")


def _claim(valid_day: int, answers: str | None = None) -> Claim:
    return Claim(
        party="UA",
        clause="territory",
        stance=Ordinal.OPPOSE,
        valid_at=day(valid_day),
        precision=Precision.DAY,
        stated=True,
        confidence=None,
        event_id=f"stance-{valid_day}",
        position=1,
        recorded_at=BASE,
        answers=answers,
    )


class TestTextInForce:
    def test_a_stance_answers_the_text_in_force_at_its_valid_time(self) -> None:
        """By default the text a stance answers is the one in force when it was held."""
        versions = (TABLED, AMENDED)
        assert answered_version(_claim(1), versions) == "tabled"
        assert answered_version(_claim(3), versions) == "amended"  # the same instant: the new text
        assert answered_version(_claim(-2), versions) is None  # before any text

    def test_a_stance_that_names_its_text_answers_that_one(self) -> None:
        """A stance naming the version it answers is judged by that, not by its date."""
        versions = (TABLED, AMENDED)
        assert not is_stale([_claim(1, answers="amended")], versions, day(5))
        assert is_stale([_claim(4, answers="tabled")], versions, day(5))

    def test_stale_only_once_the_amendment_is_in_force(self) -> None:
        """A stance on the tabled text is stale from the amendment's valid time, not before."""
        versions = (TABLED, AMENDED)
        assert not is_stale([_claim(1)], versions, day(2))
        assert is_stale([_claim(1)], versions, day(3))
        assert not is_stale([_claim(-2)], (TABLED,), day(5))  # no amendment: never stale

    def test_withdrawing_the_clause_changes_no_text(self) -> None:
        """After the clause is withdrawn the text in force is still the last one tabled or amended."""
        assert text_in_force((TABLED, AMENDED, DROPPED), day(9)) == AMENDED
        assert not is_stale([_claim(4)], (TABLED, AMENDED, DROPPED), day(9))

    def test_one_chosen_claim_on_the_new_text_is_enough(self) -> None:
        """A cell is stale only when none of the claims the rule chose answers the text in force."""
        versions = (TABLED, AMENDED)
        assert not is_stale([_claim(1), _claim(1, answers="amended")], versions, day(5))


# -- the property, against a model written from the events --------------------


@attrs.frozen
class Say:
    party: str
    clause: str
    valid_day: int


@attrs.frozen
class Amend:
    clause: str
    valid_day: int


@attrs.frozen
class Drop:
    clause: str
    valid_day: int


few_parties = st.sampled_from(PARTIES[:2])
few_clauses = st.sampled_from(CLAUSES[:2])
valid_days = st.integers(0, 9)
amendment_logs = st.lists(
    st.one_of(
        st.builds(Say, few_parties, few_clauses, valid_days),
        st.builds(Amend, few_clauses, valid_days),
        st.builds(Drop, few_clauses, valid_days),
    ),
    max_size=14,
)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def model_stale(
    records: list[RecordedEvent], as_of: datetime, known_at: datetime | None
) -> dict[tuple[str, str], bool]:
    """Each filled cell's stale flag: the clause's last amendment by ``as_of`` came after its stance.

    The logs here have one stance per party and clause and day, and clauses tabled
    before any of them, so "the text in force" is the latest amendment by ``as_of``.
    """
    known = [r for r in records if known_at is None or _utc(r.recorded_at) <= _utc(known_at)]
    latest: dict[tuple[str, str], datetime] = {}
    amended: dict[str, datetime] = {}
    for record in known:
        event: Any = record.event
        kind = type(event).__name__
        if _utc(getattr(event, "valid_at", as_of)) > _utc(as_of):
            continue
        if kind == "StanceRecorded":
            key = (event.party, event.clause)
            latest[key] = max(latest.get(key, event.valid_at), event.valid_at, key=_utc)
        elif kind == "ClauseAmended":
            amended[event.clause] = max(amended.get(event.clause, event.valid_at), event.valid_at)
    return {
        key: key[1] in amended and _utc(amended[key[1]]) > _utc(held)
        for key, held in latest.items()
    }


class TestStaleCells:
    @given(log=amendment_logs, data=st.data())
    def test_stale_flags_equal_the_model(
        self, any_backend: Backend, log: list[object], data: st.DataObject
    ) -> None:
        """On every backend, and in the fold, a cell is stale iff an amendment in force postdates it."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            said = set()
            for step in log:
                match step:
                    case Say(party, clause, valid_day) if (party, clause, valid_day) not in said:
                        said.add((party, clause, valid_day))
                        neg.record_stance(party, clause, "oppose", valid_at=day(valid_day))
                    case Amend(clause, valid_day):
                        neg.amend_clause(
                            clause, f"text of day {valid_day}", valid_at=day(valid_day)
                        )
                    case Drop(clause, valid_day):
                        neg.withdraw_clause(clause, valid_at=day(valid_day))
            records = list(tracker.events())
            # Just before each amendment is recorded: where a view that knew it too early shows.
            before_amendments = [
                r.recorded_at - timedelta(microseconds=1)
                for r in records
                if isinstance(r.event, ClauseAmended)
            ]
            drawn = [data.draw(known_at_times(records), label="known_at") for _ in range(2)]
            for known_at in [*drawn, *before_amendments]:
                as_of = data.draw(as_of_times(), label="as_of")
                expected = model_stale(records, as_of, known_at)
                matrix = neg.matrix(as_of, known_at=known_at)
                assert {k: c.stale for k, c in matrix.cells.items()} == expected
                fold = project_matrix(records, NEGOTIATION, as_of, known_at)
                assert {k: c.stale for k, c in fold.cells.items()} == expected

    def test_speaking_to_the_new_text_clears_the_flag(self, any_backend: Backend) -> None:
        """Stale after the amendment; the party's next stance, on the new text, is not."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            neg.record_stance("UA", "territory", "oppose", valid_at=day(0))
            neg.amend_clause("territory", "the line of contact", valid_at=day(2))
            assert not neg.matrix(day(1))["UA", "territory"].stale
            assert neg.matrix(day(2))["UA", "territory"].stale
            assert neg.matrix(day(2))["UA", "territory"].to_record()["stale"] is True
            neg.record_stance("UA", "territory", "lean_oppose", valid_at=day(4))
            assert neg.matrix(day(3))["UA", "territory"].stale
            assert not neg.matrix(day(4))["UA", "territory"].stale

    def test_an_amendment_not_yet_known_makes_nothing_stale(self, any_backend: Backend) -> None:
        """As known before the amendment was recorded, the cell is not stale; as known after, it is."""
        with any_backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            known = neg.record_stance("UA", "territory", "oppose", valid_at=day(0)).recorded_at
            neg.amend_clause("territory", "the line of contact", valid_at=day(2))
            assert not neg.matrix(day(5), known_at=known)["UA", "territory"].stale
            assert neg.matrix(day(5))["UA", "territory"].stale
            fold = project_matrix(list(tracker.events()), NEGOTIATION, day(5), known)
            assert not fold["UA", "territory"].stale
