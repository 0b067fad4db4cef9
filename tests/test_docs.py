"""Every script in examples/ and every Python block in the README and docs/ runs."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.fixture
def in_scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder that can see examples/ (docs refer to it by relative path)."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_blocks_run(
    page: Path, in_scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page's Python blocks run in order, sharing one namespace, without error."""
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"{page.name} block {number}", "exec")
        exec(code, namespace)  # noqa: S102 - the docs are ours
    capsys.readouterr()


def test_readme_example_prints_two_dates_and_two_knowledge_times(
    in_scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README example shows the retraction: known before it GB supports, after it GB opposes."""
    (block,) = [
        b for b in BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8")) if "retract" in b
    ]
    exec(compile(block, "README", "exec"), {"__name__": "readme"})  # noqa: S102
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "2025-11-21 {'US': 'support'}"
    assert lines[1] == "2025-11-22 {'GB': 'oppose', 'US': 'support'}"
    assert lines[2].endswith("{'GB': 'support', 'US': 'support'}")
    assert lines[3].endswith("{'US': 'support'}")
    assert (in_scratch / "negotiations.db").exists()


def test_replay_script(in_scratch: Path) -> None:
    """The Geneva replay prints the four dates, the moves and the quotes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "replay", ROOT / "examples" / "geneva_2025" / "replay.py"
    )
    assert spec is not None
    assert spec.loader is not None
    replay = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(replay)
    out = io.StringIO()
    last = replay.replay(f"sqlite:///{in_scratch / 'geneva.db'}", out)
    text = out.getvalue()
    for heading in (
        "Thursday 20 November 2025 (0 cells)",
        "Friday 21 November 2025",
        "Sunday 23 November 2025",
    ):
        assert heading in text
    assert "Who moved from 21 Nov to 22 Nov" in text
    assert "“Ukraine should not be forced to give up its lands" in text
    assert last["GB", "military-cap"].label == "lean_oppose"
    assert replay.main(["--db", f"sqlite:///{in_scratch / 'again.db'}"]) == 0
    assert os.path.exists(in_scratch / "again.db")


def test_pictures_match_what_the_code_draws(tmp_path: Path) -> None:
    """docs/pictures.py redraws each picture of the docs and README; the committed ones match."""
    import importlib.util

    from matplotlib.image import imread

    spec = importlib.util.spec_from_file_location("pictures", ROOT / "docs" / "pictures.py")
    assert spec is not None
    assert spec.loader is not None
    pictures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pictures)
    for drawn in pictures.make_pictures(tmp_path):
        committed = ROOT / "docs" / "_static" / drawn.name
        assert committed.exists(), f"{committed} is missing: run python docs/pictures.py"
        new, old = imread(drawn), imread(committed)
        assert new.shape == old.shape, f"{drawn.name} changed size: run python docs/pictures.py"
        assert abs(new - old).mean() < 0.01, f"{drawn.name} changed: run python docs/pictures.py"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/_static/heatmap-2025-11-22.png" in readme
