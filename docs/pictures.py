"""Make the pictures of docs/views.md and the README from the Geneva example.

    python docs/pictures.py            # rewrites docs/_static/*.png

The test suite runs :func:`make_pictures` into a scratch folder and checks that
the committed pictures match what the code draws today.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path

import attrs

import negotrack
from negotrack.io.dataset import import_dataset
from negotrack.report import plot

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "examples" / "geneva_2025" / "geneva_2025.yaml"
STATIC = Path(__file__).resolve().parent / "_static"
PICTURES = (
    "heatmap-2025-11-22.png",
    "heatmap-2025-11-22-grouped.png",
    "timeline-plan-as-a-whole.png",
    "moves-2025-11-21-to-22.png",
)


def make_pictures(folder: Path) -> list[Path]:
    """Draw each picture of :data:`PICTURES` into ``folder``; return their paths."""
    with (
        tempfile.TemporaryDirectory() as scratch,
        negotrack.open(f"sqlite:///{Path(scratch) / 'geneva.db'}") as tracker,
    ):
        plan = tracker.negotiation(import_dataset(tracker, DATASET).negotiation)
        day = date(2025, 11, 22)
        heatmap, grouped, timeline, moves = (folder / name for name in PICTURES)
        plot.save_heatmap(plan, day, heatmap)
        plot.save_heatmap(plan, day, grouped, group=True)
        plot.save_timeline(
            plan, "plan-as-a-whole", timeline, parties=["US", "UA", "RU", "GB", "e3"]
        )
        # Who moved on the plan as a whole from 21 to 22 November (one clause of 78 moves).
        everything = plan.diff(date(2025, 11, 21), day)
        on_plan = attrs.evolve(
            everything, moves=tuple(m for m in everything if m.clause == "plan-as-a-whole")
        )
        plot.save_figure(plot.movement_chart(on_plan, timezone=plan.timezone), moves)
        return [heatmap, grouped, timeline, moves]


if __name__ == "__main__":
    for path in make_pictures(STATIC):
        sys.stdout.write(f"{path.relative_to(ROOT)}\n")
