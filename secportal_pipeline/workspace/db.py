"""Engine creation and schema set-up, SQLite by default and PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from .schema import metadata

APPEND_ONLY_MESSAGE = "activity_log is append-only"

_SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER IF NOT EXISTS activity_log_no_update
    BEFORE UPDATE ON activity_log
    BEGIN
        SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: UPDATE refused');
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS activity_log_no_delete
    BEFORE DELETE ON activity_log
    WHEN NOT EXISTS (SELECT 1 FROM retention_purges p WHERE OLD.occurred_at < p.cutoff)
    BEGIN
        SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: DELETE refused outside a retention purge');
    END
    """,
]

_POSTGRES_TRIGGERS = [
    f"""
    CREATE OR REPLACE FUNCTION activity_log_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}: UPDATE refused';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM retention_purges p WHERE OLD.occurred_at < p.cutoff) THEN
            RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}: DELETE refused outside a retention purge';
        END IF;
        RETURN OLD;
    END
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS activity_log_append_only ON activity_log",
    """
    CREATE TRIGGER activity_log_append_only
    BEFORE UPDATE OR DELETE ON activity_log
    FOR EACH ROW EXECUTE FUNCTION activity_log_append_only()
    """,
]


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> sa.Engine:
    """An engine for the workspace at ``url``; creates the SQLite file's folder."""
    engine_url = sa.make_url(url)
    if engine_url.get_backend_name() == "sqlite":
        if engine_url.database and engine_url.database != ":memory:":
            Path(engine_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(engine_url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(engine_url, pool_pre_ping=True)


def create_schema(engine: sa.Engine) -> None:
    """Create every table and the append-only triggers; safe to run twice."""
    metadata.create_all(engine)
    statements = _POSTGRES_TRIGGERS if engine.dialect.name == "postgresql" else _SQLITE_TRIGGERS
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def open_workspace(url: str) -> sa.Engine:
    """Engine for ``url`` with the schema in place."""
    engine = make_engine(url)
    create_schema(engine)
    return engine
