"""Where an imported finding belongs: the engagement for an asset."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .activity import create_entity
from .schema import clients, engagements, verified_domains

UNASSIGNED_CLIENT = "Unassigned intake"


def engagement_for_asset(conn: sa.Connection, asset_ref: str, *, actor_id: int, at: datetime) -> int:
    """The active engagement of the client that verified ``asset_ref``.

    An asset nobody verified lands in the catch-all "Unassigned intake" engagement, so
    an import never fails for lack of a registry entry; the dimension key-gap check
    reports such assets instead.
    """
    row = conn.execute(
        sa.select(engagements.c.engagement_id)
        .join(verified_domains, verified_domains.c.client_id == engagements.c.client_id)
        .where(verified_domains.c.asset_ref == asset_ref, engagements.c.status == "active")
        .order_by(engagements.c.started_at.desc(), engagements.c.engagement_id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return row if row is not None else unassigned_engagement(conn, actor_id=actor_id, at=at)


def unassigned_engagement(conn: sa.Connection, *, actor_id: int, at: datetime) -> int:
    client_id = conn.execute(
        sa.select(clients.c.client_id).where(clients.c.name == UNASSIGNED_CLIENT)
    ).scalar_one_or_none()
    if client_id is None:
        client_id = create_entity(
            conn, clients, {"name": UNASSIGNED_CLIENT, "created_at": at},
            actor_id=actor_id, occurred_at=at, entity_type="client",
        )
    engagement_id = conn.execute(
        sa.select(engagements.c.engagement_id).where(engagements.c.client_id == client_id)
    ).scalar_one_or_none()
    if engagement_id is None:
        engagement_id = create_entity(
            conn, engagements,
            {"client_id": client_id, "name": "Unassigned scanner intake", "engagement_type": "external_scan",
             "status": "active", "owner_id": None, "started_at": at, "ended_at": None},
            actor_id=actor_id, occurred_at=at, entity_type="engagement",
        )
    return engagement_id
