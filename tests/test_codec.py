"""Invariant 5: the codec round-trips every event type; old schemas upcast to the current one."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from negotrack import (
    ClauseAmended,
    ClauseTabled,
    ClauseWithdrawn,
    JointStatementRecorded,
    MembershipEnded,
    MembershipStarted,
    NoteRecorded,
    Ordinal,
    StanceRecorded,
    StanceWithdrawn,
)
from negotrack.codec import decode, encode, structure_event, unstructure_event
from negotrack.events import EVENT_TYPES, Event
from tests.strategies import any_event, events_by_type

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
        import pytest

        from negotrack import ValidationError

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
