"""Rows of the store are rebuilt without checking again; verify() still checks every one."""

from __future__ import annotations

import functools
import json
from typing import Any
from unittest import mock

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import given

import negotrack
from negotrack import ChainBrokenError, RecordedEvent, StanceRecorded, ValidationError, codec
from negotrack.codec import decode, decode_stored, encode, unstructure_event
from negotrack.events import CELL_EVENTS, Event
from negotrack.projections.claims import Claim, claims_of
from negotrack.store import CellEntry
from negotrack.store.chain import chain
from negotrack.store.schema import events
from negotrack.trusted import maker
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, any_event, day, open_test_negotiation


def _both(event: Event) -> tuple[Event, Event]:
    """The event decoded from its stored text by the trusted and by the validating path."""
    name, version, text = type(event).__name__, type(event).schema_version, encode(event)
    return decode_stored(name, version, text), decode(name, version, text)


class TestTrustedDecode:
    """decode_stored builds exactly the event the validating decode builds."""

    @given(event=any_event)
    def test_trusted_equals_validating(self, event: Event) -> None:
        """For every event type, the trusted event equals the validated one, field types included
        (an Ordinal is not the float 2.0, a tuple not a list: their reprs differ)."""
        trusted, validated = _both(event)
        assert trusted == validated == event
        assert repr(trusted) == repr(validated)

    @given(event=any_event)
    def test_trusted_equals_validating_with_the_standard_json(self, event: Event) -> None:
        """Without orjson (the ``fast`` extra), the standard json parser builds the same event."""
        standard = functools.partial(json.loads, parse_constant=codec._refuse_constant)
        with mock.patch.object(codec, "_parse_stored", standard):
            trusted, validated = _both(event)
        assert repr(trusted) == repr(validated)

    @pytest.mark.parametrize("text", ['{"negotiation": "n"}', "[1, 2]", "{not json", '{"a": NaN}'])
    def test_a_payload_the_builders_cannot_read_is_refused_as_decode_refuses_it(
        self, text: str
    ) -> None:
        """A row no event wrote gets the validating decode's error, not a KeyError."""
        version = StanceRecorded.schema_version
        with pytest.raises(ValidationError) as expected:
            decode("StanceRecorded", version, text)
        with pytest.raises(ValidationError) as caught:
            decode_stored("StanceRecorded", version, text)
        assert str(caught.value) == str(expected.value)

    def test_an_older_schema_is_upcast(self) -> None:
        """A row of an older schema version takes the validating path, upcasters included."""
        event = StanceRecorded(
            negotiation="n", party="GB", clause="c", stance="support", valid_at=day(0)
        )
        payload: dict[str, Any] = unstructure_event(event)
        del payload["earliest"], payload["basis"]  # added by schema 3
        assert decode_stored("StanceRecorded", 2, codec.dumps(payload)) == event

    def test_an_unknown_type_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="unknown event type 'Nothing'"):
            decode_stored("Nothing", 1, "{}")


def _a_log_with_one_stance(backend: Backend) -> tuple[str, RecordedEvent]:
    """The URL of a new log of the test negotiation holding one stance, and its record."""
    url = backend.url()
    with negotrack.open(url) as tracker:
        neg = open_test_negotiation(tracker)
        return url, neg.record_stance("GB", "territory", "support", valid_at=day(1))


def _refuse(*_: object) -> None:
    raise AssertionError("a row of the store was validated again on reading")


class TestMaker:
    """Values assembled from checked parts are made without attrs' __init__, and equal its."""

    @given(event=any_event)
    def test_a_record_and_its_claims_equal_those_init_makes(self, event: Event) -> None:
        """A record, a cell entry and each claim equal the same fields through __init__."""
        fields = {"position": 3, "recorded_at": day(1), "stream": "s", "version": 2}
        record = maker(RecordedEvent)(**fields, event=event, hash="ab")
        assert record == RecordedEvent(**fields, event=event, hash="ab")
        entry = maker(CellEntry)(party="GB", record=record, retracted_by=None)
        assert entry == CellEntry(party="GB", record=record)
        if isinstance(event, CELL_EVENTS):
            for claim in claims_of(record):
                assert claim == Claim(**attrs.asdict(claim, recurse=False))

    def test_every_field_must_be_given(self) -> None:
        """No default is filled in: a field left out is an error, not a silent default."""
        with pytest.raises(TypeError):
            maker(CellEntry)(party="GB", record=None)


class TestStoreReads:
    """The SQL store reads rows through the trusted path; verify() decodes with every check."""

    def test_reads_do_not_validate_again(self, backend: Backend) -> None:
        """The log, a matrix and a history read on a fresh tracker never run the validating decode."""
        url, _ = _a_log_with_one_stance(backend)
        with negotrack.open(url, decoded_cache=0) as tracker:
            written = list(tracker.events())
        with negotrack.open(url) as tracker, mock.patch.object(codec, "structure_event", _refuse):
            assert list(tracker.events()) == written
            neg = tracker.negotiation(NEGOTIATION)
            assert neg.matrix(day(2)).get("GB", "territory") is not None
            assert len(neg.history("GB", "territory")) == 1

    def test_verify_decodes_every_row_with_every_check(self, backend: Backend) -> None:
        """A row the trusted builders read but no valid event could have written fails verify():
        it decodes with every check, not just the shape the builders need."""
        url, recorded = _a_log_with_one_stance(backend)
        with negotrack.open(url) as tracker:
            engine = tracker.store.engine
            with engine.begin() as conn:
                rows = conn.execute(sa.select(events).order_by(events.c.position)).mappings().all()
                *_, before, last = rows
                # A speaker holding the NUL character: text PostgreSQL can hold in JSON
                # (escaped) but no event accepts.
                payload = last["payload"].replace('"speaker":null', '"speaker":"\\u0000"')
                row = {**last, "payload": payload}
                backend.allow_updates(conn)
                conn.execute(
                    events.update()
                    .where(events.c.position == last["position"])
                    .values(payload=payload, hash=chain(before["hash"], row))
                )
            with pytest.raises(ChainBrokenError, match="payload does not decode") as caught:
                tracker.verify()
            assert caught.value.position == recorded.position


class TestDecodedCache:
    """The decoded-event cache serves the log too, and its size is set when opening."""

    def test_reading_the_log_keeps_its_events_decoded(self, backend: Backend) -> None:
        """A second read of the log returns the events decoded by the first (the same objects)."""
        with negotrack.open(backend.url()) as tracker:
            open_test_negotiation(tracker)
            first, second = list(tracker.events()), list(tracker.events())
            assert all(a.event is b.event for a, b in zip(first, second, strict=True))

    def test_reading_a_log_longer_than_the_cache_evicts_nothing(self, backend: Backend) -> None:
        """A full read keeps the events the cache held (the same objects) and its size."""
        with negotrack.open(backend.url(), decoded_cache=2) as tracker:
            open_test_negotiation(tracker)
            ids = [r.event.event_id for r in tracker.events()]
            assert len(ids) > 4
            held = [tracker.event(event_id).event for event_id in ids[:2]]
            list(tracker.events())
            assert all(tracker.event(i).event is e for i, e in zip(ids, held, strict=False))
            assert len(tracker.store._decoded) == 2  # type: ignore[attr-defined]

    def test_a_cache_of_zero_keeps_nothing(self, backend: Backend) -> None:
        """open(url, decoded_cache=0) decodes every read afresh."""
        with negotrack.open(backend.url(), decoded_cache=0) as tracker:
            open_test_negotiation(tracker)
            first, second = list(tracker.events()), list(tracker.events())
            assert first == second
            assert not any(a.event is b.event for a, b in zip(first, second, strict=True))

    @pytest.mark.parametrize("size", [-1, True, 2.5, "100"])
    def test_a_size_that_is_no_count_is_refused(self, size: object) -> None:
        with pytest.raises(ValidationError, match="decoded_cache must be a whole number"):
            negotrack.open("memory://", decoded_cache=size)  # type: ignore[arg-type]

    def test_memory_takes_the_size_and_ignores_it(self) -> None:
        """The in-memory log keeps events, not rows: any cache size opens it."""
        with negotrack.open("memory://", decoded_cache=5) as tracker:
            open_test_negotiation(tracker)
            assert tracker.verify().position > 0
