"""The demo's closing evidence: three mart figures from the warehouse, and the same three
computed straight from the workspace tables with SQLAlchemy; they must agree.

The week is the last snapshot week in the warehouse; "now" for the figures is that
week's end (Monday 00:00 UTC), the instant the snapshot describes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import sqlalchemy as sa

from ..warehouse.sla import load_sla_policy
from ..workspace.schema import exceptions, findings, overrides
from ..workspace.types import CLOSED_STATUSES


class EvidenceMismatch(RuntimeError):
    """The warehouse and the workspace tell different stories."""


@dataclass(frozen=True)
class Figures:
    week: date
    sla_within: int
    sla_closed: int
    open_critical: int
    expiring_30_days: int

    @property
    def sla_text(self) -> str:
        if not self.sla_closed:
            return "none closed"
        return f"{self.sla_within}/{self.sla_closed} = {self.sla_within / self.sla_closed:.1%}"

    def rows(self) -> list[tuple[str, str]]:
        end = self.week + timedelta(days=7)
        return [
            (f"SLA attainment, week of {self.week} (closed within SLA / closed)", self.sla_text),
            (f"open critical findings at {end} 00:00 UTC", str(self.open_critical)),
            (f"approved exceptions expiring within 30 days of {end}", str(self.expiring_30_days)),
        ]


def warehouse_figures(warehouse_path: Path) -> Figures:
    """The three figures read from the marts for the last loaded week."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        (week,) = con.execute("SELECT max(week) FROM marts.sla_attainment").fetchone()
        within, late = con.execute(
            "SELECT sum(resolved_within_sla), sum(resolved_late) FROM marts.sla_attainment WHERE week = ?", [week]
        ).fetchone()
        (critical,) = con.execute(
            "SELECT open_at_week_end FROM marts.severity_distribution WHERE week = ? AND severity = 'critical'",
            [week],
        ).fetchone()
        (expiring,) = con.execute(
            "SELECT approved FROM marts.exception_backlog WHERE week = ? AND expiry_bucket = 'under_30_days'", [week]
        ).fetchone()
    return Figures(week, int(within), int(within + late), int(critical), int(expiring))


def workspace_figures(engine: sa.Engine, week: date, sla_policy: dict[str, int] | None = None) -> Figures:
    """The same three figures from the workspace tables (current state; nothing after the week changed it)."""
    policy = load_sla_policy() if sla_policy is None else sla_policy
    start = datetime(week.year, week.month, week.day, tzinfo=UTC)
    end = start + timedelta(days=7)
    f, o, x = findings.c, overrides.c, exceptions.c
    not_false_positive = sa.or_(o.kind.is_(None), o.kind != "false_positive")
    base = findings.outerjoin(overrides, o.override_id == f.override_id)
    with engine.connect() as conn:
        closed = conn.execute(
            sa.select(f.severity, f.opened_at, f.closed_at).select_from(base)
            .where(f.status.in_(sorted(CLOSED_STATUSES)), f.closed_at >= start, f.closed_at < end,
                   f.severity.in_(list(policy)), not_false_positive)
        ).all()
        critical = conn.execute(
            sa.select(sa.func.count()).select_from(base)
            .where(f.severity == "critical", f.status.not_in(sorted(CLOSED_STATUSES)), f.opened_at < end,
                   not_false_positive)
        ).scalar_one()
        expiring = conn.execute(
            sa.select(sa.func.count()).select_from(exceptions)
            .where(x.decision == "approved", x.expires_on >= end.date(),
                   x.expires_on < end.date() + timedelta(days=30))
        ).scalar_one()
    within = sum((c.closed_at - c.opened_at) <= timedelta(days=policy[c.severity]) for c in closed)
    return Figures(week, within, len(closed), critical, expiring)


def report_evidence(warehouse_path: Path, engine: sa.Engine, echo: Callable[[str], None]) -> dict:
    """Print both sets of figures side by side; raise EvidenceMismatch if any differ."""
    from_warehouse = warehouse_figures(warehouse_path)
    from_workspace = workspace_figures(engine, from_warehouse.week)
    echo("")
    echo("evidence: three figures from the warehouse marts, and straight from the workspace")
    differ = []
    for (label, wh), (_, ws) in zip(from_warehouse.rows(), from_workspace.rows(), strict=True):
        verdict = "agree" if wh == ws else "DIFFER"
        echo(f"  {label:<66} warehouse {wh:<16} workspace {ws:<16} {verdict}")
        if wh != ws:
            differ.append(f"{label}: warehouse {wh}, workspace {ws}")
    if differ:
        raise EvidenceMismatch("the warehouse and the workspace disagree: " + "; ".join(differ))
    return {"week": from_warehouse.week.isoformat(), "sla_within": from_warehouse.sla_within,
            "sla_closed": from_warehouse.sla_closed, "open_critical": from_warehouse.open_critical,
            "expiring_30_days": from_warehouse.expiring_30_days}
