"""Read one entity type's activity events up to an instant, in replay order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..workspace.schema import activity_log


def entity_events(conn: sa.Connection, entity_type: str, before: datetime, *,
                  action: str | None = None) -> list[dict[str, Any]]:
    """Events of ``entity_type`` (optionally one ``action``) strictly before ``before``."""
    query = (
        sa.select(activity_log.c.event_id, activity_log.c.occurred_at, activity_log.c.entity_id,
                  activity_log.c.action, activity_log.c.metadata)
        .where(activity_log.c.entity_type == entity_type, activity_log.c.occurred_at < before)
        .order_by(activity_log.c.occurred_at, activity_log.c.event_id)
    )
    if action is not None:
        query = query.where(activity_log.c.action == action)
    return [dict(row._mapping) for row in conn.execute(query)]
