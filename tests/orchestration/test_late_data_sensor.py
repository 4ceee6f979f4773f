"""The late-data sensor on a real workspace and landing zone, evaluated with build_sensor_context."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from secportal_pipeline.orchestration.late_data_sensor import build_late_data_sensor
from secportal_pipeline.orchestration.resources import PipelineResource
from secportal_pipeline.orchestration.schedules import cadence_job
from secportal_pipeline.workspace.findings import set_status
from tests.conftest import REPO_ROOT
from tests.warehouse.marts_world import W1, W2, at, build_world

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


def tick(world, instance, cursor):
    sensor = build_late_data_sensor([cadence_job(c, []) for c in ("daily", "monthly", "weekly")])
    pipeline = PipelineResource(workspace_url=world.engine.url.render_as_string(), landing_root=str(world.landing),
                                warehouse_path=str(world.warehouse), contracts_dir=str(REPO_ROOT / "contracts"),
                                intake_dir=str(world.landing.parent / "inbox"))
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"pipeline": pipeline}) as context:
        return sensor(context)


def requested(result):
    return sorted(
        (r.job_name, r.partition_key or f"{r.tags[RANGE_START]}...{r.tags[RANGE_END]}",
         sorted(k.to_user_string() for k in r.asset_selection))
        for r in result.run_requests
    )


def test_a_back_dated_change_requests_exactly_the_affected_landed_partitions(world):
    instance = dg.DagsterInstance.ephemeral()
    first = tick(world, instance, None)  # everything on the log was recorded before it landed
    assert not first.run_requests and "none late" in first.skip_reason.skip_message
    with world.engine.begin() as conn:  # today, someone records a change made on Wednesday 9 September
        set_status(conn, world.ids["f3"], "in_progress", actor_id=3, at=at(9, 15))

    result = tick(world, instance, first.cursor)

    assert requested(result) == [
        ("daily_exports", "2026-09-09", ["activity_slice", "fact_activity_event"]),
        ("monthly_exports", "2026-09-01", ["published/report_framework_coverage", "report_framework_coverage"]),
        # the snapshot of every landed week ending after the change holds the finding's new state
        ("weekly_exports", f"{W1}...{W2}", ["fact_finding_snapshot", "findings_snapshot"]),
    ]
    assert int(result.cursor) > int(first.cursor)
    again = tick(world, instance, result.cursor)
    assert not again.run_requests


def test_an_event_in_a_partition_not_landed_yet_requests_nothing(world):
    instance = dg.DagsterInstance.ephemeral()
    first = tick(world, instance, None)
    with world.engine.begin() as conn:  # in October: no October partition has landed
        set_status(conn, world.ids["f3"], "in_progress", actor_id=3, at=datetime(2026, 10, 20, tzinfo=UTC))
    result = tick(world, instance, first.cursor)
    assert not result.run_requests
