"""The backend contract suite of :mod:`negotrack.testing`, on memory, SQLite and PostgreSQL.

The ``make_store`` fixture (tests/conftest.py) hands each test class fresh
stores of each backend; importing the classes is all a backend needs.
"""

from negotrack.testing import (  # noqa: F401 - pytest collects them here
    TestConcurrentWriters,
    TestHistoryKnownAt,
    TestLog,
    TestOptimisticConcurrency,
    TestRestore,
    TestRetractionRules,
)
