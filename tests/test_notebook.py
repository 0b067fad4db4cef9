"""Notebook display: one-line reprs and escaped, colour-coded HTML tables."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

from hypothesis import given

import negotrack
from negotrack import Ordinal
from tests.strategies import matrices

PLAN = "us-peace-plan-2025"


class Cells(HTMLParser):
    """Collects each table cell's attributes and text, and every tag seen."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "td" and dict(attrs).get("data-party"):
            self.cells.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


class TestRepr:
    """Typing a view prints one short line."""

    def test_reprs_are_short_and_name_the_view(self, geneva: negotrack.Tracker) -> None:
        """Matrix, history and diff reprs are one line naming what the view is."""
        plan = geneva.negotiation(PLAN)
        matrix = plan.matrix(date(2025, 11, 22))
        assert repr(matrix) == (
            "<Matrix us-peace-plan-2025 as of 22 Nov 2025, known at the latest record: "
            f"{len(matrix)} cells, {len(matrix.parties)} parties x {len(matrix.clauses)} clauses>"
        )
        history = plan.history("GB", "military-cap")
        assert repr(history).startswith("<History GB on military-cap in us-peace-plan-2025")
        assert f"{len(history)} entries" in repr(history)
        moves = plan.diff(date(2025, 11, 21), date(2025, 11, 22))
        assert repr(moves).startswith("<Diff us-peace-plan-2025 from 21 Nov 2025 to 22 Nov 2025")
        for view in (matrix, history, moves):
            assert "\n" not in repr(view)
            assert len(repr(view)) < 200

    def test_known_at_and_times_of_day_are_named(self, geneva: negotrack.Tracker) -> None:
        """A known_at is named; an instant that is not the end of a day keeps its time."""
        plan = geneva.negotiation(PLAN)
        matrix = plan.matrix(date(2025, 11, 22), known_at=date(2030, 1, 2))
        assert "known at 2 Jan 2030" in repr(matrix)
        from datetime import UTC, datetime

        noon = plan.matrix(datetime(2025, 11, 22, 12, 30, tzinfo=UTC))
        assert "as of 22 Nov 2025 12:30 UTC" in repr(noon)


class TestHtml:
    """_repr_html_ shows colours, a legend and the quotes, and escapes what sources say."""

    @given(matrices())
    def test_matrix_html_escapes_and_explains_every_cell(self, matrix: negotrack.Matrix) -> None:
        """Each filled cell is a td whose title holds its quotes verbatim; no markup leaks in."""
        page = Cells()
        page.feed(matrix._repr_html_())
        page.close()
        assert "script" not in page.tags
        assert "b" not in page.tags  # '<b>' inside a quote stays text
        by_key = {(c["data-party"], c["data-clause"]): c for c in page.cells}
        for (party, clause), cell in matrix.cells.items():
            shown = by_key[(party, clause)]
            for evidence in cell.evidence:
                assert f"“{evidence.quote}”" in (shown["title"] or "")
            assert shown["data-stance"] == (
                cell.stance.label if isinstance(cell.stance, Ordinal) else f"{cell.stance:g}"
            )

    def test_colours_follow_the_stance(self, geneva: negotrack.Tracker) -> None:
        """Support and oppose cells differ in colour, inferred cells are hatched, a legend follows."""
        matrix = geneva.negotiation(PLAN).matrix(date(2025, 11, 22))
        page = Cells()
        page.feed(matrix._repr_html_())
        styles: dict[str, set[str]] = {}
        for cell in page.cells:
            background = (cell["style"] or "").split("background-color: ")[1].split(";")[0]
            styles.setdefault(cell.get("data-stance") or "empty", set()).add(background)
        assert all(len(colours) == 1 for colours in styles.values())
        assert len({min(c) for c in styles.values()}) == len(
            styles
        )  # one colour per stance, empty included
        inferred = [c for c in page.cells if "inferred" in (c["class"] or "")]
        assert inferred
        assert all("repeating-linear-gradient" in (c["style"] or "") for c in inferred)
        text = "".join(page.text)
        for word in ("support", "lean_oppose", "no position recorded", "inferred", "stale"):
            assert word in text

    def test_history_and_diff_html_show_quotes(self, geneva: negotrack.Tracker) -> None:
        """The history and the diff tables show each quote as text."""
        plan = geneva.negotiation(PLAN)
        history = plan.history("GB", "military-cap")
        page = Cells()
        page.feed(history._repr_html_())
        text = "".join(page.text)
        for entry in history:
            assert entry.evidence[0].quote in text
        moves = plan.diff(date(2025, 11, 22), date(2025, 11, 23))
        page = Cells()
        page.feed(moves._repr_html_())
        text = "".join(page.text)
        for move in moves:
            basis = move.after or move.before
            assert basis is not None
            assert basis.evidence[0].quote in text

    def test_retracted_entries_are_struck_through(self, tracker: negotrack.Tracker) -> None:
        """A retracted entry is shown struck through, with the reason."""
        from tests.strategies import QUOTE, open_test_negotiation

        neg = open_test_negotiation(tracker)
        wrong = neg.record_stance(
            "GB", "territory", "support", valid_at=date(2025, 11, 21), evidence=QUOTE
        )
        neg.retract(wrong.event.event_id, reason="misquote <sic>")
        shown = neg.history("GB", "territory")._repr_html_()
        assert "line-through" in shown
        assert "misquote &lt;sic&gt;" in shown
