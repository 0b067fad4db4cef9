"""The backend contract suite of :mod:`negotrack.testing`, on memory, SQLite and PostgreSQL.

The ``make_store`` fixture (tests/conftest.py) hands each test class fresh
stores of each backend; importing the classes is all a backend needs.
"""

from negotrack.testing import (
    TestConcurrentWriters,
    TestHistoryKnownAt,
    TestLog,
    TestOptimisticConcurrency,
    TestRestore,
    TestRetractionRules,
)

__all__ = [
    "TestConcurrentWriters",
    "TestHistoryKnownAt",
    "TestLog",
    "TestOptimisticConcurrency",
    "TestRestore",
    "TestRetractionRules",
]
