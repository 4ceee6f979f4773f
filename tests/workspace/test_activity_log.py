"""The activity log is append-only in the database itself, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from secportal_pipeline.workspace.activity import purge_expired
from secportal_pipeline.workspace.findings import assign_owner, create_finding, set_status
from secportal_pipeline.workspace.schema import activity_log, findings, metadata

from .helpers import T0, build_small, finding_values


@pytest.fixture
def engine(workspace_engine):
    return workspace_engine


def test_every_design_table_exists(engine):
    expected = {"clients", "engagements", "verified_domains", "users", "findings", "overrides", "exceptions",
                "retests", "scan_executions", "scan_results", "finding_controls", "activity_log"}
    assert expected <= set(sa.inspect(engine).get_table_names())
    assert expected <= set(metadata.tables)


def test_update_and_delete_are_refused_by_the_database(engine):
    build_small(engine)
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one()
    assert before == 7  # 5 accounts, the client and the engagement were created
    for statement in ("UPDATE activity_log SET action = 'tampered'", "DELETE FROM activity_log"):
        with pytest.raises(sa.exc.DBAPIError) as refused:
            with engine.begin() as conn:
                conn.exec_driver_sql(statement)
        assert "activity_log is append-only" in str(refused.value)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one() == before
        assert conn.execute(sa.select(sa.func.count()).where(activity_log.c.action == "tampered")).scalar_one() == 0


def test_creation_records_initial_values_and_changes_record_from_to(engine):
    small = build_small(engine)
    with engine.begin() as conn:
        fid = create_finding(conn, finding_values(small, 1), actor_id=small.intake, at=T0)
        assign_owner(conn, fid, small.alice, actor_id=small.bob, at=T0 + timedelta(hours=1))
        set_status(conn, fid, "resolved", actor_id=small.alice, at=T0 + timedelta(days=2))
    with engine.connect() as conn:
        events = conn.execute(
            sa.select(activity_log).where(activity_log.c.entity_type == "finding").order_by(activity_log.c.event_id)
        ).mappings().all()
    assert [e["action"] for e in events] == ["finding.created", "finding.assigned", "finding.updated"]
    initial = events[0]["metadata"]["initial"]
    assert initial["title"] == "Finding 1" and initial["status"] == "open" and initial["owner_id"] is None
    assert initial["opened_at"] == "2026-09-01T09:00:00+00:00" and initial["cve"] == ["CVE-2026-0001"]
    assert events[0]["actor_id"] == small.intake
    assert events[1]["metadata"]["changes"] == [{"field": "owner_id", "from": None, "to": small.alice}]
    assert events[2]["metadata"]["changes"] == [
        {"field": "status", "from": "open", "to": "resolved"},
        {"field": "closed_at", "from": None, "to": "2026-09-03T09:00:00+00:00"},
    ]
    assert events[2]["actor_id"] == small.alice


def test_unchanged_values_write_no_event(engine):
    small = build_small(engine)
    with engine.begin() as conn:
        fid = create_finding(conn, finding_values(small, 2), actor_id=small.intake, at=T0)
        assert assign_owner(conn, fid, None, actor_id=small.bob, at=T0) == []
        count = conn.execute(sa.select(sa.func.count()).where(activity_log.c.entity_id == str(fid),
                                                              activity_log.c.entity_type == "finding")).scalar_one()
    assert count == 1


def test_retention_purge_is_the_one_allowed_delete(engine):
    small = build_small(engine)
    with engine.begin() as conn:
        create_finding(conn, finding_values(small, 3), actor_id=small.intake, at=T0 + timedelta(days=40))
        total = conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one()
        deleted = purge_expired(conn, T0 + timedelta(days=30))
        left = conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one()
    assert deleted == total - 1 and left == 1
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM activity_log")


def test_naive_timestamps_are_refused(engine):
    small = build_small(engine)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with engine.begin() as conn:
            create_finding(conn, finding_values(small, 4), actor_id=small.intake, at=T0.replace(tzinfo=None))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one() == 0


@pytest.mark.postgres
def test_postgres_workspace_from_before_gets_a_text_plugin_id(pg_engine):
    from secportal_pipeline.workspace.db import open_workspace

    url = pg_engine.url.render_as_string(hide_password=False)
    open_workspace(url).dispose()
    with pg_engine.begin() as conn:  # what an earlier version created
        conn.exec_driver_sql("ALTER TABLE findings ALTER COLUMN plugin_id TYPE varchar(64)")
    open_workspace(url).dispose()
    with pg_engine.connect() as conn:
        kind = conn.exec_driver_sql("SELECT data_type FROM information_schema.columns "
                                    "WHERE table_name = 'findings' AND column_name = 'plugin_id'").scalar()
    assert kind == "text"
