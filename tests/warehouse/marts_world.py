"""A small workspace for the mart tests, exported and loaded into a real DuckDB warehouse.

Six findings and two exceptions across the weeks of 7 and 14 September 2026 (times UTC):

- f1 high, opened Tue 1 Sep 10:00, CWE-79; assigned alice 2 Sep; in_progress 3 Sep; resolved 8 Sep 10:00.
- f2 critical, opened 1 Sep 10:00, CWE-319; assigned alice 2 Sep, reassigned bob 4 Sep; resolved 10 Sep 10:00.
- f3 critical, opened Tue 8 Sep 10:00 with owner bob, CWE-89; reassigned alice 12 Sep; still open.
- f4 medium, opened 2 Sep 10:00; resolved 9 Sep 10:00; reopened 15 Sep 10:00; verified 17 Sep 10:00.
- f5 low, opened 3 Sep 10:00; dismissed as a false positive 4 Sep 10:00.
- f6 medium, opened 8 Sep 12:00; severity override to high 9 Sep 12:00; still open.
- e1 on f3: requested 9 Sep 10:00, expires 2026-10-01, review every 7 days; approved 9 Sep 12:00.
- e2 on f6: requested 10 Sep 10:00, expires 2027-01-31, review every 90 days; approved 15 Sep 10:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from secportal_pipeline.contracts.model import load_contracts
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import HmacKey
from secportal_pipeline.warehouse.loader import load_partition
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import (apply_override, assign_owner, create_finding, decide_exception,
                                                   request_exception, set_status)
from tests.conftest import REPO_ROOT, TEST_KEY
from tests.exports.monthly_world import export_accounts
from tests.workspace.helpers import build_small, finding_values

W1, W2 = "2026-09-07", "2026-09-14"
DAYS = [(date(2026, 9, 1) + timedelta(days=i)).isoformat() for i in range(20)]  # 1..20 September
MONTH = "2026-09-01"
CONTRACTS = load_contracts(REPO_ROOT / "contracts")
KEY = HmacKey(TEST_KEY.encode(), "test-key")


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 9, day, hour, tzinfo=UTC)


@dataclass
class World:
    engine: sa.Engine
    landing: Path
    warehouse: Path
    ids: dict[str, int]


def build_history(engine: sa.Engine) -> dict[str, int]:
    s = build_small(engine)
    export_accounts(engine, s)
    with engine.begin() as c:
        def finding(n, severity, opened, **extra):
            return create_finding(c, finding_values(s, n, severity=severity, **extra), actor_id=s.intake, at=opened)

        f1 = finding(1, "high", at(1), cwe=[79])
        f2 = finding(2, "critical", at(1), cwe=[319])
        f4 = finding(4, "medium", at(2))
        f5 = finding(5, "low", at(3))
        assign_owner(c, f1, s.alice, actor_id=s.bob, at=at(2))
        assign_owner(c, f2, s.alice, actor_id=s.bob, at=at(2))
        set_status(c, f1, "in_progress", actor_id=s.alice, at=at(3))
        assign_owner(c, f2, s.bob, actor_id=s.bob, at=at(4))
        apply_override(c, f5, kind="false_positive", reason="scanner heuristic", actor_id=s.bob, at=at(4))
        f3 = finding(3, "critical", at(8), cwe=[89], owner_id=s.bob)
        f6 = finding(6, "medium", at(8, 12))
        set_status(c, f1, "resolved", actor_id=s.alice, at=at(8))
        set_status(c, f4, "resolved", actor_id=s.alice, at=at(9))
        apply_override(c, f6, kind="severity_override", to_severity="high", reason="internet-facing",
                       actor_id=s.bob, at=at(9, 12))
        e1 = request_exception(c, f3, compensating_controls="WAF rule", residual_likelihood="low",
                               residual_impact="high", business_rationale="vendor fix pending",
                               expires_on=date(2026, 10, 1), review_cadence_days=7, actor_id=s.alice, at=at(9))
        decide_exception(c, e1, "approved", actor_id=s.bob, at=at(9, 12))
        set_status(c, f2, "resolved", actor_id=s.bob, at=at(10))
        e2 = request_exception(c, f6, compensating_controls="IP allow-list", residual_likelihood="low",
                               residual_impact="medium", business_rationale="legacy client",
                               expires_on=date(2027, 1, 31), review_cadence_days=90, actor_id=s.alice, at=at(10))
        assign_owner(c, f3, s.alice, actor_id=s.bob, at=at(12))
        set_status(c, f4, "reopened", actor_id=s.intake, at=at(15))
        decide_exception(c, e2, "approved", actor_id=s.bob, at=at(15))
        set_status(c, f4, "verified", actor_id=s.bob, at=at(17))
    return dict(f1=f1, f2=f2, f3=f3, f4=f4, f5=f5, f6=f6, e1=e1, e2=e2)


def export_and_load(engine: sa.Engine, landing: Path, warehouse: Path) -> None:
    """Land and load every partition the marts read: two weeks, twenty days, September."""
    plan = {"findings_snapshot": [W1, W2], "exception_register": [W1, W2], "activity_slice": DAYS,
            "report_framework_coverage": [MONTH]}
    for contract_id, partitions in plan.items():
        contract = CONTRACTS[contract_id]
        for partition in partitions:
            landed = export_partition(engine, contract, partition, landing_root=landing, key=KEY, run_id="test")
            load_partition(warehouse, landed.landed.directory, contract)


def build_world(root: Path) -> World:
    engine = open_workspace(f"sqlite:///{root / 'workspace.sqlite'}")
    ids = build_history(engine)
    world = World(engine, root / "landing", root / "warehouse.duckdb", ids)
    export_and_load(engine, world.landing, world.warehouse)
    return world
