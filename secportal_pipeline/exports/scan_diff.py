"""One scan execution against the previous one on the same target: what changed.

Row shape (documented in contracts/scan_diff.yaml): one row per finding (new, fixed,
unchanged) and one per module that ran in only one of the two executions
(module_added, module_removed). The previous execution is the latest completed one
on the same asset_ref and source_tool that completed before this one (ties by
scan_id). Scan results and overrides are never rewritten, so a backfill equals the
partition produced when the scan completed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..contracts.model import Contract
from ..contracts.schema import typed_frame
from ..workspace.schema import overrides, scan_executions, scan_results
from .windows import BadPartition


def _scan_id(partition: str) -> int:
    if not partition.isdigit() or int(partition) < 1:
        raise BadPartition(f"scan_diff partition {partition!r} is not a scan execution id (a positive integer)")
    return int(partition)


def _execution(conn: sa.Connection, scan_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(scan_executions).where(scan_executions.c.scan_id == scan_id)).mappings().one_or_none()
    if row is None:
        raise BadPartition(f"scan_diff partition {scan_id}: no such scan execution in the workspace")
    if row["status"] != "completed" or row["completed_at"] is None:
        raise BadPartition(f"scan_diff partition {scan_id}: the execution is {row['status']}, not completed")
    return dict(row)


def previous_execution(conn: sa.Connection, current: dict[str, Any]) -> dict[str, Any] | None:
    """The latest completed execution on the same target and tool before ``current``."""
    t = scan_executions.c
    row = conn.execute(
        sa.select(scan_executions)
        .where(t.asset_ref == current["asset_ref"], t.source_tool == current["source_tool"],
               t.status == "completed", t.scan_id != current["scan_id"],
               sa.or_(t.completed_at < current["completed_at"],
                      sa.and_(t.completed_at == current["completed_at"], t.scan_id < current["scan_id"])))
        .order_by(t.completed_at.desc(), t.scan_id.desc()).limit(1)
    ).mappings().one_or_none()
    return dict(row) if row is not None else None


def _results(conn: sa.Connection, scan_id: int) -> dict[str, tuple[int, str]]:
    """fingerprint -> (finding_id, module) of one execution."""
    rows = conn.execute(
        sa.select(scan_results.c.fingerprint, scan_results.c.finding_id, scan_results.c.module)
        .where(scan_results.c.scan_id == scan_id)
    )
    return {fp: (finding_id, module) for fp, finding_id, module in rows}


def override_kinds(conn: sa.Connection, finding_ids: list[int], at: datetime) -> dict[int, str]:
    """Each finding's latest override made at or before ``at`` (overrides are never edited)."""
    kinds: dict[int, str] = {}
    for start in range(0, len(finding_ids), 500):
        rows = conn.execute(
            sa.select(overrides.c.finding_id, overrides.c.kind)
            .where(overrides.c.finding_id.in_(finding_ids[start:start + 500]), overrides.c.created_at <= at)
            .order_by(overrides.c.created_at, overrides.c.override_id)
        )
        kinds.update(dict(rows.tuples().all()))  # later rows win
    return kinds


def build(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    """The canonical scan_diff frame for the scan execution ``partition``."""
    current = _execution(conn, _scan_id(partition))
    previous = previous_execution(conn, current)
    now = _results(conn, current["scan_id"])
    before = _results(conn, previous["scan_id"]) if previous else {}
    base = {
        "scan_id": current["scan_id"],
        "previous_scan_id": previous["scan_id"] if previous else None,
        "asset_ref": current["asset_ref"],
        "source_tool": current["source_tool"],
        "completed_at": current["completed_at"],
        "previous_completed_at": previous["completed_at"] if previous else None,
    }
    recurring = sorted(now.keys() & before.keys())
    kinds = override_kinds(conn, [now[fp][0] for fp in recurring], current["completed_at"])
    records = []
    for change, fingerprints, source in (("new", sorted(now.keys() - before.keys()), now),
                                         ("fixed", sorted(before.keys() - now.keys()), before),
                                         ("unchanged", recurring, now)):
        for fp in fingerprints:
            finding_id, module = source[fp]
            records.append({**base, "change_kind": change, "fingerprint": fp, "finding_id": finding_id,
                            "module": module,
                            "override_kind": kinds.get(finding_id, "none") if change == "unchanged" else None})
    if previous is not None:
        modules_now, modules_before = set(current["modules"] or ()), set(previous["modules"] or ())
        for change, modules in (("module_added", modules_now - modules_before),
                                ("module_removed", modules_before - modules_now)):
            records += [{**base, "change_kind": change, "fingerprint": None, "finding_id": None, "module": m,
                         "override_kind": None} for m in sorted(modules)]
    return typed_frame(records, contract)
