"""Moving a log between stores: a round trip through another backend changes nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings

import negotrack
from negotrack import StoreError
from negotrack.cli import main
from negotrack.io.copy import copy_log
from tests.conftest import Backend
from tests.strategies import NEGOTIATION, build_log, command_lists, day, open_test_negotiation

DAYS = (0, 3, 7, 11)


def _seen(url: str) -> tuple[list[negotrack.RecordedEvent], list[negotrack.Matrix], int]:
    """What a reader sees in a store: its log, matrices as of several days and as known
    midway, and how many events verify."""
    with negotrack.open(url, create=False) as tracker:
        log = list(tracker.events())
        neg = tracker.negotiation(NEGOTIATION)
        midway = log[len(log) // 2].recorded_at
        matrices = [neg.matrix(day(n)) for n in DAYS]
        matrices += [neg.matrix(day(n), known_at=midway) for n in DAYS]
        return log, matrices, tracker.verify().position


class TestCopy:
    """copy_log() and `negotrack copy`."""

    @settings(max_examples=15)  # each example makes three stores
    @given(cmds=command_lists)
    def test_round_trip_through_another_backend(
        self, backend: Backend, tmp_path_factory: pytest.TempPathFactory, cmds: list[object]
    ) -> None:
        """SQLite -> the backend -> SQLite gives the same log (ids, positions, record times, hashes) and the same matrices."""
        folder = tmp_path_factory.mktemp("copy")
        first = f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"
        with negotrack.open(first) as tracker:
            build_log(open_test_negotiation(tracker), cmds)  # type: ignore[arg-type]
        middle, last = backend.url(), f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"
        expected = _seen(first)
        assert copy_log(first, middle) == len(expected[0])
        assert _seen(middle) == expected
        with negotrack.open(middle) as source, negotrack.open(last) as target:
            assert copy_log(source, target) == len(expected[0])
        assert _seen(last) == expected

    def test_the_target_must_be_empty(self, tmp_path: Path) -> None:
        """Copying into a store that holds events is refused and changes nothing."""
        source, target = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
        for url in (source, target):
            with negotrack.open(url) as tracker:
                open_test_negotiation(tracker)
        before = _seen(target)
        with pytest.raises(StoreError, match="empty"):
            copy_log(source, target)
        assert _seen(target) == before

    def test_a_missing_source_is_not_made(self, tmp_path: Path) -> None:
        """A source URL with a typo is an error; neither file is made."""
        with pytest.raises(negotrack.DatabaseUnavailableError):
            copy_log(f"sqlite:///{tmp_path / 'typo.db'}", f"sqlite:///{tmp_path / 'b.db'}")
        assert list(tmp_path.iterdir()) == []

    def test_command(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`negotrack copy --from URL --to URL` copies, then refuses a second time (the target is no longer empty)."""
        source, target = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
        with negotrack.open(source) as tracker:
            open_test_negotiation(tracker).record_stance(
                "GB", "territory", "oppose", valid_at=day(1)
            )
        assert main(["copy", "--from", source, "--to", target]) == 0
        count = len(_seen(source)[0])
        assert capsys.readouterr().out == f"copied {count} events\n"
        assert _seen(target) == _seen(source)
        assert main(["copy", "--from", source, "--to", target]) == 1
        assert "empty" in capsys.readouterr().err
