"""JSON Lines: the exact machine format of the log, for export, backup and moves.

A header line, then one line per event, in position order::

    {"negotrack_log": 1, "negotiation": null, "events": 104}
    {"position": 7, "recorded_at": "2026-11-25T18:48:39.217874+00:00", "hash": "…",
     "type": "StanceRecorded", "schema_version": 2, "event": {...payload...}}

Exporting and restoring into an empty store keeps every event and its record
time, so every view ``known_at`` any time is the same after the move.  An
export of the whole log (``negotiation`` null) carries each event's link in the
hash chain, and the restore must reproduce every one: an edited or missing line
is refused.  The header's count catches a file cut short.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from negotrack import codec
from negotrack.errors import DatasetError, NegotrackError
from negotrack.model import check_aware
from negotrack.store import RecordedEvent
from negotrack.tracker import Tracker

__all__ = ["HEADER_KEY", "VERSION", "export_jsonl", "line_of", "read_jsonl", "restore_jsonl"]


HEADER_KEY = "negotrack_log"
VERSION = 1


def line_of(record: RecordedEvent, *, with_hash: bool = True) -> str:
    """One JSON line for a stored event (with its chain link unless told otherwise)."""
    event = record.event
    line: dict[str, Any] = {
        "position": record.position,
        "recorded_at": record.recorded_at.isoformat(),
        "type": type(event).__name__,
        "schema_version": event.schema_version,
        "event": codec.unstructure_event(event),
    }
    if with_hash and record.hash is not None:
        line["hash"] = record.hash
    return json.dumps(line, ensure_ascii=False, sort_keys=True)


def export_jsonl(tracker: Tracker, out: TextIO, *, negotiation: str | None = None) -> int:
    """Write the log (or one negotiation's events) as JSON Lines; return the count.

    The count in the header is taken first and the events are streamed, so a
    writer appending meanwhile cannot make the file disagree with itself: the
    export stops at the position the count was taken at.
    """
    last = tracker.last_position()
    records = [r for r in tracker.events(negotiation=negotiation) if r.position <= last]
    header = {HEADER_KEY: VERSION, "negotiation": negotiation, "events": len(records)}
    out.write(json.dumps(header) + "\n")
    for record in records:
        # Another negotiation's events are part of the chain: a partial export
        # cannot carry links that only the whole log reproduces.
        out.write(line_of(record, with_hash=negotiation is None) + "\n")
    return len(records)


def _record(line: dict[str, Any], file: str, number: int) -> RecordedEvent:
    missing = {"position", "recorded_at", "type", "schema_version", "event"} - line.keys()
    if missing:
        raise DatasetError(f"missing key(s) {', '.join(sorted(missing))}", file=file, line=number)
    try:
        if not isinstance(line["event"], dict):
            raise TypeError("'event' must be a JSON object")
        event = codec.structure_event(line["type"], int(line["schema_version"]), line["event"])
        recorded_at = datetime.fromisoformat(line["recorded_at"])
        check_aware("recorded_at", recorded_at)
        return RecordedEvent(
            position=int(line["position"]),
            recorded_at=recorded_at,
            stream="",
            version=0,
            event=event,
            hash=line.get("hash"),
        )
    except (NegotrackError, ValueError, TypeError) as exc:
        raise DatasetError(str(exc), file=file, line=number) from exc


def read_jsonl(lines: Iterable[str], file: str = "<stream>") -> Iterator[RecordedEvent]:
    """Parse JSON Lines into records (stream and version are the store's to assign).

    Raises:
        DatasetError: a line is not an event, or the header's count is not met.
    """
    expected: int | None = None
    count = 0
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"not valid JSON: {exc.msg}", file=file, line=number) from exc
        if not isinstance(line, dict):
            raise DatasetError("expected one JSON object per line", file=file, line=number)
        if HEADER_KEY in line:
            if number != 1 or line[HEADER_KEY] != VERSION:
                raise DatasetError(
                    f"expected the header {HEADER_KEY}: {VERSION} on line 1 only",
                    file=file,
                    line=number,
                )
            expected = line.get("events")
            continue
        count += 1
        yield _record(line, file, number)
    if expected is not None and count != expected:
        raise DatasetError(
            f"the header announces {expected} events, the file holds {count}", file=file
        )


def restore_jsonl(tracker: Tracker, path: str | Path) -> list[RecordedEvent]:
    """Restore an exported log into an empty store, all or nothing.

    Raises:
        DatasetError: a line is not a valid event (names the file and line).
        StoreError: the store is not empty.
    """
    try:
        with Path(path).open(encoding="utf-8") as lines:
            records = list(read_jsonl(lines, str(path)))
    except OSError as exc:
        raise DatasetError(f"cannot read the file: {exc.strerror}", file=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from exc
    return tracker.restore(records)
