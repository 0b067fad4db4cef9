"""The Geneva 2025 example against the coding guide (docs/coding.md) and its two reports."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

import negotrack
from negotrack.io.dataset import import_dataset
from tests.test_dataset import GENEVA, ROOT, SEEDS

GUIDE = ROOT / "docs" / "coding.md"
REPORTS = {"000": "000_855a6cc0775a402e.txt", "001": "001_b3c745fde497dd81.txt"}
# A citation in the guide: [000:10] `quoted text` (report, line, verbatim quote).
CITATION = re.compile(r"\[(000|001):(\d+)\] `([^`]+)`")
DAYS = [date(2025, 11, day) for day in (20, 21, 22, 23)]


def raw_dataset() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(GENEVA.read_text(encoding="utf-8"))
    return loaded


def claims_by_cell(raw: dict[str, Any]) -> dict[tuple[str, str, str], set[str]]:
    """Every value the file claims for (party, clause, valid day), statements expanded.

    Written from the file alone, not from the importer: each stance is a claim of
    its party, each statement position a claim of every signatory.
    """
    claims: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for stance in raw["stances"]:
        claims[stance["party"], stance["clause"], str(stance["valid"])].add(stance["stance"])
    for statement in raw["statements"]:
        for position in statement["positions"]:
            for party in statement["signatories"]:
                key = (party, position["clause"], str(statement["valid"]))
                claims[key].add(position["stance"])
    return claims


class TestCodingGuide:
    """Every example the guide quotes is in the report and line it cites."""

    def test_every_cited_quote_is_in_its_line(self) -> None:
        """Each [report:line] `quote` of docs/coding.md occurs verbatim in that line."""
        if not SEEDS.is_dir():
            pytest.skip(f"the source reports are not beside the checkout ({SEEDS})")
        lines = {
            report: (SEEDS / name).read_text(encoding="utf-8").splitlines()
            for report, name in REPORTS.items()
        }
        citations = CITATION.findall(GUIDE.read_text(encoding="utf-8"))
        wrong = [
            (report, line, quote)
            for report, line, quote in citations
            if quote not in lines[report][int(line) - 1]
        ]
        assert wrong == []
        assert len(citations) >= 40  # the pattern still finds the guide's citations


class TestAuditedDataset:
    """What the re-audit of examples/geneva_2025 settled stays true of the file."""

    def test_no_cell_is_decided_by_file_order(self) -> None:
        """No party is given two different values on one clause on the same day."""
        conflicts = {
            cell: values
            for cell, values in claims_by_cell(raw_dataset()).items()
            if len(values) > 1
        }
        assert conflicts == {}

    def test_reversed_file_gives_the_same_matrices(
        self, tracker: negotrack.Tracker, tmp_path: Path
    ) -> None:
        """The file with its stances and statements in reverse order imports to the same grids."""
        raw = raw_dataset()
        raw["stances"].reverse()
        raw["statements"].reverse()
        for statement in raw["statements"]:
            statement["positions"].reverse()
        reversed_file = tmp_path / "reversed.yaml"
        reversed_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        with negotrack.open("sqlite://") as other:
            plans = [
                store.negotiation(import_dataset(store, path).negotiation)
                for store, path in ((tracker, GENEVA), (other, reversed_file))
            ]
            for day in DAYS:
                # Not only the values: the record each cell shows and its claims too.
                grids = [
                    {
                        (c.party, c.clause): (
                            c.label,
                            c.event_id,
                            c.evidence,
                            c.salience,
                            [claim.event_id for claim in c.claims],
                        )
                        for c in p.matrix(day)
                    }
                    for p in plans
                ]
                assert grids[0] == grids[1], day

    def test_same_day_claims_of_one_value_are_all_shown(self, geneva: negotrack.Tracker) -> None:
        """Each cell shows every claim the file makes for it on its day; one value, no conflict.

        The five cells of the README's "Same day, same cell" table hold two claims each.
        """
        raw = raw_dataset()
        made: dict[tuple[str, str, str], int] = defaultdict(int)
        for stance in raw["stances"]:
            made[stance["party"], stance["clause"], str(stance["valid"])] += 1
        for statement in raw["statements"]:
            for position in statement["positions"]:
                for party in statement["signatories"]:
                    made[party, position["clause"], str(statement["valid"])] += 1
        plan = geneva.negotiations()[0]
        for day in DAYS:
            for cell in plan.matrix(day):
                key = (cell.party, cell.clause, cell.valid_at.date().isoformat())
                assert len(cell.claims) == made[key], key
                assert not cell.conflicting
                assert {claim.stance for claim in cell.claims} == {cell.stance}
        doubled = {
            (c.party, c.clause, c.valid_at.date().isoformat())
            for c in plan.matrix(date(2025, 11, 23))
            if len(c.claims) == 2
        }
        assert doubled == {
            ("GB", "military-cap", "2025-11-22"),
            ("GB", "engagement-in-talks", "2025-11-22"),
            ("US", "revision-of-draft", "2025-11-22"),
            ("US", "engagement-in-talks", "2025-11-22"),
            ("UA", "plan-as-a-whole", "2025-11-21"),
        }
        # Starmer's salience is no longer hidden: his claim is on the cell beside
        # the G20 statement's, which the rule shows for its higher confidence.
        gb = plan.matrix(date(2025, 11, 22))["GB", "military-cap"]
        assert {c.salience for c in gb.claims} == {0.9, None}
        assert gb.confidence == max(c.confidence or 0 for c in gb.claims)

    def test_no_group_signs_beside_its_own_members(self) -> None:
        """A statement or statement note lists a group's members or the group, never both."""
        raw = raw_dataset()
        members: dict[str, set[str]] = defaultdict(set)
        for membership in raw["memberships"]:
            members[membership["group"]].add(membership["member"])
        lists = [s["signatories"] for s in raw["statements"]]
        lists += [n["parties"] for n in raw["notes"] if n["kind"] == "statement"]
        doubled = [
            (group, sorted(members[group] & set(parties)))
            for parties in lists
            for group in parties
            if members[group] & set(parties)
        ]
        assert doubled == []

    def test_signers_of_two_statements_show_the_one_on_the_plan(
        self, tracker: negotrack.Tracker
    ) -> None:
        """Finland and Norway hold the G20 statement's lean_support; the Baltic 8 note is no stance."""
        plan = tracker.negotiation(import_dataset(tracker, GENEVA).negotiation)
        saturday = plan.matrix(date(2025, 11, 22))
        for party in ("FI", "NO"):
            cell = saturday[party, "plan-as-a-whole"]
            assert (cell.label, cell.evidence[0].stated) == ("lean_support", True)
        assert saturday.get("DK", "plan-as-a-whole") is None
        nordic_baltic = {"DK", "EE", "FI", "IS", "LV", "LT", "NO", "SE"}
        assert any(set(n.parties) == nordic_baltic for n in plan.notes() if n.kind == "statement")
