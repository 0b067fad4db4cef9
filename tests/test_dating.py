"""Uncertain valid times: ranges with a basis, and where they stand at an as-of instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from negotrack import NaiveDatetimeError, Precision, ValidationError
from negotrack._time import valid_instant
from negotrack.dating import Standing, ValidTime, standing, valid_time
from tests.strategies import aware_datetimes, day_ranges, instant_ranges, zones

BASIS = "'last week' in a report of Saturday 22 November"
KYIV = ZoneInfo("Europe/Kyiv")


class TestValidTime:
    def test_a_range_of_days_keeps_its_basis(self) -> None:
        """'Last week' in a report of 22 Nov: 10 to 16 Nov, from the first instant of each day."""
        time = valid_time(date(2025, 11, 10), date(2025, 11, 16), tz=KYIV, basis=BASIS)
        assert time.earliest == datetime(2025, 11, 10, tzinfo=KYIV)
        assert time.latest == datetime(2025, 11, 16, tzinfo=KYIV)
        assert time.precision is Precision.DAY
        assert time.is_range
        assert time.basis == BASIS

    @given(st.dates(), zones)
    def test_a_single_day_is_the_day_negotrack_already_knows(self, day: date, tz: ZoneInfo) -> None:
        """One date (or a range from a day to itself) is that day, as valid_instant reads it."""
        instant, precision = valid_instant(day, tz)
        for time in (valid_time(day, tz=tz), valid_time(day, day, tz=tz)):
            assert (time.earliest, time.latest, time.precision) == (instant, instant, precision)
            assert not time.is_range

    def test_a_range_needs_a_basis(self) -> None:
        """An uncertain date with no reason given is refused, and the error says what to add."""
        with pytest.raises(ValidationError, match="needs its basis"):
            valid_time(date(2025, 11, 10), date(2025, 11, 16), tz=UTC)
        with pytest.raises(ValidationError, match="must not be empty"):
            valid_time(date(2025, 11, 10), date(2025, 11, 16), tz=UTC, basis="  ")

    def test_bounds_in_the_wrong_order_are_refused(self) -> None:
        """The latest bound before the earliest is named in the error."""
        with pytest.raises(ValidationError, match=r"latest bound 2025-11-09.* before"):
            valid_time(date(2025, 11, 10), date(2025, 11, 9), tz=UTC, basis=BASIS)

    def test_bounds_of_different_kinds_are_refused(self) -> None:
        """A date and a date-time cannot bound one range: their precision differs."""
        with pytest.raises(ValidationError, match="both bounds as dates or both"):
            valid_time(
                date(2025, 11, 10), datetime(2025, 11, 16, 12, tzinfo=UTC), tz=UTC, basis=BASIS
            )

    def test_a_naive_bound_is_refused(self) -> None:
        """A date-time without a zone names the bound it was given as."""
        with pytest.raises(NaiveDatetimeError, match="latest"):
            valid_time(
                datetime(2025, 11, 10, tzinfo=UTC), datetime(2025, 11, 16), tz=UTC, basis=BASIS
            )
        with pytest.raises(NaiveDatetimeError):
            ValidTime(
                earliest=datetime(2025, 11, 10),
                latest=datetime(2025, 11, 10, tzinfo=UTC),
                precision=Precision.INSTANT,
            )


def model_day_standing(earliest: date, latest: date, as_of: datetime, tz: ZoneInfo) -> Standing:
    """Compare calendar days in the negotiation's zone: no instants involved."""
    local_day = as_of.astimezone(tz).date()
    if local_day >= latest:
        return Standing.HELD
    if local_day >= earliest:
        return Standing.POSSIBLY_HELD
    return Standing.NOT_YET


ORDER = [Standing.NOT_YET, Standing.POSSIBLY_HELD, Standing.HELD]


class TestStanding:
    @given(day_ranges(), st.integers(-3 * 24 * 60, 35 * 24 * 60), zones, zones)
    def test_day_ranges_are_held_from_the_latest_day(
        self, bounds: tuple[date, date], minutes: int, tz: ZoneInfo, as_of_zone: ZoneInfo
    ) -> None:
        """Held from the latest day, possibly held from the earliest, in the negotiation's zone."""
        earliest, latest = bounds
        start = datetime(earliest.year, earliest.month, earliest.day, tzinfo=UTC)
        as_of = (start + timedelta(minutes=minutes)).astimezone(as_of_zone)
        time = valid_time(earliest, latest, tz=tz, basis=BASIS)
        assert standing(time, as_of) is model_day_standing(earliest, latest, as_of, tz)

    @given(instant_ranges(), st.integers(-3 * 24 * 60, 12 * 24 * 60), zones)
    def test_instant_ranges_compare_as_instants(
        self, bounds: tuple[datetime, datetime], minutes: int, as_of_zone: ZoneInfo
    ) -> None:
        """With date-time bounds, held once as_of reaches the latest instant, in any zone."""
        earliest, latest = bounds
        as_of = (earliest + timedelta(minutes=minutes)).astimezone(as_of_zone)
        time = valid_time(earliest, latest, tz=UTC, basis=BASIS)
        utc = as_of.astimezone(UTC)
        expected = (
            Standing.HELD
            if utc >= latest.astimezone(UTC)
            else Standing.POSSIBLY_HELD
            if utc >= earliest.astimezone(UTC)
            else Standing.NOT_YET
        )
        assert standing(time, as_of) is expected

    @given(day_ranges(), aware_datetimes, st.integers(0, 10**7))
    def test_standing_only_moves_forward(
        self, bounds: tuple[date, date], as_of: datetime, later_by: int
    ) -> None:
        """As as_of moves later, a stance goes from not yet to possibly held to held, never back."""
        time = valid_time(*bounds, tz=UTC, basis=BASIS)
        later = as_of + timedelta(seconds=later_by)
        assert ORDER.index(standing(time, later)) >= ORDER.index(standing(time, as_of))
