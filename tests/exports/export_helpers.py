"""Shared by the export tests: the export service accounts, hashes, the export.run entries."""

from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa

from secportal_pipeline.workspace.accounts import ensure_user
from secportal_pipeline.workspace.activity import utcnow
from secportal_pipeline.workspace.credentials import create_credential
from secportal_pipeline.workspace.schema import activity_log, users
from tests.conftest import TEST_KEY
from tests.workspace.helpers import T0


def add_export_account(conn: sa.Connection, handle: str, role: str, actor_id: int) -> int:
    """The named service account a contract runs under, with a fresh credential."""
    user_id = ensure_user(conn, handle, role=role, at=T0, actor_id=actor_id, is_service_account=True)
    # issued now: the export preflight measures a credential's age against the wall clock
    create_credential(conn, handle, actor_id=actor_id, at=utcnow())
    return user_id


def keyed(handle: str) -> str:
    return hmac.new(TEST_KEY.encode(), handle.encode(), hashlib.sha256).hexdigest()


def export_runs(engine: sa.Engine, contract_id: str) -> list[tuple[str, str, dict]]:
    """(actor handle, entity id, metadata) of every export.run entry of ``contract_id``."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(users.c.handle, activity_log.c.entity_id, activity_log.c.metadata)
            .join(users, users.c.user_id == activity_log.c.actor_id)
            .where(activity_log.c.action == "export.run", activity_log.c.entity_id.like(f"{contract_id}:%"))
            .order_by(activity_log.c.event_id)
        ).all()
    return [tuple(r) for r in rows]
