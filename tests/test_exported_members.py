"""The public namespace: ``negotrack.__all__`` is sorted and lists every public name."""

from __future__ import annotations

import types

import negotrack


def _group(name: str) -> tuple[int, str]:
    """ruff's order for ``__all__`` (RUF022): CONSTANTS, then Classes, then the rest."""
    if name.isupper():
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


class TestExportedMembers:
    """Like httpx's tests/test_exported_members.py: nothing public is left out or extra."""

    def test_all_is_sorted(self) -> None:
        """__all__ is in ruff's order, with no name twice."""
        assert negotrack.__all__ == sorted(set(negotrack.__all__), key=_group)

    def test_all_is_complete(self) -> None:
        """Every public name of the package namespace is in __all__, and every name there exists.

        Submodules (``negotrack.rules``, ``negotrack.store``) are reached by
        their own path, not re-exported; the version is the one dunder listed,
        and it and ``Checkpoint`` (SQLAlchemy's) load on first use.
        """
        public = {
            name
            for name, value in vars(negotrack).items()
            if not name.startswith("_") and not isinstance(value, types.ModuleType)
        }
        assert set(negotrack.__all__) == public | {"__version__", "Checkpoint"}
        for name in negotrack.__all__:
            assert hasattr(negotrack, name), name
