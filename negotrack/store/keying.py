"""The keyed chain: with a secret, each link is an HMAC-SHA256, not a plain SHA-256.

A plain chain can be recomputed by anyone who can read the rows: a forged
event inserted at the tail (INSERT rights suffice) with its hash recomputed
verifies.  With a key in ``NEGOTRACK_CHAIN_KEY`` the links are HMACs that only
a holder of the key can make, and ``verify()`` with the key catches such a tail.

The store records that it is keyed, never the key: a row ``chain`` in the
``negotrack_store`` table holds ``hmac-sha256:`` and an HMAC of a fixed text
under the key, so a wrong key is told apart from tampering; the row is
written once (migration 0004's triggers refuse changing or deleting it).  A store becomes
keyed at its first write made with the key set; from then on every append and
``verify()`` needs the same key (reads do not).  A plain store with events
stays plain: a key set for it is refused, rather than silently unused.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from negotrack.errors import StoreError

__all__ = ["KEY_VARIABLE", "MARKER_ROW", "from_environment", "key_for", "marker_of"]

KEY_VARIABLE = "NEGOTRACK_CHAIN_KEY"
"""The environment variable that holds the chain's secret."""

MARKER_ROW = "chain"
"""The key, in the ``negotrack_store`` table, of the row that says the chain is keyed."""

_CHECKED_TEXT = b"negotrack chain key check"


def from_environment() -> bytes | None:
    """The chain key set in the environment (``None`` when unset or empty)."""
    return os.environ.get(KEY_VARIABLE, "").encode() or None


def marker_of(key: bytes) -> str:
    """What a keyed store records: the scheme and a check of the key (not the key)."""
    return "hmac-sha256:" + hmac.new(key, _CHECKED_TEXT, hashlib.sha256).hexdigest()


def key_for(marker: str | None, key: bytes | None, *, has_events: bool) -> bytes | None:
    """The key to chain a store's rows with, given its marker and the key offered.

    Args:
        marker: the store's ``chain`` row (``None``: a plain store, or one not yet written).
        key: the key from the environment, if any.
        has_events: whether the store holds events (an empty store takes the key offered).

    Raises:
        StoreError: the store is keyed and no key or another key is offered,
            or a key is offered for a plain store that holds events.
    """
    if marker is None:
        if key is not None and has_events:
            raise StoreError(
                f"{KEY_VARIABLE} is set, but this store's hash chain is plain (it was made "
                f"without a key): unset {KEY_VARIABLE}, or export the log and import it "
                "into a new store with the key set"
            )
        return key
    if key is None:
        raise StoreError(
            f"this store's hash chain is keyed: set {KEY_VARIABLE} to its key "
            "to append to it or verify it"
        )
    if not hmac.compare_digest(marker, marker_of(key)):
        raise StoreError(f"{KEY_VARIABLE} is not the key this store's hash chain was made with")
    return key
