"""docs/performance.md quotes the benchmark run kept in bench/results/ faithfully."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"^## Summary\n(.*?)^## ", re.DOTALL | re.MULTILINE)


def summary_rows(page: str) -> dict[str, tuple[str, str]]:
    """target -> (measured, verdict), from the table under the page's "Summary" heading."""
    found = SUMMARY.search(page)
    assert found is not None, "docs/performance.md has no '## Summary' section"
    rows = {}
    for line in found.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in {"target", ""} and not cells[0].startswith("-"):
            rows[cells[0]] = (cells[2], cells[3].strip("*"))
    return rows


def test_summary_agrees_with_the_run_it_quotes() -> None:
    """Every target of the kept run appears in the summary with its measured value and verdict."""
    run = json.loads((ROOT / "bench" / "results" / "full.json").read_text(encoding="utf-8"))
    rows = summary_rows((ROOT / "docs" / "performance.md").read_text(encoding="utf-8"))
    expected = {t["name"]: (t["measured"], t["verdict"]) for t in run["targets"]}
    assert rows == expected
