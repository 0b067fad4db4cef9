"""The example datasets shipped inside the package, so an installed negotrack can reach them.

``negotrack import --example geneva_2025`` imports the Geneva case (the US
28-point plan as reported on 21-23 November 2025) without a clone of the
repository.  The files are those of ``examples/`` in the repository.
"""

from __future__ import annotations

from pathlib import Path

from negotrack.errors import ValidationError

__all__ = ["example_names", "example_path"]

_FOLDER = Path(__file__).resolve().parents[1] / "examples"


def example_names() -> list[str]:
    """The names of the shipped example datasets, sorted."""
    return sorted(path.stem for path in _FOLDER.glob("*.yaml"))


def example_path(name: str) -> Path:
    """The dataset file of the example called ``name`` (e.g. ``geneva_2025``).

    Raises:
        ValidationError: no example of that name (the message lists those there are).
    """
    path = _FOLDER / f"{name}.yaml"
    if name not in example_names():
        raise ValidationError(
            f"no example dataset {name!r}: the examples are {', '.join(example_names())}"
        )
    return path
