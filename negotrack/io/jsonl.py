"""JSON Lines: the exact machine format of the log, for export, backup and moves.

One line per event, in position order::

    {"position": 7, "recorded_at": "2026-11-25T18:48:39.217874+00:00",
     "type": "StanceRecorded", "schema_version": 2, "event": {...payload...}}

Exporting and restoring into an empty store keeps every event and its record
time, so every view ``known_at`` any time is the same after the move.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from negotrack import codec
from negotrack.errors import DatasetError, NegotrackError
from negotrack.store import RecordedEvent
from negotrack.tracker import Tracker

__all__ = ["export_jsonl", "line_of", "read_jsonl", "restore_jsonl"]


def line_of(record: RecordedEvent) -> str:
    """One JSON line for a stored event."""
    event = record.event
    return json.dumps(
        {
            "position": record.position,
            "recorded_at": record.recorded_at.isoformat(),
            "type": type(event).__name__,
            "schema_version": event.schema_version,
            "event": codec.unstructure_event(event),
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def export_jsonl(tracker: Tracker, out: TextIO, *, negotiation: str | None = None) -> int:
    """Write the log (or one negotiation's events) as JSON Lines; return the count."""
    count = 0
    for record in tracker.events(negotiation=negotiation):
        out.write(line_of(record) + "\n")
        count += 1
    return count


def _record(line: dict[str, Any], file: str, number: int) -> RecordedEvent:
    try:
        event = codec.structure_event(line["type"], int(line["schema_version"]), line["event"])
        recorded_at = datetime.fromisoformat(line["recorded_at"])
        return RecordedEvent(
            position=int(line["position"]),
            recorded_at=recorded_at,
            stream="",
            version=0,
            event=event,
        )
    except KeyError as exc:
        raise DatasetError(f"missing key {exc.args[0]!r}", file=file, line=number) from exc
    except (NegotrackError, ValueError, TypeError) as exc:
        raise DatasetError(str(exc), file=file, line=number) from exc


def read_jsonl(lines: Iterable[str], file: str = "<stream>") -> Iterator[RecordedEvent]:
    """Parse JSON Lines into records (stream and version are the store's to assign)."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"not valid JSON: {exc.msg}", file=file, line=number) from exc
        if not isinstance(line, dict):
            raise DatasetError("expected one JSON object per line", file=file, line=number)
        yield _record(line, file, number)


def restore_jsonl(tracker: Tracker, path: str | Path) -> list[RecordedEvent]:
    """Restore an exported log into an empty store, all or nothing.

    Raises:
        DatasetError: a line is not a valid event (names the file and line).
        StoreError: the store is not empty.
    """
    with Path(path).open(encoding="utf-8") as lines:
        records = list(read_jsonl(lines, str(path)))
    return tracker.restore(records)
