"""JSON Lines: the exact machine format of the log, for export, backup and moves.

A header line, one line per event in position order, and a trailer::

    {"negotrack_log": 1, "negotiation": null, "events": 104}
    {"digest": "…", "event": {...payload...}, "hash": "…", "position": 1,
     "recorded_at": "2026-11-25T18:48:39.217874+00:00", "schema_version": 1,
     "type": "NegotiationOpened"}
    …
    {"negotrack_end": 1, "events": 104, "digest": "…"}

Each line's ``digest`` is the SHA-256 of the digest before it and of the line
without its digest, starting from the header: the file's own chain, which names
the first line edited, moved or removed.

Exporting and restoring into an empty store keeps every event and its record
time, so every view ``known_at`` any time is the same after the move.

What a restore checks, so that an altered file is refused with its line named:

* the header on line 1, exactly as written (``"negotrack_log": true`` is not
  a header); without it nothing else is read;
* every event line: its keys, its event (which must decode to exactly what
  the log would store), its record time (increasing, and not in the future);
* every line's digest, which is required;
* the trailer as the last line: a file cut short has none, whatever was done
  to the header; its count and the header's must both match the lines, and
  its digest must be the last line's;
* for an export of the whole log (``negotiation`` null), every event's link in
  the log's own hash chain (required on every line; positions 1, 2, 3, …),
  which the restore must reproduce, so the copy verifies as the original did.

An export of one negotiation cannot carry the log's chain links (that chain
runs through every negotiation's events); its digests are what its import
checks.  Neither digests nor chain are a signature: whoever can rewrite the
file can recompute both (see docs/reliability.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from negotrack import codec
from negotrack.errors import DatasetError, NegotrackError
from negotrack.io.progress import LineCount, Progress, lines_in
from negotrack.model import canonical_instant, check_negotiation_id
from negotrack.store import RecordedEvent
from negotrack.store.clock import CLOCK_SKEW  # one skew for every restore; re-exported here
from negotrack.tracker import Tracker

__all__ = [
    "CLOCK_SKEW",
    "HEADER_KEY",
    "TRAILER_KEY",
    "VERSION",
    "export_jsonl",
    "line_of",
    "read_jsonl",
    "restore_jsonl",
]


HEADER_KEY = "negotrack_log"
TRAILER_KEY = "negotrack_end"
VERSION = 1

_HEADER_KEYS = frozenset({HEADER_KEY, "negotiation", "events"})
_EVENT_KEYS = frozenset({"position", "recorded_at", "type", "schema_version", "event", "digest"})
_HASH = re.compile(r"[0-9a-f]{64}\Z")


def line_of(record: RecordedEvent, *, with_hash: bool = True) -> str:
    """One JSON line for a stored event (with its chain link unless told otherwise)."""
    return _canonical(_line_dict(record, with_hash=with_hash))


def _line_dict(record: RecordedEvent, *, with_hash: bool) -> dict[str, Any]:
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
    return line


def _canonical(line: dict[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False, sort_keys=True)


def _first_key_first(line: dict[str, Any]) -> str:
    # The header and trailer keep their marker first, so ``head -1`` tells what a file is.
    return json.dumps(line, ensure_ascii=False)


def _link(previous: str, line: str) -> str:
    """The digest of a line: SHA-256 of the previous digest and the line without its digest."""
    return hashlib.sha256(f"{previous}\n{line}".encode()).hexdigest()


def _genesis(header: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(header).encode()).hexdigest()


def export_jsonl(tracker: Tracker, out: TextIO, *, negotiation: str | None = None) -> int:
    """Write the log (or one negotiation's events) as JSON Lines; return the count.

    The export stops at the position the log was at when it began, so a writer
    appending meanwhile cannot make the file disagree with itself.  Events are
    streamed, a page at a time; an export of one negotiation reads its events
    twice (once to count them for the header).
    """
    if negotiation is not None:
        check_negotiation_id(negotiation)
    last = tracker.last_position()
    whole = negotiation is None

    def records() -> Iterator[RecordedEvent]:
        for record in tracker.events(negotiation=negotiation):
            if record.position > last:
                return
            yield record

    # Positions are gap-free, so the whole log holds exactly ``last`` events.
    count = last if whole else sum(1 for _ in records())
    header = {HEADER_KEY: VERSION, "negotiation": negotiation, "events": count}
    out.write(_first_key_first(header) + "\n")
    digest = _genesis(header)
    for record in records():
        line = _line_dict(record, with_hash=whole)
        digest = _link(digest, _canonical(line))
        out.write(_canonical({**line, "digest": digest}) + "\n")
    out.write(_first_key_first({TRAILER_KEY: VERSION, "events": count, "digest": digest}) + "\n")
    return count


# -- reading ---------------------------------------------------------------------


def _parse(text: str, file: str, number: int) -> dict[str, Any]:
    """One line as a JSON object; any fault is a DatasetError naming the line."""
    try:
        line = codec.loads(text)
    except RecursionError:
        raise DatasetError("JSON nested too deeply", file=file, line=number) from None
    except ValueError as exc:  # JSONDecodeError, and numbers out of range
        problem = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise DatasetError(f"not valid JSON: {problem}", file=file, line=number) from None
    if not isinstance(line, dict):
        raise DatasetError("expected one JSON object per line", file=file, line=number)
    return line


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _header(line: dict[str, Any], file: str) -> tuple[str | None, int, str]:
    """The negotiation, the count and the first digest of a header; anything else is refused."""
    if (
        line.keys() != _HEADER_KEYS
        or type(line[HEADER_KEY]) is not int
        or line[HEADER_KEY] != VERSION
        or not _count(line["events"])
        or not (line["negotiation"] is None or isinstance(line["negotiation"], str))
    ):
        raise DatasetError(
            f'expected the header {{"{HEADER_KEY}": {VERSION}, "negotiation": …, "events": …}} '
            "on line 1: is this a negotrack export?",
            file=file,
            line=1,
        )
    negotiation: str | None = line["negotiation"]
    if negotiation is not None:
        try:
            check_negotiation_id(negotiation)
        except NegotrackError as exc:
            raise DatasetError(str(exc), file=file, line=1, field="negotiation") from None
    return negotiation, line["events"], _genesis(line)


class _Reader:
    """The state of one restore: what the lines so far say, checked as they come."""

    def __init__(
        self, file: str, negotiation: str | None, announced: int, digest: str, now: datetime
    ) -> None:
        self.file = file
        self.negotiation = negotiation
        self.whole = negotiation is None
        self.announced = announced
        self.digest = digest
        self.latest = now + CLOCK_SKEW
        self.count = 0
        self.previous: RecordedEvent | None = None

    def error(self, problem: str, number: int, field: str | None = None) -> DatasetError:
        return DatasetError(problem, file=self.file, line=number, field=field)

    def event(self, line: dict[str, Any], number: int) -> RecordedEvent:
        """A checked record of one event line."""
        keys = _EVENT_KEYS | {"hash"} if self.whole else _EVENT_KEYS
        if line.keys() != keys:
            missing = sorted(keys - line.keys())
            extra = sorted(line.keys() - keys)
            if missing == ["hash"]:
                raise self.error(
                    "no hash: an export of the whole log carries every event's link in "
                    "the hash chain",
                    number,
                )
            if missing == ["digest"]:
                raise self.error("no digest: every line of an export carries one", number)
            problem = f"missing key(s) {', '.join(missing)}" if missing else ""
            if extra:
                problem += ("; " if problem else "") + f"unexpected key(s) {', '.join(extra)}"
            raise self.error(problem, number)
        record = self._record(line, number)
        self._check_order(record, number)
        # The digest covers the line as the log will hold it: a record that
        # decodes to anything but what was exported fails here.
        digest = _link(self.digest, line_of(record, with_hash=self.whole))
        if line["digest"] != digest:
            raise self.error(
                "the digest does not match: this line, or one before it, was altered, "
                "added or removed",
                number,
                "digest",
            )
        self.digest = digest
        self.count += 1
        self.previous = record
        return record

    def _record(self, line: dict[str, Any], number: int) -> RecordedEvent:
        field = "event"
        try:
            if not isinstance(line["event"], dict):
                raise self.error("'event' must be a JSON object", number, field)
            if not isinstance(line["type"], str) or type(line["schema_version"]) is not int:
                raise self.error("'type' must be text and 'schema_version' an integer", number)
            event = codec.structure_event(line["type"], line["schema_version"], line["event"])
            field = "recorded_at"
            if not isinstance(line["recorded_at"], str):
                raise self.error("expected an ISO 8601 date-time", number, field)
            recorded_at = canonical_instant(field, datetime.fromisoformat(line["recorded_at"]))
        except DatasetError:
            raise
        except (NegotrackError, ValueError) as exc:
            raise self.error(str(exc), number, field) from None
        position, link = line["position"], line.get("hash")
        if type(position) is not int or position < 1:
            raise self.error(f"position must be a positive integer, got {position!r}", number)
        if self.whole and not (isinstance(link, str) and _HASH.match(link)):
            raise self.error("hash must be 64 hexadecimal digits", number, "hash")
        if self.negotiation is not None and event.negotiation != self.negotiation:
            raise self.error(
                f"an event of negotiation {event.negotiation!r} in an export of "
                f"{self.negotiation!r}",
                number,
                "event.negotiation",
            )
        return RecordedEvent(
            position=position,
            recorded_at=recorded_at,
            stream="",
            version=0,
            event=event,
            hash=link,
        )

    def _check_order(self, record: RecordedEvent, number: int) -> None:
        if record.recorded_at > self.latest:
            raise self.error(
                f"recorded at {record.recorded_at.isoformat()}, in the future (this "
                f"machine's clock says {(self.latest - CLOCK_SKEW).isoformat()}): a restore "
                "cannot record events after the present",
                number,
                "recorded_at",
            )
        if self.whole and record.position != self.count + 1:
            raise self.error(
                f"position {record.position}, expected {self.count + 1}: an export of the "
                "whole log numbers its events 1, 2, 3, …",
                number,
                "position",
            )
        if self.previous is not None:
            if record.position <= self.previous.position:
                raise self.error("positions must increase from line to line", number, "position")
            if record.recorded_at <= self.previous.recorded_at:
                raise self.error(
                    "record times must increase from line to line", number, "recorded_at"
                )

    def trailer(self, line: dict[str, Any], number: int) -> None:
        """Check the trailer against every line read."""
        keys = {TRAILER_KEY, "events", "digest"}
        if (
            line.keys() != keys
            or type(line[TRAILER_KEY]) is not int
            or line[TRAILER_KEY] != VERSION
        ):
            raise self.error(f"the trailer must hold exactly {', '.join(sorted(keys))}", number)
        if line["events"] != self.count or self.announced != self.count:
            raise self.error(
                f"the header announces {self.announced} events and the trailer "
                f"{line['events']!r}, the file holds {self.count}",
                number,
            )
        if line["digest"] != self.digest:
            raise self.error(
                "the trailer's digest is not the last line's: the file was altered", number
            )


def read_jsonl(
    lines: Iterable[str], file: str = "<stream>", *, now: datetime | None = None
) -> Iterator[RecordedEvent]:
    """Parse and check JSON Lines into records (stream and version are the store's to assign).

    Records are yielded as their lines are checked; the checks that need the
    whole file (the trailer, the counts, the digest) raise after the last one.
    A caller that writes nothing until the iterator is exhausted is all or
    nothing.

    Args:
        lines: the file's lines, as text.
        file: the name errors give for it.
        now: the present, for refusing record times in the future (default:
            this machine's clock).

    Raises:
        DatasetError: the file is not a complete, unaltered export (names the line).
    """
    now = datetime.now(UTC) if now is None else now
    reader: _Reader | None = None
    ended: int | None = None
    number = 0
    for number, text in enumerate(lines, start=1):
        if ended is not None:
            raise DatasetError(f"a line after the trailer (line {ended})", file=file, line=number)
        if not text.strip():
            raise DatasetError("an empty line", file=file, line=number)
        line = _parse(text, file, number)
        if reader is None:
            reader = _Reader(file, *_header(line, file), now)
        elif TRAILER_KEY in line:
            reader.trailer(line, number)
            ended = number
        else:
            yield reader.event(line, number)
    if reader is None:
        raise DatasetError("the file is empty: expected a negotrack export", file=file)
    if ended is None:
        raise DatasetError(
            f"the file ends at line {number} without its trailer: it was cut short",
            file=file,
            line=number,
        )


def _text_lines(binary: BinaryIO, file: str) -> Iterator[str]:
    """The lines of a file as text; a line that is not UTF-8 is named."""
    for number, raw in enumerate(binary, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(
                f"not UTF-8 text (byte {exc.start} of the line)", file=file, line=number
            ) from None


def _counted(lines: Iterator[str], count: LineCount) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        yield line
        count.reached(number)


def restore_jsonl(
    tracker: Tracker, path: str | Path, *, progress: Progress | None = None
) -> list[RecordedEvent]:
    """Restore an exported log into an empty store, all or nothing.

    The whole file is checked before anything is written.

    Args:
        tracker: the empty store to restore into.
        path: the JSON Lines export.
        progress: called with (lines read, lines in the file) as the file is read, every
            thousand lines and once at the end (:data:`negotrack.io.progress.Progress`).

    Raises:
        DatasetError: the file is not a complete, unaltered export (names the file and line).
        StoreError: the store is not empty, or the restored chain differs from the export's.
    """
    file = str(path)
    try:
        count = LineCount(progress, lines_in(path) if progress else 0)
        with Path(path).open("rb") as binary:
            records = list(read_jsonl(_counted(_text_lines(binary, file), count), file))
        count.done()
    except OSError as exc:
        raise DatasetError(f"cannot read the file: {exc.strerror}", file=file) from exc
    return tracker.restore(records)
