"""The `negotrack` command on the Geneva dataset; JSON output parsed and checked."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from negotrack import Cell
from negotrack.cli import main
from tests.conftest import Backend
from tests.test_dataset import GENEVA


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


@pytest.fixture
def db(backend: Backend) -> str:
    """A store (file or server) with the Geneva dataset imported through the command."""
    url = backend.url()
    status, text = run("import", str(GENEVA), "--db", url)
    assert status == 0
    assert "104 new events of 104" in text
    return url


class TestCommands:
    """Each command on the example dataset."""

    def test_matrix_json(self, db: str) -> None:
        """matrix --format json prints one object with cells, labels and evidence."""
        status, text = run("matrix", "--as-of", "2025-11-22", "--db", db, "--format", "json")
        document = json.loads(text)
        assert status == 0
        assert document["negotiation"] == "us-peace-plan-2025"
        assert document["as_of"] == "2025-11-22T23:59:59.999999+00:00"
        assert document["known_at"] is None
        cells = {(c["party"], c["clause"]): c for c in document["cells"]}
        gb = cells["GB", "military-cap"]
        # Every field of a cell is in its JSON, however the cell model grows.
        assert {a.name for a in attrs.fields(Cell)} <= set(gb)
        assert gb["stance"] == "lean_oppose"
        assert gb["score"] == -1.0
        assert gb["evidence"][0]["stated"] is True
        assert gb["evidence"][0]["source"]["published"] == "2025-11-22"
        assert (
            gb["event_id"] == "us-peace-plan-2025/statement/g20-allies-joint-statement/military-cap"
        )
        assert "vulnerable to future attack" in gb["evidence"][0]["quote"]

    def test_matrix_known_at_before_the_import_is_empty(self, db: str) -> None:
        """Known at a time before anything was recorded, the matrix is empty."""
        status, text = run(
            "matrix",
            "--as-of",
            "2025-11-23",
            "--known-at",
            "2020-01-01",
            "--db",
            db,
            "--format",
            "json",
        )
        assert status == 0
        assert json.loads(text)["cells"] == []

    def test_matrix_table_and_csv(self, db: str) -> None:
        """The table shows the grid; CSV has one row per cell."""
        _, table = run("matrix", "--as-of", "2025-11-21", "--db", db)
        assert "plan-as-a-whole" in table
        assert "RU" in table
        _, text = run("matrix", "--as-of", "2025-11-21", "--db", db, "--format", "csv")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {(r["party"], r["clause"]) for r in rows} == {
            ("RU", "engagement-in-talks"),
            ("RU", "plan-as-a-whole"),
            ("UA", "engagement-in-talks"),
            ("UA", "plan-as-a-whole"),
            ("US", "plan-as-a-whole"),
        }

    def test_diff(self, db: str) -> None:
        """diff lists who moved, from what to what."""
        _, text = run(
            "diff", "--from", "2025-11-21", "--to", "2025-11-22", "--db", db, "--format", "json"
        )
        moves = json.loads(text)["moves"]
        gb = next(m for m in moves if (m["party"], m["clause"]) == ("GB", "military-cap"))
        assert (gb["change"], gb["before"], gb["after"]["stance"]) == ("new", None, "lean_oppose")
        assert all(m["after"] is not None for m in moves)

    def test_history(self, db: str) -> None:
        """history gives both stance events of the UK on the military cap."""
        _, text = run("history", "GB", "military-cap", "--db", db, "--format", "json")
        entries = json.loads(text)
        assert [e["kind"] for e in entries] == ["stance", "joint_statement"]

    def test_listings_and_verify(self, db: str) -> None:
        """parties, clauses, notes, negotiations and verify answer."""
        _, text = run("parties", "--db", db, "--format", "json")
        parties = {p["id"]: p for p in json.loads(text)}
        assert parties["GB"]["member_of"] == ["e3"]
        _, text = run("clauses", "--db", db, "--format", "json")
        assert len(json.loads(text)) == 21
        _, text = run("notes", "--db", db, "--format", "json")
        assert any(n["kind"] == "deadline" for n in json.loads(text))
        _, text = run("negotiations", "--db", db, "--format", "json")
        assert [n["id"] for n in json.loads(text)] == ["us-peace-plan-2025"]
        status, text = run("verify", "--db", db, "--format", "json")
        assert (status, json.loads(text)) == (0, {"verified": 104, "ok": True})

    def test_export_and_reimport(self, db: str, tmp_path: Path) -> None:
        """export writes JSON Lines that import restores into an empty store."""
        target = tmp_path / "log.jsonl"
        assert run("export", "--db", db, "-o", str(target))[0] == 0
        assert len(target.read_text(encoding="utf-8").splitlines()) == 1 + 104  # header, events
        status, text = run("import", str(target), "--db", f"sqlite:///{tmp_path / 'copy.db'}")
        assert (status, text.strip()) == (0, f"restored 104 events from {target}")


class TestErrors:
    """Errors print one line and exit non-zero; --debug shows the traceback."""

    def test_error_is_one_line(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown negotiation is one line on stderr and status 1."""
        status, _ = run("matrix", "--as-of", "2025-11-22", "--db", db, "--negotiation", "nope")
        assert status == 1
        assert capsys.readouterr().err == "negotrack: error: unknown negotiation 'nope'\n"

    def test_bad_dataset_names_the_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad file is reported with its line."""
        bad = tmp_path / "bad.yaml"
        bad.write_text("format: negotrack/1\nnegotiation: [\n", encoding="utf-8")
        status, _ = run("import", str(bad), "--db", f"sqlite:///{tmp_path / 'x.db'}")
        assert status == 1
        assert capsys.readouterr().err.startswith(f"negotrack: error: {bad}:3")

    def test_debug_raises(self, tmp_path: Path) -> None:
        """With --debug the exception propagates."""
        from negotrack import UnknownNegotiationError

        with pytest.raises(UnknownNegotiationError):
            run(
                "parties",
                "--db",
                f"sqlite:///{tmp_path / 'x.db'}",
                "--negotiation",
                "nope",
                "--debug",
            )

    def test_bad_date_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A date that is not a date is refused by the argument parser (status 2)."""
        with pytest.raises(SystemExit) as exit_:
            run("matrix", "--as-of", "22/11/2025")
        assert exit_.value.code == 2
        assert "not a date" in capsys.readouterr().err

    def test_entry_point_and_default_db(self, tmp_path: Path) -> None:
        """The installed command works with the default SQLite file in the working directory."""
        result = subprocess.run(
            [sys.executable, "-m", "negotrack.cli", "import", str(GENEVA)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "negotiations.db").exists()
        result = subprocess.run(
            [sys.executable, "-m", "negotrack.cli", "matrix", "--as-of", "2025-11-22"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert "military-cap" in result.stdout


class TestMoreErrors:
    """Files and databases failing under the command give one line too."""

    @pytest.mark.parametrize(
        "argv",
        [
            ["import", "/nonexistent/log.jsonl"],
            ["export", "-o", "/nonexistent/folder/log.jsonl"],
            ["matrix", "--as-of", "9999-12-31"],
            ["parties", "--db", "sqlite:////nonexistent-folder/x.db"],
        ],
    )
    def test_one_line(
        self, argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each of these exits 1 with a single 'negotrack: error:' line."""
        db = ["--db", f"sqlite:///{tmp_path / 'x.db'}"] if "--db" not in argv else []
        assert (
            run("import", str(GENEVA), *(db or ["--db", f"sqlite:///{tmp_path / 'y.db'}"]))[0] == 0
        )
        status, _ = run(*argv, *db)
        err = capsys.readouterr().err
        assert status == 1
        assert err.startswith("negotrack: error: ")
        assert err.count("\n") == 1


def test_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`negotrack export | head -1` ends quietly when the reader leaves early."""
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert run("import", str(GENEVA), "--db", db)[0] == 0
    # The export (~70 kB) outgrows the pipe's buffer, so the writer meets the closed end.
    command = f"{sys.executable} -m negotrack.cli export --db {db} | head -1"
    result = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)  # noqa: S602
    assert result.stdout.startswith('{"negotrack_log": 1')
    assert result.stderr == ""
