"""The weekly exception register: every exception and its decision chain as of the week's end."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..contracts.model import Contract
from ..contracts.schema import typed_frame
from ..workspace.schema import users
from .asof import parse_ts, replay
from .events import entity_events
from .windows import week_window


def decision_chains(events: list[dict[str, Any]]) -> dict[int, list[str]]:
    """Per exception, every decision it took, in order (the initial ``pending`` first)."""
    chains: dict[int, list[str]] = defaultdict(list)
    for event in events:
        payload = event["metadata"] or {}
        entity_id = int(event["entity_id"])
        if "initial" in payload:
            chains[entity_id] = [payload["initial"]["decision"]]
        chains[entity_id] += [c["to"] for c in payload.get("changes", ()) if c["field"] == "decision"]
    return chains

def build(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    """The canonical (unclassified) register for the week ``partition``, by exception id."""
    _, end = week_window(partition)
    handles = dict(conn.execute(sa.select(users.c.user_id, users.c.handle)).all())
    events = entity_events(conn, "exception", end)
    states = replay(events, end)
    chains = decision_chains(events)
    records = []
    for exception_id, e in sorted(states.items()):
        chain = chains[exception_id]
        records.append({
            "register_week": partition,
            "exception_id": exception_id,
            "finding_id": e["finding_id"],
            "engagement_id": e["engagement_id"],
            "severity": e["severity"],
            "compensating_controls": e["compensating_controls"],
            "residual_likelihood": e["residual_likelihood"],
            "residual_impact": e["residual_impact"],
            "business_rationale": e["business_rationale"],
            "approver": handles.get(e["approver_id"]),
            "expires_on": e["expires_on"],
            "review_cadence_days": e["review_cadence_days"],
            "decision": e["decision"],
            "decided_at": parse_ts(e["decided_at"]),
            "requested_at": parse_ts(e["requested_at"]),
            "decision_count": len(chain) - 1,
            "previous_decision": chain[-2] if len(chain) > 1 else None,
        })
    return typed_frame(records, contract)
