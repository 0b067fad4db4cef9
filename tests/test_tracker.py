"""The facade an analyst scripts against: dates, corrections, history, diff, listings, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

import negotrack
from negotrack import (
    Evidence,
    IntervalScale,
    InvalidIdError,
    InvalidStanceError,
    NaiveDatetimeError,
    Ordinal,
    Source,
    UnknownClauseError,
    UnknownEventError,
    UnknownNegotiationError,
    UnknownPartyError,
    ValidationError,
)
from tests.strategies import NEGOTIATION, QUOTE, day, open_test_negotiation

RFE = Source(outlet="RFE/RL", published=date(2025, 11, 22))


class TestDates:
    """A date means its day in the negotiation's time zone; as_of a date means its end."""

    def test_as_of_a_date_includes_that_whole_day(self, tracker: negotrack.Tracker) -> None:
        """A stance at 23:59 on 22 Nov is in the matrix as of 22 Nov, not as of 21 Nov."""
        neg = open_test_negotiation(tracker)
        neg.record_stance(
            "GB", "territory", "oppose", valid_at=datetime(2025, 11, 22, 23, 59, tzinfo=UTC)
        )
        assert neg.matrix(date(2025, 11, 22)).get("GB", "territory") is not None
        assert neg.matrix(date(2025, 11, 21)).get("GB", "territory") is None

    def test_dates_follow_the_negotiation_time_zone(self, tracker: negotrack.Tracker) -> None:
        """In a Kyiv negotiation, 23:30 UTC on the 21st is already the 22nd."""
        neg = tracker.open_negotiation("kyiv-talks", title="Kyiv", timezone="Europe/Kyiv")
        neg.register_party("UA", "Ukraine")
        neg.table_clause("territory", "Territory", valid_at=date(2025, 11, 1))
        neg.record_stance(
            "UA", "territory", "oppose", valid_at=datetime(2025, 11, 21, 23, 30, tzinfo=UTC)
        )
        assert neg.matrix(date(2025, 11, 21)).get("UA", "territory") is None
        assert neg.matrix(date(2025, 11, 22)).get("UA", "territory") is not None

    def test_a_date_as_valid_time_means_the_start_of_the_day(
        self, tracker: negotrack.Tracker
    ) -> None:
        """A stance dated 22 Nov (day precision) holds from midnight that day."""
        neg = open_test_negotiation(tracker)
        recorded = neg.record_stance("GB", "territory", "oppose", valid_at=date(2025, 11, 22))
        assert recorded.event.valid_at == datetime(2025, 11, 22, tzinfo=UTC)  # type: ignore[union-attr]
        assert recorded.event.precision is negotrack.Precision.DAY  # type: ignore[union-attr]
        assert (
            neg.matrix(datetime(2025, 11, 22, 0, 0, tzinfo=UTC)).get("GB", "territory") is not None
        )

    def test_naive_datetimes_are_refused(self, tracker: negotrack.Tracker) -> None:
        """A datetime without a zone names no instant: NaiveDatetimeError names the field."""
        neg = open_test_negotiation(tracker)
        with pytest.raises(NaiveDatetimeError, match="valid_at"):
            neg.record_stance("GB", "territory", "oppose", valid_at=datetime(2025, 11, 22))
        with pytest.raises(NaiveDatetimeError, match="as_of"):
            neg.matrix(datetime(2025, 11, 22))
        assert len(list(tracker.events())) == 1 + 5 + 3

    def test_unknown_time_zone(self, tracker: negotrack.Tracker) -> None:
        """An unknown zone is refused before anything is written."""
        with pytest.raises(ValidationError, match="Mars/Olympus"):
            tracker.open_negotiation("mars", title="Mars", timezone="Mars/Olympus")
        assert list(tracker.events()) == []


class TestRetractionVersusWithdrawal:
    """A retraction fixes our record; a withdrawal is a change in the world."""

    def test_withdrawal_empties_the_cell_from_its_valid_time(
        self, tracker: negotrack.Tracker
    ) -> None:
        """Before the withdrawal the stance holds; from it the cell is empty; the past stays."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "oppose", valid_at=day(1))
        neg.withdraw_stance("GB", "territory", valid_at=day(3), reason="dropped after talks")
        assert neg.matrix(day(2)).get("GB", "territory") is not None
        assert neg.matrix(day(4)).get("GB", "territory") is None

    def test_retraction_erases_from_views_known_after_it_only(
        self, tracker: negotrack.Tracker
    ) -> None:
        """After a retraction the stance is gone at every valid time, but still visible as known before."""
        neg = open_test_negotiation(tracker)
        wrong = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        retraction = neg.retract(wrong.event.event_id, reason="misquote: it was FR")
        assert neg.matrix(day(5)).get("GB", "territory") is None
        before = neg.matrix(day(5), known_at=retraction.recorded_at - timedelta(microseconds=1))
        assert before["GB", "territory"].event_id == wrong.event.event_id

    def test_correction_is_atomic_and_linked(self, tracker: negotrack.Tracker) -> None:
        """correct() retracts and replaces in one append; the history links the two."""
        neg = open_test_negotiation(tracker)
        wrong = neg.record_stance(
            "GB", "territory", "support", valid_at=day(1), evidence=QUOTE, speaker="PM"
        )
        retraction, replacement = neg.correct(
            wrong.event.event_id, reason="wrong date", valid_at=day(2)
        )
        assert replacement.position == retraction.position + 1
        assert replacement.event.stance is Ordinal.SUPPORT  # type: ignore[union-attr]
        assert replacement.event.speaker == "PM"  # type: ignore[union-attr]
        assert neg.matrix(day(1)).get("GB", "territory") is None
        assert neg.matrix(day(2))["GB", "territory"].event_id == replacement.event.event_id
        history = neg.history("GB", "territory")
        assert [(e.event_id, e.retracted, e.replaced_by) for e in history] == [
            (wrong.event.event_id, True, replacement.event.event_id),
            (replacement.event.event_id, False, None),
        ]

    def test_correction_refuses_unknown_fields(self, tracker: negotrack.Tracker) -> None:
        """A correction names only fields the stance has."""
        neg = open_test_negotiation(tracker)
        wrong = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        with pytest.raises(ValidationError, match="colour"):
            neg.correct(wrong.event.event_id, reason="x", colour="red")

    def test_retracting_another_negotiations_event(self, tracker: negotrack.Tracker) -> None:
        """A negotiation retracts only its own stance events."""
        neg = open_test_negotiation(tracker)
        other = tracker.open_negotiation("other-talks", title="Other")
        opened = next(tracker.events())
        with pytest.raises(UnknownEventError):
            other.retract(opened.event.event_id, reason="x")
        with pytest.raises(UnknownEventError):
            neg.retract(opened.event.event_id, reason="not a stance")


class TestAsking:
    """History, diff, listings, joint statements and interval scales."""

    def test_history_on_both_timelines(self, tracker: negotrack.Tracker) -> None:
        """Entries come by valid time; as_recorded() gives the order the store learned them."""
        neg = open_test_negotiation(tracker)
        late = neg.record_stance("GB", "territory", "oppose", valid_at=day(5))
        early = neg.record_stance("GB", "territory", "neutral", valid_at=day(1))
        history = neg.history("GB", "territory")
        assert [e.event_id for e in history] == [early.event.event_id, late.event.event_id]
        assert [e.event_id for e in history.as_recorded()] == [
            late.event.event_id,
            early.event.event_id,
        ]
        known_first = neg.history("GB", "territory", known_at=late.recorded_at)
        assert [e.event_id for e in known_first] == [late.event.event_id]

    def test_diff_names_who_moved(self, tracker: negotrack.Tracker) -> None:
        """diff() lists new, moved and dropped cells with before and after; restatements are not moves."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "lean_oppose", valid_at=day(1))
        neg.record_stance("FR", "territory", "support", valid_at=day(1))
        neg.record_stance("FR", "territory", "support", valid_at=day(2))
        neg.record_stance("GB", "territory", "oppose", valid_at=day(2))
        neg.record_stance("UA", "territory", "oppose", valid_at=day(2))
        neg.withdraw_stance("FR", "territory", valid_at=day(3))
        moves = neg.diff(day(1, 23), day(3, 23))
        assert [(m.party, m.change, m.shift) for m in moves] == [
            ("FR", "dropped", None),
            ("GB", "moved", -1.0),
            ("UA", "new", None),
        ]
        assert moves.movers() == ["FR", "GB", "UA"]
        assert [m.describe() for m in moves][1] == "GB on territory: lean_oppose -> oppose"

    def test_joint_statement_fills_each_signatory(self, tracker: negotrack.Tracker) -> None:
        """Every signatory's cell gets the statement's stance and shared evidence."""
        neg = open_test_negotiation(tracker)
        neg.record_joint_statement(
            ["GB", "FR", "eu"], "territory", "oppose", valid_at=day(2), evidence=QUOTE
        )
        matrix = neg.matrix(day(3))
        assert {c.party for c in matrix} == {"GB", "FR", "eu"}
        assert all(c.evidence == (QUOTE,) and c.signatories == ("GB", "FR", "eu") for c in matrix)

    def test_interval_scale(self, tracker: negotrack.Tracker) -> None:
        """A clause on a 0-100 scale takes numbers in range and refuses labels and outliers."""
        neg = open_test_negotiation(tracker)
        scale = IntervalScale(low=0, high=100, labels={0: "status quo", 100: "proposal"})
        neg.table_clause("troop-ceiling", "Troop ceiling", valid_at=day(0), scale=scale)
        neg.record_stance("GB", "troop-ceiling", 40, valid_at=day(1))
        assert neg.matrix(day(1, 23))["GB", "troop-ceiling"].stance == 40.0
        with pytest.raises(InvalidStanceError, match="from 0 to 100"):
            neg.record_stance("GB", "troop-ceiling", 140, valid_at=day(1))
        with pytest.raises(InvalidStanceError, match="troop-ceiling"):
            neg.record_stance("GB", "troop-ceiling", "support", valid_at=day(1))
        assert neg.clauses()["troop-ceiling"].scale == scale

    def test_listings(self, tracker: negotrack.Tracker) -> None:
        """Negotiations, parties with memberships, clauses with text versions, notes by date."""
        neg = open_test_negotiation(tracker)
        neg.start_membership("GB", "e3", valid_at=date(2025, 11, 1))
        neg.end_membership("GB", "e3", valid_at=date(2025, 12, 1))
        neg.amend_clause("territory", "Borders frozen on the line of contact", valid_at=day(3))
        neg.withdraw_clause("military-cap", valid_at=day(4), reason="dropped in Geneva")
        neg.record_note("meeting", "Talks in Geneva", valid_at=day(3), parties=["GB", "UA"])
        assert [n.id for n in tracker.negotiations()] == [NEGOTIATION]
        gb = neg.parties()["GB"]
        assert [
            (m.group, m.holds_at(datetime(2025, 11, 15, tzinfo=UTC))) for m in gb.memberships
        ] == [("e3", True)]
        assert not gb.memberships[0].holds_at(datetime(2025, 12, 2, tzinfo=UTC))
        clauses = neg.clauses()
        assert clauses["territory"].text == "Borders frozen on the line of contact"
        assert clauses["military-cap"].withdrawn
        assert [n.text for n in neg.notes()] == ["Talks in Geneva"]

    def test_matrix_values(self, tracker: negotrack.Tracker) -> None:
        """A matrix indexes, iterates in order, and exports records with evidence."""
        neg = open_test_negotiation(tracker)
        neg.record_stance(
            "GB",
            "territory",
            "oppose",
            valid_at=day(1),
            evidence=Evidence(source=RFE, quote="q", stated=False),
        )
        matrix = neg.matrix(day(2))
        assert len(matrix) == 1
        assert ("GB", "territory") in matrix
        (record,) = matrix.to_records()
        assert record["stance"] == "oppose"
        assert record["evidence"] == [
            {"source": "RFE/RL, 2025-11-22", "quote": "q", "stated": False}
        ]
        with pytest.raises(KeyError):
            matrix["FR", "territory"]
        assert "GB" in matrix.to_table()


GB_OPPOSES = negotrack.Cell(
    party="GB",
    clause="territory",
    stance=Ordinal.OPPOSE,
    valid_at=datetime(2025, 11, 21, tzinfo=UTC),
    precision=negotrack.Precision.DAY,
    recorded_at=datetime(2025, 11, 22, 9, tzinfo=UTC),
    event_id="e1",
    position=1,
    evidence=(Evidence(source=RFE, quote="q", stated=False),),
    salience=0.5,
    confidence=0.8,
    conditions="if the line holds",
    speaker="the PM",
)


class TestRecordsAndTables:
    """The JSON-ready records and the plain-text grid, written out in full."""

    def test_cell_record(self) -> None:
        """Every field of a cell, times in ISO 8601, the stance and precision as words."""
        assert GB_OPPOSES.to_record() == {
            "party": "GB",
            "clause": "territory",
            "stance": "oppose",
            "valid_at": "2025-11-21T00:00:00+00:00",
            "precision": "day",
            "recorded_at": "2025-11-22T09:00:00+00:00",
            "event_id": "e1",
            "salience": 0.5,
            "confidence": 0.8,
            "conditions": "if the line holds",
            "speaker": "the PM",
            "signatories": [],
            "evidence": [{"source": "RFE/RL, 2025-11-22", "quote": "q", "stated": False}],
            "readings": [],
            "claims": [],
            "chosen": [],
            "rule": "stated beats inferred, then higher confidence",
            "conflicting": False,
            "stale": False,
        }

    def test_history_entry_record(self) -> None:
        """Every field of a history entry, its retraction included."""
        entry = negotrack.HistoryEntry(
            kind="stance",
            stance=Ordinal.OPPOSE,
            valid_at=datetime(2025, 11, 21, tzinfo=UTC),
            precision=negotrack.Precision.DAY,
            recorded_at=datetime(2025, 11, 22, 9, tzinfo=UTC),
            event_id="e1",
            position=1,
            evidence=(Evidence(source=RFE, quote="q", stated=True),),
            retracted_at=datetime(2025, 11, 23, 8, tzinfo=UTC),
            retraction_reason="misquote",
            replaced_by="e2",
            earliest=datetime(2025, 11, 19, tzinfo=UTC),
            basis="'this week' in a report of Friday 21 November",
        )
        assert entry.to_record() == {
            "kind": "stance",
            "stance": "oppose",
            "valid_at": "2025-11-21T00:00:00+00:00",
            "earliest": "2025-11-19T00:00:00+00:00",
            "basis": "'this week' in a report of Friday 21 November",
            "recorded_at": "2025-11-22T09:00:00+00:00",
            "event_id": "e1",
            "retracted_at": "2025-11-23T08:00:00+00:00",
            "retraction_reason": "misquote",
            "replaced_by": "e2",
            "evidence": [{"source": "RFE/RL, 2025-11-22", "quote": "q", "stated": True}],
        }
        withdrawal = attrs.evolve(
            entry, kind="withdrawal", stance=None, retracted_at=None, earliest=None
        )
        assert (
            withdrawal.to_record()["stance"],
            withdrawal.to_record()["retracted_at"],
            withdrawal.to_record()["earliest"],
        ) == (None, None, None)

    def test_table(self) -> None:
        """Parties down, numbered clauses across, a mark per cell and a dot for an empty one."""
        cap = attrs.evolve(GB_OPPOSES, party="FR", clause="military-cap", stance=40.0)
        matrix = negotrack.Matrix(
            negotiation=NEGOTIATION,
            as_of=day(2),
            known_at=None,
            cells={("GB", "territory"): GB_OPPOSES, ("FR", "military-cap"): cap},
        )
        assert matrix.to_table() == (
            "        1   2\nFR     40   .\nGB      .  --\n\n  1 military-cap\n  2 territory"
        )
        assert matrix.to_table(parties=["ukraine", "GB"], clauses=["territory"]) == (
            "          1\nukraine   .\nGB       --\n\n  1 territory"
        )


class TestBadInput:
    """Each error class is raised where it should be, and a failed append leaves the log unchanged."""

    @pytest.mark.parametrize(
        ("call", "error", "message"),
        [
            (
                lambda n: n.record_stance("XX", "territory", "oppose", valid_at=day(1)),
                UnknownPartyError,
                "unknown party 'XX'",
            ),
            (
                lambda n: n.record_stance("GB", "nope", "oppose", valid_at=day(1)),
                UnknownClauseError,
                "unknown clause 'nope'",
            ),
            (
                lambda n: n.record_stance("GB", "territory", "hostile", valid_at=day(1)),
                InvalidStanceError,
                "'hostile'",
            ),
            (
                lambda n: n.record_stance("GB", "territory", 2, valid_at=day(1)),
                InvalidStanceError,
                "one of support",
            ),
            (
                lambda n: n.record_stance(
                    "GB", "territory", "oppose", valid_at=day(1), confidence=2.0
                ),
                ValidationError,
                "confidence",
            ),
            (
                lambda n: n.record_joint_statement(
                    ["GB", "XX"], "territory", "oppose", valid_at=day(1)
                ),
                UnknownPartyError,
                "'XX'",
            ),
            (
                lambda n: n.record_joint_statement(
                    ["GB", "GB"], "territory", "oppose", valid_at=day(1)
                ),
                ValidationError,
                "twice",
            ),
            (lambda n: n.register_party("Great Britain", "GB"), InvalidIdError, "ISO 3166-1"),
            (lambda n: n.register_party("gb-2", "GB", kind="empire"), ValidationError, "empire"),
            (
                lambda n: n.table_clause("Bad Clause", "x", valid_at=day(0)),
                InvalidIdError,
                "clause",
            ),
            (
                lambda n: n.start_membership("GB", "nato", valid_at=day(0)),
                UnknownPartyError,
                "'nato'",
            ),
            (lambda n: n.retract("missing", reason="x"), UnknownEventError, "'missing'"),
            (
                lambda n: n.record_note("call", "x", valid_at=day(0), parties=["ZZ"]),
                UnknownPartyError,
                "'ZZ'",
            ),
        ],
    )
    def test_error_and_nothing_written(
        self, tracker: negotrack.Tracker, call: object, error: type[Exception], message: str
    ) -> None:
        """The error names the problem, is a NegotrackError, and the log is as before."""
        neg = open_test_negotiation(tracker)
        before = list(tracker.events())
        with pytest.raises(error, match=message) as caught:
            call(neg)  # type: ignore[operator]
        assert isinstance(caught.value, negotrack.NegotrackError)
        assert list(tracker.events()) == before

    def test_unknown_negotiation(self, tracker: negotrack.Tracker) -> None:
        """Asking for a negotiation that was never opened names it."""
        with pytest.raises(UnknownNegotiationError, match="unknown negotiation 'nope'"):
            tracker.negotiation("nope")

    def test_lookup_errors_are_key_errors(self) -> None:
        """Unknown-thing errors are KeyErrors too, and print without KeyError's quoting."""
        error = UnknownPartyError("XX", "talks")
        assert isinstance(error, KeyError)
        assert str(error) == "unknown party 'XX' in negotiation 'talks'"

    def test_other_offsets_are_fine(self, tracker: negotrack.Tracker) -> None:
        """Any tz-aware datetime is accepted and compared as the instant it names."""
        neg = open_test_negotiation(tracker)
        plus3 = timezone(timedelta(hours=3))
        neg.record_stance(
            "UA", "territory", "oppose", valid_at=datetime(2025, 11, 22, 1, 0, tzinfo=plus3)
        )
        assert (
            neg.matrix(datetime(2025, 11, 21, 22, 0, tzinfo=UTC)).get("UA", "territory") is not None
        )


class TestReviewedEdges:
    """Edges found in review: clock changes, far dates, corrections, threads."""

    def test_end_of_day_on_a_clock_change(self, tracker: negotrack.Tracker) -> None:
        """In Santiago on 5 April 2025 the clocks went back: 23:30 (second pass) is still that day."""
        neg = tracker.open_negotiation("santiago", title="S", timezone="America/Santiago")
        neg.register_party("CL", "Chile")
        neg.table_clause("territory", "T", valid_at=date(2025, 4, 1))
        late = datetime(2025, 4, 6, 3, 30, tzinfo=UTC)  # 23:30 local, after the shift
        neg.record_stance("CL", "territory", "support", valid_at=late)
        assert neg.matrix(date(2025, 4, 5)).get("CL", "territory") is not None
        assert neg.end_of(date(2025, 4, 5)) == datetime(2025, 4, 6, 3, 59, 59, 999999, tzinfo=UTC)

    def test_last_representable_day(self, tracker: negotrack.Tracker) -> None:
        """A date whose end cannot be represented is a validation error, not an overflow."""
        neg = open_test_negotiation(tracker)
        with pytest.raises(ValidationError, match="too late"):
            neg.matrix(date.max)

    def test_correction_stays_in_its_negotiation(self, tracker: negotrack.Tracker) -> None:
        """A correction cannot move a stance to another negotiation or change its id."""
        neg = open_test_negotiation(tracker)
        tracker.open_negotiation("other-talks", title="Other")
        wrong = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        for field in ("negotiation", "event_id"):
            with pytest.raises(ValidationError, match=field):
                neg.correct(wrong.event.event_id, reason="x", **{field: "other-talks"})

    def test_in_memory_store_refuses_other_threads(self) -> None:
        """An in-memory store is one connection: another thread gets a clear error, not corruption."""
        import threading

        errors: list[BaseException] = []
        with negotrack.open("sqlite://") as tracker:
            open_test_negotiation(tracker)

            def use() -> None:
                try:
                    list(tracker.events())
                except BaseException as exc:
                    errors.append(exc)

            thread = threading.Thread(target=use)
            thread.start()
            thread.join()
        assert len(errors) == 1
        assert isinstance(errors[0], negotrack.StoreError)
        assert "thread" in str(errors[0])

    def test_unreachable_database(self, tmp_path: object) -> None:
        """A database that cannot be opened is a StoreError naming it."""
        with pytest.raises(negotrack.StoreError, match="cannot open the store"):
            negotrack.open("sqlite:////nonexistent-folder/x.db")


# Every write method, called twice with the same id: (method, call with the id).
RETRIES: list[tuple[str, Any]] = [
    ("register_party", lambda n, i: n.register_party("NO", "Norway", event_id=i)),
    ("start_membership", lambda n, i: n.start_membership("GB", "e3", valid_at=day(0), event_id=i)),
    ("end_membership", lambda n, i: n.end_membership("GB", "e3", valid_at=day(2), event_id=i)),
    ("table_clause", lambda n, i: n.table_clause("sanctions", "S", valid_at=day(0), event_id=i)),
    ("amend_clause", lambda n, i: n.amend_clause("territory", "new", valid_at=day(1), event_id=i)),
    ("withdraw_clause", lambda n, i: n.withdraw_clause("territory", valid_at=day(3), event_id=i)),
    (
        "record_stance",
        lambda n, i: n.record_stance(
            "GB", "territory", "oppose", valid_at=day(1), expected_version=1, event_id=i
        ),
    ),
    (
        "record_joint_statement",
        lambda n, i: n.record_joint_statement(
            ["GB", "FR"], "territory", "support", valid_at=day(1), event_id=i
        ),
    ),
    (
        "withdraw_stance",
        lambda n, i: n.withdraw_stance(
            "GB", "territory", valid_at=day(2), expected_version=1, event_id=i
        ),
    ),
    ("retract", lambda n, i: n.retract("first", reason="misquote", retraction_id=i)),
    (
        "correct",
        lambda n, i: n.correct("first", reason="wrong day", valid_at=day(2), correction_id=i),
    ),
    ("record_note", lambda n, i: n.record_note("call", "a call", valid_at=day(1), event_id=i)),
]


class TestRetries:
    """A retry after a lost reply passes the same id and writes nothing new."""

    @pytest.mark.parametrize(("method", "call"), RETRIES, ids=[r[0] for r in RETRIES])
    def test_same_id_writes_nothing_new(
        self, tracker: negotrack.Tracker, method: str, call: Any
    ) -> None:
        """The second call returns the stored record(s); the log is unchanged."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "oppose", valid_at=day(0), event_id="first")
        first = call(neg, f"retry-{method}")
        after_first = list(tracker.events())
        again = call(neg, f"retry-{method}")
        assert again == first
        assert list(tracker.events()) == after_first

    def test_every_write_method_is_tried(self) -> None:
        """The table above covers each of Negotiation's write methods."""
        writers = {
            name
            for name in dir(negotrack.Negotiation)
            if name.split("_")[0]
            in {
                "register",
                "start",
                "end",
                "table",
                "amend",
                "withdraw",
                "record",
                "retract",
                "correct",
            }
            and name != "end_of"
        }
        assert writers == {method for method, _ in RETRIES}


class TestWritePath:
    """What the shared write path keeps and refuses."""

    def test_end_membership_keeps_its_note(self, tracker: negotrack.Tracker) -> None:
        """The note given to end_membership is stored with the event."""
        neg = open_test_negotiation(tracker)
        neg.start_membership("GB", "e3", valid_at=day(0))
        ended = neg.end_membership("GB", "e3", valid_at=day(2), note="left after the vote")
        assert tracker.event(ended.event.event_id).event.note == "left after the vote"  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("call", "message"),
        [
            (lambda n: n.start_membership("GB", "e3", valid_at=day(0), role="x"), "role"),
            (lambda n: n.register_party("NO", "Norway", kind=3), "kind"),
            (
                lambda n: n.record_stance(
                    "GB", "territory", "oppose", valid_at=day(1), salience="0.5"
                ),
                "salience",
            ),
            (lambda n: n.record_stance("GB", "territory", 10**400, valid_at=day(1)), "stance"),
            (lambda n: n.record_stance("GB", "territory", ["oppose"], valid_at=day(1)), "stance"),
            (lambda n: n.record_stance("GB", "territory", "oppose", valid_at="2025"), "valid_at"),
            (lambda n: n.record_note("call", "x", valid_at=day(0), parties="GB"), "parties"),
            (lambda n: n.record_note("call", "x", valid_at=day(0), parties=5), "parties"),
            (
                lambda n: n.record_stance("GB", "territory", "oppose", valid_at=day(0), evidence=5),
                "evidence",
            ),
            (lambda n: n.table_clause("c", "C", valid_at=day(0), scale=(0, 100)), "IntervalScale"),
            (lambda n: n.register_party("NO", "Norway", event_id=""), "event id"),
            (lambda n: n.correct("first", reason="x", precision="hour"), "precision"),
            (lambda n: n.correct("first", reason="x", salience=[1]), "salience"),
        ],
    )
    def test_foreign_errors_become_validation_errors(
        self, tracker: negotrack.Tracker, call: Any, message: str
    ) -> None:
        """A wrong value or type is a ValidationError naming it, never a bare TypeError."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "oppose", valid_at=day(0), event_id="first")
        before = list(tracker.events())
        with pytest.raises(ValidationError, match=message):
            call(neg)
        assert list(tracker.events()) == before

    def test_history_known_at_uses_the_matrix_rule(self, tracker: negotrack.Tracker) -> None:
        """history and matrix known at one instant see the same entries and retractions."""
        neg = open_test_negotiation(tracker)
        first = neg.record_stance("GB", "territory", "oppose", valid_at=day(0))
        second = neg.record_stance("GB", "territory", "support", valid_at=day(1))
        retraction = neg.retract(second.event.event_id, reason="misquote")
        for known, ids, retracted in [
            (first.recorded_at, [first.event.event_id], []),
            (second.recorded_at, [first.event.event_id, second.event.event_id], []),
            (
                retraction.recorded_at,
                [first.event.event_id, second.event.event_id],
                [second.event.event_id],
            ),
        ]:
            history = neg.history("GB", "territory", known_at=known)
            assert [e.event_id for e in history] == ids
            assert [e.event_id for e in history if e.retracted] == retracted
            cell = neg.matrix(day(5), known_at=known)["GB", "territory"]
            assert cell.event_id == history.current()[-1].event_id
