"""Roles, their clearance, and how old a service credential may get."""

from __future__ import annotations

import os
from datetime import datetime

import sqlalchemy as sa

from ..config import DEFAULT_CREDENTIAL_MAX_AGE_DAYS, ENV_CREDENTIAL_MAX_AGE_DAYS
from .activity import record_event
from .schema import exceptions, users, workspace_settings

# Ordered, least sensitive first (the same levels a contract and its columns use).
LEVELS = ("public", "internal", "confidential", "restricted")

# The most sensitive level each role may read; billing reads no security data at all.
CLEARANCE: dict[str, str | None] = {
    "viewer": "internal",
    "member": "confidential",
    "admin": "restricted",
    "owner": "restricted",
    "billing": None,
}


def clears(role: str, level: str) -> bool:
    """True when ``role``'s clearance reaches ``level``."""
    if level not in LEVELS:
        raise ValueError(f"unknown classification level {level!r}; expected one of {LEVELS}")
    ceiling = CLEARANCE.get(role)
    return ceiling is not None and LEVELS.index(level) <= LEVELS.index(ceiling)


def credential_max_age_days(env: dict[str, str] | None = None) -> int:
    """``SECPORTAL_CREDENTIAL_MAX_AGE_DAYS``, default 90."""
    env = os.environ if env is None else env
    raw = env.get(ENV_CREDENTIAL_MAX_AGE_DAYS)
    if not raw:
        return DEFAULT_CREDENTIAL_MAX_AGE_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_CREDENTIAL_MAX_AGE_DAYS}={raw!r} is not a whole number of days") from None
    if days < 1:
        raise ValueError(f"{ENV_CREDENTIAL_MAX_AGE_DAYS}={raw!r} must be at least 1")
    return days


REQUIRE_MFA = "require_mfa"


def require_mfa(conn: sa.Connection) -> bool:
    """The workspace setting ``require_mfa`` (off unless set to true)."""
    value = conn.execute(
        sa.select(workspace_settings.c.value).where(workspace_settings.c.key == REQUIRE_MFA)
    ).scalar_one_or_none()
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def set_require_mfa(conn: sa.Connection, required: bool, *, actor_id: int, at: datetime) -> None:
    """Turn the MFA requirement on or off, on the activity log."""
    before = require_mfa(conn)
    value = "true" if required else "false"
    exists = conn.execute(
        sa.select(workspace_settings.c.key).where(workspace_settings.c.key == REQUIRE_MFA)
    ).scalar_one_or_none()
    if exists is None:
        conn.execute(workspace_settings.insert().values(key=REQUIRE_MFA, value=value))
    else:
        conn.execute(workspace_settings.update().where(workspace_settings.c.key == REQUIRE_MFA).values(value=value))
    record_event(conn, actor_id=actor_id, entity_type="workspace_setting", entity_id=REQUIRE_MFA,
                 action="workspace_setting.changed", occurred_at=at,
                 metadata={"changes": [{"field": REQUIRE_MFA, "from": before, "to": required}]})


def mfa_gaps(conn: sa.Connection, contract_owners: dict[str, str]) -> list[dict]:
    """Who lacks MFA where the workspace relies on them: contract owners and exception approvers.

    ``contract_owners`` maps a contract id to its owner's workspace handle. Each gap is a
    dict naming the kind (contract_owner or exception_approver), the subject and the account.
    """
    people = {row.handle: row for row in conn.execute(
        sa.select(users.c.user_id, users.c.handle, users.c.mfa_enrolled, users.c.disabled_at))}
    gaps = []
    for contract_id, handle in sorted(contract_owners.items()):
        person = people.get(handle)
        if person is None:
            gaps.append({"kind": "contract_owner", "subject": contract_id, "account": handle,
                         "reason": "owner is not a workspace account"})
        elif not person.mfa_enrolled:
            gaps.append({"kind": "contract_owner", "subject": contract_id, "account": handle,
                         "reason": "owner has no MFA enrolled"})
    rows = conn.execute(
        sa.select(exceptions.c.exception_id, users.c.handle)
        .join(users, users.c.user_id == exceptions.c.approver_id)
        .where(exceptions.c.decision == "approved", users.c.mfa_enrolled.is_(False))
        .order_by(exceptions.c.exception_id)
    )
    gaps += [{"kind": "exception_approver", "subject": f"exception {row.exception_id}", "account": row.handle,
              "reason": "approver has no MFA enrolled"} for row in rows]
    return gaps
