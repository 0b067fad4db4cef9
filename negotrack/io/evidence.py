"""Evidence checks for a dataset file: quotes found in their source, signatories counted once.

Two checks the importer runs before anything is written:

- **Quotes.** When a source names a local file, every quote resting on it
  must be in that file character for character.  The one thing forgiven is
  how a report wraps its lines: a run of spaces, tabs and line breaks
  matches any other such run (a quote copied across a wrapped line reads
  "said on\\nFriday" in the file and "said on Friday" in the dataset).
  Nothing else is normalised: curly and straight quotes, dashes, case,
  accents and non-breaking spaces must all be as in the file, and the
  quote's own leading and trailing blanks are ignored.  A quote that is not
  found is refused with the stance it backs and the closest passage of the
  file, so the analyst can see what differs.
- **Signatories.** A statement signed by a group and by one of its members
  (directly or through a group in between, by any membership role, valid at
  the statement's date) would count the member twice; it is refused.

Both are pure: the importer reads the files and builds the memberships, then
calls :func:`check_quotes` and :func:`check_signatories`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeAlias

import attrs

from negotrack.errors import DatasetError
from negotrack.model import Membership

__all__ = [
    "Locator",
    "QuoteUse",
    "check_quotes",
    "check_signatories",
    "closest_passage",
    "contains_quote",
]

Path_: TypeAlias = tuple[str | int, ...]
"""A place in the dataset document: keys and list indexes from its root."""


class Locator(Protocol):
    """What turns a place in the document into an error naming file, line and field.

    The importer's ``_Located`` is one; the protocol keeps this module free of
    an import cycle with :mod:`negotrack.io.dataset`, which calls it.
    """

    def error(self, path: Path_, problem: str) -> DatasetError:
        """The error for ``problem`` at ``path``."""
        ...


_WRAP = re.compile(r"[ \t\r\n]+")
"""The blanks a report's line wrapping can change: spaces, tabs and line breaks."""


def _unwrapped(text: str) -> str:
    return _WRAP.sub(" ", text)


def contains_quote(text: str, quote: str) -> bool:
    """Whether ``quote`` is in ``text`` character for character, line wrapping aside."""
    return _unwrapped(quote.strip(" \t\r\n")) in _unwrapped(text)


def closest_passage(text: str, quote: str) -> str:
    """The passage of ``text`` most like ``quote`` (as long as it), to show beside a refusal."""
    body = _unwrapped(text)
    wanted = _unwrapped(quote.strip(" \t\r\n"))
    if not body or not wanted:
        return ""
    width = len(wanted)
    starts = [0, *(m.end() for m in re.finditer(" ", body))]
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(wanted)
    best, best_ratio = body[:width], -1.0
    for start in starts:
        window = body[start : start + width]
        matcher.set_seq1(window)
        # The cheap upper bounds first: most windows share few characters.
        if matcher.real_quick_ratio() <= best_ratio or matcher.quick_ratio() <= best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best, best_ratio = window, ratio
    return best


@attrs.frozen(kw_only=True)
class QuoteUse:
    """One quote of a dataset file and where it sits: the thing to check and to name.

    Args:
        path: where the quote is in the document, e.g. ``("stances", 3, "quote")``.
        observation: what the quote backs, in words, e.g. ``stance 'gb-military-cap'``.
        file: the local file its source names.
        quote: the quote as written in the dataset.
    """

    path: Path_
    observation: str
    file: str
    quote: str


def check_quotes(uses: Iterable[QuoteUse], texts: Mapping[str, str], located: Locator) -> None:
    """Refuse the first quote that is not in its source file.

    Args:
        uses: the quotes whose sources name a local file.
        texts: the text of each such file, by the name the source gives.
        located: turns a path in the document into a file, line and field.

    Raises:
        DatasetError: a quote is not in its file (names the observation and
            the closest passage), or a file's text was not given.
    """
    for use in uses:
        if use.file not in texts:
            raise located.error(use.path, f"the source file {use.file!r} was not read")
        text = texts[use.file]
        if not contains_quote(text, use.quote):
            raise located.error(
                use.path,
                f"the quote of {use.observation} is not in {use.file} character for "
                f"character; the closest passage is {closest_passage(text, use.quote)!r}",
            )


def _groups_of(party: str, at: datetime, memberships: Sequence[Membership]) -> set[str]:
    """Every group ``party`` belongs to at ``at``, directly or through other groups."""
    found: set[str] = set()
    frontier = [party]
    while frontier:
        member = frontier.pop()
        for membership in memberships:
            if (
                membership.member == member
                and membership.holds_at(at)
                and membership.group not in found
            ):
                found.add(membership.group)
                frontier.append(membership.group)
    return found


def check_signatories(
    signatories: Sequence[str],
    at: datetime,
    memberships: Iterable[Membership],
    path: Path_,
    located: Locator,
) -> None:
    """Refuse a statement signed by a group and by one of its own members at ``at``.

    Args:
        signatories: the statement's signatories, as listed in the file.
        at: the statement's valid time; memberships are taken as they hold then.
        memberships: every membership of the negotiation.
        path: where the signatories are in the document (``(..., "signatories")``).
        located: turns a path in the document into a file, line and field.

    Raises:
        DatasetError: a signatory is a member of another signatory; names both.
    """
    known = list(memberships)
    listed = set(signatories)
    for index, party in enumerate(signatories):
        # A membership cycle can lead back to the party itself; that is not a second signature.
        twice = sorted(_groups_of(party, at, known) & listed - {party})
        if twice:
            raise located.error(
                (*path, index),
                f"{party!r} signs beside {twice[0]!r}, a group it belongs to on "
                f"{at.date().isoformat()}: list the group or its members, not both",
            )
