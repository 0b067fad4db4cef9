"""Load and crashes on each SQL backend, at the CI size (the harness: tests/pressure.py).

The full size (8 writers x 2,000 appends, 100 kills) is run by
scripts/reliability.py; docs/reliability.md holds its figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import pressure
from tests.conftest import Backend

pytestmark = pytest.mark.slow

WRITERS = 4
APPENDS = 100
KILLS = 10


def test_load(backend: Backend, tmp_path: Path) -> None:
    """Writers racing on shared cells, a follower and verify(): nothing lost, every conflict raised."""
    figures = pressure.load(backend.url(), writers=WRITERS, appends=APPENDS, folder=tmp_path)
    assert figures.bad() == dict.fromkeys(figures.bad(), 0)
    assert figures.conflicts_on_purpose > 0
    assert figures.acknowledged + figures.conflicts_on_purpose + figures.conflicts_raced == (
        WRITERS * APPENDS
    )
    assert figures.verify_runs > 1


def test_kills(backend: Backend, tmp_path: Path) -> None:
    """A batch writer SIGKILLed at random moments: acknowledged batches whole, none in part."""
    figures = pressure.kills(backend.url(), kills=KILLS, folder=tmp_path)
    assert figures.bad() == dict.fromkeys(figures.bad(), 0)
    assert figures.acknowledged > 0
    assert figures.mid_batch > KILLS // 2
