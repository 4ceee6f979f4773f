"""Users and named service accounts, looked up by handle."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .activity import create_entity, record_event, to_json_value
from .schema import users

# The account the workspace itself acts as when it creates the first accounts.
SYSTEM_HANDLE = "svc-workspace"
INTAKE_HANDLE = "svc-intake"


class UnknownAccount(LookupError):
    pass


def user_id_for(conn: sa.Connection, handle: str) -> int:
    """The user id for ``handle``; a clear error when there is none."""
    user_id = conn.execute(sa.select(users.c.user_id).where(users.c.handle == handle)).scalar_one_or_none()
    if user_id is None:
        raise UnknownAccount(f"account {handle!r} does not exist in the workspace")
    return user_id


def ensure_user(
    conn: sa.Connection, handle: str, *, role: str, at: datetime, display_name: str | None = None,
    email: str | None = None, is_service_account: bool = False, mfa_enrolled: bool = False,
    actor_id: int | None = None,
) -> int:
    """Return the user id for ``handle``, creating the account (on the log) if missing.

    The very first account acts as its own creator, since nobody exists yet to create it.
    """
    existing = conn.execute(sa.select(users.c.user_id).where(users.c.handle == handle)).scalar_one_or_none()
    if existing is not None:
        return existing
    values = {
        "handle": handle,
        "email": email or f"{handle}@{'service.' if is_service_account else ''}secportal.local",
        "display_name": display_name or handle,
        "role": role,
        "is_service_account": is_service_account,
        "mfa_enrolled": mfa_enrolled,
        "created_at": at,
        "disabled_at": None,
    }
    if actor_id is None:
        # bootstrap: insert, then log the creation with the account as its own actor
        user_id = conn.execute(users.insert().values(**values)).inserted_primary_key[0]
        record_event(
            conn, actor_id=user_id, entity_type="user", entity_id=user_id, action="user.created",
            occurred_at=at, metadata={"initial": {k: to_json_value(v) for k, v in values.items()}},
        )
        return user_id
    return create_entity(conn, users, values, actor_id=actor_id, occurred_at=at, entity_type="user")


def ensure_service_accounts(conn: sa.Connection, at: datetime) -> dict[str, int]:
    """The workspace and intake service accounts every workspace has."""
    system = ensure_user(conn, SYSTEM_HANDLE, role="admin", at=at, is_service_account=True,
                         display_name="Workspace system")
    intake = ensure_user(conn, INTAKE_HANDLE, role="member", at=at, is_service_account=True,
                         display_name="Scanner intake", actor_id=system)
    return {SYSTEM_HANDLE: system, INTAKE_HANDLE: intake}
