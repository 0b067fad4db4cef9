"""Receipts: the head of a verified log, kept elsewhere to anchor a later verify().

The hash chain proves every row follows from the ones before it, but not that
nothing was cut from the end, nor that the whole log was not rewritten with
recomputed hashes.  A receipt closes both gaps: ``verify()`` returns one, the
analyst keeps its text (in the HTML briefing, in git, in an email), and
``verify(expect=receipt)`` proves that the log still reaches the receipt's
position and that the event there still has the receipt's hash, so nothing up
to it changed.
"""

from __future__ import annotations

import re

import attrs

from negotrack.errors import ChainBrokenError, ValidationError

__all__ = ["Receipt", "check_receipt"]

_TEXT = re.compile(r"(?P<position>0|[1-9][0-9]{0,17}):(?P<hash>[0-9a-f]{64})?")


@attrs.frozen(kw_only=True)
class Receipt:
    """The head of a log: the newest event's position and hash.

    ``position`` is 0 and ``hash`` ``None`` for an empty log.  ``str()`` gives
    the compact text form, ``position:hash`` (``0:`` for an empty log), which
    :meth:`parse` reads back.
    """

    position: int
    hash: str | None

    def __str__(self) -> str:
        return f"{self.position}:{self.hash or ''}"

    @classmethod
    def parse(cls, text: str) -> Receipt:
        """The receipt written as ``text`` (as ``str(receipt)`` gives it).

        Raises:
            ValidationError: the text is not a receipt.
        """
        found = _TEXT.fullmatch(text.strip())
        if found is None or (found["position"] == "0") != (found["hash"] is None):
            raise ValidationError(
                f"{text!r} is not a receipt: expected the position and the hash of the "
                "newest event as negotrack verify prints them, e.g. '12:' then 64 hex digits"
            )
        return cls(position=int(found["position"]), hash=found["hash"])


def check_receipt(expect: Receipt, head: int, hash_there: str | None) -> None:
    """Check a verified log against a receipt taken before.

    Args:
        expect: the receipt kept from an earlier verify().
        head: the position of the log's newest event now.
        hash_there: the (verified) hash of the event at ``expect.position``
            now, ``None`` when the log does not reach it.

    Raises:
        ChainBrokenError: the log was cut below the receipt's position, or the
            event there is not the one the receipt names.
    """
    if expect.position == 0:
        return
    if head < expect.position:
        raise ChainBrokenError(
            head + 1,
            f"the log was cut: it ends at position {head}, "
            f"but the receipt names position {expect.position}",
        )
    if hash_there != expect.hash:
        raise ChainBrokenError(
            expect.position,
            "the event here is not the one the receipt names: "
            "the log up to this position was rewritten",
        )
