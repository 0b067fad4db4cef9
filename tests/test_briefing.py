"""The HTML briefing: its structure, its escaping, its receipt, and a real browser."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.image import imread

import negotrack
from negotrack import Evidence, Source
from negotrack.report.html import Receipt, briefing, receipt, write_briefing
from negotrack.report.legend import STANCE_COLOURS
from tests.strategies import open_test_negotiation

PLAN = "us-peace-plan-2025"
HOSTILE = '<script>alert("x")</script></td><img src=https://example.org/x.png> & “quoted”'


class Page(HTMLParser):
    """The briefing's elements: tags with their attributes, the text of each, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        return [
            attrs
            for t, attrs in self.elements
            if t == tag and all(wanted[k] in (attrs.get(k) or "").split() for k in wanted)
        ]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def geneva_briefing(geneva: negotrack.Tracker) -> str:
    return briefing(geneva, PLAN, as_of=date(2025, 11, 22), since=date(2025, 11, 21))


class TestStructure:
    """What the briefing holds, read with an HTML parser."""

    def test_matrix_cells_are_focusable_and_carry_their_quote(
        self, geneva: negotrack.Tracker, geneva_briefing: str
    ) -> None:
        """Every filled cell is focusable and holds a tooltip with its quote and source."""
        page = parse(geneva_briefing)
        matrix = geneva.negotiation(PLAN).matrix(date(2025, 11, 22))
        cells = page.having("td", **{"class": "cell"})
        assert len(cells) == len(matrix)
        assert all(c.get("tabindex") == "0" for c in cells)
        assert len(page.having("span", **{"class": "tip"})) == len(matrix)
        text = "".join(page.text)
        for cell in matrix:
            assert f"“{cell.evidence[0].quote}”" in text
        assert ".cell:hover .tip, .cell:focus .tip" in geneva_briefing

    def test_sections(self, geneva: negotrack.Tracker, geneva_briefing: str) -> None:
        """Moves since the second date, one summary per clause, the sources and the receipt."""
        plan = geneva.negotiation(PLAN)
        page = parse(geneva_briefing)
        text = "".join(page.text)
        moves = plan.diff(date(2025, 11, 21), date(2025, 11, 22))
        assert f"Moves since 21 Nov 2025: {len(moves)}" in text
        matrix = plan.matrix(date(2025, 11, 22))
        summaries = [a["data-clause"] for a in page.having("section", **{"class": "clause"})]
        assert summaries == matrix.clauses
        military = [c.party for c in matrix if c.clause == "military-cap" and c.stance < 0]
        assert f"opposes: {', '.join(military)}" in text
        assert "Sources: 2" in text
        assert "RFE/RL" in text
        records = list(geneva.events())
        (code,) = [a for t, a in page.elements if t == "code" and a.get("data-position")]
        assert code["data-position"] == str(records[-1].position)
        assert records[-1].hash in text
        assert f"negotrack verify --expect {geneva.verify()}" in text

    def test_no_network_and_a_print_stylesheet(self, geneva_briefing: str) -> None:
        """No script, stylesheet link, image or font is loaded; a CSP forbids it; print rules exist."""
        page = parse(geneva_briefing)
        tags = {t for t, _ in page.elements}
        assert not tags & {"script", "link", "img", "iframe", "object"}
        (policy,) = page.having("meta", **{"http-equiv": "Content-Security-Policy"})
        assert "default-src 'none'" in (policy["content"] or "")
        assert "@media print" in geneva_briefing
        assert "http" not in geneva_briefing.replace("http-equiv", "")

    def test_hostile_quotes_are_text(self, tracker: negotrack.Tracker) -> None:
        """A quote holding markup is shown verbatim and adds no element."""
        neg = open_test_negotiation(tracker)
        evidence = Evidence(source=Source(outlet=HOSTILE, title=HOSTILE), quote=HOSTILE)
        neg.record_stance(
            "GB", "territory", "oppose", valid_at=date(2025, 11, 22), evidence=evidence
        )
        page = parse(briefing(tracker, neg.id, as_of=date(2025, 11, 22), since=date(2025, 11, 21)))
        assert not {t for t, _ in page.elements} & {"script", "img"}
        assert f"“{HOSTILE}”" in "".join(page.text)

    def test_receipt_of_an_empty_log(self) -> None:
        """An empty log's receipt is position 0 with no hash."""
        assert receipt([]) == Receipt(position=0, hash=None)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def console_messages(stderr: str) -> list[str]:
    """Chromium writes each console message (errors, CSP refusals) as an INFO:CONSOLE line."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture
def browser() -> str:
    found = chromium()
    if found is None:
        if os.environ.get("CI_REQUIRE_BROWSER") == "1":
            pytest.fail("CI_REQUIRE_BROWSER=1 but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install chromium); CI requires it")
    return found


class TestInABrowser:
    """Headless Chromium opens the file: no console message, a screenshot, a PDF, the same DOM."""

    def test_console_detection_works(self, browser: str, tmp_path: Path) -> None:
        """The check would see an error: a page that logs one and loads an image is caught."""
        bad = tmp_path / "bad.html"
        bad.write_text(
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
            '<script>console.error("boom")</script><img src="https://example.org/x.png">',
            encoding="utf-8",
        )
        out = run_chromium(browser, tmp_path / "profile", "--dump-dom", bad.as_uri())
        assert len(console_messages(out.stderr)) >= 2

    def test_briefing_opens_cleanly(
        self, browser: str, geneva: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """No console message; the screenshot shows the stance colours; it prints; the DOM has the cells."""
        path = write_briefing(
            geneva,
            PLAN,
            tmp_path / "briefing.html",
            as_of=date(2025, 11, 22),
            since=date(2025, 11, 21),
        )
        dom = run_chromium(browser, tmp_path / "profile", "--dump-dom", path.as_uri())
        assert console_messages(dom.stderr) == []
        page = parse(dom.stdout)
        matrix = geneva.negotiation(PLAN).matrix(date(2025, 11, 22))
        assert len(page.having("td", **{"class": "cell"})) == len(matrix)

        shot = tmp_path / "briefing.png"
        screen = run_chromium(
            browser,
            tmp_path / "profile",
            f"--screenshot={shot}",
            "--window-size=1280,1600",
            path.as_uri(),
        )
        assert console_messages(screen.stderr) == []
        pixels = imread(shot)
        colours = {
            tuple(round(float(v) * 255) for v in px[:3])
            for px in pixels.reshape(-1, pixels.shape[-1])
        }
        for stance in (negotrack.Ordinal.SUPPORT, negotrack.Ordinal.OPPOSE):
            hex_colour = STANCE_COLOURS[stance]
            rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
            assert rgb in colours, f"{stance.label} ({hex_colour}) not on screen"

        pdf = tmp_path / "briefing.pdf"
        run_chromium(
            browser,
            tmp_path / "profile",
            f"--print-to-pdf={pdf}",
            "--no-pdf-header-footer",
            path.as_uri(),
        )
        assert pdf.read_bytes().startswith(b"%PDF")
