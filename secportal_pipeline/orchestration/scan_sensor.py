"""The scan-execution sensor: one scan_diff partition per completed scan execution.

Each tick reads the executions completed since its cursor (the last scan_id it
handled), adds their ids as dynamic partitions of ``scan_executions`` and requests
one run of the per-scan job for each. The intake completes an execution in the same
transaction that creates it, so ids become visible in increasing order and a cursor
on scan_id misses none.
"""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from ..exports.landing import MANIFEST_NAME, partition_dir
from ..workspace.schema import scan_executions
from .partitions import scan_executions as scan_partitions
from .resources import PipelineResource

SCAN_DIFF_JOB = "per_scan_exports"
SCAN_DIFF_CLASS = "scan_diff"
# a burst of imports is caught up over a few ticks rather than in one huge evaluation
MAX_PER_TICK = 200


def completed_since(engine: sa.Engine, cursor: int, limit: int = MAX_PER_TICK) -> list[int]:
    """Completed execution ids above ``cursor``, lowest first."""
    with engine.connect() as conn:
        return list(conn.execute(
            sa.select(scan_executions.c.scan_id)
            .where(scan_executions.c.scan_id > cursor, scan_executions.c.status == "completed")
            .order_by(scan_executions.c.scan_id).limit(limit)
        ).scalars())


@dg.sensor(job_name=SCAN_DIFF_JOB, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Adds a scan_diff partition per completed scan execution and requests its run.")
def scan_execution_sensor(context: dg.SensorEvaluationContext, pipeline: PipelineResource) -> dg.SensorResult:
    cursor = int(context.cursor or 0)
    ids = completed_since(pipeline.engine(), cursor)
    if not ids:
        return dg.SensorResult(skip_reason=f"no scan execution completed after scan_id {cursor}")
    # an execution whose diff already landed in this landing zone (e.g. by the demo) needs no
    # second run; the landing zone, not the Dagster instance, says so, since one instance may
    # serve several data folders
    contract = pipeline.contract(SCAN_DIFF_CLASS)
    keys = [str(scan_id) for scan_id in ids
            if not (partition_dir(pipeline.landing_path, contract, str(scan_id)) / MANIFEST_NAME).exists()]
    if not keys:
        return dg.SensorResult(skip_reason=f"scan executions up to {ids[-1]} already have a landed scan_diff",
                               cursor=str(ids[-1]))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"scan_diff:{key}", partition_key=key) for key in keys],
        dynamic_partitions_requests=[scan_partitions.build_add_request(keys)],
        cursor=str(ids[-1]),
    )
