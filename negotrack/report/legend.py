"""How a cell looks in every view, and how a view names its dates.

The ordinal stances sit on a diverging scale (red for oppose, blue for support,
grey for neutral; ColorBrewer RdBu, safe for red-green colour blindness); an
empty cell is white. Beside the colour, each cell carries flags drawn as
hatching: ``inferred`` (the analyst's reading, not the party's words), and,
once the cell model carries them, ``conflicting`` (claims that disagree) and
``stale`` (a stance on an older text of the clause). Every flag is also written
in words, so a view never relies on colour alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from negotrack.model import Ordinal, StanceValue
from negotrack.projections.matrix import _MARKS  # the plain-text grid's marks, shared

__all__ = [
    "EMPTY_COLOUR",
    "FLAGS",
    "FLAG_WORDS",
    "HATCHES",
    "INTERVAL_COLOUR",
    "STANCE_COLOURS",
    "TEXT_COLOURS",
    "cell_flags",
    "colour_of",
    "describe_instant",
    "describe_known_at",
    "hatch_of",
    "mark_of",
    "text_colour_of",
]

STANCE_COLOURS = {
    Ordinal.OPPOSE: "#b2182b",
    Ordinal.LEAN_OPPOSE: "#ef8a62",
    Ordinal.NEUTRAL: "#d9d9d9",
    Ordinal.LEAN_SUPPORT: "#67a9cf",
    Ordinal.SUPPORT: "#2166ac",
}
EMPTY_COLOUR = "#ffffff"
INTERVAL_COLOUR = "#c2a5cf"
"""A number on a clause's own interval scale: one colour, the number written in it."""

TEXT_COLOURS = {
    Ordinal.OPPOSE: "#ffffff",
    Ordinal.SUPPORT: "#ffffff",
}
"""Text on the dark ends of the scale is white; elsewhere it is black."""

FLAGS = ("inferred", "conflicting", "stale")
HATCHES = {"inferred": "///", "conflicting": "xx", "stale": ".."}
FLAG_WORDS = {
    "inferred": "inferred by the analyst, not stated by the party",
    "conflicting": "claims that disagree, none chosen by the rule",
    "stale": "a stance on an earlier text of the clause",
}


def colour_of(stance: StanceValue | None) -> str:
    """The fill of a cell holding ``stance`` (``None``: no position recorded)."""
    if stance is None:
        return EMPTY_COLOUR
    if isinstance(stance, Ordinal):
        return STANCE_COLOURS[stance]
    return INTERVAL_COLOUR


def text_colour_of(stance: StanceValue | None) -> str:
    """The colour of text written on a cell holding ``stance``."""
    return TEXT_COLOURS.get(stance, "#000000") if isinstance(stance, Ordinal) else "#000000"


def mark_of(stance: StanceValue | None) -> str:
    """A short mark: ``++ + 0 - --`` on the ordinal scale, the number otherwise, ``·`` empty."""
    if stance is None:
        return "·"
    if isinstance(stance, Ordinal):
        return _MARKS[stance]
    return f"{stance:g}"


def cell_flags(cell: object) -> tuple[str, ...]:
    """The flags of a cell, in :data:`FLAGS` order.

    ``inferred`` when every piece of evidence is the analyst's inference;
    ``conflicting`` and ``stale`` when the cell says so (attributes of those
    names; cells without them have neither flag).
    """
    evidence = getattr(cell, "evidence", ())
    flags = {
        "inferred": bool(evidence) and not any(e.stated for e in evidence),
        "conflicting": bool(getattr(cell, "conflicting", False)),
        "stale": bool(getattr(cell, "stale", False)),
    }
    return tuple(flag for flag in FLAGS if flags[flag])


def hatch_of(flags: tuple[str, ...]) -> str:
    """The matplotlib hatch of a cell with ``flags`` (patterns combine)."""
    return "".join(HATCHES[flag] for flag in flags)


def describe_instant(instant: datetime, timezone: tzinfo | None = None) -> str:
    """An instant as a view names it: ``22 Nov 2025`` for the end of a day, else with the time.

    A date given as ``as_of`` means the last microsecond of that day, so that
    instant is named by the day alone. ``timezone`` is the negotiation's (the
    instant's own zone when not given).
    """
    local = instant.astimezone(timezone) if timezone is not None else instant
    if (local + timedelta(microseconds=1)).time() == datetime.min.time():
        return f"{local.day} {local:%b %Y}"
    return f"{local.day} {local:%b %Y %H:%M} {local.tzname()}"


def describe_known_at(known_at: datetime | None, timezone: tzinfo | None = None) -> str:
    """``known at 22 Nov 2025``, or ``known at the latest record`` when not given."""
    if known_at is None:
        return "known at the latest record"
    return f"known at {describe_instant(known_at, timezone)}"
