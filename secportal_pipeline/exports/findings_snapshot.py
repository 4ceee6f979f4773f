"""The weekly findings snapshot: every finding as it stood at the week's end."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from ..contracts.model import Contract
from ..contracts.schema import typed_frame
from ..workspace.schema import users
from .asof import in_window, parse_ts, replay
from .events import entity_events
from .windows import week_window


def build(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    """The canonical (unclassified) snapshot frame for the week ``partition``."""
    start, end = week_window(partition)
    handles = dict(conn.execute(sa.select(users.c.user_id, users.c.handle)).all())
    states = replay(entity_events(conn, "finding", end), end)
    records = [
        {
            "snapshot_week": partition,
            "finding_id": finding_id,
            "title": f["title"],
            "description": f["description"] or None,
            "cvss_vector": f["cvss_vector"],
            "cvss_base_score": f["cvss_base_score"],
            "scanner_severity": f["scanner_severity"],
            "severity": f["severity"],
            "status": f["status"],
            "owner": handles.get(f["owner_id"]),
            "engagement_id": f["engagement_id"],
            "source_pipeline": f["source_pipeline"],
            "source_tool": f["source_tool"],
            "asset_ref": f["asset_ref"],
            "port": f["port"],
            "cve": ", ".join(f["cve"] or []) or None,
            "opened_at": parse_ts(f["opened_at"]),
            "closed_at": parse_ts(f["closed_at"]),
            "last_seen_at": parse_ts(f["last_seen_at"]),
        }
        for finding_id, f in sorted(states.items())
        if in_window(f, start, end)
    ]
    return typed_frame(records, contract)
