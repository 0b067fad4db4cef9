"""The write rules (negotrack/rules.py), on every way a write arrives.

Each rule is tried through the facade, through ``Tracker.append`` with
hand-built events, through the dataset import and through ``Tracker.restore``;
each refusal raises a NegotrackError and leaves the log as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

import negotrack
from negotrack import (
    AlreadyRetractedError,
    ClauseAmended,
    ClauseTabled,
    ClauseWithdrawn,
    DatasetError,
    DuplicateError,
    IntervalScale,
    InvalidStanceError,
    JointStatementRecorded,
    MembershipEnded,
    MembershipStarted,
    NegotiationOpened,
    NegotrackError,
    NoteRecorded,
    Ordinal,
    PartyKind,
    PartyRegistered,
    Reading,
    RecordedEvent,
    StanceRecorded,
    StanceRetracted,
    StanceWithdrawn,
    UnknownClauseError,
    UnknownEventError,
    UnknownNegotiationError,
    UnknownPartyError,
    ValidationError,
    rules,
)
from negotrack.events import Event
from negotrack.io.dataset import import_dataset
from negotrack.store import stream_of
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, QUOTE, day, open_test_negotiation
from tests.test_dataset import MINIMAL, write

Refusal = tuple[type[NegotrackError], str]


def stance(**changes: Any) -> StanceRecorded:
    fields: dict[str, Any] = {
        "negotiation": NEGOTIATION,
        "party": "GB",
        "clause": "territory",
        "stance": Ordinal.OPPOSE,
        "valid_at": day(1),
        "evidence": (QUOTE,),
    }
    return StanceRecorded(**{**fields, **changes})


def joint(**changes: Any) -> JointStatementRecorded:
    fields: dict[str, Any] = {
        "negotiation": NEGOTIATION,
        "signatories": ("GB", "FR"),
        "clause": "territory",
        "stance": Ordinal.SUPPORT,
        "valid_at": day(1),
    }
    return JointStatementRecorded(**{**fields, **changes})


def on_interval(tracker: negotrack.Tracker) -> None:
    """Table a clause on a 0-100 scale."""
    tracker.negotiation(NEGOTIATION).table_clause(
        "troop-cap", "Troop cap", valid_at=day(-1), scale=IntervalScale(low=0, high=100)
    )


# Each case: the events of a batch that breaks one rule (after the test
# negotiation's declarations, and whatever `setup` adds), and the refusal.
APPEND_CASES: list[tuple[str, Callable[[], list[Event]], Refusal]] = [
    (
        "negotiation not opened",
        lambda: [stance(negotiation="nowhere")],
        (UnknownNegotiationError, "unknown negotiation 'nowhere'"),
    ),
    (
        "stance party",
        lambda: [stance(party="XX")],
        (UnknownPartyError, f"unknown party 'XX' in negotiation {NEGOTIATION!r}"),
    ),
    (
        "stance clause",
        lambda: [stance(clause="nope")],
        (UnknownClauseError, f"unknown clause 'nope' in negotiation {NEGOTIATION!r}"),
    ),
    (
        "withdrawal party",
        lambda: [
            StanceWithdrawn(
                negotiation=NEGOTIATION, party="XX", clause="territory", valid_at=day(1)
            )
        ],
        (UnknownPartyError, "'XX'"),
    ),
    ("joint signatory", lambda: [joint(signatories=("GB", "XX"))], (UnknownPartyError, "'XX'")),
    (
        "reading signatory",
        lambda: [joint(readings=(Reading(signatories=("GB", "ZZ")),))],
        (UnknownPartyError, "'ZZ'"),
    ),
    (
        "membership group",
        lambda: [
            MembershipStarted(negotiation=NEGOTIATION, member="GB", group="nato", valid_at=day(0))
        ],
        (UnknownPartyError, "'nato'"),
    ),
    (
        "membership end member",
        lambda: [
            MembershipEnded(negotiation=NEGOTIATION, member="XX", group="eu", valid_at=day(0))
        ],
        (UnknownPartyError, "'XX'"),
    ),
    (
        "amended clause",
        lambda: [ClauseAmended(negotiation=NEGOTIATION, clause="nope", text="t", valid_at=day(0))],
        (UnknownClauseError, "'nope'"),
    ),
    (
        "withdrawn clause",
        lambda: [ClauseWithdrawn(negotiation=NEGOTIATION, clause="nope", valid_at=day(0))],
        (UnknownClauseError, "'nope'"),
    ),
    (
        "note party",
        lambda: [
            NoteRecorded(
                negotiation=NEGOTIATION, kind="call", text="t", valid_at=day(0), parties=("ZZ",)
            )
        ],
        (UnknownPartyError, "'ZZ'"),
    ),
    (
        "declared later in the batch",
        lambda: [
            stance(party="NO"),
            PartyRegistered(
                negotiation=NEGOTIATION, party="NO", name="Norway", kind=PartyKind.STATE
            ),
        ],
        (UnknownPartyError, "'NO'"),
    ),
    (
        "number on the ordinal scale",
        lambda: [stance(stance=2)],
        (InvalidStanceError, "one of support"),
    ),
    (
        "joint number on the ordinal scale",
        lambda: [joint(stance=1.0)],
        (InvalidStanceError, "one of support"),
    ),
    (
        "label on an interval scale",
        lambda: [stance(clause="troop-cap", stance=Ordinal.SUPPORT)],
        (InvalidStanceError, "'support' on clause 'troop-cap': expected a number from 0 to 100"),
    ),
    (
        "number beyond an interval scale",
        lambda: [stance(clause="troop-cap", stance=100.5)],
        (InvalidStanceError, "from 0 to 100"),
    ),
    (
        "party kind",
        lambda: [
            PartyRegistered(negotiation=NEGOTIATION, party="NO", name="Norway", kind="empire")
        ],  # type: ignore[arg-type]
        (ValidationError, "kind must be one of"),
    ),
    (
        "membership role",
        lambda: [
            MembershipStarted(
                negotiation=NEGOTIATION, member="GB", group="e3", role="boss", valid_at=day(0)
            )
        ],  # type: ignore[arg-type]
        (ValidationError, "role must be one of"),
    ),
    (
        "precision",
        lambda: [stance(precision="hour")],
        (ValidationError, "precision must be one of"),
    ),
    (
        "time zone",
        lambda: [
            NegotiationOpened(negotiation="mars-talks", title="Mars", timezone="Mars/Olympus")
        ],
        (ValidationError, "Mars/Olympus"),
    ),
    (
        "negotiation opened twice",
        lambda: [NegotiationOpened(negotiation=NEGOTIATION, title="Again")],
        (DuplicateError, f"negotiation {NEGOTIATION!r} already exists"),
    ),
    (
        "party registered twice",
        lambda: [
            PartyRegistered(negotiation=NEGOTIATION, party="GB", name="UK", kind=PartyKind.STATE)
        ],
        (DuplicateError, f"party 'GB' already exists in negotiation {NEGOTIATION!r}"),
    ),
    (
        "clause tabled twice",
        lambda: [
            ClauseTabled(negotiation=NEGOTIATION, clause="territory", title="T", valid_at=day(0))
        ],
        (DuplicateError, f"clause 'territory' already exists in negotiation {NEGOTIATION!r}"),
    ),
    (
        "party registered twice in one batch",
        lambda: [
            PartyRegistered(
                negotiation=NEGOTIATION, party="NO", name="Norway", kind=PartyKind.STATE
            ),
            PartyRegistered(
                negotiation=NEGOTIATION, party="NO", name="Norge", kind=PartyKind.STATE
            ),
        ],
        (DuplicateError, f"party 'NO' already exists in negotiation {NEGOTIATION!r}$"),
    ),
    (
        "retraction of no event",
        lambda: [StanceRetracted(negotiation=NEGOTIATION, retracted="missing", reason="x")],
        (UnknownEventError, f"unknown event 'missing' in negotiation {NEGOTIATION!r}"),
    ),
    (
        "retraction of a declaration",
        lambda: [StanceRetracted(negotiation=NEGOTIATION, retracted="the-opening", reason="x")],
        (UnknownEventError, "'the-opening'"),
    ),
    (
        "retraction of another negotiation's stance",
        lambda: [StanceRetracted(negotiation="other-talks", retracted="the-stance", reason="x")],
        (UnknownEventError, "'the-stance'"),
    ),
    (
        "retraction of a retracted stance",
        lambda: [StanceRetracted(negotiation=NEGOTIATION, retracted="the-retracted", reason="x")],
        (AlreadyRetractedError, "'the-retracted' is already retracted"),
    ),
    (
        "two retractions of one stance in a batch",
        lambda: [
            StanceRetracted(negotiation=NEGOTIATION, retracted="the-stance", reason="x"),
            StanceRetracted(negotiation=NEGOTIATION, retracted="the-stance", reason="y"),
        ],
        (AlreadyRetractedError, "'the-stance' is already retracted"),
    ),
    (
        "a range whose earliest bound is after its valid time",
        lambda: [stance(earliest=day(2), basis="two reports")],
        (ValidationError, "before the earliest"),
    ),
    (
        "a range without its basis",
        lambda: [stance(earliest=day(0))],
        (ValidationError, "needs its basis"),
    ),
    (
        "a clause version dated by a range without its basis",
        lambda: [
            ClauseAmended(
                negotiation=NEGOTIATION,
                clause="territory",
                text="t",
                valid_at=day(2),
                earliest=day(1),
            )
        ],
        (ValidationError, "needs its basis"),
    ),
    (
        "retraction before its target",
        lambda: [
            StanceRetracted(negotiation=NEGOTIATION, retracted="later", reason="x"),
            stance(event_id="later"),
        ],
        (ValidationError, "comes before that event"),
    ),
]


def base_log(tracker: negotrack.Tracker) -> None:
    """The test negotiation, an interval clause, a stance, a retracted stance, another negotiation."""
    tracker.append(
        [NegotiationOpened(negotiation=NEGOTIATION, title="Talks", event_id="the-opening")]
    )
    neg = tracker.negotiation(NEGOTIATION)
    for party in ("GB", "FR", "eu", "e3"):
        neg.register_party(party, party, "state" if party.isupper() else "bloc")
    neg.table_clause("territory", "Territory", valid_at=day(-1))
    on_interval(tracker)
    neg.record_stance("GB", "territory", "oppose", valid_at=day(0), event_id="the-stance")
    neg.record_stance("FR", "territory", "oppose", valid_at=day(0), event_id="the-retracted")
    neg.retract("the-retracted", reason="misquote")
    tracker.open_negotiation("other-talks", title="Other")


def refused(
    call: Callable[[], object], refusal: Refusal, tracker: negotrack.Tracker
) -> NegotrackError:
    """Run ``call``: it must raise ``refusal`` and leave the log as it was."""
    error, message = refusal
    before = list(tracker.events())
    with pytest.raises(error, match=message) as caught:
        call()
    assert list(tracker.events()) == before
    return caught.value


def restored_log(records: Sequence[RecordedEvent], extra: Sequence[Event]) -> list[RecordedEvent]:
    """An exported log with ``extra`` events after it, record times still increasing."""
    last = records[-1].recorded_at
    tail = [
        RecordedEvent(
            position=len(records) + i + 1,
            recorded_at=last + timedelta(seconds=i + 1),
            stream="",
            version=0,
            event=event,
        )
        for i, event in enumerate(extra)
    ]
    return [attrs.evolve(r, hash=None) for r in records] + tail


class TestGroupsSpeakingForMembers:
    """A group speaks for its members only in a statement it signs."""

    def test_a_group_that_does_not_sign_cannot_speak(self) -> None:
        """on_behalf_of outside the signatories is refused when the event is made."""
        with pytest.raises(ValidationError, match="'e3' speaks for its members but does not sign"):
            joint(signatories=("GB", "FR"), on_behalf_of=("e3",))

    def test_a_group_that_signs_speaks_for_its_members(self, tracker: negotrack.Tracker) -> None:
        """A statement on behalf of a signing, registered group is recorded."""
        base_log(tracker)
        (record,) = tracker.append([joint(signatories=("e3",), on_behalf_of=("e3",))])
        assert record.event.on_behalf_of == ("e3",)  # type: ignore[union-attr]


class TestEveryPath:
    """Each rule refuses the same batch through Tracker.append and through Tracker.restore."""

    @pytest.mark.parametrize(
        ("name", "batch", "refusal"), APPEND_CASES, ids=[c[0] for c in APPEND_CASES]
    )
    def test_append_refuses(
        self,
        tracker: negotrack.Tracker,
        name: str,
        batch: Callable[[], list[Event]],
        refusal: Refusal,
    ) -> None:
        """Tracker.append refuses the hand-built batch; nothing is written."""
        base_log(tracker)
        refused(lambda: tracker.append(batch()), refusal, tracker)

    @pytest.mark.parametrize(
        ("name", "batch", "refusal"), APPEND_CASES, ids=[c[0] for c in APPEND_CASES]
    )
    def test_restore_refuses(
        self,
        tracker: negotrack.Tracker,
        backend: Backend,
        name: str,
        batch: Callable[[], list[Event]],
        refusal: Refusal,
    ) -> None:
        """Tracker.restore refuses an export with the batch appended; the target stays empty."""
        base_log(tracker)
        records = list(tracker.events())
        with backend.tracker() as target:
            # The batch is made inside: some values are refused as the event is made.
            refused(lambda: target.restore(restored_log(records, batch())), refusal, target)
            assert target.last_position() == 0

    @pytest.mark.parametrize(
        ("name", "batch", "refusal"), APPEND_CASES, ids=[c[0] for c in APPEND_CASES]
    )
    def test_check_alone_refuses(
        self,
        tracker: negotrack.Tracker,
        name: str,
        batch: Callable[[], list[Event]],
        refusal: Refusal,
    ) -> None:
        """rules.check over a plain fold of the log refuses the batch, with no store behind it."""
        base_log(tracker)
        declared = rules.Declarations()
        stored = {}
        for record in tracker.events():
            declared.learn(record.event)
            stored[record.event.event_id] = record.event
        error, message = refusal
        with pytest.raises(error, match=message):
            rules.check(batch(), declared, stored.get)

    @pytest.mark.parametrize(
        ("batch", "index", "field"),
        [
            ([stance(negotiation="nowhere")], 0, ("negotiation",)),
            ([NegotiationOpened(negotiation=NEGOTIATION, title="Again")], 0, ("negotiation",)),
            (
                [
                    PartyRegistered(
                        negotiation=NEGOTIATION, party="GB", name="UK", kind=PartyKind.STATE
                    )
                ],
                0,
                ("party",),
            ),
            (
                [
                    ClauseTabled(
                        negotiation=NEGOTIATION, clause="territory", title="T", valid_at=day(0)
                    )
                ],
                0,
                ("clause",),
            ),
            ([stance(party="XX")], 0, ("party",)),
            ([stance(earliest=day(2))], 0, ("earliest",)),  # after valid_at
            (
                [
                    MembershipStarted(
                        negotiation=NEGOTIATION, member="XX", group="eu", valid_at=day(0)
                    )
                ],
                0,
                ("member",),
            ),
            (
                [joint(signatories=("GB", "XX"), readings=(Reading(signatories=("GB",)),))],
                0,
                ("signatories", 1),
            ),
            ([stance(clause="nope")], 0, ("clause",)),
            (
                [StanceRetracted(negotiation=NEGOTIATION, retracted="missing", reason="x")],
                0,
                ("retracted",),
            ),
            (
                [
                    StanceRetracted(negotiation=NEGOTIATION, retracted="later", reason="x"),
                    stance(event_id="later"),
                ],
                0,
                ("retracted",),
            ),
            (
                [StanceRetracted(negotiation=NEGOTIATION, retracted="the-retracted", reason="x")],
                0,
                ("retracted",),
            ),
            (
                [
                    StanceRetracted(negotiation=NEGOTIATION, retracted="the-stance", reason="x"),
                    StanceRetracted(negotiation=NEGOTIATION, retracted="the-stance", reason="y"),
                ],
                1,
                ("retracted",),
            ),
        ],
        ids=[
            "negotiation not opened",
            "negotiation opened twice",
            "party registered twice",
            "clause tabled twice",
            "unknown party",
            "earliest after valid_at",
            "unknown member",
            "unknown signatory beside a reading",
            "unknown clause",
            "retraction of no event",
            "retraction before its target",
            "retracted before",
            "retracted twice in the batch",
        ],
    )
    def test_a_refusal_is_located_at_its_field(
        self, tracker: negotrack.Tracker, batch: list[Event], index: int, field: rules.Field
    ) -> None:
        """An importer's locate is told the refused event's index and field."""
        base_log(tracker)
        seen: list[tuple[int, rules.Field]] = []

        def locate(index: int, field: rules.Field, error: NegotrackError) -> NegotrackError:
            seen.append((index, field))
            return error

        with pytest.raises(NegotrackError):
            tracker.append(batch, locate=locate)
        assert seen == [(index, field)]

    def test_a_date_range_with_its_basis_is_accepted(self, tracker: negotrack.Tracker) -> None:
        """A range (earliest before valid_at) that says how it was worked out is written."""
        base_log(tracker)
        ranged = stance(earliest=day(-2), basis="'last week' in a report", event_id="ranged")
        assert tracker.append([ranged])[0].event == ranged

    def test_restore_accepts_the_good_log(
        self, tracker: negotrack.Tracker, backend: Backend
    ) -> None:
        """The base log itself restores: the refusals above are the batch's, not the log's."""
        base_log(tracker)
        with backend.tracker() as target:
            assert len(target.restore(restored_log(list(tracker.events()), []))) == len(
                list(tracker.events())
            )

    def test_declared_earlier_in_the_batch(self, tracker: negotrack.Tracker) -> None:
        """A party, a clause and a stance retracted in the same batch are all known in order."""
        base_log(tracker)
        records = tracker.append(
            [
                PartyRegistered(
                    negotiation=NEGOTIATION, party="NO", name="Norway", kind=PartyKind.STATE
                ),
                ClauseTabled(
                    negotiation=NEGOTIATION, clause="sanctions", title="S", valid_at=day(0)
                ),
                stance(party="NO", clause="sanctions", event_id="no-sanctions"),
                StanceRetracted(negotiation=NEGOTIATION, retracted="no-sanctions", reason="x"),
            ]
        )
        assert len(records) == 4


FACADE_CASES: list[tuple[str, Callable[[negotrack.Negotiation], object], Refusal]] = [
    (
        "stance party",
        lambda n: n.record_stance("XX", "territory", "oppose", valid_at=day(1)),
        (UnknownPartyError, "'XX'"),
    ),
    (
        "stance clause",
        lambda n: n.record_stance("GB", "nope", "oppose", valid_at=day(1)),
        (UnknownClauseError, "'nope'"),
    ),
    (
        "withdrawal clause",
        lambda n: n.withdraw_stance("GB", "nope", valid_at=day(1)),
        (UnknownClauseError, "'nope'"),
    ),
    (
        "joint signatory",
        lambda n: n.record_joint_statement(["GB", "XX"], "territory", "oppose", valid_at=day(1)),
        (UnknownPartyError, "'XX'"),
    ),
    (
        "reading signatory",
        lambda n: n.record_joint_statement(
            ["GB"], "territory", "oppose", valid_at=day(1), readings=[Reading(signatories=("ZZ",))]
        ),
        (UnknownPartyError, "'ZZ'"),
    ),
    (
        "membership",
        lambda n: n.start_membership("GB", "nato", valid_at=day(0)),
        (UnknownPartyError, "'nato'"),
    ),
    (
        "membership end",
        lambda n: n.end_membership("XX", "eu", valid_at=day(0)),
        (UnknownPartyError, "'XX'"),
    ),
    (
        "amended clause",
        lambda n: n.amend_clause("nope", "t", valid_at=day(0)),
        (UnknownClauseError, "'nope'"),
    ),
    (
        "withdrawn clause",
        lambda n: n.withdraw_clause("nope", valid_at=day(0)),
        (UnknownClauseError, "'nope'"),
    ),
    (
        "note party",
        lambda n: n.record_note("call", "t", valid_at=day(0), parties=["ZZ"]),
        (UnknownPartyError, "'ZZ'"),
    ),
    (
        "number on the ordinal scale",
        lambda n: n.record_stance("GB", "territory", 1, valid_at=day(1)),
        (InvalidStanceError, "one of support"),
    ),
    (
        "label on an interval scale",
        lambda n: n.record_stance("GB", "troop-cap", "support", valid_at=day(1)),
        (InvalidStanceError, "from 0 to 100"),
    ),
    (
        "number beyond an interval scale",
        lambda n: n.record_stance("GB", "troop-cap", 101, valid_at=day(1)),
        (InvalidStanceError, "from 0 to 100"),
    ),
    (
        "correction off the scale",
        lambda n: n.correct("the-stance", reason="x", stance=3),
        (InvalidStanceError, "one of support"),
    ),
    (
        "correction with a bad precision",
        lambda n: n.correct("the-stance", reason="x", precision="hour"),
        (ValidationError, "precision must be one of"),
    ),
    (
        "party kind",
        lambda n: n.register_party("NO", "Norway", "empire"),
        (ValidationError, "kind must be one of"),
    ),
    (
        "membership role",
        lambda n: n.start_membership("GB", "e3", valid_at=day(0), role="boss"),
        (ValidationError, "role must be one of"),
    ),
    (
        "party registered twice",
        lambda n: n.register_party("GB", "UK"),
        (DuplicateError, "party 'GB' already exists"),
    ),
    (
        "clause tabled twice",
        lambda n: n.table_clause("territory", "T", valid_at=day(0)),
        (DuplicateError, "clause 'territory' already exists"),
    ),
    (
        "retraction of no event",
        lambda n: n.retract("missing", reason="x"),
        (UnknownEventError, "'missing'"),
    ),
    (
        "retraction of a declaration",
        lambda n: n.retract("the-opening", reason="x"),
        (UnknownEventError, "'the-opening'"),
    ),
    (
        "retraction twice",
        lambda n: n.retract("the-retracted", reason="again"),
        (AlreadyRetractedError, "already retracted"),
    ),
    (
        "correction of a retracted stance",
        lambda n: n.correct("the-retracted", reason="x", stance="support"),
        (AlreadyRetractedError, "already retracted"),
    ),
]


class TestFacade:
    """The Negotiation methods meet the same rules, with the same errors."""

    @pytest.mark.parametrize(
        ("name", "call", "refusal"), FACADE_CASES, ids=[c[0] for c in FACADE_CASES]
    )
    def test_refuses(
        self,
        tracker: negotrack.Tracker,
        name: str,
        call: Callable[[negotrack.Negotiation], object],
        refusal: Refusal,
    ) -> None:
        """The facade raises the rule's error and writes nothing."""
        base_log(tracker)
        neg = tracker.negotiation(NEGOTIATION)
        refused(lambda: call(neg), refusal, tracker)

    def test_opening_twice_and_a_bad_zone(self, tracker: negotrack.Tracker) -> None:
        """open_negotiation refuses an id already open and an unknown time zone."""
        base_log(tracker)
        refused(
            lambda: tracker.open_negotiation(NEGOTIATION, title="x"),
            (DuplicateError, "already exists"),
            tracker,
        )
        refused(
            lambda: tracker.open_negotiation("mars-talks", title="x", timezone="Mars/Olympus"),
            (ValidationError, "Mars/Olympus"),
            tracker,
        )

    def test_a_second_declaration_names_what_differs(self, tracker: negotrack.Tracker) -> None:
        """The refusal lists the fields that differ, and only those: never the event id."""
        base_log(tracker)
        stored = tracker.store.events_of_types(NEGOTIATION, ["PartyRegistered"])[0].event
        assert isinstance(stored, PartyRegistered)
        again = attrs.evolve(stored, event_id="again", name=stored.name + " again")
        with pytest.raises(DuplicateError) as caught:
            tracker.append([again])
        assert caught.value.differences == {"name": (stored.name, again.name)}
        assert caught.value.existing == stored.event_id
        same = attrs.evolve(stored, event_id="same")
        with pytest.raises(DuplicateError) as caught:
            tracker.append([same])
        assert caught.value.differences == {}
        assert caught.value.same_declaration

    def test_another_negotiations_stance(self, tracker: negotrack.Tracker) -> None:
        """A negotiation retracts and corrects only its own stance events."""
        base_log(tracker)
        other = tracker.negotiation("other-talks")
        refused(
            lambda: other.retract("the-stance", reason="x"),
            (UnknownEventError, "'the-stance'"),
            tracker,
        )
        refused(
            lambda: other.correct("the-stance", reason="x"),
            (UnknownEventError, "'the-stance'"),
            tracker,
        )


def statement(signatories: str, stance: str, reading: str | None = None) -> str:
    """A statements section with one statement on the territory clause."""
    readings = (
        ""
        if reading is None
        else f"    readings:\n      - {{source: wire, signatories: {reading}}}\n"
    )
    return (
        "statements:\n  - id: s1\n"
        f"    signatories: {signatories}\n    valid: 2025-11-22\n    source: wire\n"
        f"{readings}    positions:\n"
        f'      - {{clause: territory, stance: {stance}, quote: "no"}}\n'
    )


IMPORT_CASES: list[tuple[str, Callable[[str], str], str, Refusal]] = [
    (
        "stance party",
        lambda t: t.replace("party: GB", "party: XX"),
        "stances[0].party",
        (DatasetError, "unknown party 'XX'.*declare it under parties"),
    ),
    (
        "stance clause",
        lambda t: t.replace("clause: territory", "clause: borders"),
        "stances[0].clause",
        (DatasetError, "unknown clause 'borders'.*declare it under clauses"),
    ),
    (
        "number on the ordinal scale",
        lambda t: t.replace("stance: oppose", "stance: 2"),
        "stances[0].stance",
        (DatasetError, "invalid stance 2.0 on clause 'territory'"),
    ),
    (
        "party registered twice",
        lambda t: t.replace("  - id: FR", "  - id: GB"),
        "parties[1].id",
        (DatasetError, "party 'GB' already exists"),
    ),
    (
        "clause tabled twice",
        lambda t: t.replace(
            "stances:", "  - id: territory\n    title: Again\n    tabled: 2025-11-20\nstances:"
        ),
        "clauses[1].id",
        (DatasetError, "clause 'territory' already exists"),
    ),
    (
        "label on an interval scale",
        lambda t: t.replace(
            "    tabled: 2025-11-20", "    tabled: 2025-11-20\n    scale: {low: 0, high: 100}"
        ),
        "stances[0].stance",
        (DatasetError, "'oppose' on clause 'territory': expected a number from 0 to 100"),
    ),
    (
        "membership group",
        lambda t: t + "memberships:\n  - {member: GB, group: nato, valid_from: 2025-11-01}\n",
        "memberships[0].group",
        (DatasetError, "unknown party 'nato'"),
    ),
    (
        "joint signatory",
        lambda t: t + statement("[GB, FR, XX]", "oppose"),
        "statements[0].signatories[2]",
        (DatasetError, "unknown party 'XX'"),
    ),
    (
        "reading signatory",
        lambda t: t + statement("[GB]", "oppose", "[GB, ZZ]"),
        "statements[0].readings[0].signatories[1]",
        (DatasetError, "unknown party 'ZZ'"),
    ),
    (
        "joint stance off the scale",
        lambda t: t + statement("[GB]", "1.5"),
        "statements[0].positions[0].stance",
        (DatasetError, "invalid stance 1.5"),
    ),
    (
        "note party",
        lambda t: (
            t + "notes:\n  - {id: n1, kind: call, valid: 2025-11-22, text: A call, parties: [ZZ]}\n"
        ),
        "notes[0].parties[0]",
        (DatasetError, "unknown party 'ZZ'"),
    ),
]


class TestImport:
    """The importer reports each rule's refusal at its file, line and field."""

    @pytest.mark.parametrize(
        ("name", "edit", "field", "refusal"), IMPORT_CASES, ids=[c[0] for c in IMPORT_CASES]
    )
    def test_refuses_at_its_place(
        self,
        tracker: negotrack.Tracker,
        tmp_path: Path,
        name: str,
        edit: Callable[[str], str],
        field: str,
        refusal: Refusal,
    ) -> None:
        """The DatasetError names the field and the line it is on; nothing is written."""
        text = edit(MINIMAL)
        path = write(tmp_path, text)
        error = refused(lambda: import_dataset(tracker, path), refusal, tracker)
        assert isinstance(error, DatasetError)
        assert error.field == field
        assert error.file == str(path)
        assert error.line is not None
        assert isinstance(error.__cause__, NegotrackError)
        assert not isinstance(error.__cause__, DatasetError)

    def test_duplicate_against_the_store(self, tracker: negotrack.Tracker, tmp_path: Path) -> None:
        """A file declaring a party the store already holds under another event is refused."""
        tracker.open_negotiation(
            "mini-talks", title="Mini talks", event_id="mini-talks/negotiation"
        )
        tracker.negotiation("mini-talks").register_party("GB", "Britain", event_id="by-hand")
        error = refused(
            lambda: import_dataset(tracker, write(tmp_path, MINIMAL)),
            (DatasetError, "party 'GB' already exists"),
            tracker,
        )
        assert isinstance(error, DatasetError)
        assert error.field == "parties[0].id"
        assert error.line == 10


class TestRaces:
    """A declaration or retraction another writer made after our last look is still refused."""

    def test_new_declarations_and_retractions_are_expected_at_version_0(self) -> None:
        """check names each new declaration's and retraction's stream, with its conflict."""
        declared = rules.Declarations()
        opened = NegotiationOpened(negotiation=NEGOTIATION, title="T")
        party = PartyRegistered(
            negotiation=NEGOTIATION, party="GB", name="UK", kind=PartyKind.STATE
        )
        clause = ClauseTabled(
            negotiation=NEGOTIATION, clause="territory", title="T", valid_at=day(0)
        )
        held = stance(event_id="held")
        retraction = StanceRetracted(negotiation=NEGOTIATION, retracted="held", reason="x")
        admission = rules.check([opened, party, clause, held, retraction], declared, lambda _: None)
        conflicts = {stream: type(error) for stream, error in admission.new_streams.items()}
        assert conflicts == {
            stream_of(opened): DuplicateError,
            stream_of(party): DuplicateError,
            stream_of(clause): DuplicateError,
            stream_of(retraction): AlreadyRetractedError,
        }
        assert admission.expected_versions() == dict.fromkeys(conflicts, 0)
        # What the tracker raises if another writer wins the race again after its refresh.
        assert {stream: str(error) for stream, error in admission.new_streams.items()} == {
            stream_of(opened): f"negotiation {NEGOTIATION!r} already exists",
            stream_of(party): f"party 'GB' already exists in negotiation {NEGOTIATION!r}",
            stream_of(clause): f"clause 'territory' already exists in negotiation {NEGOTIATION!r}",
            stream_of(retraction): str(AlreadyRetractedError("held")),
        }

    def test_a_retry_expects_nothing(self) -> None:
        """The same declaring event again is a retry: no conflict, no expectation."""
        party = PartyRegistered(
            negotiation=NEGOTIATION, party="GB", name="UK", kind=PartyKind.STATE
        )
        declared = rules.Declarations()
        declared.learn(NegotiationOpened(negotiation=NEGOTIATION, title="T"))
        declared.learn(party)
        assert rules.check([party], declared, lambda _: None).new_streams == {}
        other = attrs.evolve(party, event_id="another")
        with pytest.raises(DuplicateError):
            rules.check([other], declared, lambda _: None)

    @pytest.mark.parametrize("what", ["party", "retraction"])
    def test_another_writer_in_between(self, backend: Backend, what: str) -> None:
        """Two trackers on one store: the one whose fold is stale still gets the conflict."""
        url = backend.url()
        with negotrack.open(url) as ours, negotrack.open(url) as theirs:
            neg = open_test_negotiation(ours)
            recorded = neg.record_stance("GB", "territory", "oppose", valid_at=day(1))
            target = recorded.event.event_id
            ours.append([])  # our fold is as fresh as it gets
            seen: list[dict[str, int]] = []
            real_append = ours.store.append

            def append_after_theirs(events: Sequence[Event], **kwargs: Any) -> list[RecordedEvent]:
                if not seen:  # the other writer comes in between our check and our write
                    other = theirs.negotiation(NEGOTIATION)
                    if what == "party":
                        other.register_party("NO", "Norway")
                    else:
                        other.retract(target, reason="theirs")
                seen.append(dict(kwargs.get("expected_versions") or {}))
                return real_append(events, **kwargs)

            ours.store.append = append_after_theirs  # type: ignore[method-assign]
            if what == "party":
                event: Event = PartyRegistered(
                    negotiation=NEGOTIATION, party="NO", name="N", kind=PartyKind.STATE
                )
                refusal: Refusal = (DuplicateError, "party 'NO' already exists")
            else:
                event = StanceRetracted(negotiation=NEGOTIATION, retracted=target, reason="ours")
                refusal = (AlreadyRetractedError, "already retracted")
            with pytest.raises(refusal[0], match=refusal[1]):
                ours.append([event])
            assert event.event_id not in {r.event.event_id for r in ours.events()}
            assert seen[0] == {stream_of(event): 0}

    def test_the_same_declaration_in_between_is_a_retry(self, backend: Backend) -> None:
        """Another writer appending our very declaration first leaves our batch to write the rest.

        Two imports of one file running at once do this: each event id means one
        event, so the second import finds the declaration stored and writes only
        what is still missing.
        """
        url = backend.url()
        with negotrack.open(url) as ours, negotrack.open(url) as theirs:
            open_test_negotiation(ours)
            norway = PartyRegistered(
                negotiation=NEGOTIATION, party="NO", name="Norway", kind=PartyKind.STATE
            )
            real_append = ours.store.append
            calls: list[int] = []

            def append_after_theirs(events: Sequence[Event], **kwargs: Any) -> list[RecordedEvent]:
                if not calls:
                    theirs.append([norway])
                calls.append(1)
                return real_append(events, **kwargs)

            ours.store.append = append_after_theirs  # type: ignore[method-assign]
            records = ours.append([norway, stance(party="NO", event_id="no-stance")])
            assert len(calls) == 2  # refused once (the stream was no longer empty), then written
            assert [r.event.event_id for r in records] == [norway.event_id, "no-stance"]
            ids = [r.event.event_id for r in ours.events()]
            assert ids.count(norway.event_id) == 1
            assert "no-stance" in ids
