"""Classification reviews: when each contract's classification is due, and recording one.

A review is recorded twice, on purpose: on the workspace's activity log (who, when,
what changed) and in the contract file itself, whose customProperties
classificationReviewedOn / classificationReviewedBy are rewritten in place with the
rest of the file (comments, order, quoting) left exactly as it was.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from ..workspace.activity import record_event
from ..workspace.schema import users
from .model import Contract, ContractError, load_contract

REVIEWED_ON, REVIEWED_BY, CADENCE = ("classificationReviewedOn", "classificationReviewedBy",
                                     "classificationReviewCadenceDays")
REVIEWER_ROLES = ("admin", "owner")
DEFAULT_CADENCE_DAYS = 90


class ReviewRefused(ValueError):
    pass


@dataclass(frozen=True)
class ReviewStatus:
    contract_id: str
    classification: str
    reviewed_on: date | None
    reviewed_by: str | None
    cadence_days: int
    path: Path

    @property
    def next_due(self) -> date | None:
        return None if self.reviewed_on is None else self.reviewed_on + timedelta(days=self.cadence_days)

    def overdue(self, today: date) -> bool:
        """Never reviewed, or the cadence ran out before ``today``."""
        return self.next_due is None or self.next_due < today


def review_status(contract: Contract) -> ReviewStatus:
    raw = contract.custom.get(REVIEWED_ON)
    reviewed_on = date.fromisoformat(str(raw)) if raw else None
    return ReviewStatus(contract.id, contract.classification, reviewed_on, contract.custom.get(REVIEWED_BY),
                        int(contract.custom.get(CADENCE) or DEFAULT_CADENCE_DAYS), contract.source)


def _set_property(text: str, name: str, value: str) -> str:
    """``text`` with the top-level custom property ``name`` set to ``value`` (added if absent)."""
    pattern = re.compile(rf"^(?P<head>[ \t]*- property: {re.escape(name)}[ \t]*\n[ \t]*value:[ \t]*)(?P<value>.*)$",
                         re.MULTILINE)
    if len(pattern.findall(text)) > 1:
        raise ContractError(f"custom property {name} appears more than once")
    if pattern.search(text):
        return pattern.sub(lambda m: m.group("head") + value, text, count=1)
    top = re.search(r"^customProperties:[ \t]*\n", text, re.MULTILINE)
    if top is None:
        raise ContractError("no top-level customProperties to record the review in")
    return text[:top.end()] + f"  - property: {name}\n    value: {value}\n" + text[top.end():]


def rewrite_review(path: Path, reviewed_on: date, reviewed_by: str) -> Contract:
    """Set the review date and reviewer in the contract file, atomically; returns it re-read."""
    original = path.read_text(encoding="utf-8")
    text = _set_property(original, REVIEWED_ON, f'"{reviewed_on.isoformat()}"')
    text = _set_property(text, REVIEWED_BY, reviewed_by)
    staging = path.with_name(f".{path.name}.review")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)
    try:
        contract = load_contract(path)
        assert review_status(contract).reviewed_on == reviewed_on and contract.custom[REVIEWED_BY] == reviewed_by
    except Exception:
        path.write_text(original, encoding="utf-8")
        raise
    return contract


def record_review(engine: sa.Engine, contract: Contract, *, approver: str, on: date, at: datetime) -> ReviewStatus:
    """Record ``approver``'s classification review of ``contract`` on the log and in its file.

    The approver must be an enabled person holding admin or owner.
    """
    before = review_status(contract)
    with engine.begin() as conn:
        user = conn.execute(
            sa.select(users.c.user_id, users.c.role, users.c.is_service_account, users.c.disabled_at)
            .where(users.c.handle == approver)
        ).one_or_none()
        if user is None:
            raise ReviewRefused(f"approver {approver!r} does not exist in the workspace")
        if user.is_service_account:
            raise ReviewRefused(f"approver {approver!r} is a service account; a person must review")
        if user.disabled_at is not None:
            raise ReviewRefused(f"approver {approver!r} is disabled")
        if user.role not in REVIEWER_ROLES:
            raise ReviewRefused(f"approver {approver!r} has role {user.role!r}; a classification review needs "
                                f"{' or '.join(REVIEWER_ROLES)}")
        record_event(
            conn, actor_id=user.user_id, entity_type="contract", entity_id=contract.id,
            action="contract.classification_reviewed", occurred_at=at,
            metadata={
                "contract_version": contract.version, "classification": contract.classification,
                "cadence_days": before.cadence_days, "file": contract.source.name,
                "changes": [
                    {"field": REVIEWED_ON, "from": before.reviewed_on and before.reviewed_on.isoformat(),
                     "to": on.isoformat()},
                    {"field": REVIEWED_BY, "from": before.reviewed_by, "to": approver},
                ],
            },
        )
        # inside the transaction: a file that cannot be rewritten leaves no log entry either
        updated = rewrite_review(contract.source, on, approver)
    return review_status(updated)
