"""Where an imported finding belongs: the engagement for an asset."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from .activity import create_entity
from .schema import clients, engagements, verified_domains

UNASSIGNED_CLIENT = "Unassigned intake"


# The active engagement of the client that verified each asset: most recent start, then
# highest id, wins (the first row per asset). One expanding parameter per chunk.
_VERIFIED_ENGAGEMENTS = (
    sa.select(verified_domains.c.asset_ref, engagements.c.engagement_id)
    .join(verified_domains, verified_domains.c.client_id == engagements.c.client_id)
    .where(verified_domains.c.asset_ref.in_(sa.bindparam("asset_refs", expanding=True)),
           engagements.c.status == "active")
    .order_by(engagements.c.started_at.desc(), engagements.c.engagement_id.desc())
)
_LOOKUP_CHUNK = 500


def verified_engagements(conn: sa.Connection, asset_refs: Iterable[str]) -> dict[str, int]:
    """The active engagement of the client that verified each asset, for those that have one.

    Assets nobody verified (or whose client has no active engagement) are left out and
    nothing is created: their findings go to ``unassigned_engagement``, so an import never
    fails for lack of a registry entry (the dimension key-gap check reports such assets).
    """
    refs = list(dict.fromkeys(asset_refs))
    found: dict[str, int] = {}
    for start in range(0, len(refs), _LOOKUP_CHUNK):
        for asset_ref, engagement_id in conn.execute(
            _VERIFIED_ENGAGEMENTS, {"asset_refs": refs[start:start + _LOOKUP_CHUNK]}
        ):
            found.setdefault(asset_ref, engagement_id)
    return found


def unassigned_engagement(conn: sa.Connection, *, actor_id: int, at: datetime) -> int:
    """The catch-all "Unassigned intake" engagement, created at ``at`` when missing."""
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
