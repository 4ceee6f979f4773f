"""Refuse to rebuild a partition the activity log no longer fully holds.

Exports are rebuilt from the activity log, and the log keeps only the plan's retention
(30, 90 or 365 days). A partition whose window starts before ``now - retention`` may
be missing events that were purged, so rebuilding it would land a silently incomplete
file: it is refused before a row is read, and nothing lands.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..contracts.model import Contract
from ..workspace.retention import RETENTION_DAYS, retention_days
from .windows import day_window, month_window, week_window

_WINDOWS = {"weekly": week_window, "daily": day_window, "monthly": month_window}


class RetentionExceeded(RuntimeError):
    """A partition older than the workspace's activity retention; nothing was exported."""


def check_retention(conn: sa.Connection, contract: Contract, partition: str, now: datetime) -> None:
    """Raise RetentionExceeded when ``partition`` starts before the retention cutoff."""
    window = _WINDOWS.get(contract.custom.get("partitioning", "weekly"))
    if window is None:  # per-scan partitions are keyed by scan id, not by time
        return
    start, _ = window(partition)
    days = retention_days(conn)
    cutoff = now - timedelta(days=days)
    if start < cutoff:
        raise RetentionExceeded(
            f"export {contract.id}: partition {partition} starts {start:%Y-%m-%d}, before the workspace's activity "
            f"retention of {days} days (nothing older than {cutoff:%Y-%m-%d %H:%M} UTC is kept; workspace setting "
            f"{RETENTION_DAYS}), so it cannot be rebuilt from the log; nothing was landed"
        )
