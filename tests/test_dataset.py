"""The YAML importer and the Geneva 2025 dataset itself (JSON Lines: tests/test_jsonl.py)."""

from __future__ import annotations

import io
import textwrap
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

import negotrack
from negotrack import (
    ClauseAmended,
    DatasetError,
    JointStatementRecorded,
    StanceWithdrawn,
)
from negotrack.cli import main
from negotrack.io import progress
from negotrack.io.dataset import import_dataset, load_dataset
from tests.conftest import Backend

ROOT = Path(__file__).resolve().parents[1]
GENEVA = ROOT / "examples" / "geneva_2025" / "geneva_2025.yaml"
# The two source reports live in shared/seeds beside the checkout (the main
# checkout) or beside the folder of worktrees (a helper's worktree).
SEEDS = next(
    (
        folder
        for folder in (ROOT.parent / "shared" / "seeds", ROOT.parents[1] / "shared" / "seeds")
        if folder.is_dir()
    ),
    ROOT.parent / "shared" / "seeds",
)

MINIMAL = """\
format: negotrack/1
negotiation:
  id: mini-talks
  title: Mini talks
sources:
  wire:
    outlet: Wire
    published: 2025-11-22
parties:
  - id: GB
    name: United Kingdom
    kind: state
  - id: FR
    name: France
    kind: state
clauses:
  - id: territory
    title: Territory
    tabled: 2025-11-20
stances:
  - id: gb-territory
    party: GB
    clause: territory
    stance: oppose
    valid: 2025-11-22
    source: wire
    quote: "borders must not change"
"""


def _stance(id_: str, party: str, stance: str, valid: str, quote: str) -> str:
    """One more item for the stances list of MINIMAL."""
    return (
        f"  - id: {id_}\n    party: {party}\n    clause: territory\n    stance: {stance}\n"
        f'    valid: {valid}\n    source: wire\n    quote: "{quote}"\n'
    )


def write(tmp_path: Path, text: str, name: str = "talks.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class TestImporter:
    """Validated before anything is written; all or nothing; errors name file, line and field."""

    def test_valid_file_imports_and_reimports_nothing(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """A valid file lands whole; importing it again writes nothing new."""
        path = write(tmp_path, MINIMAL)
        first = import_dataset(tracker, path)
        assert (first.events, first.written) == (5, 5)
        again = import_dataset(tracker, path)
        assert (again.events, again.written) == (5, 0)
        cell = tracker.negotiation("mini-talks").matrix(date(2025, 11, 22))["GB", "territory"]
        assert cell.event_id == "mini-talks/stance/gb-territory"
        assert cell.evidence[0].source.outlet == "Wire"

    @pytest.mark.parametrize(
        ("edit", "line", "field", "message"),
        [
            (
                lambda t: t.replace("title: Mini talks", "title: [Mini talks"),
                5,
                None,
                "not valid YAML",
            ),
            (
                lambda t: t.replace("party: GB", "party: XX"),
                22,
                "stances[0].party",
                "unknown party 'XX'",
            ),
            (
                lambda t: t.replace("clause: territory", "clause: borders"),
                23,
                "stances[0].clause",
                "unknown clause 'borders'",
            ),
            (
                lambda t: t.replace("source: wire", "source: radio"),
                26,
                "stances[0].source",
                "unknown source 'radio'",
            ),
            (
                lambda t: t.replace("stance: oppose", "stance: hostile"),
                24,
                "stances[0].stance",
                "invalid stance 'hostile'",
            ),
            (
                lambda t: t.replace("valid: 2025-11-22", "valid: 2025-11-31"),
                25,
                None,
                "impossible date",
            ),
            (
                lambda t: t.replace("valid: 2025-11-22", "valid: 2025-11-22 10:00:00"),
                25,
                "stances[0].valid",
                "no time zone",
            ),
            (
                lambda t: t.replace("  - id: FR", "  - id: GB"),
                13,
                "parties[1].id",
                "party 'GB' already exists",
            ),
            (
                lambda t: t.replace('    quote: "borders must not change"\n', ""),
                21,
                "stances[0].quote",
                "required",
            ),
            (
                lambda t: t.replace('quote: "borders must not change"', 'quote: "  "'),
                27,
                "stances[0].quote",
                "missing quote",
            ),
            (
                lambda t: t.replace("kind: state\n  - id: FR", "kind: empire\n  - id: FR"),
                12,
                "parties[0].kind",
                "empire",
            ),
            (lambda t: t.replace("  - id: GB\n", "  - id: NO\n"), 10, "parties[0].id", "boolean"),
            (lambda t: t + "    mood: cheerful\n", 21, "stances[0]", "unknown key(s) mood"),
            (
                lambda t: t.replace("format: negotrack/1", "format: negotrack/9"),
                1,
                "format",
                "negotrack/1",
            ),
        ],
    )
    def test_bad_file_names_the_place_and_writes_nothing(
        self,
        tracker: negotrack.Tracker,
        tmp_path: Path,
        edit: object,
        line: int,
        field: str | None,
        message: str,
    ) -> None:
        """Each kind of bad file fails with its message, file and line, and the store stays empty."""
        path = write(tmp_path, edit(MINIMAL))  # type: ignore[operator]
        with pytest.raises(DatasetError) as caught:
            import_dataset(tracker, path)
        error = caught.value
        assert message in str(error)
        assert error.file == str(path)
        assert error.line == line
        if field is not None:
            assert error.field == field
        assert str(error).startswith(f"{path}:{line}")
        assert list(tracker.events()) == []

    def test_an_uncorrectable_change_is_refused_whole(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """A changed party cannot be corrected: refused at its line, and nothing of the file lands."""
        import_dataset(tracker, write(tmp_path, MINIMAL))
        before = list(tracker.events())
        changed = MINIMAL.replace("stance: oppose", "stance: support").replace(
            "name: France", "name: French Republic"
        )
        with pytest.raises(DatasetError, match="only stances") as caught:
            import_dataset(tracker, write(tmp_path, changed, "changed.yaml"))
        assert caught.value.line == changed.splitlines().index("  - id: FR") + 1
        assert list(tracker.events()) == before


class TestReimport:
    """Re-importing an edited file records the difference; the earlier version stays known."""

    def test_an_edited_file_is_recorded_as_corrections(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """Changed, removed and new observations become a correction, a retraction and an
        append; the matrix known before the re-import is the earlier file's."""
        first = MINIMAL + _stance("fr-territory", "FR", "neutral", "2025-11-21", "we will see")
        path = write(tmp_path, first)
        import_dataset(tracker, path)
        before = list(tracker.events())[-1].recorded_at
        edited = MINIMAL.replace("stance: oppose", "stance: lean_oppose") + _stance(
            "gb-territory-later", "GB", "support", "2025-11-23", "borders may change"
        )
        path.write_text(edited, encoding="utf-8")
        result = import_dataset(tracker, path)
        assert [c.observation for c in result.plan.corrections] == [
            "mini-talks/stance/gb-territory"
        ]
        assert [r.observation for r in result.plan.removals] == ["mini-talks/stance/fr-territory"]
        assert [e.event_id for e in result.plan.appends] == ["mini-talks/stance/gb-territory-later"]
        assert result.written == 4  # a correction is two events
        neg = tracker.negotiation("mini-talks")
        on_22 = date(2025, 11, 22)
        now = neg.matrix(on_22)
        assert now["GB", "territory"].label == "lean_oppose"
        assert ("FR", "territory") not in now
        assert neg.matrix(date(2025, 11, 23))["GB", "territory"].label == "support"
        earlier = neg.matrix(on_22, known_at=before)
        assert earlier["GB", "territory"].label == "oppose"
        assert earlier["FR", "territory"].label == "neutral"
        again = import_dataset(tracker, path)
        assert again.written == 0
        assert again.plan.empty

    def test_dry_run_writes_nothing_and_says_what_it_would(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """A dry run plans the same difference and writes nothing."""
        path = write(tmp_path, MINIMAL)
        import_dataset(tracker, path)
        before = list(tracker.events())
        path.write_text(MINIMAL.replace("stance: oppose", "stance: support"), encoding="utf-8")
        result = import_dataset(tracker, path, dry_run=True)
        assert list(tracker.events()) == before
        assert result.written == 0
        (line,) = result.plan.describe()
        assert line.startswith("correct mini-talks/stance/gb-territory: stance")

    def test_the_command_lists_a_dry_run(self, backend: Backend, tmp_path: Path) -> None:
        """``negotrack import --dry-run`` prints the plan, one line each, and writes nothing."""
        url = backend.url()
        path = write(tmp_path, MINIMAL)
        assert main(["import", str(path), "--db", url], out=io.StringIO()) == 0
        path.write_text(MINIMAL.replace("stance: oppose", "stance: support"), encoding="utf-8")
        out = io.StringIO()
        assert main(["import", str(path), "--dry-run", "--db", url], out=out) == 0
        (line,) = out.getvalue().splitlines()
        assert line.startswith("correct mini-talks/stance/gb-territory: stance")
        out = io.StringIO()
        assert main(["import", str(path), "--dry-run", "--db", url], out=out) == 0
        assert out.getvalue().startswith("correct ")  # the dry run recorded nothing

    def test_every_negotrack_1_file_reimports_as_nothing(self, tracker: negotrack.Tracker) -> None:
        """The Geneva example imports as before and, imported again, plans nothing."""
        first = import_dataset(tracker, GENEVA)
        assert first.written == first.events
        assert import_dataset(tracker, GENEVA, dry_run=True).plan.empty

    def test_missing_file(self, tracker: negotrack.Tracker, tmp_path: Path) -> None:
        """A file that cannot be read is a DatasetError naming it."""
        with pytest.raises(DatasetError, match="cannot read"):
            import_dataset(tracker, tmp_path / "absent.yaml")


class TestGenevaDataset:
    """The dataset is faithful to its sources and complete in its declarations."""

    def observations(self) -> list[tuple[str, str]]:
        raw = yaml.safe_load(GENEVA.read_text(encoding="utf-8"))
        files = {sid: s["file"] for sid, s in raw["sources"].items()}
        quotes = [(files[s["source"]], s["quote"]) for s in raw["stances"]]
        for statement in raw["statements"]:
            quotes += [(files[statement["source"]], p["quote"]) for p in statement["positions"]]
        quotes += [(files[n["source"]], n["quote"]) for n in raw["notes"] if n.get("quote")]
        return quotes

    def test_every_quote_is_verbatim_in_its_source(self) -> None:
        """Each quote occurs character for character in the seed file its source names."""
        if not SEEDS.is_dir():
            pytest.skip(f"the source reports are not beside the checkout ({SEEDS})")
        texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.iterdir()}
        missing = [(file, quote) for file, quote in self.observations() if quote not in texts[file]]
        assert missing == []
        assert len(self.observations()) > 30

    def test_declarations_and_empty_start(self, tracker: negotrack.Tracker) -> None:
        """Everything used is declared (the import checks it), and nothing is held before 21 Nov."""
        data, _ = load_dataset(GENEVA)
        expected_clauses = {
            "plan-as-a-whole",
            "territory",
            "donetsk-withdrawal",
            "russian-control-donbas-crimea",
            "kherson-zaporizhzhia-freeze",
            "military-cap",
            "jets-in-poland",
            "security-guarantees",
            "no-invasion-expectation",
            "nato-no-expansion",
            "nato-membership-ban",
            "nato-troop-limits",
            "sanctions-relief",
            "g8-return",
            "eu-membership",
            "financial-benefits",
            "russian-partial-withdrawal",
            "deadline-27-november",
            "revision-of-draft",
            "eu-nato-consent",
            "engagement-in-talks",
        }
        assert {c.id for c in data.clauses} == expected_clauses
        assert {"US", "UA", "RU", "GB", "e3", "nb8", "mcconnell", "wicker"} <= {
            p.id for p in data.parties
        }
        import_dataset(tracker, GENEVA)
        plan = tracker.negotiation("us-peace-plan-2025")
        assert len(plan.matrix(date(2025, 11, 20))) == 0
        assert plan.matrix(date(2025, 11, 22))["GB", "military-cap"].label == "lean_oppose"

    def test_joint_statement_keeps_both_readings(self, tracker: negotrack.Tracker) -> None:
        """The G20 statement's default signatories are report 000's; RFE/RL's list stays visible."""
        import_dataset(tracker, GENEVA)
        cell = tracker.negotiation("us-peace-plan-2025").matrix(date(2025, 11, 22))[
            "IE", "territory"
        ]
        assert "IE" in cell.signatories
        assert len(cell.signatories) == 12
        event = tracker.event(cell.event_id).event
        assert [r.source.outlet for r in event.readings] == ["RFE/RL"]  # type: ignore[union-attr]
        assert "IE" not in event.readings[0].signatories  # type: ignore[union-attr]


class TestDocumentedExample:
    """The full example of docs/dataset-format.md imports and means what the page says."""

    def test_full_example_imports(self, tracker: negotrack.Tracker, tmp_path: Path) -> None:
        """Every section of the documented negotrack/1 example lands, including the interval
        scale and readings."""
        page = (ROOT / "docs" / "dataset-format.md").read_text(encoding="utf-8")
        example = (
            "format: negotrack/1"
            + page.split("```yaml\nformat: negotrack/1", 1)[1].split("```", 1)[0]
        )
        result = import_dataset(tracker, write(tmp_path, example))
        talks = tracker.negotiation(result.negotiation)
        matrix = talks.matrix(date(2025, 11, 23))
        assert matrix["GB", "troop-ceiling"].stance == 20.0
        assert matrix["NO", "military-cap"].label == "lean_oppose"
        assert talks.parties()["GB"].memberships[0].group == "e3"
        assert [n.kind for n in talks.notes()] == ["meeting"]
        assert result.written == result.events == 11


class TestStricterFiles:
    """Files that YAML would accept but a dataset must not."""

    @pytest.mark.parametrize(
        ("edit", "message", "line"),
        [
            (lambda t: t + "stances: []\n", "duplicate key 'stances'", 28),
            (
                lambda t: t.replace(
                    "    stance: oppose\n", "    stance: oppose\n    stance: support\n"
                ),
                "duplicate key 'stance'",
                25,
            ),
            (
                lambda t: (
                    t.replace("  - id: FR", "  - &gb\n    id: FR").replace(
                        "parties:\n", "parties:\n  - *gb\n", 0
                    )
                    + "notes: [*gb]\n"
                ),
                "aliases",
                29,
            ),
            (lambda t: t.replace("outlet: Wire", 'outlet: ""'), "outlet must not be empty", 7),
            (
                lambda t: t.replace("id: gb-territory", "id: " + "x" * 300),
                "at most 200 characters",
                21,
            ),
            (
                lambda t: (
                    t
                    + "memberships:\n  - {member: GB, group: FR, valid_from: 2025-11-01}\n  - {member: GB, group: FR, valid_from: 2025-11-01}\n"
                ),
                "duplicate membership",
                30,
            ),
            (
                lambda t: (
                    t
                    + "memberships:\n  - {member: GB, group: FR, valid_from: 2025-11-05, valid_until: 2025-11-01}\n"
                ),
                "valid_until must be after valid_from",
                29,
            ),
            (
                lambda t: (
                    t
                    + "notes:\n  - {id: n1, kind: call, valid: 2025-11-22, text: A call, quote: said so}\n"
                ),
                "needs its source",
                29,
            ),
        ],
    )
    def test_refused_with_its_line(
        self, tracker: negotrack.Tracker, tmp_path: Path, edit: object, message: str, line: int
    ) -> None:
        """The file is refused with a message and line, and nothing is written."""
        path = write(tmp_path, edit(MINIMAL))  # type: ignore[operator]
        with pytest.raises(DatasetError) as caught:
            import_dataset(tracker, path)
        assert message in str(caught.value)
        assert caught.value.line == line
        assert list(tracker.events()) == []

    def test_not_utf8(self, tracker: negotrack.Tracker, tmp_path: Path) -> None:
        """A file that is not UTF-8 text is a DatasetError naming it."""
        path = tmp_path / "latin1.yaml"
        path.write_bytes(MINIMAL.replace("Wire", "Dépêche").encode("latin-1"))
        with pytest.raises(DatasetError, match="not UTF-8"):
            import_dataset(tracker, path)


MINIMAL_V2 = """\
format: negotrack/2
negotiation:
  id: mini-talks
  title: Mini talks
sources:
  wire:
    outlet: Wire
    published: 2025-11-22
parties:
  - {id: GB, name: United Kingdom, kind: state}
  - {id: FR, name: France, kind: state}
  - {id: e3, name: E3, kind: group}
memberships:
  - {member: GB, group: e3, valid_from: 2025-11-01}
clauses:
  - id: territory
    title: Territory
    tabled: 2025-11-20
    text: "Borders as of 2022."
stances:
  - id: gb-territory
    party: GB
    clause: territory
    stance: oppose
    valid: {earliest: 2025-11-20, latest: 2025-11-22}
    dated: "'this week' in a report of Saturday 22 November"
    source: wire
    quote: "borders must not change"
"""


def v2_file(tmp_path: Path, extra: str = "", base: str = MINIMAL_V2) -> Path:
    return write(tmp_path, base + textwrap.dedent(extra))


class TestFormatV2:
    """negotrack/2: everything the event model can say, checked before anything is written."""

    def test_the_documented_example_imports(self, tracker: negotrack.Tracker) -> None:
        """The example of docs/dataset-format.md: ranges, versions, withdrawals, errata."""
        result = import_dataset(tracker, ROOT / "examples" / "format_v2" / "example.yaml")
        assert result.written == result.events
        neg = tracker.negotiation("us-peace-plan-2025-v2-example")
        (ua,) = neg.history("UA", "plan-as-a-whole")
        assert (ua.earliest, ua.valid_at) == (
            datetime(2025, 11, 24, tzinfo=UTC),
            datetime(2025, 11, 25, tzinfo=UTC),
        )
        assert ua.basis == "'this week' in a report of Tuesday 25 Nov"
        assert len(ua.evidence) == 2  # one observation, two outlets
        # The correction moved the UK's remark to Friday; the retraction removed the US deadline.
        assert neg.matrix(date(2025, 11, 21))["GB", "military-cap"].label == "oppose"
        assert ("US", "deadline-27-november") not in neg.matrix(date(2025, 11, 23))
        events = [r.event for r in tracker.events()]
        (withdrawn,) = [e for e in events if isinstance(e, StanceWithdrawn)]
        assert (withdrawn.speaker, withdrawn.reason) == ("Donald Trump", "no deadline any more")
        assert withdrawn.earliest == datetime(2025, 11, 24, tzinfo=UTC)
        amended = [e for e in events if isinstance(e, ClauseAmended)]
        assert {e.clause for e in amended} == {"plan-as-a-whole", "military-cap"}
        statements = {e.statement: e for e in events if isinstance(e, JointStatementRecorded)}
        assert statements["nb8-statement"].on_behalf_of == ("nb8",)
        assert statements["g20-allies"].speaker == "Keir Starmer"
        assert (
            import_dataset(tracker, ROOT / "examples" / "format_v2" / "example.yaml").written == 0
        )

    def test_a_range_is_held_from_its_latest_bound(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """valid_at is the latest bound, earliest the earliest; the dating is the basis."""
        import_dataset(tracker, v2_file(tmp_path))
        neg = tracker.negotiation("mini-talks")
        assert ("GB", "territory") not in neg.matrix(date(2025, 11, 21))
        assert neg.matrix(date(2025, 11, 22))["GB", "territory"].label == "oppose"
        (entry,) = neg.history("GB", "territory")
        assert entry.earliest == datetime(2025, 11, 20, tzinfo=UTC)
        assert entry.to_record()["basis"] == "'this week' in a report of Saturday 22 November"

    def test_a_range_of_one_day_is_that_day(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """Bounds on the same day make no range: no earliest is recorded."""
        text = MINIMAL_V2.replace("earliest: 2025-11-20", "earliest: 2025-11-22")
        import_dataset(tracker, write(tmp_path, text))
        (entry,) = tracker.negotiation("mini-talks").history("GB", "territory")
        assert entry.earliest is None

    @pytest.mark.parametrize(
        ("change", "problem", "field"),
        [
            (
                ("    dated: \"'this week' in a report of Saturday 22 November\"\n", ""),
                "basis",
                "stances[0].valid",
            ),
            (
                (
                    "earliest: 2025-11-20, latest: 2025-11-22",
                    "earliest: 2025-11-23, latest: 2025-11-22",
                ),
                "before",
                "stances[0].valid",
            ),
            (
                ("earliest: 2025-11-20", "earliest: 2025-11-20T10:00:00+00:00"),
                "both bounds",
                "stances[0].valid",
            ),
            (
                (
                    "    source: wire\n    quote",
                    "    sources: [{source: wire, quote: x}]\n    quote",
                ),
                "not both",
                "stances[0].sources",
            ),
            (("    source: wire\n", ""), "missing source", "stances[0].source"),
        ],
    )
    def test_bad_stances_are_refused_at_their_line(
        self,
        tracker: negotrack.Tracker,
        tmp_path: Path,
        change: tuple[str, str],
        problem: str,
        field: str,
    ) -> None:
        """Ranges need a basis and ordered bounds of one kind; evidence is given one way."""
        old, new = change
        assert old in MINIMAL_V2
        with pytest.raises(DatasetError, match=problem) as caught:
            import_dataset(tracker, write(tmp_path, MINIMAL_V2.replace(old, new)))
        assert caught.value.field == field
        assert list(tracker.events()) == []

    @pytest.mark.parametrize(
        ("extra", "problem", "field"),
        [
            (
                """\
                withdrawals:
                  - {id: gb-territory, party: GB, clause: territory, valid: 2025-11-23, source: wire, quote: q}
                """,
                "duplicate observation id",
                "withdrawals[0].id",
            ),
            (
                """\
                statements:
                  - id: e3-and-gb
                    signatories: [e3, GB]
                    valid: 2025-11-22
                    source: wire
                    positions: [{clause: territory, stance: oppose, quote: q}]
                """,
                "a group it belongs to",
                "statements[0].signatories[1]",
            ),
            (
                """\
                statements:
                  - id: two
                    signatories: [e3, FR]
                    speaks_for_members: true
                    valid: 2025-11-22
                    source: wire
                    positions: [{clause: territory, stance: oppose, quote: q}]
                """,
                "alone",
                "statements[0].speaks_for_members",
            ),
            (
                """\
                retractions:
                  - {of: nothing-here, reason: wrong}
                """,
                "unknown observation",
                "retractions[0].of",
            ),
            (
                """\
                corrections:
                  - {id: fix, of: gb-territory, reason: wrong, set: {stanse: support}}
                """,
                "unknown key",
                "corrections[0].set",
            ),
            (
                """\
                retractions:
                  - {of: gb-territory, reason: wrong}
                  - {of: gb-territory, reason: twice}
                """,
                "already retracted",
                "retractions[1]",
            ),
            # found by the hostile long run: refused by the model, not yet named in the file
            (
                """\
                statements:
                  - id: gb-fr
                    signatories: [GB, FR]
                    valid: 2025-11-22
                    source: wire
                    readings: [{source: wire, signatories: [GB], note: "a\\0b"}]
                    positions: [{clause: territory, stance: oppose, quote: q}]
                """,
                "NUL",
                "statements[0].readings[0]",
            ),
            (
                """\
                withdrawals:
                  - {id: gone, party: GB, clause: territory, valid: 2025-11-23, source: wire, quote: "\\0"}
                """,
                "NUL",
                "withdrawals[0].quote",
            ),
        ],
    )
    def test_bad_observations_are_refused_at_their_line(
        self, tracker: negotrack.Tracker, tmp_path: Path, extra: str, problem: str, field: str
    ) -> None:
        """Ids are unique across observations; a group does not sign beside its member; errata
        name a known observation, keys of its kind, and retract it once."""
        with pytest.raises(DatasetError, match=problem) as caught:
            import_dataset(tracker, v2_file(tmp_path, extra))
        assert caught.value.field is not None
        assert caught.value.field.startswith(field)
        assert list(tracker.events()) == []

    @pytest.mark.parametrize(
        ("version", "problem"),
        [
            ("{change: amended, valid: 2025-11-23}", "needs its new text"),
            ("{change: withdrawn, valid: 2025-11-23, text: t}", "has no text"),
            ("{change: moved, valid: 2025-11-23}", "amended, withdrawn"),
        ],
    )
    def test_bad_clause_versions_are_refused(
        self, tracker: negotrack.Tracker, tmp_path: Path, version: str, problem: str
    ) -> None:
        """An amendment has text, a withdrawal none, and there is no third kind of change."""
        text = MINIMAL_V2.replace(
            '    text: "Borders as of 2022."\n',
            f'    text: "Borders as of 2022."\n    versions: [{version}]\n',
        )
        with pytest.raises(DatasetError, match=problem):
            import_dataset(tracker, write(tmp_path, text))

    def test_a_clause_version_is_recorded(self, tracker: negotrack.Tracker, tmp_path: Path) -> None:
        """A version becomes ClauseAmended at its valid time, with its evidence and note."""
        text = MINIMAL_V2.replace(
            '    text: "Borders as of 2022."\n',
            '    text: "Borders as of 2022."\n    versions:\n'
            '      - {change: amended, valid: 2025-11-23, text: "Borders as of now.", '
            'source: wire, quote: "as of now", note: n}\n',
        )
        import_dataset(tracker, write(tmp_path, text))
        (amended,) = [r.event for r in tracker.events() if isinstance(r.event, ClauseAmended)]
        assert amended.text == "Borders as of now."
        assert amended.evidence[0].quote == "as of now"
        assert amended.note == "n"
        assert amended.event_id == "mini-talks/clause/territory/amended/2025-11-23T00:00:00+00:00"

    def test_quotes_are_checked_against_local_source_files(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """A quote is found across a wrapped line; one not in the file is refused with the
        closest passage."""
        (tmp_path / "wire.txt").write_text(
            "He said borders must\nnot change, today.", encoding="utf-8"
        )
        text = MINIMAL_V2.replace(
            "    published: 2025-11-22\n", "    published: 2025-11-22\n    file: wire.txt\n"
        )
        import_dataset(tracker, write(tmp_path, text))
        wrong = text.replace("borders must not change", "borders must never change")
        with pytest.raises(
            DatasetError, match="closest passage is 'borders must not change"
        ) as caught:
            import_dataset(tracker, write(tmp_path, wrong, "wrong.yaml"))
        assert caught.value.field == "stances[0].quote"

    def test_a_missing_source_file_is_refused(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """A source naming a file that is not there is refused at its file key."""
        text = MINIMAL_V2.replace(
            "    published: 2025-11-22\n", "    published: 2025-11-22\n    file: absent.txt\n"
        )
        with pytest.raises(DatasetError, match="cannot read the source file") as caught:
            import_dataset(tracker, write(tmp_path, text))
        assert caught.value.field == "sources.wire.file"

    def test_negotrack_1_does_not_take_the_new_keys(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """A negotrack/1 file keeps its rules: withdrawals are an unknown key there."""
        text = MINIMAL + "withdrawals: []\n"
        with pytest.raises(DatasetError, match="unknown key"):
            import_dataset(tracker, write(tmp_path, text))

    def test_errata_added_to_a_file_are_recorded_with_their_reasons(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """A file imported, then shared again with a correction: the log records the
        correction once, with the file's reason, and a third import writes nothing."""
        path = v2_file(tmp_path)
        import_dataset(tracker, path)
        path.write_text(
            MINIMAL_V2
            + "corrections:\n  - {id: gb-fix, of: gb-territory, reason: misdated, set: {valid: 2025-11-19, dated: null}}\n",
            encoding="utf-8",
        )
        result = import_dataset(tracker, path)
        (correction,) = result.plan.corrections
        assert correction.retraction.reason.endswith("valid_at changed in the file")
        neg = tracker.negotiation("mini-talks")
        assert neg.matrix(date(2025, 11, 19))["GB", "territory"].label == "oppose"
        # The correction's replacement stands for the corrected observation, not beside it.
        assert [e.retracted for e in neg.history("GB", "territory")] == [False, True]
        assert import_dataset(tracker, path).written == 0

    def test_a_file_with_errata_imports_them_as_recorded(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """Imported fresh, a file's retraction is recorded with its reason, so the history
        shows what was wrong; imported again, nothing."""
        path = v2_file(tmp_path, "retractions:\n  - {of: gb-territory, reason: a paraphrase}\n")
        import_dataset(tracker, path)
        neg = tracker.negotiation("mini-talks")
        (entry,) = neg.history("GB", "territory")
        assert entry.retraction_reason == "a paraphrase"
        assert ("GB", "territory") not in neg.matrix(date(2025, 11, 22))
        assert import_dataset(tracker, path).plan.empty

    def test_a_retraction_added_to_a_file_gives_its_reason(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """A file imported, then shared with a retraction of one of its stances: the log
        retracts it with the file's reason."""
        path = v2_file(tmp_path)
        import_dataset(tracker, path)
        path.write_text(
            MINIMAL_V2 + "retractions:\n  - {of: gb-territory, reason: a paraphrase}\n",
            encoding="utf-8",
        )
        (removal,) = import_dataset(tracker, path).plan.removals
        assert removal.retraction.reason == "re-import of talks.yaml: a paraphrase"
        (entry,) = tracker.negotiation("mini-talks").history("GB", "territory")
        assert entry.retraction_reason == "re-import of talks.yaml: a paraphrase"


def many_stances(count: int) -> str:
    """A ``negotrack/1`` file of ``count`` stances over 20 parties and 20 clauses."""
    parties = [f"party-{i}" for i in range(20)]
    clauses = [f"clause-{i}" for i in range(20)]
    lines = [
        "format: negotrack/1",
        "negotiation: {id: big-talks, title: Big talks}",
        "sources:\n  wire: {outlet: Wire}",
        "parties:",
        *(f"  - {{id: {p}, name: {p.title()}, kind: group}}" for p in parties),
        "clauses:",
        *(f"  - {{id: {c}, title: {c.title()}, tabled: 2025-01-01}}" for c in clauses),
        "stances:",
    ]
    for i in range(count):
        lines += [
            f"  - id: s-{i}",
            f"    party: {parties[i % 20]}",
            f"    clause: {clauses[i // 20 % 20]}",
            f"    stance: {('support', 'oppose', 'neutral')[i % 3]}",
            f"    valid: 2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00",
            "    source: wire",
            f'    quote: "the words of statement number {i}, quoted as they were reported"',
        ]
    return "\n".join(lines) + "\n"


class TestStreaming:
    """A dataset is read a piece at a time: memory follows the batch, not the file."""

    def test_memory_follows_the_batch_not_the_file(self, tmp_path: Path) -> None:
        """At its peak, an import allocates under 20 times the file's size (the whole
        document's YAML node tree alone took more than that)."""
        path = write(tmp_path, many_stances(2_000))
        with negotrack.open(f"sqlite:///{tmp_path / 'big.db'}") as tracker:
            tracker.last_position()  # the store opened, before the figure is taken
            tracemalloc.start()
            try:
                result = import_dataset(tracker, path)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert result.written == 1 + 20 + 20 + 2_000
        assert peak < 20 * path.stat().st_size

    def test_lists_before_the_format_and_what_they_name(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """The order of the top-level keys does not matter: stances may come before the
        format, the negotiation, the sources and the clauses they name, and an erratum
        before the stance it corrects."""
        head, rest = MINIMAL_V2.split("stances:\n")
        stances = "stances:\n" + rest
        errata = (
            "corrections:\n  - {id: fixed, of: gb-territory, reason: r, set: {stance: support}}\n"
        )
        declarations = head.replace("format: negotrack/2\n", "")
        path = write(tmp_path, errata + stances + declarations + "format: negotrack/2\n")
        import_dataset(tracker, path)
        cell = tracker.negotiation("mini-talks").matrix(date(2025, 11, 22))["GB", "territory"]
        assert cell.stance is negotrack.Ordinal.SUPPORT

    def test_a_refusal_late_in_a_long_file_names_its_line(self, tmp_path: Path) -> None:
        """The line of a refused value is found when the refusal needs it, deep in the file."""
        text = many_stances(300).replace(
            "party: party-7\n    clause: clause-14", "party: party-7\n    clause: nowhere", 1
        )
        path = write(tmp_path, text)
        line = text.splitlines().index("    clause: nowhere") + 1
        with negotrack.open("sqlite://") as tracker:
            with pytest.raises(DatasetError) as caught:
                import_dataset(tracker, path)
            assert tracker.last_position() == 0
        assert (caught.value.line, caught.value.field) == (line, "stances[287].clause")


class TestProgress:
    """An import tells a callback how far it has read, for a bar with a count."""

    def test_lines_read_increase_to_the_total(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The callback is told the lines read, increasing, of the file's lines, and last
        the total."""
        monkeypatch.setattr(progress, "EVERY", 10)
        told: list[tuple[int, int]] = []
        with negotrack.open("sqlite://") as tracker:
            import_dataset(tracker, GENEVA, progress=lambda done, total: told.append((done, total)))
        lines = len(GENEVA.read_text(encoding="utf-8").splitlines())
        assert len(told) > lines // 20
        assert {total for _, total in told} == {lines}
        done = [d for d, _ in told]
        assert done == sorted(set(done))
        assert told[-1] == (lines, lines)
