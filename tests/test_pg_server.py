"""The local PostgreSQL test server and the per-test database fixtures work."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.pg_fixtures import DB_PREFIX, temporary_database

pytestmark = pytest.mark.postgres


def test_server_is_postgresql(pg_engine: sa.Engine) -> None:
    with pg_engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version()")).scalar_one()
        database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
    assert re.match(r"^PostgreSQL \d+(\.\d+)? ", version), version
    major = int(re.match(r"^PostgreSQL (\d+)", version).group(1))
    assert major >= 13, version  # DROP DATABASE ... WITH (FORCE) needs 13+
    assert database.startswith(DB_PREFIX)
    assert pg_engine.dialect.driver == "psycopg"


def test_databases_are_isolated(pg_engine_factory) -> None:
    first = pg_engine_factory()
    second = pg_engine_factory()
    assert first.url.database != second.url.database

    with first.begin() as conn:
        conn.execute(sa.text("CREATE TABLE only_in_first (id integer PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO only_in_first VALUES (1)"))

    assert sa.inspect(first).has_table("only_in_first")
    assert not sa.inspect(second).has_table("only_in_first")
    with second.connect() as conn, pytest.raises(sa.exc.ProgrammingError):
        conn.execute(sa.text("SELECT * FROM only_in_first"))


def test_temporary_database_is_dropped(_pg_admin_engine: sa.Engine) -> None:
    with temporary_database(_pg_admin_engine) as engine:
        name = engine.url.database
        # An open connection must not prevent the drop.
        leaked = engine.connect()
        leaked.execute(sa.text("SELECT 1"))
        with _pg_admin_engine.connect() as conn:
            assert conn.execute(
                sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar_one() == 1
    # The server terminated it: discard it without the pool's ROLLBACK-on-return.
    leaked.invalidate()
    leaked.close()
    with _pg_admin_engine.connect() as conn:
        assert conn.execute(
            sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar_one() == 0
