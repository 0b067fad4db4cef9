"""The `negotrack` command on the Geneva dataset; JSON output parsed and checked."""

from __future__ import annotations

import csv
import io
import json
import os
import re
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
        assert (gb["conflicting"], gb["stale"]) == (False, False)
        # Starmer's own words and the G20 statement, the same value on the same day:
        # both claims are shown, the statement (confidence 0.9) is the one chosen.
        claims = {c["event_id"]: c for c in gb["claims"]}
        assert len(claims) == 2
        assert {c["stance"] for c in claims.values()} == {"lean_oppose"}
        starmer = claims["us-peace-plan-2025/stance/gb-military-cap-2025-11-22"]
        assert (starmer["salience"], starmer["chosen"]) == (0.9, False)
        assert claims[gb["event_id"]]["chosen"] is True
        assert "GB" in gb["signatories"]
        assert gb["readings"]
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
        document = json.loads(text)
        assert (status, document["verified"], document["ok"]) == (0, 104, True)
        assert document["receipt"].startswith("104:")

    def test_export_and_reimport(self, db: str, tmp_path: Path) -> None:
        """export writes JSON Lines that import restores into an empty store."""
        target = tmp_path / "log.jsonl"
        assert run("export", "--db", db, "-o", str(target))[0] == 0
        assert len(target.read_text(encoding="utf-8").splitlines()) == 1 + 104 + 1  # header, events, trailer
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

    def test_debug_raises(self, db: str) -> None:
        """With --debug the exception propagates."""
        from negotrack import UnknownNegotiationError

        with pytest.raises(UnknownNegotiationError):
            run("parties", "--db", db, "--negotiation", "nope", "--debug")

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
            ["import", "--db", "sqlite:////nonexistent-folder/x.db", str(GENEVA)],
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


class TestOptions:
    """Options: where they go, which apply, and their help."""

    def test_db_before_or_after_the_command(self, db: str) -> None:
        """--db is accepted before the command as after it."""
        before = run("--db", db, "matrix", "--as-of", "2025-11-22", "--format", "json")
        after = run("matrix", "--as-of", "2025-11-22", "--format", "json", "--db", db)
        assert before == after
        assert before[0] == 0

    @pytest.mark.parametrize(
        "argv",
        [
            ["export", "--format", "csv"],
            ["import", "x.yaml", "--negotiation", "talks"],
            ["import", "x.yaml", "--example", "geneva_2025"],
            ["verify", "--format", "csv"],
            ["negotiations", "--negotiation", "talks"],
        ],
    )
    def test_options_that_do_not_apply_are_refused(
        self, argv: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An option a command does not use is a usage error (status 2), not ignored."""
        with pytest.raises(SystemExit) as exit_:
            run(*argv)
        assert exit_.value.code == 2
        assert "error:" in capsys.readouterr().err

    def test_every_option_has_help_with_an_example(self) -> None:
        """Each option of each command says what it takes, with an example; each command lists examples."""
        import argparse

        from negotrack.cli import options

        def walk(parser: argparse.ArgumentParser, name: str) -> list[tuple[str, argparse.Action]]:
            found = []
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    for sub, child in action.choices.items():
                        found += walk(child, f"{name} {sub}")
                elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
                    found.append((name, action))
            return found

        top = options.parser("sqlite:///negotiations.db", "0")
        actions = walk(top, "negotrack")
        assert len(actions) > 40
        plain = {"--debug", "--group"}  # switches: nothing to exemplify
        for name, action in actions:
            if set(action.option_strings) & plain:
                continue
            assert action.help, f"{name} {action.dest} has no help"
            example = "e.g." in action.help or action.choices is not None
            assert example, f"{name} {action.option_strings or action.dest}: no example"
        for command, parser in top._subparsers._group_actions[0].choices.items():  # type: ignore[union-attr]
            assert parser.epilog is not None
            assert f"negotrack {command}" in parser.epilog

    def test_negotrack_db_is_honoured_by_open(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """negotrack.open() without a URL opens $NEGOTRACK_DB, as the command does."""
        import negotrack

        target = tmp_path / "from-env.db"
        monkeypatch.setenv("NEGOTRACK_DB", f"sqlite:///{target}")
        monkeypatch.chdir(tmp_path)
        with negotrack.open() as tracker:
            tracker.open_negotiation("talks", title="Talks")
        assert target.exists()
        assert not (tmp_path / "negotiations.db").exists()
        assert run("negotiations", "--format", "json") == (
            0,
            run("negotiations", "--db", f"sqlite:///{target}", "--format", "json")[1],
        )


class TestReadOnly:
    """Commands that only read never create a store, and refuse what is not there."""

    @pytest.mark.parametrize(
        "argv",
        [
            ["verify"],
            ["matrix", "--as-of", "2025-11-22"],
            ["export"],
            ["parties"],
            ["report", "--as-of", "2025-11-22", "--since", "2025-11-21", "-o", "b.html"],
        ],
    )
    def test_missing_sqlite_file(
        self, argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A SQLite file that does not exist is an error; no file is made."""
        typo = tmp_path / "typo.db"
        status, _ = run(*argv, "--db", f"sqlite:///{typo}")
        assert status == 1
        assert f"the file {typo} does not exist" in capsys.readouterr().err
        assert not typo.exists()

    def test_verify_an_unknown_negotiation(
        self, db: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """verify --negotiation names a negotiation that must exist, and counts its events."""
        assert run("verify", "--db", db, "--negotiation", "nope")[0] == 1
        assert "unknown negotiation 'nope'" in capsys.readouterr().err
        status, text = run(
            "verify", "--db", db, "--negotiation", "us-peace-plan-2025", "--format", "json"
        )
        assert (status, json.loads(text)["negotiation_events"]) == (0, 104)

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["history", "XX", "military-cap"], "unknown party 'XX'"),
            (["history", "GB", "no-such-clause"], "unknown clause 'no-such-clause'"),
            (["history", "XX"], "unknown party 'XX'"),
            (["export", "--negotiation", "nope"], "unknown negotiation 'nope'"),
        ],
    )
    def test_unknown_names(
        self, db: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An unknown party, clause or negotiation is an error, not an empty answer."""
        assert run(*argv, "--db", db)[0] == 1
        assert message in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class TestOutput:
    """What the tables, CSV and JSON show."""

    def test_piped_table_is_plain_with_whole_quotes(self, db: str) -> None:
        """Piped, history has no escape codes and each quote is there whole (wrapped, not cut)."""
        status, text = run("history", "GB", "military-cap", "--db", db)
        assert status == 0
        assert "\x1b[" not in text
        assert all(line == line.rstrip() for line in text.splitlines())
        joined = " ".join(line.strip() for line in text.splitlines())
        quote = "We are also concerned by the proposed limitations on Ukraine’s armed forces, which would leave Ukraine vulnerable to future attack."
        assert quote in joined
        diff = run("diff", "--from", "2025-11-21", "--to", "2025-11-22", "--db", db)[1]
        assert quote in " ".join(line.strip() for line in diff.splitlines())

    @pytest.mark.parametrize("restore", [False, True], ids=["dataset", "jsonl"])
    def test_import_counts_lines_in_a_terminal(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore: bool
    ) -> None:
        """In a terminal, an import's bar counts the lines read of the file's lines; piped,
        no bar is drawn."""
        path = GENEVA
        if restore:
            path = tmp_path / "log.jsonl"
            assert run("import", str(GENEVA), "--db", f"sqlite:///{tmp_path / 'a.db'}")[0] == 0
            assert run("export", "--db", f"sqlite:///{tmp_path / 'a.db'}", "-o", str(path))[0] == 0
        lines = len(path.read_text(encoding="utf-8").splitlines())
        for stderr, drawn in ((io.StringIO(), False), (_Terminal(), True)):
            monkeypatch.setattr(sys, "stderr", stderr)
            url = f"sqlite:///{tmp_path / f'{drawn}.db'}"
            assert run("import", str(path), "--db", url)[0] == 0
            shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stderr.getvalue())  # colours
            assert (f"{lines}/{lines} lines" in shown) is drawn

    def test_terminal_table_is_coloured(self, db: str) -> None:
        """In a terminal the stance marks carry the legend's colours."""
        out = _Terminal()
        assert main(["matrix", "--as-of", "2025-11-22", "--db", db], out=out) == 0
        text = out.getvalue()
        assert "\x1b[" in text

    def test_matrix_table_has_a_legend_and_the_clause_key(self, db: str) -> None:
        """The grid is followed by the numbered clauses with titles, and the legend."""
        _, text = run("matrix", "--as-of", "2025-11-22", "--db", db)
        assert "as of 22 Nov 2025 (end of day, UTC), as known now" in text
        assert "Cap Ukraine's armed forces at 600,000 personnel" in text
        assert "-- oppose" in text
        assert "* inferred by the analyst, not stated by the party" in text

    def test_dates_in_the_negotiations_zone(self, tmp_path: Path) -> None:
        """A negotiation in Europe/Copenhagen is shown as of the end of its own day."""
        import negotrack

        url = f"sqlite:///{tmp_path / 'cph.db'}"
        with negotrack.open(url) as tracker:
            plan = tracker.open_negotiation("talks", title="Talks", timezone="Europe/Copenhagen")
            plan.register_party("DK", "Denmark")
            plan.table_clause("cap", "Cap", valid_at="2026-10-01")
            plan.record_stance("DK", "cap", "oppose", valid_at="2026-10-02")
        _, text = run("matrix", "--as-of", "2026-10-22", "--db", url)
        assert "talks as of 22 Oct 2026 (end of day, Europe/Copenhagen)" in text
        assert "+00:00" not in text

    def test_known_at_before_every_record_warns(
        self, db: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An empty matrix known before the import says that record times are import times."""
        status, text = run(
            "matrix", "--as-of", "2025-11-22", "--known-at", "2025-11-22", "--db", db
        )
        assert status == 0
        assert "(no stances recorded)" in text
        err = capsys.readouterr().err
        assert err.startswith("negotrack: warning: known_at")
        assert "record times are when the store learned" in err

    def test_csv_columns(self, db: str) -> None:
        """CSV has separate source columns, the quote, a numeric score, stated and signatories."""
        from negotrack.io.frames import DIFF_COLUMNS, HISTORY_COLUMNS, MATRIX_COLUMNS

        _, text = run("matrix", "--as-of", "2025-11-22", "--db", db, "--format", "csv")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(rows[0]) == [c.name for c in MATRIX_COLUMNS]
        gb = next(r for r in rows if (r["party"], r["clause"]) == ("GB", "military-cap"))
        assert float(gb["score"]) == -1.0
        assert gb["stated"] == "True"
        assert gb["source_published"] == "2025-11-22"
        assert "vulnerable to future attack" in gb["quote"]
        assert "GB" in gb["signatories"].split("; ")
        inferred = [r for r in rows if r["stated"] == "False"]
        assert inferred
        _, text = run(
            "diff", "--from", "2025-11-21", "--to", "2025-11-22", "--db", db, "--format", "csv"
        )
        assert next(csv.reader(io.StringIO(text))) == [c.name for c in DIFF_COLUMNS]
        _, text = run("history", "GB", "--db", db, "--format", "csv")
        history = list(csv.DictReader(io.StringIO(text)))
        assert list(history[0]) == [c.name for c in HISTORY_COLUMNS]
        assert {r["clause"] for r in history} > {"military-cap"}


class TestFiguresAndReports:
    """negotrack plot and negotrack report write the round-1 views."""

    @pytest.mark.parametrize(
        "argv",
        [
            ["plot", "heatmap", "--as-of", "2025-11-22", "--group", "-o", "{dir}/h.png"],
            ["plot", "timeline", "military-cap", "--party", "GB", "-o", "{dir}/t.svg"],
            ["plot", "moves", "--from", "2025-11-21", "--to", "2025-11-22", "-o", "{dir}/m.png"],
            ["report", "--as-of", "2025-11-23", "--since", "2025-11-21", "-o", "{dir}/b.html"],
        ],
    )
    def test_writes_the_file(self, db: str, tmp_path: Path, argv: list[str]) -> None:
        """Each command writes its file and says where."""
        argv = [a.format(dir=tmp_path) for a in argv]
        status, text = run(*argv, "--db", db)
        target = Path(argv[argv.index("-o") + 1])
        assert (status, text) == (0, f"wrote {target}\n")
        content = target.read_bytes()
        assert content.startswith(
            {".png": b"\x89PNG", ".svg": b"<?xml", ".html": b"<!DOCTYPE"}[target.suffix]
        )

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["plot", "heatmap", "--as-of", "2025-11-22", "-o", "h.gif"], "saved as .png or .svg"),
            (["plot", "timeline", "nope", "-o", "t.png"], "unknown clause 'nope'"),
            (
                ["plot", "timeline", "military-cap", "--party", "XX", "-o", "t.png"],
                "unknown party 'XX'",
            ),
        ],
    )
    def test_refused(
        self, db: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad suffix or an unknown name is an error."""
        assert run(*argv, "--db", db)[0] == 1
        assert message in capsys.readouterr().err


class TestExamples:
    """The example datasets ship with the package."""

    def test_import_example(self, tmp_path: Path) -> None:
        """import --example geneva_2025 imports the repository's Geneva dataset."""
        from negotrack.io.examples import example_path

        assert example_path("geneva_2025").read_bytes() == GENEVA.read_bytes()
        status, text = run(
            "import", "--example", "geneva_2025", "--db", f"sqlite:///{tmp_path / 'g.db'}"
        )
        assert (status, text) == (
            0,
            "imported geneva_2025 into us-peace-plan-2025: 104 new events of 104\n",
        )

    def test_unknown_example(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown example names the ones there are."""
        assert run("import", "--example", "nope", "--db", f"sqlite:///{tmp_path / 'g.db'}")[0] == 1
        assert "the examples are geneva_2025" in capsys.readouterr().err


ROOT = Path(__file__).resolve().parents[1]
SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def _shell_block(page: Path, marker: str) -> list[str]:
    """The commands of the first ``sh`` block after ``marker`` on a page."""
    text = page.read_text(encoding="utf-8")
    (block,) = SHELL_BLOCK.findall(text[text.index(marker) :])[:1]
    return [line for line in block.splitlines() if line.strip()]


def _run_verbatim(commands: list[str], cwd: Path, path: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NEGOTRACK_DB"} | {"PATH": path}
    for command in commands:
        # The documented command line, verbatim, as a user's shell would run it.
        result = subprocess.run(  # noqa: S602
            command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{command}: {result.stderr}"
        assert "error" not in result.stderr, f"{command}: {result.stderr}"


class TestDocumentedCommands:
    """The shell commands of the README and of docs/cli.md run exactly as written."""

    def test_readme_from_the_shell(self, tmp_path: Path) -> None:
        """After the quick start (a .venv with negotrack installed), in a fresh folder."""
        bin_ = Path(sys.prefix) / "bin"
        assert (bin_ / "negotrack").exists(), "the tests run from a venv with negotrack installed"
        (tmp_path / ".venv").symlink_to(sys.prefix)
        commands = _shell_block(ROOT / "README.md", "From the shell")
        assert all(c.startswith(".venv/bin/negotrack ") for c in commands)
        _run_verbatim(commands, tmp_path, "/usr/bin:/bin")
        assert (tmp_path / "briefing.html").exists()

    def test_cli_page_session(self, tmp_path: Path) -> None:
        """docs/cli.md's session, with the venv's commands on the PATH."""
        commands = _shell_block(ROOT / "docs" / "cli.md", "## A session")
        _run_verbatim(commands, tmp_path, f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin")
        for made in (
            "backup.jsonl",
            "heatmap.png",
            "military-cap.svg",
            "moves.png",
            "briefing.html",
        ):
            assert (tmp_path / made).exists()
