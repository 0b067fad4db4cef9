"""A batch of writes: the events of a ``with negotiation.batch():`` block, written as one.

Recording stances one call at a time commits one transaction per stance; an
import of a spreadsheet wants them all or none, and committing once is many
times faster.  Inside the block each write method builds and checks its event
as usual, then queues it here; when the block ends without an error,
:meth:`negotrack.Tracker.append` checks the whole batch against the write
rules and appends it in one transaction.  An error inside the block, or a
refusal of any event at the end, writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from negotrack.errors import ValidationError
from negotrack.events import Event
from negotrack.store import RecordedEvent, stream_of

__all__ = ["NOT_YET_RECORDED", "Batch"]

NOT_YET_RECORDED = datetime.min.replace(tzinfo=UTC)
"""The record time of a queued event: it is recorded when its batch is written."""


class Batch:
    """The events queued in one ``batch()`` block, and their records once written.

    Attributes:
        events: the queued events, in the order the write methods were called.
        records: the stored record of each event, in that order; empty until
            the block has ended and the batch is written.
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.records: list[RecordedEvent] = []
        self._expected: dict[str, int] = {}
        self._queued: dict[str, Event] = {}

    def __len__(self) -> int:
        return len(self.events)

    def queue(self, events: list[Event], expected: Mapping[str, int]) -> list[RecordedEvent]:
        """Queue events; return their records as queued (position 0, recorded at year 1).

        The same event queued twice (a repeated call, which makes the same
        readable id) is queued once, as a repeated call outside a batch writes
        nothing new.  A cell's expected version is the one it must have
        before the batch, so a second expectation of the same cell must agree.

        Raises:
            ValidationError: two expectations of one stream differ.
        """
        for stream, version in expected.items():
            if self._expected.setdefault(stream, version) != version:
                raise ValidationError(
                    f"stream {stream!r} is expected at version {self._expected[stream]} "
                    f"and at version {version} in the same batch: give the version it has "
                    "before the batch, once"
                )
        for event in events:
            if self._queued.get(event.event_id) != event:
                self._queued[event.event_id] = event
                self.events.append(event)
        return [
            RecordedEvent(
                position=0, recorded_at=NOT_YET_RECORDED, stream=stream_of(e), version=0, event=e
            )
            for e in events
        ]

    @property
    def expected_versions(self) -> dict[str, int]:
        """Stream -> the version the batch's writers expect it to have before the batch."""
        return dict(self._expected)
