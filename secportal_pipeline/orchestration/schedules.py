"""One job and one schedule per cadence: each run materializes the partition that just closed."""

from __future__ import annotations

import dagster as dg

from .partitions import BY_CADENCE

# run at 03:00 UTC after the partition closes: late-evening scans of the last day are in
_HOUR = 3


def cadence_job(cadence: str, asset_keys: list[dg.AssetKey]) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name=f"{cadence}_exports",
        selection=dg.AssetSelection.assets(*asset_keys),
        partitions_def=BY_CADENCE[cadence],
        description=f"Every {cadence} export class and its warehouse table, one partition per run.",
    )


def cadence_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    return dg.build_schedule_from_partitioned_job(
        job, name=f"{job.name}_schedule", hour_of_day=_HOUR, minute_of_hour=0,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
