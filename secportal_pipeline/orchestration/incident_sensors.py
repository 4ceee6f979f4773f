"""Run-status sensors: a failed export run becomes a pipeline incident on the workspace,
and a later successful run of the same export class and partition recovers it."""

from __future__ import annotations

import re

import dagster as dg

from ..contracts.model import Contract
from ..warehouse.ddl import WarehouseSchemaError, published_table
from ..workspace.activity import utcnow
from ..workspace.incidents import FailureCause, classify_failure, diagnosis_text, open_incident, recover_incidents
from .resources import PipelineResource

PARTITION_TAG = "dagster/partition"
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def _causes(error) -> list[FailureCause]:
    """The exception chain of a serialized Dagster error, outermost first (user code's error included)."""
    causes = []
    while error is not None:
        cls_name = error.cls_name or "Error"
        # Dagster prefixes the message with the qualified class name: keep the message alone
        message = re.sub(rf"^(?:[\w.]+\.)?{re.escape(cls_name)}: ", "", (error.message or "").strip())
        causes.append(FailureCause(cls_name, message))
        error = error.cause or getattr(error, "context", None)
    # Dagster's own wrapper says only "Error occurred while executing op ..."; the user's error is the cause
    user = [c for c in causes if not c.cls_name.startswith("Dagster")]
    # a Failure raised from an export refusal (export_failures.py) restates its cause: the cause is the diagnosis
    if len(user) > 1 and user[0].cls_name == "Failure":
        user = user[1:]
    return user or causes


def run_partition(run: dg.DagsterRun) -> str:
    tags = run.tags or {}
    if PARTITION_TAG in tags:
        return tags[PARTITION_TAG]
    start, end = (tags.get(t) for t in RANGE_TAGS)
    if start and end:
        return start if start == end else f"{start}..{end}"
    return "(unpartitioned)"


def export_class_for(step_key: str | None, contracts: dict[str, Contract], fallback: str) -> str:
    """The export class a step belongs to: its own asset, or the export its warehouse table loads."""
    if step_key in contracts:
        return step_key
    for contract in contracts.values():
        try:
            if published_table(contract) == step_key:
                return contract.id
        except WarehouseSchemaError:
            continue
    return step_key or fallback


@dg.run_failure_sensor(
    name="pipeline_incident_on_failure",
    description="Records a pipeline incident on the workspace for each export class a failed run could not "
                "produce: category, partition, run id, diagnosis, a pipeline_incident engagement.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def incident_on_failure(context: dg.RunFailureSensorContext, pipeline: PipelineResource) -> None:
    run = context.dagster_run
    partition = run_partition(run)
    failures = {}
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error if event.step_failure_data else None
        export_class = export_class_for(event.step_key, pipeline.contracts, run.job_name)
        failures.setdefault(export_class, _causes(error))
    if not failures:  # the run failed outside any step (e.g. it could not start)
        error = getattr(context.failure_event.event_specific_data, "error", None)
        failures[run.job_name] = _causes(error) or [FailureCause("RunFailure", context.failure_event.message or "")]
    with pipeline.engine().begin() as conn:
        for export_class, causes in failures.items():
            incident_id = open_incident(
                conn, category=classify_failure(causes), export_class=export_class, partition=partition,
                run_id=run.run_id, diagnosis=diagnosis_text(causes), at=utcnow(),
            )
            context.log.info(f"pipeline incident {incident_id}: {export_class} {partition} (run {run.run_id})")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="pipeline_incident_recovery",
    description="Marks open incidents recovered when a later run of the same export class and partition succeeds.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def incident_recovery(context: dg.RunStatusSensorContext, pipeline: PipelineResource) -> None:
    run = context.dagster_run
    records = context.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    produced = set()
    for record in records:
        event = record.event_log_entry.dagster_event
        materialization = event.step_materialization_data.materialization
        key = materialization.asset_key.to_user_string()
        produced.add((export_class_for(key, pipeline.contracts, key), materialization.partition or run_partition(run)))
    if not produced:
        return
    with pipeline.engine().begin() as conn:
        for export_class, partition in sorted(produced):
            recovered = recover_incidents(conn, export_class=export_class, partition=partition,
                                          run_id=run.run_id, at=utcnow())
            if recovered:
                context.log.info(f"recovered incident(s) {recovered}: {export_class} {partition}")


INCIDENT_SENSORS = [incident_on_failure, incident_recovery]
