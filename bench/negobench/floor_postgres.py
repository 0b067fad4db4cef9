"""PostgreSQL: throw-away schemas, and raw psycopg connections for the floor."""

from __future__ import annotations

import uuid

from .floor_sqlite import RawConn

# ---------------------------------------------------------------------------
# PostgreSQL: a fresh schema per database
# ---------------------------------------------------------------------------


class PgSchemas:
    """Creates throw-away schemas and gives URLs whose search_path points at them."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.engine = create_engine(url)
        self.run_id = uuid.uuid4().hex[:8]
        self.count = 0
        self.live: list[str] = []

    def create(self) -> str:
        from sqlalchemy import text

        self.count += 1
        name = f"bench_{self.run_id}_{self.count}"
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        self.live.append(name)
        return name

    def drop(self, name: str) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self.live.remove(name)

    def sqlalchemy_url(self, schema: str) -> str:
        url = self.url.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def raw(self, schema: str) -> RawConn:
        import psycopg

        base = self.url.set(drivername="postgresql", query={})
        conn = psycopg.connect(
            base.render_as_string(hide_password=False),
            autocommit=True,
            options=f"-csearch_path={schema}",
        )
        return RawConn(conn, "postgresql")

    def server_version(self) -> str:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())

    def close(self) -> None:
        for name in list(self.live):
            self.drop(name)
        self.engine.dispose()
