"""The monthly incident register: every pipeline incident open at some point in the month,
with its status as of the month's end (rebuilt from the activity log)."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from ..contracts.model import Contract
from ..contracts.schema import typed_frame
from .asof import parse_ts, replay
from .events import entity_events
from .windows import month_window


def build(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    """The canonical incident-register frame for the month ``partition``."""
    start, end = month_window(partition)
    events = entity_events(conn, "pipeline_incident", end)
    records = []
    for incident_id, incident in sorted(replay(events, end).items()):
        opened, recovered = parse_ts(incident["opened_at"]), parse_ts(incident["recovered_at"])
        if recovered is not None and recovered < start:
            continue  # recovered before the month began: last month's register holds it
        records.append({
            "register_month": partition,
            "incident_id": incident_id,
            "category": incident["category"],
            "export_class": incident["export_class"],
            "partition": incident["partition"],
            "run_id": incident["run_id"],
            "status": incident["status"],
            "opened_at": opened,
            "recovered_at": recovered,
            "recovered_by_run_id": incident["recovered_by_run_id"],
            "engagement_id": incident["engagement_id"],
            "diagnosis": incident["diagnosis"],
        })
    return typed_frame(records, contract)
