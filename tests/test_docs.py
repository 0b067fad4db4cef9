"""Every script in examples/ and every Python block in the README and docs/ runs."""

from __future__ import annotations

import importlib.util
import io
import os
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _example(path: str) -> ModuleType:
    """Load a script of examples/ as a module."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / "examples" / path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    replay = _example("geneva_2025/replay.py")
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


def test_alerts_example_posts_to_a_webhook(tmp_path: Path) -> None:
    """The alerts service posts one JSON alert per moved cell to a local webhook, and a restart posts nothing twice."""
    import json
    import threading
    from datetime import date
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import negotrack

    received: list[dict[str, object]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    alerts = _example("alerts/alerts.py")
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    with negotrack.open(url) as tracker:
        plan = tracker.open_negotiation("talks", title="Talks")
        plan.register_party("GB", "United Kingdom")
        plan.table_clause("military-cap", "Cap", valid_at=date(2025, 11, 20))
        plan.record_stance("GB", "military-cap", "oppose", valid_at=date(2025, 11, 22))
        plan.record_stance("GB", "military-cap", "support", valid_at=date(2025, 11, 1))
        plan.record_stance("GB", "military-cap", "oppose", valid_at=date(2025, 11, 23))
    hook = f"http://127.0.0.1:{server.server_port}/alerts"
    argv = ["--db", url, "--negotiation", "talks", "--webhook", hook, "--timeout", "0.1"]
    assert alerts.main(argv) == 0
    assert [(a["text"], a["change"]) for a in received] == [
        ("GB on military-cap: (none) -> oppose", "new")
    ]
    with negotrack.open(url) as tracker:
        tracker.negotiation("talks").record_stance(
            "GB", "military-cap", "support", valid_at=date(2025, 11, 24)
        )
    assert alerts.main(argv) == 0
    server.shutdown()
    server.server_close()
    assert [a["text"] for a in received] == [
        "GB on military-cap: (none) -> oppose",
        "GB on military-cap: oppose -> support",
    ]
