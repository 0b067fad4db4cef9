"""JSON Lines: a whole-log export restores to an identical log; an altered file is refused.

Every tampering the trust review tried is here, each refused with the line
named and the target store left empty.  The digests of a tampered file are
recomputed by :func:`reseal` from the format's description (not by the
module's own code), as an attacker who read the docs would.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import negotrack
from negotrack import DatasetError
from negotrack.io import progress
from negotrack.io.dataset import import_dataset
from negotrack.io.jsonl import CLOCK_SKEW, export_jsonl, read_jsonl, restore_jsonl
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, build_log, command_lists, open_test_negotiation

ROOT = Path(__file__).resolve().parents[1]
GENEVA = ROOT / "examples" / "geneva_2025" / "geneva_2025.yaml"
PLAN = "us-peace-plan-2025"

Lines = list[str]


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Lines]:
    """The Geneva log (plus one retraction and another negotiation), exported whole and in part."""
    with negotrack.open("sqlite://") as tracker:
        import_dataset(tracker, GENEVA)
        plan = tracker.negotiation(PLAN)
        e3 = plan.matrix(date(2025, 11, 22))["e3", "revision-of-draft"]
        plan.retract(e3.event_id, reason="test")
        tracker.open_negotiation("other-talks", title="Other")
        made = {}
        for name, negotiation in (("whole", None), ("one", PLAN)):
            out = io.StringIO()
            export_jsonl(tracker, out, negotiation=negotiation)
            made[name] = out.getvalue().splitlines(keepends=True)
    return made


def write(tmp_path: Path, lines: Lines, name: str = "log.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(lines), encoding="utf-8")
    return path


def refused(tmp_path: Path, lines: Lines) -> DatasetError | negotrack.StoreError:
    """Restore ``lines`` into a fresh store; return the error, having checked nothing was written."""
    path = write(tmp_path, lines)
    with negotrack.open("sqlite://") as target:
        with pytest.raises((DatasetError, negotrack.StoreError)) as caught:
            restore_jsonl(target, path)
        assert target.store.last_position() == 0
    return caught.value


def reseal(lines: Lines, start: int = 1) -> Lines:
    """Recompute every digest from line ``start`` (0-based) on, and the trailer's.

    The format (docs/dataset-format.md): each line's digest is SHA-256 of the
    previous digest, a newline and the line without its digest (keys sorted);
    the first previous digest is SHA-256 of the header (keys sorted).
    """
    header = json.loads(lines[0])
    digest = hashlib.sha256(
        json.dumps(header, ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()
    out = [lines[0]]
    for index, text in enumerate(lines[1:], start=1):
        line = json.loads(text)
        if "negotrack_end" in line:
            line["digest"] = digest
            out.append(json.dumps(line, ensure_ascii=False) + "\n")
            continue
        if index < start:
            digest = line["digest"]
            out.append(text)
            continue
        line.pop("digest", None)
        digest = hashlib.sha256(
            f"{digest}\n{json.dumps(line, ensure_ascii=False, sort_keys=True)}".encode()
        ).hexdigest()
        out.append(
            json.dumps({**line, "digest": digest}, ensure_ascii=False, sort_keys=True) + "\n"
        )
    return out


def edit(lines: Lines, number: int, change: Callable[[dict[str, object]], None]) -> Lines:
    """``lines`` with line ``number`` (1-based) changed as JSON."""
    line = json.loads(lines[number - 1])
    change(line)
    changed = list(lines)
    changed[number - 1] = json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n"
    return changed


def oppose(line: dict[str, object]) -> None:
    event = line["event"]
    assert isinstance(event, dict)
    event["stance"] = "oppose" if event.get("stance") != "oppose" else "support"


def first_stance(lines: Lines) -> int:
    """The 1-based number of the first StanceRecorded line."""
    return next(i for i, text in enumerate(lines, start=1) if '"StanceRecorded"' in text)


class TestRoundTrip:
    """Export, then restore into an empty store, gives the same log."""

    def test_whole_log_keeps_every_view(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """The restored log exports identically, verifies, and answers known_at views alike."""
        path = write(tmp_path, exports["whole"])
        with negotrack.open("sqlite://") as copy:
            restore_jsonl(copy, path)
            again = io.StringIO()
            export_jsonl(copy, again)
            assert again.getvalue() == "".join(exports["whole"])
            assert copy.verify().position == len(exports["whole"]) - 2

    def test_one_negotiation(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """One negotiation's export carries digests, no chain links, and restores."""
        lines = exports["one"]
        assert all('"hash"' not in line for line in lines)
        with negotrack.open("sqlite://") as target:
            restored = restore_jsonl(target, write(tmp_path, lines))
            assert len(restored) == len(lines) - 2
            assert {r.event.negotiation for r in restored} == {PLAN}
            assert target.verify().position == len(restored)

    def test_empty_log(self, tmp_path: Path) -> None:
        """An empty log exports as a header and a trailer, and restores to an empty log."""
        with negotrack.open("sqlite://") as empty:
            out = io.StringIO()
            assert export_jsonl(empty, out) == 0
        with negotrack.open("sqlite://") as target:
            assert restore_jsonl(target, write(tmp_path, out.getvalue().splitlines(True))) == []

    def test_restore_needs_an_empty_store(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """Restoring over an existing log is refused and writes nothing."""
        with negotrack.open("sqlite://") as tracker:
            tracker.open_negotiation("here-already", title="Here")
            with pytest.raises(negotrack.StoreError, match="empty store"):
                restore_jsonl(tracker, write(tmp_path, exports["whole"]))
            assert tracker.store.last_position() == 1

    @settings(max_examples=15)
    @given(commands=command_lists)
    def test_random_logs(self, backend: Backend, commands: list[object]) -> None:
        """Random histories (retractions, corrections) round-trip byte for byte, on each backend."""
        with backend.tracker() as tracker:
            neg = open_test_negotiation(tracker)
            build_log(neg, commands)  # type: ignore[arg-type]
            tracker_cells = neg.matrix(date(2030, 1, 1)).cells
            first = io.StringIO()
            export_jsonl(tracker, first)
        with backend.tracker() as copy:
            copy.restore(list(read_jsonl(io.StringIO(first.getvalue()))))
            second = io.StringIO()
            export_jsonl(copy, second)
            assert second.getvalue() == first.getvalue()
            assert copy.verify().position == first.getvalue().count("\n") - 2
            assert copy.negotiation(NEGOTIATION).matrix(date(2030, 1, 1)).cells == (tracker_cells)


class TestProgress:
    """A restore tells a callback how far it has read, for a bar with a count."""

    def test_lines_read_increase_to_the_total(
        self, tmp_path: Path, exports: dict[str, Lines], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The callback is told the lines read, increasing, of the file's lines, and last
        the total."""
        monkeypatch.setattr(progress, "EVERY", 10)
        told: list[tuple[int, int]] = []
        with negotrack.open("sqlite://") as target:
            restore_jsonl(
                target,
                write(tmp_path, exports["whole"]),
                progress=lambda done, total: told.append((done, total)),
            )
        lines = len(exports["whole"])
        assert len(told) > lines // 20
        assert {total for _, total in told} == {lines}
        done = [d for d, _ in told]
        assert done == sorted(set(done))
        assert told[-1] == (lines, lines)


class TestTampering:
    """Every alteration the review tried is refused, with its line named."""

    def test_edited_line(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """An edited event is caught at its own line, by its digest."""
        number = first_stance(exports["whole"])
        error = refused(tmp_path, edit(exports["whole"], number, oppose))
        assert isinstance(error, DatasetError)
        assert (error.line, error.field) == (number, "digest")

    def test_hashes_stripped_from_the_edit_on(
        self, exports: dict[str, Lines], tmp_path: Path
    ) -> None:
        """Stripping the chain links from the edited line onward is refused at that line."""
        number = first_stance(exports["whole"])
        lines = edit(exports["whole"], number, oppose)
        for index in range(number, len(lines) + 1):
            lines = edit(lines, index, lambda line: line.pop("hash", None))
        error = refused(tmp_path, reseal(lines, number - 1))
        assert isinstance(error, DatasetError)
        assert error.line == number
        assert "no hash" in error.problem

    def test_edit_resealed(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """An edit with every digest recomputed still breaks the log's own chain."""
        number = first_stance(exports["whole"])
        error = refused(tmp_path, reseal(edit(exports["whole"], number, oppose), number - 1))
        assert isinstance(error, negotrack.StoreError)
        assert f"event {number - 1} of the restore" in str(error)

    def test_digest_stripped(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """A line without its digest is refused (an export of one negotiation has no chain)."""
        lines = edit(exports["one"], 5, lambda line: line.pop("digest"))
        error = refused(tmp_path, lines)
        assert isinstance(error, DatasetError)
        assert (error.line, "no digest") == (5, error.problem[:9])

    def test_one_negotiation_edited(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """An export of one negotiation: an edit is caught at its line."""
        number = first_stance(exports["one"])
        error = refused(tmp_path, edit(exports["one"], number, oppose))
        assert isinstance(error, DatasetError)
        assert error.line == number

    @pytest.mark.parametrize("name", ["whole", "one"])
    def test_cut_tail(self, exports: dict[str, Lines], tmp_path: Path, name: str) -> None:
        """A file cut short has no trailer."""
        error = refused(tmp_path, exports[name][:-4])
        assert isinstance(error, DatasetError)
        assert "without its trailer" in error.problem

    def test_header_dropped_and_tail_cut(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """Without its header the file is not an export: refused at line 1."""
        error = refused(tmp_path, exports["whole"][1:-4])
        assert isinstance(error, DatasetError)
        assert error.line == 1
        assert "header" in error.problem

    def test_count_edited_and_tail_cut(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """Lowering the header's count and cutting as many events is still a cut file."""
        lines = exports["whole"]
        header = json.loads(lines[0])
        header["events"] -= 3
        cut = [json.dumps(header) + "\n", *lines[1:-4]]
        error = refused(tmp_path, cut)  # the header is the first link of the digests
        assert isinstance(error, DatasetError)
        assert (error.line, error.field) == (2, "digest")
        error = refused(tmp_path, reseal(cut))
        assert isinstance(error, DatasetError)
        assert "without its trailer" in error.problem

    def test_cut_and_resealed_trailer(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """A cut file with a forged trailer still disagrees with its header."""
        lines = exports["one"]
        trailer = json.loads(lines[-1])
        trailer["events"] -= 3
        error = refused(tmp_path, reseal([*lines[:-4], json.dumps(trailer) + "\n"]))
        assert isinstance(error, DatasetError)
        assert "header announces" in error.problem

    def test_middle_line_removed(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """A removed line is caught at the line that follows it."""
        lines = exports["one"]
        error = refused(tmp_path, [*lines[:10], *lines[11:]])
        assert isinstance(error, DatasetError)
        assert error.line == 11

    def test_lines_swapped(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """Two lines swapped are caught at the first of them."""
        lines = list(exports["one"])
        lines[10], lines[11] = lines[11], lines[10]
        error = refused(tmp_path, lines)
        assert isinstance(error, DatasetError)
        assert error.line == 11

    @pytest.mark.parametrize(
        "header",
        [
            {"negotrack_log": True, "negotiation": None, "events": 104},
            {"negotrack_log": 1.0, "negotiation": None, "events": 104},
            {"negotrack_log": 2, "negotiation": None, "events": 104},
            {"negotrack_log": 1, "negotiation": None, "events": "104"},
            {"negotrack_log": 1, "negotiation": None, "events": -1},
            {"negotrack_log": 1, "negotiation": None, "events": 104, "note": "x"},
            {"negotrack_log": 1, "events": 104},
            {"negotrack_log": 1, "negotiation": "Not A Slug", "events": 104},
        ],
    )
    def test_strict_header(
        self, exports: dict[str, Lines], tmp_path: Path, header: dict[str, object]
    ) -> None:
        """Only the exact header is a header ("negotrack_log": true is not)."""
        error = refused(tmp_path, [json.dumps(header) + "\n", *exports["whole"][1:]])
        assert isinstance(error, DatasetError)
        assert error.line == 1

    def test_line_after_the_trailer(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """Nothing may follow the trailer."""
        lines = exports["one"]
        error = refused(tmp_path, [*lines, lines[1]])
        assert isinstance(error, DatasetError)
        assert (error.line, "a line after the trailer") == (len(lines) + 1, error.problem[:24])

    def test_blank_line(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """A blank line is not part of an export."""
        lines = exports["one"]
        error = refused(tmp_path, [*lines[:3], "\n", *lines[3:]])
        assert isinstance(error, DatasetError)
        assert error.line == 4

    def test_foreign_negotiation(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """An event of another negotiation in a negotiation's export is refused."""
        number = first_stance(exports["one"])

        def move(line: dict[str, object]) -> None:
            event = line["event"]
            assert isinstance(event, dict)
            event["negotiation"] = "other-talks"

        error = refused(tmp_path, reseal(edit(exports["one"], number, move)))
        assert isinstance(error, DatasetError)
        assert (error.line, error.field) == (number, "event.negotiation")

    def test_extra_key_in_an_event(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """A payload key the event does not have is refused, not dropped."""
        number = first_stance(exports["one"])

        def add(line: dict[str, object]) -> None:
            event = line["event"]
            assert isinstance(event, dict)
            event["verified_by"] = "nobody"

        error = refused(tmp_path, reseal(edit(exports["one"], number, add)))
        assert isinstance(error, DatasetError)
        assert error.line == number
        assert "verified_by" in error.problem


class TestRecordTimes:
    """A restore cannot push record times to the end of time, nor out of order."""

    def future(self, exports: dict[str, Lines], when: datetime) -> Lines:
        last = len(exports["one"]) - 1  # the last event line (1-based)

        def later(line: dict[str, object]) -> None:
            line["recorded_at"] = when.isoformat()

        return reseal(edit(exports["one"], last, later))

    def test_end_of_time_is_refused(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """9999-12-31 as a record time is refused with its line."""
        lines = self.future(exports, datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
        error = refused(tmp_path, lines)
        assert isinstance(error, DatasetError)
        assert (error.line, error.field) == (len(lines) - 1, "recorded_at")
        assert "in the future" in error.problem

    def test_small_skew_is_allowed(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """A record time a little ahead (a fast clock) restores, and appends still work after it."""
        ahead = datetime.now(UTC) + CLOCK_SKEW / 2
        with negotrack.open("sqlite://") as target:
            restored = restore_jsonl(target, write(tmp_path, self.future(exports, ahead)))
            appended = target.negotiation(PLAN).record_note(
                "call", "later", valid_at=date(2025, 12, 1)
            )
            assert appended.recorded_at > restored[-1].recorded_at

    def test_out_of_order(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """Record times must increase from line to line."""
        first = json.loads(exports["one"][1])["recorded_at"]

        def earlier(line: dict[str, object]) -> None:
            line["recorded_at"] = first

        lines = reseal(edit(exports["one"], 3, earlier))
        error = refused(tmp_path, lines)
        assert isinstance(error, DatasetError)
        assert (error.line, error.field) == (3, "recorded_at")


class TestHostileFiles:
    """Whatever the file holds, a restore ends in a DatasetError naming the file and line."""

    @pytest.mark.parametrize(
        ("line", "problem"),
        [
            ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
            ('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
            ('{"x": 1e400}', "too large"),
            ('{"x": NaN}', "NaN"),
            ('{"x": -Infinity}', "Infinity"),
            ('{"x": ' + "9" * 5000 + "}", "not valid JSON"),
            ("not json", "not valid JSON"),
            ('["a list"]', "one JSON object per line"),
        ],
    )
    @pytest.mark.parametrize("where", [1, 3])
    def test_bad_line(
        self, exports: dict[str, Lines], tmp_path: Path, line: str, problem: str, where: int
    ) -> None:
        """Deep nesting, huge numbers, NaN and broken JSON name their line."""
        lines = list(exports["one"])
        lines[where - 1] = line + "\n"
        error = refused(tmp_path, lines)
        assert isinstance(error, DatasetError)
        assert error.line == where
        assert problem in error.problem

    def test_lone_surrogate_in_an_event(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """A JSON escape can write a lone surrogate; the event is refused at its line."""
        number = first_stance(exports["one"])
        lines = list(exports["one"])
        lines[number - 1] = lines[number - 1].replace('"quote": "', '"quote": "\\ud800', 1)
        error = refused(tmp_path, lines)
        assert isinstance(error, DatasetError)
        assert error.line == number
        assert "surrogate" in error.problem

    def test_not_utf8(self, exports: dict[str, Lines], tmp_path: Path) -> None:
        """A line that is not UTF-8 is named."""
        path = tmp_path / "log.jsonl"
        path.write_bytes(b"".join(line.encode() for line in exports["one"][:2]) + b"\xff\xfe\n")
        with negotrack.open("sqlite://") as target, pytest.raises(DatasetError) as caught:
            restore_jsonl(target, path)
        assert (caught.value.line, "not UTF-8") == (3, caught.value.problem[:9])

    @pytest.mark.parametrize(
        ("content", "problem"),
        [(b"", "empty"), (b"\x00\x01\x02\xff" * 100, "UTF-8"), (b"\x00" * 50, "JSON")],
    )
    def test_binary_and_empty(self, tmp_path: Path, content: bytes, problem: str) -> None:
        """Binary and empty files are DatasetErrors naming the file."""
        path = tmp_path / "log.jsonl"
        path.write_bytes(content)
        with negotrack.open("sqlite://") as target, pytest.raises(DatasetError) as caught:
            restore_jsonl(target, path)
        assert caught.value.file == str(path)
        assert problem in caught.value.problem

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is a DatasetError, not an OSError."""
        with (
            negotrack.open("sqlite://") as target,
            pytest.raises(DatasetError, match="cannot read"),
        ):
            restore_jsonl(target, tmp_path / "absent.jsonl")

    @given(junk=st.binary(max_size=200))
    def test_any_bytes(self, junk: bytes) -> None:
        """Any bytes at all end in a DatasetError, never another exception."""
        with negotrack.open("sqlite://") as target, pytest.raises(DatasetError):
            target.restore(list(read_jsonl(_lines(junk))))


def _lines(content: bytes) -> Iterator[str]:
    for raw in content.splitlines(keepends=True):
        yield raw.decode("utf-8", errors="surrogateescape")
