"""Access and governance checks: classification reviews (WARN) and MFA posture.

Neither blocks a landing: an overdue review or an owner without MFA is a decision for
a person, not a reason to hold back data that is otherwise correct.
"""

from __future__ import annotations

import dagster as dg

from ..contracts.model import Contract
from ..contracts.review import review_status
from ..workspace.access import mfa_gaps, require_mfa
from ..workspace.activity import utcnow
from .resources import PipelineResource

CLASSIFICATION_REVIEW = "classification_review"
MFA_POSTURE = "mfa_posture"
ACCESS_REVIEW = "access_review"


def contract_owner_handle(contract: Contract) -> str:
    """The workspace handle of the contract's owner: the team member with role owner (username = handle)."""
    return contract.owner


def review_result(contract: Contract, today) -> dg.AssetCheckResult:
    status = review_status(contract)
    metadata = {"classification": status.classification, "reviewed_on": str(status.reviewed_on),
                "reviewed_by": str(status.reviewed_by), "cadence_days": status.cadence_days,
                "next_due": str(status.next_due)}
    if not status.overdue(today):
        return dg.AssetCheckResult(check_name=CLASSIFICATION_REVIEW, passed=True, metadata=metadata)
    when = f"was due {status.next_due.isoformat()}" if status.next_due else "has never been recorded"
    return dg.AssetCheckResult(
        check_name=CLASSIFICATION_REVIEW, passed=False, severity=dg.AssetCheckSeverity.WARN, metadata=metadata,
        description=f"{contract.id}: the review of its {status.classification!r} classification {when}; record one "
                    f"with: secportal-pipeline contracts review {contract.id} --approver <admin or owner>",
    )


def classification_review_check(contract: Contract) -> dg.AssetChecksDefinition:
    @dg.asset_check(name=CLASSIFICATION_REVIEW, asset=contract.id, blocking=False,
                    description=f"{contract.id}'s classification was reviewed within its cadence (WARN when overdue).")
    def _check(pipeline: PipelineResource) -> dg.AssetCheckResult:
        return review_result(pipeline.contract(contract.id), utcnow().date())

    return _check


def mfa_result(pipeline: PipelineResource) -> dg.AssetCheckResult:
    owners = {c.id: contract_owner_handle(c) for c in pipeline.contracts.values()}
    with pipeline.engine().connect() as conn:
        required = require_mfa(conn)
        gaps = mfa_gaps(conn, owners) if required else []
    metadata = {"require_mfa": required, "gaps": dg.MetadataValue.json(gaps)}
    if not gaps:
        return dg.AssetCheckResult(check_name=MFA_POSTURE, passed=True, metadata=metadata)
    text = "; ".join(f"{g['subject']}: {g['account']} ({g['reason']})" for g in gaps)
    return dg.AssetCheckResult(check_name=MFA_POSTURE, passed=False, severity=dg.AssetCheckSeverity.ERROR,
                               metadata=metadata, description=f"the workspace requires MFA: {text}")


@dg.asset_check(name=MFA_POSTURE, asset=ACCESS_REVIEW, blocking=False,
                description="When the workspace requires MFA: every contract owner and every approver of an "
                            "approved exception has MFA enrolled.")
def mfa_posture_check(pipeline: PipelineResource) -> dg.AssetCheckResult:
    return mfa_result(pipeline)


def access_checks(contracts: dict[str, Contract]) -> list[dg.AssetChecksDefinition]:
    checks = [classification_review_check(c) for c in contracts.values()]
    return checks + ([mfa_posture_check] if ACCESS_REVIEW in contracts else [])
