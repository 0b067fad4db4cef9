"""Figures: read from the figure objects (colours per cell, labels, titles), not pixels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path

import attrs
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import negotrack
from negotrack import Cell, Evidence, Matrix, Ordinal, Precision, Source
from negotrack.report import plot
from tests.strategies import QUOTE, open_test_negotiation

PLAN = "us-peace-plan-2025"
T0 = datetime(2025, 11, 22, tzinfo=UTC)


@attrs.frozen(kw_only=True)
class FlaggedCell(Cell):
    """A cell as the story issue will make them: with conflict and stale flags."""

    conflicting: bool = False
    stale: bool = False


def cell(
    party: str, clause: str, stance: Ordinal | float, *, stated: bool = True, **flags: bool
) -> Cell:
    return FlaggedCell(
        party=party,
        clause=clause,
        stance=stance,
        valid_at=T0,
        precision=Precision.DAY,
        recorded_at=T0,
        event_id=f"e-{party}-{clause}",
        position=1,
        evidence=(Evidence(source=Source(outlet="Wire"), quote="q", stated=stated),),
        **flags,
    )


def patches(figure: Figure) -> dict[str, Rectangle]:
    """The figure's rectangles by gid."""
    return {
        p.get_gid(): p
        for ax in figure.axes
        for p in ax.patches
        if isinstance(p, Rectangle) and p.get_gid()
    }


def face(figure: Figure, gid: str) -> str:
    return to_hex(patches(figure)[gid].get_facecolor())


class TestHeatmap:
    """One rectangle per cell, coloured by stance on a diverging scale; flags hatched."""

    def test_each_cell_has_the_colour_of_its_stance(self) -> None:
        """Stances get five distinct colours, reds below neutral, blues above; empty is white."""
        stances = list(Ordinal)
        matrix = Matrix(
            negotiation="t",
            as_of=T0,
            known_at=None,
            cells={(f"p{i}", "c"): cell(f"p{i}", "c", s) for i, s in enumerate(stances)}
            | {("p0", "d"): cell("p0", "d", Ordinal.SUPPORT)},
        )
        figure = plot.heatmap(matrix)
        colours = [face(figure, f"cell:p{i}:c") for i in range(len(stances))]
        assert len(set(colours)) == 5
        red = [int(c[1:3], 16) - int(c[5:7], 16) for c in colours]  # red minus blue
        assert min(red[0], red[1]) > 0  # the oppose side is red
        assert max(red[3], red[4]) < 0  # the support side is blue
        # diverging: lightest at neutral, darker step by step towards each end
        light = [
            0.2126 * int(c[1:3], 16) + 0.7152 * int(c[3:5], 16) + 0.0722 * int(c[5:7], 16)
            for c in colours
        ]
        assert light[0] < light[1] < light[2] > light[3] > light[4]
        assert face(figure, "cell:p1:d") == "#ffffff"  # no position
        assert patches(figure)["cell:p1:d"].get_label() == "no position"
        assert patches(figure)["cell:p0:c"].get_label() == "oppose"

    def test_inferred_conflicting_and_stale_are_each_distinct(self) -> None:
        """Each flag draws its own hatch over the colour; a stated, unflagged cell has none."""
        cells = {
            ("a", "c"): cell("a", "c", Ordinal.NEUTRAL),
            ("b", "c"): cell("b", "c", Ordinal.NEUTRAL, stated=False),
            ("c", "c"): cell("c", "c", Ordinal.NEUTRAL, conflicting=True),
            ("d", "c"): cell("d", "c", Ordinal.NEUTRAL, stale=True),
        }
        figure = plot.heatmap(Matrix(negotiation="t", as_of=T0, known_at=None, cells=cells))
        found = patches(figure)
        assert "flags:a:c" not in found
        hatches = {p: found[f"flags:{p}:c"].get_hatch() for p in "bcd"}
        assert len(set(hatches.values())) == 3
        assert [found[f"flags:{p}:c"].get_label() for p in "bcd"] == [
            "inferred",
            "conflicting",
            "stale",
        ]
        legend = [t.get_text() for t in figure.legends[0].get_texts()]
        assert {"inferred", "conflicting", "stale", "no position", "support"} <= set(legend)

    def test_title_names_as_of_and_known_at(self, geneva: negotrack.Tracker) -> None:
        """The title says which negotiation, as of which day, as known at when."""
        plan = geneva.negotiation(PLAN)
        title = plot.heatmap(plan.matrix(date(2025, 11, 22))).axes[0].get_title()
        assert title == f"{PLAN}: positions as of 22 Nov 2025\nknown at the latest record"
        known = plan.matrix(date(2025, 11, 22), known_at=date(2030, 1, 1))
        assert "known at 1 Jan 2030" in plot.heatmap(known).axes[0].get_title()

    def test_grouped_by_bloc_and_topic(self, geneva: negotrack.Tracker) -> None:
        """Grouped, the rows of a bloc are adjacent and the clauses of a topic too."""
        plan = geneva.negotiation(PLAN)
        matrix = plan.matrix(date(2025, 11, 22))
        parties, clauses = plan.parties(), plan.clauses()
        figure = plot.heatmap(matrix, parties=parties, clauses=clauses, group=True)
        ax = figure.axes[0]
        rows = [t.get_text() for t in ax.get_yticklabels()]
        e3 = [i for i, p in enumerate(rows) if p in {"GB", "FR", "DE"}]
        assert e3 == list(range(e3[0], e3[0] + 3))
        columns = [t.get_text() for t in ax.get_xticklabels()]
        topics = [clauses[c].topic for c in columns]
        assert topics == sorted(topics, key=lambda t: t or "~")  # each topic one run
        gids = {t.get_gid() for t in ax.texts}
        assert {"bloc:e3", "bloc:nb8", "topic:security"} <= gids
        with pytest.raises(negotrack.ValidationError, match="group=True"):
            plot.heatmap(matrix, group=True)

    def test_readable_at_40_parties_by_50_clauses(self) -> None:
        """At 40 x 50 no two party labels or clause labels overlap, and text stays >= 6 pt."""
        cells = {
            (f"party-{i:02d}", f"clause-number-{j:02d}"): cell(
                f"party-{i:02d}", f"clause-number-{j:02d}", list(Ordinal)[(i + j) % 5]
            )
            for i in range(40)
            for j in range(50)
            if (i + 2 * j) % 7  # some empty cells, every row and column used
        }
        figure = plot.heatmap(Matrix(negotiation="t", as_of=T0, known_at=None, cells=cells))
        ax = figure.axes[0]
        renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
        figure.draw(renderer)
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            assert len(labels) in (40, 50)
            boxes = [label.get_window_extent(renderer) for label in labels]
            for a, b in pairwise(boxes):
                assert not a.overlaps(b)
            assert all(label.get_fontsize() >= 6 for label in labels)


class TestTimeline:
    """A clause's stances as steps over valid time, with retraction and correction markers."""

    def test_steps_and_markers(self, tracker: negotrack.Tracker) -> None:
        """Each party is a step line through its current stances; retracted and corrected entries are marked."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "oppose", valid_at=date(2025, 11, 20), evidence=QUOTE)
        wrong = neg.record_stance(
            "GB", "territory", "support", valid_at=date(2025, 11, 21), evidence=QUOTE
        )
        neg.retract(wrong.event.event_id, reason="misquote")
        misdated = neg.record_stance("FR", "territory", "lean_support", valid_at=date(2025, 11, 21))
        _, fixed = neg.correct(
            misdated.event.event_id, reason="wrong date", valid_at=date(2025, 11, 22)
        )
        histories = [neg.history(p, "territory") for p in ("GB", "FR")]
        figure = plot.clause_timeline(histories, until=datetime(2025, 11, 25, tzinfo=UTC))
        ax = figure.axes[0]
        lines = {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}
        gb = lines["step:GB"]
        assert gb.get_drawstyle() == "steps-post"
        assert next(iter(gb.get_ydata())) < -1.5  # oppose, drawn a little off -2 to stay visible
        assert len(gb.get_xdata()) == 2  # the retracted support is no step
        assert f"retracted:{wrong.event.event_id}" in lines
        assert f"corrected:{misdated.event.event_id}" in lines
        assert f"retracted:{fixed.event.event_id}" not in lines
        assert ax.get_title() == "territory: stances over valid time\nknown at the latest record"
        assert [t.get_text() for t in ax.get_yticklabels()] == [o.label for o in Ordinal]

    def test_one_clause_only(self, tracker: negotrack.Tracker) -> None:
        """Histories of two clauses, or none, are refused."""
        neg = open_test_negotiation(tracker)
        with pytest.raises(negotrack.ValidationError, match="one clause"):
            plot.clause_timeline(
                [neg.history("GB", "territory"), neg.history("GB", "military-cap")]
            )
        with pytest.raises(negotrack.ValidationError, match="at least one"):
            plot.clause_timeline([])


class TestMovementChart:
    """An arrow per move from the old stance to the new; dots for new stances."""

    def test_arrows_go_from_before_to_after(self, tracker: negotrack.Tracker) -> None:
        """A moved cell is an arrow from its old score to its new one; new is a dot, dropped a cross."""
        neg = open_test_negotiation(tracker)
        neg.record_stance("GB", "territory", "support", valid_at=date(2025, 11, 20))
        neg.record_stance("GB", "territory", "lean_oppose", valid_at=date(2025, 11, 22))
        neg.record_stance("FR", "territory", "neutral", valid_at=date(2025, 11, 22))
        neg.record_stance("UA", "territory", "oppose", valid_at=date(2025, 11, 20))
        neg.withdraw_stance("UA", "territory", valid_at=date(2025, 11, 22))
        moves = neg.diff(date(2025, 11, 21), date(2025, 11, 23))
        assert [m.change for m in moves] == ["new", "moved", "dropped"]  # FR, GB, UA
        ax = plot.movement_chart(moves).axes[0]
        (arrow,) = [t for t in ax.texts if t.get_gid() == "move:GB:territory"]
        assert arrow.xy == (-1.0, 1)  # type: ignore[attr-defined]
        assert arrow.xyann == (2.0, 1)  # type: ignore[attr-defined]
        marks = {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}
        assert marks["move:FR:territory"].get_marker() == "o"
        assert list(marks["move:FR:territory"].get_xdata()) == [0.0]
        assert marks["move:UA:territory"].get_marker() == "x"
        assert list(marks["move:UA:territory"].get_xdata()) == [-2.0]
        assert "from 21 Nov 2025 to 23 Nov 2025" in ax.get_title()
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == ["FR · territory", "GB · territory", "UA · territory"]


class TestFiles:
    """Figures are saved as PNG or SVG by suffix; anything else is refused."""

    def test_png_and_svg(self, geneva: negotrack.Tracker, tmp_path: Path) -> None:
        """save_heatmap writes a PNG and an SVG whose cells carry their ids."""
        plan = geneva.negotiation(PLAN)
        png = plot.save_heatmap(plan, date(2025, 11, 22), tmp_path / "h.png")
        assert png.read_bytes().startswith(b"\x89PNG")
        svg = plot.save_heatmap(plan, date(2025, 11, 22), tmp_path / "h.svg")
        text = svg.read_text(encoding="utf-8")
        assert 'id="cell:GB:military-cap"' in text
        timeline = plot.save_timeline(plan, "plan-as-a-whole", tmp_path / "t.svg")
        assert 'id="step:UA"' in timeline.read_text(encoding="utf-8")
        chart = plot.save_movement_chart(
            plan, date(2025, 11, 22), date(2025, 11, 23), tmp_path / "m.png"
        )
        assert chart.stat().st_size > 0

    def test_other_suffixes_are_refused(self, geneva: negotrack.Tracker, tmp_path: Path) -> None:
        """A .jpg path is refused with an error naming it, and nothing is written."""
        plan = geneva.negotiation(PLAN)
        with pytest.raises(negotrack.ValidationError, match=r"h\.jpg: a figure is saved as"):
            plot.save_heatmap(plan, date(2025, 11, 22), tmp_path / "h.jpg")
        assert not (tmp_path / "h.jpg").exists()
