"""The code location: its graph, schedules and a real in-process materialization."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import duckdb

from secportal_pipeline.intake.service import import_file
from secportal_pipeline.orchestration.definitions import build_definitions
from secportal_pipeline.orchestration.runner import run_partitions
from secportal_pipeline.workspace.accounts import ensure_user
from secportal_pipeline.workspace.activity import utcnow
from secportal_pipeline.workspace.credentials import create_credential
from secportal_pipeline.workspace.db import open_workspace
from tests.workspace.helpers import T0


def test_graph_has_each_export_and_its_warehouse_table(env):
    defs = build_definitions()
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"findings_snapshot", "fact_finding_snapshot"} <= keys
    weekly = defs.resolve_assets_def("findings_snapshot").partitions_def
    assert weekly.get_partition_keys(current_time=datetime(2026, 1, 20, tzinfo=UTC)) == ["2026-01-05", "2026-01-12"]
    assert defs.resolve_assets_def("fact_finding_snapshot").backfill_policy == dg.BackfillPolicy.single_run()


def test_weekly_schedule_requests_the_week_that_just_closed(env):
    defs = build_definitions()
    schedule = defs.resolve_schedule_def("weekly_exports_schedule")
    assert schedule.cron_schedule == "0 3 * * 1"
    with dg.build_schedule_context(scheduled_execution_time=datetime(2026, 9, 14, 3, 0, tzinfo=UTC)) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-09-07"]


def test_weekly_job_lands_and_loads_a_partition(env, settings, samples):
    engine = open_workspace(settings.workspace_url)
    summary = import_file(engine, samples / "burp" / "dradisburp__burp_issue_severity.xml")
    with engine.begin() as conn:
        # every weekly class runs under its own account, each with a credential issued now
        for handle, role in (("svc-export-findings", "member"), ("svc-export-exceptions", "admin")):
            ensure_user(conn, handle, role=role, at=T0, is_service_account=True, actor_id=1)
            create_credential(conn, handle, actor_id=1, at=utcnow())
    defs = build_definitions()
    with dg.instance_for_test() as instance:
        # the Burp export is from 2021; its findings are still open, so every 2026 week holds them
        run_partitions(defs, "weekly_exports", ["2026-09-07"], instance)
        materialized = instance.get_latest_materialization_event(dg.AssetKey("fact_finding_snapshot"))
    assert summary.new == 5
    manifest = json.loads((settings.landing_root / "findings_snapshot" / "v1" / "2026-09-07" / "_manifest.json").read_text())
    assert manifest["row_count"] == 5
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM published.fact_finding_snapshot").fetchone()[0] == 5
    assert materialized.asset_materialization.partition == "2026-09-07"
