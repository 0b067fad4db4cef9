"""Bloc rows: stated beside derived, with the caller's rule, from the members as of T."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

import negotrack
from negotrack import IntervalScale, Ordinal, Rule
from negotrack.projections.blocs import derive_bloc
from negotrack.projections.matrix import Matrix
from tests.strategies import day, open_test_negotiation, ordinals


def _members_matrix(stances: list[Ordinal | None]) -> tuple[Matrix, list[str]]:
    """A matrix where member i holds stances[i] on one clause (None: no stance)."""
    with negotrack.open("sqlite://") as tracker:
        neg = tracker.open_negotiation("blocs", title="Blocs")
        neg.table_clause("territory", "Territory", valid_at=date(2025, 1, 1))
        members = [f"m{i}" for i in range(len(stances))]
        for member, stance in zip(members, stances, strict=True):
            neg.register_party(member, member, "state")
            if stance is not None:
                neg.record_stance(member, "territory", stance, valid_at=date(2025, 1, 2))
        return neg.matrix(date(2025, 1, 3)), members


class TestRules:
    """What each rule derives, and how the rules relate."""

    @given(stances=st.lists(st.none() | ordinals, min_size=1, max_size=6))
    def test_rules_agree_with_their_definitions(self, stances: list[Ordinal | None]) -> None:
        """Unanimous implies majority; a majority stance is held by more than half; the mean lies within the stances."""
        matrix, members = _members_matrix(stances)
        rows = {rule: derive_bloc(matrix, "bloc", members, rule) for rule in Rule}
        held = [s for s in stances if s is not None]
        if not held:
            assert all(not row.stances for row in rows.values())
            return
        unanimous = rows[Rule.UNANIMOUS]["territory"].derived
        majority = rows[Rule.MAJORITY]["territory"].derived
        mean = rows[Rule.MEAN]["territory"].derived
        if unanimous is not None:
            assert majority == unanimous
            assert held == [unanimous] * len(stances)
        if majority is not None:
            assert held.count(majority) * 2 > len(stances)  # type: ignore[arg-type]
        assert mean is not None
        assert min(held) <= mean <= max(held)

    @given(
        stances=st.lists(st.none() | st.sampled_from([10, 50, 90]), min_size=1, max_size=5),
        rule=st.sampled_from(list(Rule)),
    )
    def test_interval_clause_equals_the_model(self, stances: list[int | None], rule: Rule) -> None:
        """On an interval scale each rule gives the number its definition gives; an outsider's clause is not the bloc's."""
        with negotrack.open("sqlite://") as tracker:
            neg = tracker.open_negotiation("blocs", title="Blocs")
            neg.table_clause(
                "cap",
                "Cap",
                valid_at=date(2025, 1, 1),
                scale=IntervalScale(low=0, high=100),
            )
            neg.table_clause("territory", "Territory", valid_at=date(2025, 1, 1))
            members = [f"m{i}" for i in range(len(stances))]
            for party in [*members, "outsider", "bloc"]:
                neg.register_party(party, party, "state")
            for member, stance in zip(members, stances, strict=True):
                if stance is not None:
                    neg.record_stance(member, "cap", stance, valid_at=date(2025, 1, 2))
            neg.record_stance("outsider", "territory", "oppose", valid_at=date(2025, 1, 2))
            as_of = neg.end_of(date(2025, 1, 3))
            row = derive_bloc(neg.matrix(as_of), "bloc", members, rule)
        held = [s for s in stances if s is not None]
        if not held:
            assert row.stances == {}
            return
        top = max(set(held), key=held.count)
        model = {
            Rule.UNANIMOUS: top if held.count(top) == len(stances) else None,
            Rule.MAJORITY: top if held.count(top) * 2 > len(stances) else None,
            Rule.MEAN: sum(held) / len(held),
        }[rule]
        assert list(row.stances) == ["cap"]
        assert row["cap"].derived == pytest.approx(model)
        assert (row.bloc, row.rule, row.as_of, row.members) == (
            "bloc",
            rule,
            as_of,
            tuple(sorted(members)),
        )
        assert row["cap"].clause == "cap"
        assert sorted(row["cap"].members) == sorted(
            m for m, s in zip(members, stances, strict=True) if s is not None
        )

    def test_unknown_rule(self) -> None:
        """A rule negotrack does not know is named in the error."""
        matrix, members = _members_matrix([Ordinal.SUPPORT])
        with pytest.raises(
            negotrack.ValidationError,
            match="unknown bloc rule 'plurality': expected one of unanimous, majority, mean",
        ):
            derive_bloc(matrix, "bloc", members, "plurality")


class TestNegotiationBloc:
    """Negotiation.bloc uses the memberships holding at as_of and shows the stated row beside."""

    def test_members_follow_valid_time(self, tracker: negotrack.Tracker) -> None:
        """A member that joined later is not counted before it joined."""
        neg = open_test_negotiation(tracker)
        neg.start_membership("GB", "e3", valid_at=day(0))
        neg.start_membership("FR", "e3", valid_at=day(0))
        neg.start_membership("UA", "e3", valid_at=day(5))
        neg.record_stance("GB", "territory", "oppose", valid_at=day(1))
        neg.record_stance("FR", "territory", "oppose", valid_at=day(1))
        neg.record_stance("UA", "territory", "support", valid_at=day(1))
        neg.record_stance("e3", "territory", "lean_oppose", valid_at=day(2))
        early = neg.bloc("e3", day(3), rule="unanimous")
        assert early.members == ("FR", "GB")
        assert early["territory"].derived is Ordinal.OPPOSE
        assert early["territory"].stated.label == "lean_oppose"  # type: ignore[union-attr]
        late = neg.bloc("e3", day(6), rule="unanimous")
        assert late.members == ("FR", "GB", "UA")
        assert late["territory"].derived is None
        assert neg.bloc("e3", day(6), rule="majority")["territory"].derived is Ordinal.OPPOSE
        assert neg.bloc("e3", day(6), rule="mean")["territory"].derived == pytest.approx(-2 / 3)

    def test_unknown_bloc(self, tracker: negotrack.Tracker) -> None:
        """Asking for the row of an unregistered bloc names it."""
        neg = open_test_negotiation(tracker)
        with pytest.raises(negotrack.UnknownPartyError, match="nato"):
            neg.bloc("nato", day(1))
