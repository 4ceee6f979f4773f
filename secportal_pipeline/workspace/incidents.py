"""Pipeline incidents: a failed export run recorded on the workspace, and its recovery.

Each incident is its own engagement of type ``pipeline_incident`` (so it is worked and
closed like any other piece of work) and every change is an activity entry whose actor
is the pipeline's monitor service account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from .accounts import SYSTEM_HANDLE, ensure_service_accounts, ensure_user
from .activity import create_entity, update_entity
from .schema import INCIDENT_CATEGORIES, clients, engagements, pipeline_incidents

MONITOR_HANDLE = "svc-pipeline-monitor"
INTERNAL_CLIENT = "SecPortal internal"
DIAGNOSIS_LIMIT = 4000

# Exception class names (anywhere in the cause chain) -> category; first match wins.
_BY_CLASS = (
    ("contract_violation", ("ContractViolation", "ContractError", "WarehouseSchemaError")),
    ("service_account_failure", ("AccessDenied", "UnknownAccount", "CredentialError")),
    ("redaction_rule_miss", ("LeakDetected",)),
    ("dimension_key_gap", ("DimensionKeyGap", "KeyGap")),
)
# ... else words in the messages, for failures raised by code that has no class of its own
_BY_WORDS = (
    ("redaction_rule_miss", ("leak", "redaction")),
    ("dimension_key_gap", ("key gap", "key_gap", "dimension key")),
    ("contract_violation", ("column drift", "contract")),
)


@dataclass(frozen=True)
class FailureCause:
    cls_name: str
    message: str


def classify_failure(causes: Iterable[FailureCause]) -> str:
    """The incident category for a failure, from its exception chain."""
    causes = list(causes)
    names = {c.cls_name for c in causes}
    for category, classes in _BY_CLASS:
        if any(name in names or any(name in n for n in names) for name in classes):
            return category
    text = " ".join(c.message.lower() for c in causes)
    for category, words in _BY_WORDS:
        if any(word in text for word in words):
            return category
    return "other"


def diagnosis_text(causes: Iterable[FailureCause]) -> str:
    """What went wrong, outermost first, bounded: the text a person at 02:00 reads first."""
    lines, seen = [], set()
    for cause in causes:
        line = f"{cause.cls_name}: {cause.message.strip()}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    text = "\n".join(lines) or "run failed without an error message"
    return text if len(text) <= DIAGNOSIS_LIMIT else text[: DIAGNOSIS_LIMIT - 12] + "\n[truncated]"


def monitor_account(conn: sa.Connection, at: datetime) -> int:
    """The named service account incidents are recorded under (created on first use)."""
    system = ensure_service_accounts(conn, at)[SYSTEM_HANDLE]
    return ensure_user(conn, MONITOR_HANDLE, role="member", at=at, is_service_account=True,
                       display_name="Pipeline monitor (run-failure sensor)", actor_id=system)


def _internal_client(conn: sa.Connection, actor_id: int, at: datetime) -> int:
    existing = conn.execute(sa.select(clients.c.client_id).where(clients.c.name == INTERNAL_CLIENT)).scalar_one_or_none()
    if existing is not None:
        return existing
    return create_entity(conn, clients, {"name": INTERNAL_CLIENT, "created_at": at}, actor_id=actor_id,
                         occurred_at=at, entity_type="client")


def open_incident(conn: sa.Connection, *, category: str, export_class: str, partition: str, run_id: str,
                  diagnosis: str, at: datetime) -> int:
    """Record a failed run of ``export_class``/``partition``; the same run twice gives the same incident."""
    if category not in INCIDENT_CATEGORIES:
        raise ValueError(f"incident category {category!r}; expected one of {INCIDENT_CATEGORIES}")
    existing = conn.execute(
        sa.select(pipeline_incidents.c.incident_id)
        .where(pipeline_incidents.c.run_id == run_id, pipeline_incidents.c.export_class == export_class)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    actor = monitor_account(conn, at)
    engagement_id = create_entity(
        conn, engagements,
        {"client_id": _internal_client(conn, actor, at),
         "name": f"Pipeline incident: {export_class} {partition} ({category})",
         "engagement_type": "pipeline_incident", "status": "active", "owner_id": None, "started_at": at,
         "ended_at": None},
        actor_id=actor, occurred_at=at, entity_type="engagement",
    )
    return create_entity(
        conn, pipeline_incidents,
        {"category": category, "export_class": export_class, "partition": partition, "run_id": run_id,
         "diagnosis": diagnosis, "status": "open", "engagement_id": engagement_id, "opened_at": at,
         "recovered_at": None, "recovered_by_run_id": None},
        actor_id=actor, occurred_at=at, entity_type="pipeline_incident", action="pipeline_incident.opened",
    )


def recover_incidents(conn: sa.Connection, *, export_class: str, partition: str, run_id: str,
                      at: datetime) -> list[int]:
    """Mark every open incident of ``export_class``/``partition`` recovered by the successful ``run_id``."""
    open_ones = conn.execute(
        sa.select(pipeline_incidents.c.incident_id, pipeline_incidents.c.engagement_id)
        .where(pipeline_incidents.c.export_class == export_class, pipeline_incidents.c.partition == partition,
               pipeline_incidents.c.status == "open")
        .order_by(pipeline_incidents.c.incident_id)
    ).all()
    if not open_ones:
        return []
    actor = monitor_account(conn, at)
    for incident_id, engagement_id in open_ones:
        update_entity(conn, pipeline_incidents, incident_id,
                      {"status": "recovered", "recovered_at": at, "recovered_by_run_id": run_id},
                      actor_id=actor, occurred_at=at, entity_type="pipeline_incident",
                      action="pipeline_incident.recovered")
        update_entity(conn, engagements, engagement_id, {"status": "completed", "ended_at": at},
                      actor_id=actor, occurred_at=at, entity_type="engagement")
    return [incident_id for incident_id, _ in open_ones]
