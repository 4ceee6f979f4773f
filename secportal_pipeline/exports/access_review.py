"""The monthly access review: every account as it stood at the month's end.

Role, MFA and disabled state are rebuilt from the activity log (user events), the
credential from its issue and revocation times, the last activity from the log, so a
backfilled month equals the month produced live.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from ..contracts.model import Contract
from ..contracts.schema import typed_frame
from ..workspace.access import credential_max_age_days
from ..workspace.schema import activity_log, service_credentials
from .asof import parse_ts, replay
from .events import entity_events
from .windows import month_window


def _credentials_at(conn: sa.Connection, end: datetime) -> dict[int, dict]:
    """The newest credential per user that was issued before ``end`` and not revoked by then."""
    rows = conn.execute(
        sa.select(service_credentials.c.user_id, service_credentials.c.credential_id, service_credentials.c.issued_at)
        .where(service_credentials.c.issued_at < end,
               sa.or_(service_credentials.c.revoked_at.is_(None), service_credentials.c.revoked_at >= end))
        .order_by(service_credentials.c.issued_at)
    ).all()
    return {row.user_id: {"credential_id": row.credential_id, "issued_at": row.issued_at} for row in rows}


def attention(row: dict, max_age_days: int) -> str | None:
    """What a reviewer should look at for this account, or None."""
    notes = []
    if row["disabled_at"] is not None:
        notes.append("disabled")
    elif row["is_service_account"]:
        if row["credential_status"] == "none":
            notes.append("no_credential")
        elif row["credential_status"] == "expired":
            notes.append(f"credential_older_than_{max_age_days}_days")
    elif not row["mfa_enrolled"]:
        notes.append("mfa_missing")
    return ", ".join(notes) or None


def build(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    """The canonical access-review frame for the month ``partition``."""
    _start, end = month_window(partition)
    max_age = credential_max_age_days()
    accounts = replay(entity_events(conn, "user", end), end)
    last_activity = dict(conn.execute(
        sa.select(activity_log.c.actor_id, sa.func.max(activity_log.c.occurred_at))
        .where(activity_log.c.occurred_at < end).group_by(activity_log.c.actor_id)
    ).all())
    credentials = _credentials_at(conn, end)
    records = []
    for user_id, user in sorted(accounts.items()):
        disabled_at = parse_ts(user.get("disabled_at"))
        credential = credentials.get(user_id)
        age = (end - credential["issued_at"]).days if credential else None
        if not user["is_service_account"]:
            status = "not_applicable"
        elif credential is None:
            status = "none"
        else:
            status = "expired" if age > max_age else "active"
        last = last_activity.get(user_id)  # max() keeps the column's UTC type on both backends
        record = {
            "review_month": partition,
            "account": user["handle"],
            "email": user["email"],
            "role": user["role"],
            "is_service_account": bool(user["is_service_account"]),
            "mfa_enrolled": bool(user["mfa_enrolled"]),
            "created_at": parse_ts(user["created_at"]),
            "disabled_at": disabled_at if disabled_at is not None and disabled_at < end else None,
            "last_activity_at": last,
            "credential_id": credential["credential_id"] if credential else None,
            "credential_issued_at": credential["issued_at"] if credential else None,
            "credential_age_days": age,
            "credential_status": status,
        }
        record["attention"] = attention(record, max_age)
        records.append(record)
    return typed_frame(records, contract)
