"""A refused export fails its run with the failure cases as metadata, lands nothing, and becomes an incident
of the right category (issue 4 §11, issue 6 §5)."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.contracts.validate import ContractViolation, Violation
from secportal_pipeline.exports import classify as classify_module
from secportal_pipeline.exports import run as run_module
from secportal_pipeline.orchestration.assets.exports import export_asset
from secportal_pipeline.orchestration.export_failures import failure_cases
from secportal_pipeline.orchestration.incident_sensors import incident_on_failure
from secportal_pipeline.orchestration.resources import PipelineResource
from secportal_pipeline.workspace.activity import utcnow
from secportal_pipeline.workspace.credentials import create_credential
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.schema import activity_log, pipeline_incidents
from tests.conftest import REPO_ROOT
from tests.workspace.helpers import small_with_findings

CONTRACT = load_contract(REPO_ROOT / "contracts" / "findings_snapshot.yaml")
WEEK = "2026-09-07"


@pytest.fixture
def pipeline(settings):
    engine = open_workspace(settings.workspace_url)
    small = small_with_findings(engine, 2)
    return engine, small, PipelineResource.from_settings(settings)


def _credential(engine, small) -> None:
    with engine.begin() as conn:
        create_credential(conn, "svc-export-findings", actor_id=small.system, at=utcnow())


def _failed_run(resource: PipelineResource, instance: dg.DagsterInstance):
    """Materialize the findings snapshot for WEEK in process; returns the result and its step failure."""
    result = dg.materialize([export_asset(CONTRACT)], partition_key=WEEK, instance=instance,
                            resources={"pipeline": resource}, raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    return result, failure.step_failure_data


def _incident(instance, result, resource, engine) -> dict:
    (record,) = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    context = dg.build_run_status_sensor_context(
        sensor_name="test", dagster_event=record.event_log_entry.dagster_event, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id), resources={"pipeline": resource})
    incident_on_failure(context.for_run_failure())
    with engine.connect() as conn:
        (incident,) = conn.execute(sa.select(pipeline_incidents)).mappings()
    return dict(incident)


def _nothing_landed(settings, engine) -> None:
    version_dir = settings.landing_root / "findings_snapshot" / "v1"
    # no partition folder and no staging folder left behind, no export.run entry
    assert not (version_dir / WEEK).exists()
    assert not version_dir.exists() or list(version_dir.iterdir()) == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(activity_log.c.action == "export.run")).scalar_one() == 0


def test_a_drifted_builder_fails_the_run_with_its_failure_cases_and_lands_nothing(pipeline, settings, monkeypatch):
    engine, small, resource = pipeline
    _credential(engine, small)
    real = run_module.BUILDERS["findings_snapshot"]
    monkeypatch.setitem(run_module.BUILDERS, "findings_snapshot",
                        lambda conn, contract, partition: real(conn, contract, partition)
                        .rename(columns={"asset_ref": "asset"}))
    with dg.instance_for_test() as instance:
        result, failure = _failed_run(resource, instance)
        incident = _incident(instance, result, resource, engine)

    metadata = failure.user_failure_data.metadata
    assert metadata["contract"].value == f"findings_snapshot v{CONTRACT.version}"
    assert (metadata["partition"].value, metadata["stage"].value, metadata["violations"].value) == (
        WEEK, "canonical", 2)
    cases = metadata["failure_cases"]
    assert [c.name for c in cases.schema.columns] == ["column", "check", "value", "row"]
    assert [r.data for r in cases.records] == [
        {"column": "asset", "check": "column not in the contract (added or renamed), looks renamed from "
                                     "'asset_ref'", "value": "asset", "row": None},
        {"column": "asset_ref", "check": "contract column missing from the data (removed or renamed), looks "
                                         "renamed to 'asset'", "value": "asset_ref", "row": None},
    ]
    assert failure.user_failure_data.description.startswith(
        f"findings_snapshot partition {WEEK} was not landed. findings_snapshot v{CONTRACT.version} partition "
        f"{WEEK} (canonical): 2 contract violation(s)")
    _nothing_landed(settings, engine)
    assert (incident["category"], incident["export_class"], incident["partition"]) == (
        "contract_violation", "findings_snapshot", WEEK)
    # the diagnosis is the contract's own message, not Dagster's wrapper restating it
    assert incident["diagnosis"].startswith(f"ContractViolation: findings_snapshot v{CONTRACT.version} partition "
                                            f"{WEEK} (canonical): 2 contract violation(s): column 'asset'")


def test_a_redaction_rule_miss_fails_with_its_leaks_and_is_filed_as_one(pipeline, settings, monkeypatch):
    engine, small, resource = pipeline
    _credential(engine, small)
    real = classify_module.classify

    def description_into_title(frame, contract, key):
        return real(frame, contract, key).assign(title=frame["description"].to_numpy())
    monkeypatch.setattr(run_module, "classify", description_into_title)
    with dg.instance_for_test() as instance:
        result, failure = _failed_run(resource, instance)
        incident = _incident(instance, result, resource, engine)

    metadata = failure.user_failure_data.metadata
    assert metadata["leaks"].value == 2
    assert [r.data for r in metadata["leak_cases"].records] == [
        {"column": "description", "treatment": "redacted", "file": f"findings_snapshot.{ext}",
         "landed_column": "title", "row": 1, "cells": 2} for ext in ("csv", "parquet")]
    assert "details of 1" not in str(metadata) and "details of 1" not in incident["diagnosis"]
    _nothing_landed(settings, engine)
    assert incident["category"] == "redaction_rule_miss"
    assert incident["diagnosis"].startswith("LeakDetected: findings_snapshot")


def test_a_refused_service_account_fails_with_account_and_reason(pipeline, settings):
    engine, _, resource = pipeline  # svc-export-findings holds no credential
    with dg.instance_for_test() as instance:
        result, failure = _failed_run(resource, instance)
        incident = _incident(instance, result, resource, engine)

    metadata = failure.user_failure_data.metadata
    assert (metadata["service_account"].value, metadata["reason"].value) == (
        "svc-export-findings", "no active credential (issue one: secportal-pipeline accounts credential create "
                               "svc-export-findings)")
    _nothing_landed(settings, engine)
    assert incident["category"] == "service_account_failure"
    assert incident["diagnosis"] == (
        "AccessDenied: export findings_snapshot: service account 'svc-export-findings' refused: no active "
        "credential (issue one: secportal-pipeline accounts credential create svc-export-findings)")


def test_a_failure_case_never_shows_a_raw_value_of_a_non_raw_column():
    violation = ContractViolation(CONTRACT, WEEK, [
        Violation("owner", "failed check str_length(None, 320)", "alice@acme.example", 3),
        Violation("title", "required value is empty", "nan", 4),
    ], "canonical")
    assert [r.data for r in failure_cases(violation).records] == [
        {"column": "owner", "check": "failed check str_length(None, 320)", "value": "[REDACTED] (hashed column)",
         "row": 3},
        {"column": "title", "check": "required value is empty", "value": "nan", "row": 4},
    ]
