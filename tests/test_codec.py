"""Invariant 5: the codec round-trips every event type; old schemas upcast to the current one."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from negotrack import (
    ClauseAmended,
    ClauseTabled,
    ClauseWithdrawn,
    Evidence,
    IntervalScale,
    JointStatementRecorded,
    MembershipEnded,
    MembershipStarted,
    NegotiationOpened,
    NoteRecorded,
    Ordinal,
    PartyRegistered,
    Source,
    StanceRecorded,
    StanceWithdrawn,
    ValidationError,
)
from negotrack.codec import decode, encode, structure_event, unstructure_event
from negotrack.events import EVENT_TYPES, Event
from tests.strategies import any_event, events_by_type, hostile_values, json_values

_DATING = {"earliest": None, "basis": None}

_ADDED: list[tuple[type[Event], int, dict[str, object]]] = [
    # (type, an old schema version, what the keys added since then meant before them)
    (StanceRecorded, 2, _DATING),
    (MembershipStarted, 1, _DATING),
    (MembershipEnded, 1, _DATING),
    (ClauseTabled, 1, _DATING),
    (ClauseAmended, 1, {**_DATING, "evidence": (), "note": None}),
    (ClauseWithdrawn, 1, {**_DATING, "evidence": (), "note": None}),
    (JointStatementRecorded, 1, {**_DATING, "speaker": None, "on_behalf_of": ()}),
    (StanceWithdrawn, 1, {**_DATING, "speaker": None, "note": None}),
    (NoteRecorded, 1, _DATING),
]


class TestRoundTrip:
    """structure(unstructure(e)) == e, through JSON text, for every event type."""

    def test_every_event_type_has_a_strategy(self) -> None:
        """A new event type cannot slip past the round-trip property without a strategy."""
        assert set(events_by_type) == set(EVENT_TYPES.values())

    @given(event=any_event)
    def test_round_trip_through_json(self, event: Event) -> None:
        """Encoding to canonical JSON and decoding gives the same event back."""
        name = type(event).__name__
        assert decode(name, type(event).schema_version, encode(event)) == event

    @given(event=any_event)
    def test_encoding_is_canonical(self, event: Event) -> None:
        """The same event always encodes to the same text (the hash chain relies on it)."""
        text = encode(event)
        assert text == json.dumps(
            json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )


class TestUpcasting:
    """Payloads of older schema versions are lifted to the current classes."""

    @given(event=events_by_type[StanceRecorded].filter(lambda e: len(e.evidence) <= 1))  # type: ignore[attr-defined]
    def test_stance_recorded_schema_1_upcasts(self, event: StanceRecorded) -> None:
        """Schema 1 held one evidence object (or none); it decodes to the schema 2 event."""
        payload = unstructure_event(event)
        payload["evidence"] = payload["evidence"][0] if payload["evidence"] else None
        del payload["earliest"], payload["basis"]  # added by schema 3
        assert structure_event("StanceRecorded", 1, payload) == attrs.evolve(
            event, earliest=None, basis=None
        )

    @pytest.mark.parametrize(("cls", "version", "added"), _ADDED, ids=str)
    @given(data=st.data())
    def test_keys_added_since_an_old_schema_take_their_old_meaning(
        self, cls: type[Event], version: int, added: dict[str, object], data: st.DataObject
    ) -> None:
        """A payload of an older schema lacks the keys added since; it decodes as if they held
        what the old schema meant (an exact date, no speaker, no evidence)."""
        event = attrs.evolve(data.draw(events_by_type[cls]), **added)
        payload = unstructure_event(event)
        for key in added:
            del payload[key]
        assert structure_event(cls.__name__, version, payload) == event

    def test_stance_labels_and_numbers_stay_apart(self) -> None:
        """An ordinal SUPPORT is written as its label, a number on an interval scale as a number."""
        payload = {
            "negotiation": "n",
            "event_id": "e",
            "party": "GB",
            "clause": "c",
            "valid_at": "2025-11-22T00:00:00+00:00",
        }
        ordinal = structure_event("StanceRecorded", 3, {**payload, "stance": "support"})
        number = structure_event("StanceRecorded", 3, {**payload, "stance": 2})
        assert ordinal.stance is Ordinal.SUPPORT  # type: ignore[union-attr]
        assert type(number.stance) is float  # type: ignore[union-attr]
        assert unstructure_event(ordinal)["stance"] == "support"
        assert unstructure_event(number)["stance"] == 2.0

    @given(label=st.text(max_size=12).filter(lambda s: s not in {o.label for o in Ordinal}))
    def test_unknown_labels_are_refused(self, label: str) -> None:
        """A stance label off the scale is a validation error naming it."""
        payload = {
            "negotiation": "n",
            "event_id": "e",
            "party": "GB",
            "clause": "c",
            "valid_at": "2025-11-22T00:00:00+00:00",
            "stance": label,
        }
        with pytest.raises(ValidationError, match="stance"):
            structure_event("StanceRecorded", 3, payload)


class TestCanonicalForm:
    """What is stored is what is read back: the encoding of an event is a fixed point."""

    @given(event=any_event)
    def test_encode_decode_encode(self, event: Event) -> None:
        """encode(decode(encode(e))) == encode(e), hostile text and odd offsets included."""
        name = type(event).__name__
        text = encode(event)
        assert encode(decode(name, type(event).schema_version, text)) == text

    @given(event=events_by_type[StanceRecorded])
    def test_numbers_are_stored_as_floats(self, event: StanceRecorded) -> None:
        """Ints become floats and -0.0 becomes 0.0 when the event is made, not when read."""
        payload = json.loads(encode(event))
        for field in ("salience", "confidence"):
            value = payload[field]
            assert value is None or (type(value) is float and math.copysign(1.0, value) == 1.0)
        if not isinstance(event.stance, Ordinal):
            assert type(event.stance) is float

    def test_the_issue_values(self) -> None:
        """The values of the report: 0-100 scale, salience 1, confidence 0, -0.0."""
        scale = IntervalScale(low=0, high=100, labels={0: "status quo"})
        assert (type(scale.low), type(scale.high), list(scale.labels)) == (float, float, [0.0])
        event = StanceRecorded(
            negotiation="n",
            party="GB",
            clause="c",
            stance=-0.0,
            valid_at=datetime(2025, 11, 22, tzinfo=UTC),
            salience=1,
            confidence=0,
        )
        payload = json.loads(encode(event))
        assert (payload["stance"], payload["salience"], payload["confidence"]) == (0.0, 1.0, 0.0)
        assert '"stance":0.0' in encode(event)
        assert '"salience":1.0' in encode(event)

    @pytest.mark.parametrize(
        ("offset", "expected"),
        [
            (timedelta(hours=5, minutes=45), "2025-11-22T12:00:00+05:45"),
            (timedelta(hours=2, minutes=2, seconds=4), "2025-11-22T09:57:56+00:00"),
            (-timedelta(hours=3, microseconds=1), "2025-11-22T15:00:00.000001+00:00"),
        ],
    )
    def test_offsets(self, offset: timedelta, expected: str) -> None:
        """Whole-minute offsets are kept; others (local mean time) are stored in UTC."""
        valid = datetime(2025, 11, 22, 12, tzinfo=timezone(offset))
        event = ClauseAmended(negotiation="n", clause="c", text="t", valid_at=valid)
        assert event.valid_at == valid
        assert event.valid_at.isoformat() == expected
        assert json.loads(encode(event))["valid_at"] == expected


class TestRefusedAtTheEdge:
    """An event cannot be made with a value decoding would refuse, or that does not round-trip."""

    @given(event=any_event, data=st.data())
    def test_any_value_in_any_field(self, event: Event, data: st.DataObject) -> None:
        """A hostile value in any field is refused with a ValidationError, or round-trips."""
        field = data.draw(st.sampled_from([f.name for f in attrs.fields(type(event))]))
        value = data.draw(hostile_values)
        try:
            changed = attrs.evolve(event, **{field: value})
        except ValidationError:
            return
        name = type(changed).__name__
        text = encode(changed)
        back = decode(name, type(changed).schema_version, text)
        assert back == changed
        assert encode(back) == text

    @pytest.mark.parametrize(
        ("make", "message"),
        [
            (
                lambda: NegotiationOpened(negotiation="n", title="t", timezone="Mars/Olympus"),
                "time zone",
            ),
            (
                lambda: PartyRegistered(negotiation="n", party="GB", name="UK", kind="empire"),
                "kind",
            ),
            (lambda: _stance(precision="hour"), "precision"),
            (lambda: _stance(speaker=123), "speaker must be text"),
            (lambda: _stance(salience="0.5"), "salience must be a number"),
            (lambda: _stance(salience=10**400), "too large"),
            (lambda: _stance(confidence=float("nan")), "finite"),
            (lambda: _stance(stance=float("inf")), "invalid stance inf"),
            (lambda: _stance(note="a\x00b"), "NUL"),
            (lambda: _stance(note="a\ud800b"), "surrogate"),
            (lambda: _stance(party="x" * 101), "at most 100"),
            (lambda: _stance(event_id="e" * 201), "event id"),
            (lambda: _stance(event_id="a\nb"), "event id"),
            (lambda: _stance(valid_at=datetime(2025, 1, 1)), "no time zone"),
            (
                lambda: _stance(valid_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))),
                "outside years 1 to 9999",
            ),
            (lambda: _stance(evidence="quote"), "evidence must be a list"),
            (
                lambda: PartyRegistered(
                    negotiation="n", party="GB", name="UK", kind="state", aliases="UK"
                ),
                "aliases must be a list",
            ),
            (lambda: IntervalScale(low=0, high=True), "high must be a number"),
            (lambda: IntervalScale(low=0, high=1, labels={0.5: 7}), "label must be text"),
            (
                lambda: Source(outlet="Wire", published=datetime(2025, 1, 1, tzinfo=UTC)),
                "published must be a date",
            ),
            (
                lambda: Evidence(source=Source(outlet="Wire"), quote="q", stated="yes"),
                "stated must be true or false",
            ),
        ],
    )
    def test_refused(self, make: object, message: str) -> None:
        """Each value the report found poisoning or lossy is refused when the event is made."""
        with pytest.raises(ValidationError, match=message):
            make()  # type: ignore[operator]

    def test_correct_with_a_bad_precision(self) -> None:
        """attrs.evolve, as correct() uses it, runs the same checks: precision='hour' is refused."""
        with pytest.raises(ValidationError, match="precision"):
            attrs.evolve(_stance(), precision="hour")


class TestHostilePayloads:
    """Decoding a payload from outside (a file, a row) gives an event or a ValidationError."""

    @given(event=any_event, data=st.data())
    def test_any_json_in_any_key(self, event: Event, data: st.DataObject) -> None:
        """Any JSON value under any key (known or not) is decoded strictly or refused cleanly."""
        payload = unstructure_event(event)
        key = data.draw(st.sampled_from([*payload, "extra"]))
        payload[key] = data.draw(json_values)
        name = type(event).__name__
        try:
            decoded = structure_event(name, type(event).schema_version, payload)
        except ValidationError:
            return
        assert key != "extra"
        assert encode(decode(name, type(event).schema_version, encode(decoded))) == encode(decoded)

    @pytest.mark.parametrize(
        "text",
        [
            "[" * 100_000 + "]" * 100_000,
            '{"stance": 1e400}',
            '{"stance": NaN}',
            "1" * 5000,
            "not json",
        ],
    )
    def test_unreadable_text(self, text: str) -> None:
        """Deep nesting, numbers out of range and broken JSON are ValidationErrors."""
        with pytest.raises(ValidationError):
            decode("StanceRecorded", 2, text)

    def test_unknown_type_and_version(self) -> None:
        """An unknown type or schema version is named."""
        with pytest.raises(ValidationError, match="unknown event type"):
            structure_event("StanceInvented", 1, {})
        with pytest.raises(ValidationError, match="no schema version"):
            structure_event("StanceRecorded", True, {})  # type: ignore[arg-type]


def _stance(**changes: object) -> StanceRecorded:
    fields: dict[str, object] = {
        "negotiation": "n",
        "party": "GB",
        "clause": "c",
        "stance": Ordinal.SUPPORT,
        "valid_at": datetime(2025, 11, 22, tzinfo=UTC),
    }
    return StanceRecorded(**{**fields, **changes})  # type: ignore[arg-type]
