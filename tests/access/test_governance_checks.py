"""MFA posture and classification-review checks, and `contracts review` rewriting the file."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from secportal_pipeline.cli import main
from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.orchestration.access_checks import mfa_result, review_result
from secportal_pipeline.orchestration.resources import PipelineResource
from secportal_pipeline.workspace.access import set_require_mfa
from secportal_pipeline.workspace.accounts import ensure_user
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import create_finding, decide_exception, request_exception
from secportal_pipeline.workspace.schema import activity_log
from tests.conftest import REPO_ROOT
from tests.workspace.helpers import T0, build_small, finding_values

FINDINGS = REPO_ROOT / "contracts" / "findings_snapshot.yaml"


@pytest.fixture
def contracts_dir(tmp_path, monkeypatch):
    """A private copy of two contracts, so a review can rewrite them."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    for name in ("findings_snapshot.yaml", "access_review.yaml"):
        shutil.copyfile(REPO_ROOT / "contracts" / name, folder / name)
    monkeypatch.setenv("SECPORTAL_CONTRACTS_DIR", str(folder))
    return folder


@pytest.fixture
def workspace(settings, contracts_dir):
    engine = open_workspace(settings.workspace_url)
    small = build_small(engine)
    with engine.begin() as conn:
        ensure_user(conn, "dana.whitfield", role="owner", at=T0, actor_id=small.system, mfa_enrolled=True)
        ensure_user(conn, "rob", role="billing", at=T0, actor_id=small.system, mfa_enrolled=True)
        ensure_user(conn, "marcus.chen", role="admin", at=T0, actor_id=small.system, mfa_enrolled=True)
    return engine, small, PipelineResource.from_settings()


def test_mfa_posture_flags_owners_and_approvers_without_mfa_only_when_required(workspace):
    engine, small, pipeline = workspace
    with engine.begin() as conn:
        finding = create_finding(conn, finding_values(small, 1), actor_id=small.intake, at=T0)
        exception = request_exception(conn, finding, compensating_controls="WAF", residual_likelihood="low",
                                      residual_impact="low", business_rationale="legacy", expires_on=date(2027, 1, 1),
                                      review_cadence_days=90, actor_id=small.alice, at=T0)
        decide_exception(conn, exception, "approved", actor_id=small.bob, at=T0)  # bob has no MFA
    assert mfa_result(pipeline).passed  # not required yet
    with engine.begin() as conn:
        set_require_mfa(conn, True, actor_id=small.system, at=T0)
    result = mfa_result(pipeline)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    # both contracts' owner, dana.whitfield, is enrolled: only the approver is a gap
    assert result.description == (
        f"the workspace requires MFA: exception {exception}: bob (approver has no MFA enrolled)")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE users SET mfa_enrolled = 0 WHERE handle = 'dana.whitfield'")
    assert mfa_result(pipeline).description == (
        "the workspace requires MFA: access_review: dana.whitfield (owner has no MFA enrolled); findings_snapshot: "
        f"dana.whitfield (owner has no MFA enrolled); exception {exception}: bob (approver has no MFA enrolled)")
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM users WHERE handle = 'dana.whitfield'")
    assert "findings_snapshot: dana.whitfield (owner is not a workspace account)" in mfa_result(pipeline).description


def test_an_overdue_review_is_a_warning_naming_the_fix():
    contract = load_contract(FINDINGS)  # reviewed 2026-11-02, every 90 days
    assert review_result(contract, date(2027, 1, 31)).passed
    overdue = review_result(contract, date(2027, 2, 1))
    assert (overdue.passed, overdue.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert overdue.description == (
        "findings_snapshot: the review of its 'confidential' classification was due 2027-01-31; record one with: "
        "secportal-pipeline contracts review findings_snapshot --approver <admin or owner>")
    never = dataclasses.replace(contract, custom={k: v for k, v in contract.custom.items()
                                                  if k != "classificationReviewedOn"})
    assert "has never been recorded" in review_result(never, date(2026, 12, 1)).description


def test_contracts_review_records_on_the_log_and_rewrites_only_those_lines(workspace, contracts_dir):
    engine, *_ = workspace
    path = contracts_dir / "findings_snapshot.yaml"
    before = path.read_text()
    result = CliRunner().invoke(main, ["contracts", "review", "findings_snapshot", "--approver", "marcus.chen",
                                       "--on", "2026-12-03"])
    assert result.exit_code == 0, result.output
    assert result.output == (f"findings_snapshot: classification confidential reviewed on 2026-12-03 by "
                             f"marcus.chen; next review due 2027-03-03 ({path})\n")
    after = path.read_text()
    assert after == before.replace('value: "2026-11-02"', 'value: "2026-12-03"').replace(
        "  - property: classificationReviewedBy\n    value: dana.whitfield",
        "  - property: classificationReviewedBy\n    value: marcus.chen")
    contract = load_contract(path)
    assert (contract.custom["classificationReviewedOn"], contract.custom["classificationReviewedBy"]) == \
        ("2026-12-03", "marcus.chen")
    assert review_result(contract, date(2026, 12, 3) + timedelta(days=90)).passed
    with engine.connect() as conn:
        (event,) = conn.execute(sa.select(activity_log).where(activity_log.c.entity_type == "contract")).mappings()
    assert (event["action"], event["entity_id"]) == ("contract.classification_reviewed", "findings_snapshot")
    assert event["metadata"]["changes"] == [
        {"field": "classificationReviewedOn", "from": "2026-11-02", "to": "2026-12-03"},
        {"field": "classificationReviewedBy", "from": "dana.whitfield", "to": "marcus.chen"}]


@pytest.mark.parametrize(("approver", "reason"), [
    ("alice", "approver 'alice' has role 'member'; a classification review needs admin or owner"),
    ("rob", "approver 'rob' has role 'billing'; a classification review needs admin or owner"),
    ("svc-workspace", "approver 'svc-workspace' is a service account; a person must review"),
    ("nobody", "approver 'nobody' does not exist in the workspace"),
])
def test_only_an_admin_or_owner_person_may_review(workspace, contracts_dir, approver, reason):
    engine, *_ = workspace
    before = (contracts_dir / "findings_snapshot.yaml").read_text()
    result = CliRunner().invoke(main, ["contracts", "review", "findings_snapshot", "--approver", approver])
    assert result.exit_code == 1 and result.output == f"Error: {reason}\n"
    assert (contracts_dir / "findings_snapshot.yaml").read_text() == before
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(activity_log.c.entity_type == "contract")).scalar_one() == 0
