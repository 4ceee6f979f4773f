"""The workspace's activity retention: how far back the log is kept (30, 90 or 365 days per plan)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .activity import record_event
from .schema import workspace_settings

RETENTION_DAYS = "retention_days"
RETENTION_PLANS = (30, 90, 365)
DEFAULT_RETENTION_DAYS = 365


class RetentionSettingError(ValueError):
    pass


def retention_days(conn: sa.Connection) -> int:
    """The workspace setting ``retention_days`` (365 when unset)."""
    value = conn.execute(
        sa.select(workspace_settings.c.value).where(workspace_settings.c.key == RETENTION_DAYS)
    ).scalar_one_or_none()
    if value is None:
        return DEFAULT_RETENTION_DAYS
    days = int(value)
    if days not in RETENTION_PLANS:
        raise RetentionSettingError(f"workspace setting {RETENTION_DAYS}={value!r}: expected one of {RETENTION_PLANS}")
    return days


def set_retention_days(conn: sa.Connection, days: int, *, actor_id: int, at: datetime) -> None:
    """Set the plan's retention, on the activity log."""
    if days not in RETENTION_PLANS:
        raise RetentionSettingError(f"retention of {days} days: the plans offer {', '.join(map(str, RETENTION_PLANS))}")
    before = retention_days(conn)
    exists = conn.execute(
        sa.select(workspace_settings.c.key).where(workspace_settings.c.key == RETENTION_DAYS)
    ).scalar_one_or_none()
    if exists is None:
        conn.execute(workspace_settings.insert().values(key=RETENTION_DAYS, value=str(days)))
    else:
        conn.execute(workspace_settings.update().where(workspace_settings.c.key == RETENTION_DAYS)
                     .values(value=str(days)))
    record_event(conn, actor_id=actor_id, entity_type="workspace_setting", entity_id=RETENTION_DAYS,
                 action="workspace_setting.changed", occurred_at=at,
                 metadata={"changes": [{"field": RETENTION_DAYS, "from": before, "to": days}]})
