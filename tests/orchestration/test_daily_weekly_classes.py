"""activity_slice (daily) and exception_register (weekly) in the code location: jobs, ticks, a range run."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import duckdb

from secportal_pipeline.orchestration.definitions import build_definitions
from secportal_pipeline.orchestration.runner import run_partition_range
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import create_finding, set_status
from tests.exports.export_helpers import add_export_account
from tests.workspace.helpers import build_small, finding_values


def job_assets(defs: dg.Definitions, job_name: str) -> set[str]:
    job = defs.resolve_job_def(job_name)
    return {key.to_user_string() for key in job.asset_layer.executable_asset_keys}


def test_each_class_sits_in_its_cadence_job_with_its_warehouse_table(env):
    defs = build_definitions()
    assert {"activity_slice", "fact_activity_event"} <= job_assets(defs, "daily_exports")
    assert {"exception_register", "fact_exception", "findings_snapshot"} <= job_assets(defs, "weekly_exports")
    daily = defs.resolve_assets_def("activity_slice").partitions_def
    assert daily.get_partition_keys(current_time=datetime(2026, 1, 8, tzinfo=UTC)) == [
        "2026-01-05", "2026-01-06", "2026-01-07"]
    for name in ("activity_slice", "exception_register"):
        assert defs.resolve_assets_def(name).backfill_policy == dg.BackfillPolicy.single_run()


def test_daily_schedule_requests_the_day_that_just_closed(env):
    schedule = build_definitions().resolve_schedule_def("daily_exports_schedule")
    assert schedule.cron_schedule == "0 3 * * *"
    with dg.build_schedule_context(scheduled_execution_time=datetime(2026, 9, 15, 3, 0, tzinfo=UTC)) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-09-14"]
    assert [r.job_name for r in requests] in ([None], ["daily_exports"])


def test_weekly_schedule_tick_covers_the_exception_register(env):
    defs = build_definitions()
    schedule = defs.resolve_schedule_def("weekly_exports_schedule")
    with dg.build_schedule_context(scheduled_execution_time=datetime(2026, 9, 21, 3, 0, tzinfo=UTC)) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-09-14"]
    assert "exception_register" in job_assets(defs, schedule.job_name)


def test_a_day_range_lands_and_loads_in_one_run(env, settings):
    engine = open_workspace(settings.workspace_url)
    s = build_small(engine)
    with engine.begin() as c:
        add_export_account(c, "svc-export-activity", "member", s.system)
        f1 = create_finding(c, finding_values(s, 1), actor_id=s.intake, at=datetime(2026, 9, 2, 8, tzinfo=UTC))
        set_status(c, f1, "in_progress", actor_id=s.alice, at=datetime(2026, 9, 4, 8, tzinfo=UTC))
    with dg.instance_for_test() as instance:
        run_partition_range(build_definitions(), "daily_exports", "2026-09-02", "2026-09-04", instance)
        runs = instance.get_runs()
        materialized = instance.fetch_materializations(dg.AssetKey("fact_activity_event"), limit=10).records
    days = ["2026-09-02", "2026-09-03", "2026-09-04"]
    counts = {d: json.loads((settings.landing_root / "activity_slice" / "v1" / d / "_manifest.json").read_text())
              ["row_count"] for d in days}
    assert counts == {"2026-09-02": 1, "2026-09-03": 0, "2026-09-04": 1}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        loaded = dict(con.execute("SELECT _partition, count(*) FROM published.fact_activity_event GROUP BY 1").fetchall())
    assert loaded == {"2026-09-02": 1, "2026-09-04": 1}
    assert len(runs) == 1 and runs[0].is_success
    assert sorted(r.partition_key for r in materialized) == days
