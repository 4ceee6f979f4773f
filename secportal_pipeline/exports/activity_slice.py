"""The daily activity slice: every activity event that occurred on the partition's UTC day."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from ..contracts.model import Contract
from ..contracts.schema import typed_frame
from ..workspace.schema import activity_log, users
from .jsonmask import dumps
from .windows import day_window


def build(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    """The canonical (unclassified) slice for the day ``partition``, in event id order.

    The day is chosen by ``occurred_at`` (when it happened), not ``recorded_at``: a late
    import lands in the day its events belong to, and that day is re-run.
    """
    start, end = day_window(partition)
    log = activity_log.c
    rows = conn.execute(
        sa.select(log.event_id, log.occurred_at, log.recorded_at, users.c.handle, users.c.is_service_account,
                  log.entity_type, log.entity_id, log.action, log.metadata)
        .join(users, users.c.user_id == log.actor_id)
        .where(log.occurred_at >= start, log.occurred_at < end)
        .order_by(log.event_id)
    )
    records = [
        {
            "activity_date": partition,
            "event_id": row.event_id,
            "occurred_at": row.occurred_at,
            "recorded_at": row.recorded_at,
            "actor": row.handle,
            "actor_is_service_account": bool(row.is_service_account),
            "entity_type": row.entity_type,
            "entity_id": row.entity_id,
            "action": row.action,
            "metadata": dumps(row.metadata or {}),
        }
        for row in rows
    ]
    return typed_frame(records, contract)
