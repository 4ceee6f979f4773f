"""The monthly dimensions: clients, engagements and the verified-asset registry as of the month's end.

Each is rebuilt from the activity log (creation events carry the whole initial row,
changes carry ``{field, from, to}``), so a backfilled month equals the live one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..contracts.model import Contract
from ..contracts.schema import typed_frame
from ..workspace.schema import findings, users
from .asof import parse_ts, replay
from .events import entity_events
from .windows import month_window


def _as_of(conn: sa.Connection, entity_type: str, partition: str, key=int) -> dict[Any, dict[str, Any]]:
    _, end = month_window(partition)
    return replay(entity_events(conn, entity_type, end), end, key=key)


def build_clients(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    """dim_client: every client created before the month's end."""
    records = [
        {"month": partition, "client_id": client_id, "name": c["name"], "created_at": parse_ts(c["created_at"])}
        for client_id, c in sorted(_as_of(conn, "client", partition).items())
    ]
    return typed_frame(records, contract)


def build_engagements(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    """dim_engagement: every engagement as it stood at the month's end; owner as a handle (hashed on landing)."""
    handles = dict(conn.execute(sa.select(users.c.user_id, users.c.handle)).all())
    records = [
        {"month": partition, "engagement_id": engagement_id, "client_id": e["client_id"], "name": e["name"],
         "engagement_type": e["engagement_type"], "status": e["status"], "owner": handles.get(e["owner_id"]),
         "started_at": parse_ts(e["started_at"]), "ended_at": parse_ts(e["ended_at"])}
        for engagement_id, e in sorted(_as_of(conn, "engagement", partition).items())
    ]
    return typed_frame(records, contract)


def registry_as_of(conn: sa.Connection, partition: str) -> dict[str, dict[str, Any]]:
    """The verified-domain registry at the month's end, by asset_ref (a text key)."""
    return _as_of(conn, "verified_domain", partition, key=str)


def build_assets(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    """dim_asset: the verified-domain registry as of the month's end."""
    records = [
        {"month": partition, "asset_ref": asset_ref, "client_id": a["client_id"],
         "verification_method": a["verification_method"], "verified_at": parse_ts(a["verified_at"]),
         "status": a["status"]}
        for asset_ref, a in sorted(registry_as_of(conn, partition).items())
    ]
    return typed_frame(records, contract)


def key_gaps(conn: sa.Connection, partition: str, sample: int = 5) -> dict[str, dict[str, Any]]:
    """Asset references of findings first seen before the month's end that the registry does not hold.

    A finding's asset_ref and first_seen_at never change (both are in its fingerprint
    and creation event), so the findings table answers "as of the month's end" exactly.
    Returns ``{asset_ref: {"findings": n, "finding_ids": [first few]}}``, sorted.
    """
    _, end = month_window(partition)
    registered = set(registry_as_of(conn, partition))
    rows = conn.execute(
        sa.select(findings.c.asset_ref, findings.c.finding_id)
        .where(findings.c.first_seen_at < end)
        .order_by(findings.c.asset_ref, findings.c.finding_id)
    ).all()
    gaps: dict[str, dict[str, Any]] = {}
    for asset_ref, finding_id in rows:
        if asset_ref in registered:
            continue
        gap = gaps.setdefault(asset_ref, {"findings": 0, "finding_ids": []})
        gap["findings"] += 1
        if len(gap["finding_ids"]) < sample:
            gap["finding_ids"].append(finding_id)
    return gaps
