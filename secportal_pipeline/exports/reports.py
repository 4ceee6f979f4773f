"""The monthly report tables: severity distribution, remediation throughput, exception
register summary and framework coverage attestation.

All four are rebuilt from the activity log as of the month's end (a backfilled month
equals the live one) and land as CSV, Parquet and an Excel workbook (peopleRead).
Findings dismissed as false positives are left out of every count.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..contracts.model import Contract
from ..contracts.schema import typed_frame
from ..workspace.controls import control_catalogue
from ..workspace.schema import overrides
from ..workspace.types import CLOSED_STATUSES, EXCEPTION_DECISIONS, SEVERITIES
from .asof import parse_ts, replay
from .events import entity_events
from .windows import month_window

HIGH_RISK = ("critical", "high")


@dataclass(frozen=True)
class MonthFindings:
    """The findings of a month: state at the month's end plus what happened during it."""

    start: datetime
    end: datetime
    states: dict[int, dict[str, Any]]  # every finding opened before the end, false positives left out
    reopened: set[int]  # findings moved to reopened during the month

    def is_open(self, finding: dict[str, Any]) -> bool:
        return finding["status"] not in CLOSED_STATUSES

    def opened_in_month(self, finding: dict[str, Any]) -> bool:
        return self.start <= parse_ts(finding["opened_at"]) < self.end

    def closed_in_month(self, finding: dict[str, Any]) -> bool:
        closed = parse_ts(finding["closed_at"])
        return not self.is_open(finding) and closed is not None and self.start <= closed < self.end


def month_findings(conn: sa.Connection, partition: str) -> MonthFindings:
    start, end = month_window(partition)
    events = entity_events(conn, "finding", end)
    states = replay(events, end)
    kinds = dict(conn.execute(sa.select(overrides.c.override_id, overrides.c.kind)).tuples().all())
    kept = {fid: f for fid, f in states.items() if kinds.get(f.get("override_id")) != "false_positive"}
    reopened = {
        int(e["entity_id"]) for e in events if e["occurred_at"] >= start
        for change in (e["metadata"] or {}).get("changes", ())
        if change["field"] == "status" and change["to"] == "reopened"
    }
    return MonthFindings(start, end, kept, reopened & kept.keys())


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def _engagement_clients(conn: sa.Connection) -> dict[int, int]:
    """Engagement id -> client id; an engagement never changes client, so today's map holds for any month."""
    engagements = replay(entity_events(conn, "engagement", _END_OF_TIME), _END_OF_TIME)
    return {engagement_id: e["client_id"] for engagement_id, e in engagements.items()}


def build_severity_distribution(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    month = month_findings(conn, partition)
    clients = replay(entity_events(conn, "client", month.end), month.end)
    engagement_client = _engagement_clients(conn)
    counts: dict[tuple[int, str], Counter] = defaultdict(Counter)
    for finding in month.states.values():
        key = (engagement_client[finding["engagement_id"]], finding["severity"])
        counts[key]["open"] += month.is_open(finding)
        counts[key]["opened"] += month.opened_in_month(finding)
        counts[key]["closed"] += month.closed_in_month(finding)
    # a scan older than its engagement (an old export imported late) still counts for its client
    missing = {client_id for client_id, _ in counts} - clients.keys()
    if missing:
        everything = replay(entity_events(conn, "client", _END_OF_TIME), _END_OF_TIME)
        clients.update({client_id: everything[client_id] for client_id in missing})
    records = []
    for client_id, client in sorted(clients.items()):
        client_open = sum(counts[(client_id, s)]["open"] for s in SEVERITIES)
        for severity in SEVERITIES:
            c = counts[(client_id, severity)]
            records.append({"month": partition, "client_id": client_id, "client_name": client["name"],
                            "severity": severity, "open_findings": c["open"], "opened_in_month": c["opened"],
                            "closed_in_month": c["closed"], "share_of_client_open": _share(c["open"], client_open)})
    return typed_frame(records, contract)


def build_remediation_throughput(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    month = month_findings(conn, partition)
    sla = {k: int(v) for k, v in (contract.custom.get("slaDays") or {}).items()}
    records = []
    for severity in SEVERITIES:
        rows = [f for f in month.states.values() if f["severity"] == severity]
        opened = sum(month.opened_in_month(f) for f in rows)
        days = [(parse_ts(f["closed_at"]) - parse_ts(f["opened_at"])) / timedelta(days=1)
                for f in rows if month.closed_in_month(f)]
        limit = sla.get(severity)
        within = sum(d <= limit for d in days) if limit else 0
        records.append({
            "month": partition, "severity": severity, "opened": opened, "closed": len(days),
            "reopened": sum(f["id"] in month.reopened for f in rows), "net_change": opened - len(days),
            "median_days_to_close": round(statistics.median(days), 2) if days else None,
            "sla_days": limit, "closed_within_sla": within,
            "sla_attainment": _share(within, len(days)) if limit else None,
        })
    return typed_frame(records, contract)


def build_exception_summary(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    start, end = month_window(partition)
    register = replay(entity_events(conn, "exception", end), end)
    horizon = (end + timedelta(days=30)).date().isoformat()
    records = []
    for decision in EXCEPTION_DECISIONS:
        rows = [x for x in register.values() if x["decision"] == decision]
        expiries = sorted(x["expires_on"] for x in rows)
        decided = [parse_ts(x["decided_at"]) for x in rows if x["decided_at"]]
        records.append({
            "month": partition, "decision": decision, "exceptions": len(rows),
            "requested_in_month": sum(start <= parse_ts(x["requested_at"]) < end for x in rows),
            "decided_in_month": sum(start <= d < end for d in decided),
            "critical_high": sum(x["severity"] in HIGH_RISK for x in rows),
            "expiring_within_30_days": sum(end.date().isoformat() <= e < horizon for e in expiries)
            if decision == "approved" else 0,
            "earliest_expiry": expiries[0] if expiries else None,
        })
    return typed_frame(records, contract)


def controls_as_of(conn: sa.Connection, end: datetime) -> dict[int, set[tuple[str, str]]]:
    """finding_id -> (framework, control_id) pairs mapped before ``end`` (from the log)."""
    mapped: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for event in entity_events(conn, "finding", end, action="finding.controls_mapped"):
        mapped[int(event["entity_id"])].update(tuple(pair) for pair in event["metadata"]["controls"])
    return mapped


def build_framework_coverage(conn: sa.Connection, contract: Contract, partition: str) -> pd.DataFrame:
    month = month_findings(conn, partition)
    by_control: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for finding_id, pairs in controls_as_of(conn, month.end).items():
        finding = month.states.get(finding_id)
        if finding is not None:
            for pair in pairs:
                by_control[pair].append(finding)
    records = []
    for framework, control_id, name in control_catalogue():
        rows = by_control.get((framework, control_id), [])
        still_open = [f for f in rows if month.is_open(f)]
        high = sum(f["severity"] in HIGH_RISK for f in still_open)
        records.append({
            "month": partition, "framework": framework, "control_id": control_id, "control_name": name,
            "findings_mapped": len(rows), "open_findings": len(still_open), "open_critical_high": high,
            "closed_in_month": sum(month.closed_in_month(f) for f in rows),
            "attestation": "at_risk" if high else "open_findings" if still_open else "clear",
        })
    return typed_frame(records, contract)
