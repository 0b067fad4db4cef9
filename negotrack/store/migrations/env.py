"""Alembic's environment for negotrack: migrations run on the connection they are given.

:mod:`negotrack.store.migrations` opens the connection (with the store's own
engine settings) and passes it in ``config.attributes["connection"]``; there is
no ``alembic.ini`` and no offline mode.
"""

from __future__ import annotations

from alembic import context

from negotrack.store.migrations import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    transaction_per_migration=False,  # all steps in one transaction: all or nothing
)
with context.begin_transaction():
    context.run_migrations()
