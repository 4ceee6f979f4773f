"""A failed run becomes a pipeline incident; a later success of the same partition recovers it."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.orchestration.assets.exports import export_asset
from secportal_pipeline.orchestration.assets.warehouse import warehouse_asset
from secportal_pipeline.orchestration.incident_sensors import incident_on_failure, incident_recovery
from secportal_pipeline.orchestration.resources import PipelineResource
from secportal_pipeline.workspace.activity import utcnow
from secportal_pipeline.workspace.credentials import create_credential
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import create_finding
from secportal_pipeline.workspace.incidents import FailureCause, classify_failure
from secportal_pipeline.workspace.schema import activity_log, engagements, pipeline_incidents, users
from tests.conftest import REPO_ROOT
from tests.workspace.helpers import T0, build_small, finding_values

CONTRACT = load_contract(REPO_ROOT / "contracts" / "findings_snapshot.yaml")
WEEK = "2026-09-07"


@pytest.mark.parametrize(("causes", "category"), [
    ([("ContractViolation", "findings_snapshot v1.0.0 partition 2026-09-07: 2 contract violation(s)")],
     "contract_violation"),
    ([("ContractError", "column 'owner' was renamed")], "contract_violation"),
    ([("AccessDenied", "service account 'svc-x' refused: no active credential")], "service_account_failure"),
    ([("UnknownAccount", "account 'svc-x' does not exist")], "service_account_failure"),
    ([("LeakDetected", "scan_diff v1 partition 7: redaction rule miss: raw value(s) of column 'evidence'")],
     "redaction_rule_miss"),
    ([("RuntimeError", "dimension key gap: findings reference assets missing from the registry")],
     "dimension_key_gap"),
    ([("DagsterExecutionStepExecutionError", "Error occurred while executing op"), ("ValueError", "boom")], "other"),
])
def test_failures_are_classified_from_their_exception_chain(causes, category):
    assert classify_failure(FailureCause(*c) for c in causes) == category


@pytest.fixture
def pipeline(settings):
    engine = open_workspace(settings.workspace_url)
    small = build_small(engine)  # svc-export-findings exists but holds no credential yet
    with engine.begin() as conn:
        create_finding(conn, finding_values(small, 1), actor_id=small.intake, at=T0)
    return engine, small, PipelineResource.from_settings(settings)


def _run(pipeline_resource: PipelineResource, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job("findings_only", selection=[CONTRACT.id, "fact_finding_snapshot"])
    defs = dg.Definitions(assets=[export_asset(CONTRACT), warehouse_asset(CONTRACT)], jobs=[job],
                          resources={"pipeline": pipeline_resource})
    return defs.resolve_job_def("findings_only").execute_in_process(
        partition_key=WEEK, instance=instance, raise_on_error=False)


def _status_context(instance, result, event_type, resource):
    (record,) = instance.get_records_for_run(result.run_id, of_type=event_type).records
    return dg.build_run_status_sensor_context(
        sensor_name="test", dagster_event=record.event_log_entry.dagster_event, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id), resources={"pipeline": resource},
    )


def _incidents(engine):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(pipeline_incidents)).mappings()]


def test_a_failed_run_is_recorded_and_a_later_success_recovers_it(pipeline):
    engine, small, resource = pipeline
    with dg.instance_for_test() as instance:
        failed = _run(resource, instance)
        assert not failed.success
        incident_on_failure(_status_context(instance, failed, dg.DagsterEventType.RUN_FAILURE, resource)
                            .for_run_failure())
        # the sensor sees the same run again after a restart: still one incident
        incident_on_failure(_status_context(instance, failed, dg.DagsterEventType.RUN_FAILURE, resource)
                            .for_run_failure())
        (incident,) = _incidents(engine)
        assert {k: incident[k] for k in ("category", "export_class", "partition", "run_id", "status")} == {
            "category": "service_account_failure", "export_class": "findings_snapshot", "partition": WEEK,
            "run_id": failed.run_id, "status": "open"}
        assert incident["diagnosis"] == (
            "AccessDenied: export findings_snapshot: service account 'svc-export-findings' refused: no active "
            "credential (issue one: secportal-pipeline accounts credential create svc-export-findings)")
        with engine.connect() as conn:
            engagement = conn.execute(sa.select(engagements).where(
                engagements.c.engagement_id == incident["engagement_id"])).mappings().one()
            opened = conn.execute(sa.select(activity_log.c.action, users.c.handle)
                                  .join(users, users.c.user_id == activity_log.c.actor_id)
                                  .where(activity_log.c.entity_type == "pipeline_incident")).all()
        assert (engagement["engagement_type"], engagement["status"]) == ("pipeline_incident", "active")
        assert engagement["name"] == f"Pipeline incident: findings_snapshot {WEEK} (service_account_failure)"
        assert opened == [("pipeline_incident.opened", "svc-pipeline-monitor")]

        with engine.begin() as conn:
            create_credential(conn, "svc-export-findings", actor_id=small.system, at=utcnow())
        succeeded = _run(resource, instance)
        assert succeeded.success
        incident_recovery(_status_context(instance, succeeded, dg.DagsterEventType.RUN_SUCCESS, resource))

    (incident,) = _incidents(engine)
    assert (incident["status"], incident["recovered_by_run_id"]) == ("recovered", succeeded.run_id)
    with engine.connect() as conn:
        assert conn.execute(sa.select(engagements.c.status).where(
            engagements.c.engagement_id == incident["engagement_id"])).scalar_one() == "completed"
        actions = conn.execute(sa.select(activity_log.c.action)
                               .where(activity_log.c.entity_type == "pipeline_incident")
                               .order_by(activity_log.c.event_id)).scalars().all()
    assert actions == ["pipeline_incident.opened", "pipeline_incident.recovered"]


def test_a_success_of_another_partition_recovers_nothing(pipeline):
    engine, small, resource = pipeline
    with dg.instance_for_test() as instance:
        failed = _run(resource, instance)
        incident_on_failure(_status_context(instance, failed, dg.DagsterEventType.RUN_FAILURE, resource)
                            .for_run_failure())
        with engine.begin() as conn:
            conn.execute(pipeline_incidents.update().values(partition="2026-09-14"))
            create_credential(conn, "svc-export-findings", actor_id=small.system, at=utcnow())
        succeeded = _run(resource, instance)
        incident_recovery(_status_context(instance, succeeded, dg.DagsterEventType.RUN_SUCCESS, resource))
    assert [i["status"] for i in _incidents(engine)] == ["open"]
