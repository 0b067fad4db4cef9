"""Evidence checks: quotes found in their source file, signatories counted once."""

from __future__ import annotations

import re
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from negotrack import DatasetError, Membership, Role
from negotrack.io.dataset import _Located
from negotrack.io.evidence import (
    QuoteUse,
    check_quotes,
    check_signatories,
    closest_passage,
    contains_quote,
)
from tests.strategies import day, memberships_graphs, report_texts

REPORT = (
    "Starmer said earlier that Ukraine has to be able to defend itself.\n"
    "Aked about the plan on Friday, Zelensky said Ukraine faced\n"
    "“either losing dignity, or risk losing a key partner”."
)
LOCATED = _Located(
    "talks.yaml", {("stances",): 10, ("stances", 0): 11, ("stances", 0, "quote"): 14}
)


def model_contains(text: str, quote: str) -> bool:
    """The quote as a pattern: its characters literally, each blank run as any blank run."""
    parts = [re.escape(p) for p in re.split(r"[ \t\r\n]+", quote.strip(" \t\r\n"))]
    return re.search(r"[ \t\r\n]+".join(parts), text) is not None


class TestQuotes:
    def test_a_quote_wrapped_across_lines_is_found(self) -> None:
        """A quote copied across a wrapped line matches; blanks runs stand for each other."""
        assert contains_quote(
            REPORT, "Aked about the plan on Friday, Zelensky said Ukraine faced “either"
        )
        assert contains_quote(REPORT, "  has to be able to  defend itself ")

    def test_nothing_but_blanks_is_forgiven(self) -> None:
        """Straight for curly quotes, a fixed typo, another case or a non-breaking space: refused."""
        assert not contains_quote(REPORT, '"either losing dignity')
        assert not contains_quote(REPORT, "Asked about the plan")
        assert not contains_quote(REPORT, "starmer said")
        assert not contains_quote(REPORT, "has to\u00a0be able")

    @given(report_texts, report_texts)
    def test_contains_equals_the_pattern_model(self, text: str, quote: str) -> None:
        """For any text and quote, found exactly when the pattern model finds it."""
        assert contains_quote(text, quote) == model_contains(text, quote)

    @given(report_texts, st.data())
    def test_any_rewrapped_passage_is_found(self, text: str, data: st.DataObject) -> None:
        """A passage of the text, its blanks re-wrapped at random, is always found."""
        start = data.draw(st.integers(0, len(text)))
        passage = text[start : data.draw(st.integers(start, len(text)))]
        pieces = re.split(r"[ \t\r\n]+", passage)
        blanks = data.draw(
            st.lists(
                st.sampled_from([" ", "\n", "  ", "\t \n"]),
                min_size=len(pieces),
                max_size=len(pieces),
            )
        )
        rewrapped = "".join(p + b for p, b in zip(pieces, blanks, strict=True))[: -len(blanks[-1])]
        assert contains_quote(text, rewrapped)

    def test_closest_passage_shows_the_typo(self) -> None:
        """A quote with the typo fixed points at the passage as the file has it."""
        assert closest_passage(REPORT, "Asked about the plan on Friday") == (
            "Aked about the plan on Friday,"
        )
        assert closest_passage("", "anything") == ""

    def test_a_missing_quote_names_the_stance_the_line_and_the_closest_passage(self) -> None:
        """The refusal names file, line, field, the observation and what the file says."""
        use = QuoteUse(
            path=("stances", 0, "quote"),
            observation="stance 'ua-plan'",
            file="000.txt",
            quote="Asked about the plan on Friday",
        )
        with pytest.raises(DatasetError) as caught:
            check_quotes([use], {"000.txt": REPORT}, LOCATED)
        error = caught.value
        assert (error.file, error.line, error.field) == ("talks.yaml", 14, "stances[0].quote")
        assert "stance 'ua-plan' is not in 000.txt character for character" in error.problem
        assert "'Aked about the plan on Friday,'" in error.problem
        check_quotes(
            [QuoteUse(**{**vars_of(use), "quote": "Aked about"})], {"000.txt": REPORT}, LOCATED
        )

    def test_a_file_not_read_is_named(self) -> None:
        """A source file the importer did not read is an error, not a silent pass."""
        use = QuoteUse(path=("stances", 0, "quote"), observation="s", file="gone.txt", quote="q")
        with pytest.raises(DatasetError, match=r"'gone\.txt' was not read"):
            check_quotes([use], {}, LOCATED)


def vars_of(use: QuoteUse) -> dict[str, object]:
    return {"path": use.path, "observation": use.observation, "file": use.file, "quote": use.quote}


def model_double(signatories: list[str], at_day: int, memberships: list[Membership]) -> bool:
    """Whether a signatory reaches another by memberships valid on the day (transitive closure)."""
    at = day(at_day)
    names = {"GB", "FR", "e3", "eu", "nb8"}
    reach = {(a, b): False for a in names for b in names}
    for m in memberships:
        if m.valid_from <= at and (m.valid_until is None or at < m.valid_until):
            reach[m.member, m.group] = True
    for k in names:
        for a in names:
            for b in names:
                reach[a, b] = reach[a, b] or (reach[a, k] and reach[k, b])
    return any(reach[a, b] for a in signatories for b in signatories if a != b)


class TestSignatories:
    E3: ClassVar[list[Membership]] = [
        Membership(member=m, group="e3", valid_from=day(0)) for m in ("GB", "FR")
    ]

    def test_a_group_and_its_member_are_refused(self) -> None:
        """The E3 and the UK both signing: refused, naming both and pointing at the member."""
        with pytest.raises(DatasetError) as caught:
            check_signatories(["e3", "GB"], day(2), self.E3, ("stances", 0, "signatories"), LOCATED)
        assert caught.value.field == "stances[0].signatories[1]"
        assert "'GB' signs beside 'e3', a group it belongs to on 2025-11-22" in str(caught.value)

    def test_members_alone_or_a_past_membership_are_accepted(self) -> None:
        """Members without their group, or a membership not valid on the day, pass."""
        check_signatories(["GB", "FR"], day(2), self.E3, ("s",), LOCATED)
        ended = [Membership(member="GB", group="e3", valid_from=day(0), valid_until=day(1))]
        check_signatories(["GB", "e3"], day(2), ended, ("s",), LOCATED)

    def test_a_member_of_a_member_counts_too(self) -> None:
        """GB in e3 in eu: eu and GB signing together count GB twice; a spokesperson too."""
        chain = [*self.E3, Membership(member="e3", group="eu", valid_from=day(0))]
        with pytest.raises(DatasetError, match="'GB' signs beside 'eu'"):
            check_signatories(["eu", "GB"], day(2), chain, ("s",), LOCATED)
        speaker = [Membership(member="GB", group="eu", role=Role.SPEAKS_FOR, valid_from=day(0))]
        with pytest.raises(DatasetError):
            check_signatories(["GB", "eu"], day(2), speaker, ("s",), LOCATED)

    @given(
        st.lists(
            st.sampled_from(["GB", "FR", "e3", "eu", "nb8"]), min_size=1, max_size=4, unique=True
        ),
        st.sampled_from([2, 5, 7, 9]),
        memberships_graphs(),
    )
    def test_refused_exactly_when_the_model_finds_a_member_twice(
        self, signatories: list[str], at_day: int, memberships: list[Membership]
    ) -> None:
        """Refused if and only if a signatory belongs, at the date, to another signatory."""
        try:
            check_signatories(signatories, day(at_day), memberships, ("s",), LOCATED)
            refused = False
        except DatasetError:
            refused = True
        assert refused == model_double(signatories, at_day, memberships)
