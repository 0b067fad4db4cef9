"""A follower's durable place in the log: a named position, kept in the store's database.

When the follower writes its results to the same database, it moves its
checkpoint in the same transaction as those writes (:meth:`Checkpoint.advance`):
both commit or neither does, so after a crash it resumes exactly after the last
event whose results were kept, and every event is processed exactly once.

When its effects leave the database (a webhook, an e-mail, another database),
no transaction spans both: it acts, then saves (:meth:`Checkpoint.save`), and a
crash between the two repeats that one event on restart (at least once).  Give
the receiver the event id so that it can drop the repeat.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

from negotrack.errors import StaleCheckpointError, StoreError, ValidationError
from negotrack.store.schema import follower_checkpoints

__all__ = ["Checkpoint", "follower_checkpoints"]


class Checkpoint:
    """The checkpoint called ``name`` in the database of ``engine``.

    Args:
        engine: the store's engine (``tracker.store.engine``).
        name: the follower's name, unique among the followers of this store.

    Raises:
        ValidationError: the name is empty or longer than 200 characters.
    """

    def __init__(self, engine: Engine, name: str) -> None:
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ValidationError(
                f"a checkpoint name must be a non-empty string of at most 200 characters, "
                f"got {name!r}"
            )
        self.engine = engine
        self.name = name

    def __repr__(self) -> str:
        return f"Checkpoint({self.name!r})"

    def position(self) -> int:
        """The position of the last event processed (0: start from the beginning).

        Raises:
            StoreError: the database has no checkpoints table (run ``negotrack db upgrade``).
        """
        with self.engine.connect() as conn:
            self._check_table(conn)
            stored = conn.execute(
                select(follower_checkpoints.c.position).where(
                    follower_checkpoints.c.name == self.name
                )
            ).scalar_one_or_none()
        return 0 if stored is None else int(stored)

    @contextmanager
    def advance(self, position: int) -> Iterator[Connection]:
        """A transaction to write the results of the event at ``position`` in.

        Yields a SQLAlchemy ``Connection`` in an open transaction; write with
        it.  On leaving the block the checkpoint moves to ``position`` and
        everything commits together; an exception rolls everything back.  Keep
        the block short: on SQLite it holds the database's write lock.

        Raises:
            StaleCheckpointError: the checkpoint is already at or past
                ``position`` (another follower of the same name got there first);
                nothing written in the block is kept.
            ValidationError: ``position`` is not a positive integer.
        """
        if isinstance(position, bool) or not isinstance(position, int) or position < 1:
            raise ValidationError(
                f"a checkpoint position must be a positive integer, got {position!r}"
            )
        # negotrack_write: on SQLite, BEGIN IMMEDIATE (the write lock up front, so two
        # followers cannot both read the old position and then deadlock upgrading).
        with self.engine.connect().execution_options(negotrack_write=True) as conn, conn.begin():
            self._check_table(conn)
            self._claim(conn, position)
            yield conn

    def save(self, position: int) -> None:
        """Move the checkpoint to ``position``, alone (the at-least-once case).

        Raises:
            StaleCheckpointError: the checkpoint is already at or past ``position``.
        """
        with self.advance(position):
            pass

    def _claim(self, conn: Connection, position: int) -> None:
        """Lock this checkpoint's row and move it, or refuse if it is not behind ``position``."""
        query = select(follower_checkpoints.c.position).where(
            follower_checkpoints.c.name == self.name
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()  # a second follower waits here, then sees our move
        stored = conn.execute(query).scalar_one_or_none()
        if stored is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(follower_checkpoints).values(name=self.name, position=position)
                    )
            except IntegrityError:  # another follower created it a moment ago
                stored = conn.execute(query).scalar_one()
            else:
                return
        if stored >= position:
            raise StaleCheckpointError(self.name, int(stored), position)
        conn.execute(
            update(follower_checkpoints)
            .where(follower_checkpoints.c.name == self.name)
            .values(position=position)
        )

    @staticmethod
    def _check_table(conn: Connection) -> None:
        if not inspect(conn).has_table(follower_checkpoints.name):
            raise StoreError(
                "the store has no follower_checkpoints table: run `negotrack db upgrade`"
            )
