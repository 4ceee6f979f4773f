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


# The preflight reads credential ages through this view, never the table: a database
# role for a service account may select it without seeing any secret hash.
CREDENTIAL_STATUS_VIEW = "service_credential_status"
_CREDENTIAL_VIEW_SELECT = """
    SELECT c.credential_id, u.handle AS account, c.issued_at, c.revoked_at
    FROM service_credentials c JOIN users u ON u.user_id = c.user_id
"""


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
    # the password never sits in the URL (which Dagster shows as resource config)
    from .secrets import workspace_password

    password = workspace_password()
    if password and not engine_url.password:
        engine_url = engine_url.set(password=password)
    return sa.create_engine(engine_url, pool_pre_ping=True)


def _schema_in_place(engine: sa.Engine) -> bool:
    """Every table and the credential view exist (a least-privilege role may not run DDL)."""
    inspector = sa.inspect(engine)
    return (set(metadata.tables) <= set(inspector.get_table_names())
            and CREDENTIAL_STATUS_VIEW in inspector.get_view_names())


def _columns(conn: sa.Connection, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(conn).get_columns(table)}


class WorkspaceError(RuntimeError):
    """The workspace cannot be opened or upgraded; what was there is unchanged."""


_LATEST_RESULT = "SELECT max(r.scan_id) FROM scan_results r WHERE r.finding_id = {finding}"

# What the upgrade would lose, each as (needs scan_results.evidence, the findings it finds, why, what to do).
_STRANDED_EVIDENCE = (
    (False,
     "SELECT f.finding_id FROM findings f WHERE f.evidence <> '' "
     "AND NOT EXISTS (SELECT 1 FROM scan_results r WHERE r.finding_id = f.finding_id) ORDER BY f.finding_id",
     "hold scanner output but have no scan result to move it to",
     "Copy that output out (SELECT finding_id, evidence FROM findings) and empty it, or give the "
     "findings a scan result, then open the workspace again."),
    (True,
     "SELECT f.finding_id FROM findings f JOIN scan_results r ON r.finding_id = f.finding_id "
     f"AND r.scan_id = ({_LATEST_RESULT.format(finding='f.finding_id')}) "
     "WHERE f.evidence <> '' AND r.evidence <> '' AND r.evidence <> f.evidence ORDER BY f.finding_id",
     "hold scanner output that differs from what their latest scan result already holds",
     "Compare the two (findings.evidence, and scan_results.evidence of the latest scan), keep the one "
     "you want on the scan result, empty findings.evidence, then open the workspace again."),
)


def _stranded_evidence(conn: sa.Connection, has_result_evidence: bool) -> tuple[str, list[int], str] | None:
    """Findings whose output the upgrade would lose, as (why, finding ids, what to do) for the
    first check that finds any; None when every value has a place."""
    for needs_result_column, query, why, todo in _STRANDED_EVIDENCE:
        if needs_result_column and not has_result_evidence:
            continue
        ids = conn.exec_driver_sql(query).scalars().all()
        if ids:
            return why, list(ids), todo
    return None


def _move_evidence_to_scan_results(conn: sa.Connection) -> None:
    """Workspaces from before kept a finding's latest scanner output on ``findings.evidence``
    (and again in its creation event). It now lives once per observation, on the scan result:
    the finding's value goes to its most recently imported result, then the column goes.

    Output that would have nowhere to go (a finding with no scan result, a latest result that
    already holds other output) stops the upgrade whole; output already on a scan result is
    never overwritten, and an empty finding value moves nothing.
    """
    if "evidence" not in _columns(conn, "findings"):
        return
    if conn.dialect.name == "sqlite":
        # pysqlite runs DDL outside a transaction unless one is open: open it, so the added
        # column, the moved values and the dropped column commit or roll back together
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    has_result_evidence = "evidence" in _columns(conn, "scan_results")
    stranded = _stranded_evidence(conn, has_result_evidence)
    if stranded:
        why, ids, todo = stranded
        shown = ", ".join(map(str, ids[:10])) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        raise WorkspaceError(f"workspace upgrade stopped, nothing changed: {len(ids)} finding(s) {why} "
                             f"(findings.evidence -> scan_results.evidence): finding_id {shown}. {todo}")
    if not has_result_evidence:
        conn.exec_driver_sql("ALTER TABLE scan_results ADD COLUMN evidence TEXT DEFAULT '' NOT NULL")
    conn.exec_driver_sql(
        "UPDATE scan_results SET evidence = (SELECT f.evidence FROM findings f "
        "WHERE f.finding_id = scan_results.finding_id) "
        f"WHERE scan_id = ({_LATEST_RESULT.format(finding='scan_results.finding_id')}) AND evidence = '' "
        "AND EXISTS (SELECT 1 FROM findings f WHERE f.finding_id = scan_results.finding_id AND f.evidence <> '')")
    conn.exec_driver_sql("ALTER TABLE findings DROP COLUMN evidence")


def _upgrade(engine: sa.Engine) -> None:
    """Column changes ``create_all`` never makes on tables an earlier version created, in one
    transaction. On PostgreSQL only the tables' owner can alter them; other roles (the export
    roles) leave it to the owner.
    """
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            owner = conn.exec_driver_sql(
                "SELECT tableowner = current_user FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename = 'findings'").scalar()
            if not owner:
                return
            length = conn.exec_driver_sql(
                "SELECT character_maximum_length FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'findings' AND column_name = 'plugin_id'"
            ).scalar()
            if length is not None:  # varchar(64) before: a CSV keyed on a long title did not fit
                conn.exec_driver_sql("ALTER TABLE findings ALTER COLUMN plugin_id TYPE text")
        _move_evidence_to_scan_results(conn)


def create_schema(engine: sa.Engine) -> None:
    """Create every table and the append-only triggers; safe to run twice."""
    if engine.dialect.name == "postgresql" and _schema_in_place(engine):
        _upgrade(engine)
        return  # set up already; the connecting role may be a read-only export role
    metadata.create_all(engine)
    _upgrade(engine)
    statements = _POSTGRES_TRIGGERS if engine.dialect.name == "postgresql" else _SQLITE_TRIGGERS
    view = (f"CREATE OR REPLACE VIEW {CREDENTIAL_STATUS_VIEW} AS {_CREDENTIAL_VIEW_SELECT}"
            if engine.dialect.name == "postgresql"
            else f"CREATE VIEW IF NOT EXISTS {CREDENTIAL_STATUS_VIEW} AS {_CREDENTIAL_VIEW_SELECT}")
    with engine.begin() as conn:
        for statement in [*statements, view]:
            conn.exec_driver_sql(statement)


def open_workspace(url: str) -> sa.Engine:
    """Engine for ``url`` with the schema in place; WorkspaceError (one line a person can act
    on, nothing changed) when it cannot be set up or upgraded."""
    engine = make_engine(url)
    try:
        create_schema(engine)
    except sa.exc.DBAPIError as error:
        engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        cause = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
        raise WorkspaceError(f"cannot open the workspace at {where}: {cause}; nothing was changed") from error
    except WorkspaceError:
        engine.dispose()
        raise
    return engine
