"""What people and pipelines do to findings, each step on the activity log.

These are the code paths the CLI, the intake and the demo history all go through, so
the log always holds what the as-of rebuild needs.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from .activity import create_entities, create_entity, field_changes, record_events, update_entity, update_rows
from .controls import map_finding_controls, map_new_findings_controls
from .schema import exceptions, findings, overrides, retests
from .types import CLOSED_STATUSES, SEVERITIES, STATUSES


def create_finding(conn: sa.Connection, values: dict[str, Any], *, actor_id: int, at: datetime) -> int:
    """Insert a finding (status open unless given) with its creation event."""
    values = {"status": "open", "opened_at": at, "first_seen_at": at, "last_seen_at": at, **values}
    finding_id = create_entity(
        conn, findings, values, actor_id=actor_id, occurred_at=at, entity_type="finding"
    )
    map_finding_controls(conn, finding_id, values.get("cwe") or (), actor_id=actor_id, at=at)
    return finding_id


def create_findings(
    conn: sa.Connection, rows: list[tuple[dict[str, Any], datetime]], *, actor_id: int
) -> list[int]:
    """``create_finding`` for many ``(values, at)`` rows at once; the same rows and events."""
    ids = create_entities(
        conn, findings,
        [({"status": "open", "opened_at": at, "first_seen_at": at, "last_seen_at": at, **values}, at)
         for values, at in rows],
        actor_id=actor_id, entity_type="finding", unique_key="fingerprint",
    )
    map_new_findings_controls(
        conn, [(finding_id, values.get("cwe") or (), at) for finding_id, (values, at) in zip(ids, rows, strict=True)],
        actor_id=actor_id,
    )
    return ids


def _status_changes(current: dict[str, Any], status: str, at: datetime) -> dict[str, Any]:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    changes: dict[str, Any] = {"status": status}
    if status in CLOSED_STATUSES:
        if current["closed_at"] is None:
            changes["closed_at"] = at
    else:
        changes["closed_at"] = None
    return changes


def get_finding(conn: sa.Connection, finding_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(findings).where(findings.c.finding_id == finding_id)).mappings().one_or_none()
    if row is None:
        raise LookupError(f"finding {finding_id} does not exist")
    return dict(row)


def set_status(
    conn: sa.Connection, finding_id: int, status: str, *, actor_id: int, at: datetime, **extra: Any
) -> list[dict]:
    """Move a finding to ``status``; closing stamps closed_at, reopening clears it."""
    current = get_finding(conn, finding_id)
    return update_entity(
        conn, findings, finding_id, _status_changes(current, status, at),
        actor_id=actor_id, occurred_at=at, entity_type="finding", extra=extra or None,
    )


def update_finding(
    conn: sa.Connection, finding_id: int, changes: dict[str, Any], *, actor_id: int, at: datetime,
    action: str | None = None, **extra: Any,
) -> list[dict]:
    """Change arbitrary finding fields with the trail (status goes through ``set_status``)."""
    changes = dict(changes)
    if "status" in changes:
        changes.update(_status_changes(get_finding(conn, finding_id), changes["status"], at))
    diff = update_entity(
        conn, findings, finding_id, changes, actor_id=actor_id, occurred_at=at,
        entity_type="finding", action=action, extra=extra or None,
    )
    if any(d["field"] == "cwe" for d in diff):  # a rescan may name another weakness
        map_finding_controls(conn, finding_id, changes["cwe"] or (), actor_id=actor_id, at=at)
    return diff


def update_findings(
    conn: sa.Connection, items: list[tuple[dict[str, Any], dict[str, Any], datetime, str]], *, actor_id: int,
) -> list[list[dict]]:
    """``update_finding`` for many findings at once: the same row changes, events and control mappings.

    ``items`` are ``(current, changes, at, action)`` where ``current`` is the finding's whole
    row as read in this transaction (no two items for one finding). The diffs are computed
    here, the rows updated with one statement per set of changed columns, and the events
    appended together; returns each item's diff as ``update_finding`` would.
    """
    diffs: list[list[dict]] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    events: list[dict[str, Any]] = []
    remap: list[tuple[int, Any, datetime]] = []
    for current, changes, at, action in items:
        finding_id = current["finding_id"]
        changes = dict(changes)
        if "status" in changes:
            changes.update(_status_changes(current, changes["status"], at))
        diff = field_changes(current, changes)
        diffs.append(diff)
        if not diff:
            continue
        updates.append((finding_id, {d["field"]: changes[d["field"]] for d in diff}))
        events.append({"occurred_at": at, "actor_id": actor_id, "entity_type": "finding", "entity_id": finding_id,
                       "action": action or "finding.updated", "metadata": {"changes": diff}})
        if any(d["field"] == "cwe" for d in diff):
            remap.append((finding_id, changes["cwe"] or (), at))
    update_rows(conn, findings, updates)
    record_events(conn, events)
    for finding_id, cwes, at in remap:  # a rescan may name another weakness
        map_finding_controls(conn, finding_id, cwes, actor_id=actor_id, at=at)
    return diffs


def assign_owner(conn: sa.Connection, finding_id: int, owner_id: int | None, *, actor_id: int, at: datetime) -> list[dict]:
    return update_entity(
        conn, findings, finding_id, {"owner_id": owner_id},
        actor_id=actor_id, occurred_at=at, entity_type="finding", action="finding.assigned",
    )


def apply_override(
    conn: sa.Connection, finding_id: int, *, kind: str, reason: str, actor_id: int, at: datetime,
    to_severity: str | None = None,
) -> int:
    """Record an override decision and apply it to the finding."""
    current = get_finding(conn, finding_id)
    if kind == "severity_override" and to_severity not in SEVERITIES:
        raise ValueError(f"severity override needs to_severity in {SEVERITIES}, got {to_severity!r}")
    override_id = create_entity(
        conn, overrides,
        {
            "finding_id": finding_id, "kind": kind, "from_severity": current["severity"],
            "to_severity": to_severity if kind == "severity_override" else current["severity"],
            "reason": reason, "actor_id": actor_id, "created_at": at,
        },
        actor_id=actor_id, occurred_at=at, entity_type="override",
    )
    changes: dict[str, Any] = {"override_id": override_id}
    if kind == "severity_override":
        changes["severity"] = to_severity
    update_entity(
        conn, findings, finding_id, changes, actor_id=actor_id, occurred_at=at,
        entity_type="finding", action="finding.overridden", extra={"kind": kind},
    )
    return override_id


def request_exception(
    conn: sa.Connection, finding_id: int, *, compensating_controls: str, residual_likelihood: str,
    residual_impact: str, business_rationale: str, expires_on: date, review_cadence_days: int,
    actor_id: int, at: datetime,
) -> int:
    """Open a risk-acceptance request (decision pending) for a finding."""
    finding = get_finding(conn, finding_id)
    return create_entity(
        conn, exceptions,
        {
            "finding_id": finding_id, "engagement_id": finding["engagement_id"],
            "severity": finding["severity"], "compensating_controls": compensating_controls,
            "residual_likelihood": residual_likelihood, "residual_impact": residual_impact,
            "business_rationale": business_rationale, "approver_id": None, "expires_on": expires_on,
            "review_cadence_days": review_cadence_days, "decision": "pending", "decided_at": None,
            "requested_at": at,
        },
        actor_id=actor_id, occurred_at=at, entity_type="exception",
    )


def decide_exception(
    conn: sa.Connection, exception_id: int, decision: str, *, actor_id: int, at: datetime
) -> list[dict]:
    """Approve, reject, expire or revoke an exception.

    Approving or rejecting names the actor as the approver; expiring or revoking keeps
    the approver who decided, so the register still says who accepted the risk.
    """
    changes: dict[str, Any] = {"decision": decision, "decided_at": at}
    if decision in ("approved", "rejected"):
        changes["approver_id"] = actor_id
    return update_entity(
        conn, exceptions, exception_id, changes,
        actor_id=actor_id, occurred_at=at, entity_type="exception", action=f"exception.{decision}",
    )


def request_retest(conn: sa.Connection, finding_id: int, *, actor_id: int, at: datetime) -> int:
    return create_entity(
        conn, retests,
        {"finding_id": finding_id, "requested_at": at, "performed_at": None, "result": None, "tester_id": None},
        actor_id=actor_id, occurred_at=at, entity_type="retest",
    )


def record_retest(
    conn: sa.Connection, retest_id: int, result: str, *, tester_id: int, at: datetime
) -> None:
    """Record a retest result and move its finding: fixed verifies, otherwise reopens."""
    update_entity(
        conn, retests, retest_id, {"performed_at": at, "result": result, "tester_id": tester_id},
        actor_id=tester_id, occurred_at=at, entity_type="retest", action="retest.performed",
    )
    finding_id = conn.execute(sa.select(retests.c.finding_id).where(retests.c.retest_id == retest_id)).scalar_one()
    set_status(
        conn, finding_id, "verified" if result == "fixed" else "reopened",
        actor_id=tester_id, at=at, retest_id=retest_id,
    )
