"""The monthly cadence: its classes, their warehouse tables, and the schedule's tick."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from secportal_pipeline.orchestration.definitions import build_definitions

MONTHLY = ("dim_client", "dim_engagement", "dim_asset", "report_severity_distribution",
           "report_remediation_throughput", "report_exception_summary", "report_framework_coverage")


def test_monthly_classes_and_their_tables_are_in_the_monthly_job(env):
    defs = build_definitions()
    selected = {k.to_user_string() for k in defs.resolve_job_def("monthly_exports").asset_layer.selected_asset_keys}
    for name in MONTHLY:
        assert {name, f"published/{name}"} <= selected
        assert defs.resolve_assets_def(name).partitions_def == defs.resolve_assets_def("dim_asset").partitions_def
    # a dimension's warehouse table shares its class's name, so its asset lives under published/
    assert defs.resolve_assets_def(dg.AssetKey(["published", "dim_asset"])).keys == {
        dg.AssetKey(["published", "dim_asset"])}
    assert defs.resolve_assets_def("fact_scan_diff").partitions_def.name == "scan_executions"


def test_monthly_schedule_requests_the_month_that_just_closed(env):
    schedule = build_definitions().resolve_schedule_def("monthly_exports_schedule")
    assert schedule.cron_schedule == "0 3 1 * *"
    with dg.build_schedule_context(scheduled_execution_time=datetime(2026, 12, 1, 3, 0, tzinfo=UTC)) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-11-01"]
