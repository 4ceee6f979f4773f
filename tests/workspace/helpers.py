"""A small hand-built workspace: one client, one engagement, people, service accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from secportal_pipeline.workspace import schema
from secportal_pipeline.workspace.accounts import ensure_service_accounts, ensure_user
from secportal_pipeline.workspace.activity import create_entity

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@dataclass
class Small:
    engagement_id: int
    intake: int
    system: int
    alice: int
    bob: int
    exporter: int


def build_small(engine: sa.Engine) -> Small:
    with engine.begin() as conn:
        ids = ensure_service_accounts(conn, T0)
        system = ids["svc-workspace"]
        alice = ensure_user(conn, "alice", role="member", at=T0, actor_id=system, mfa_enrolled=True)
        bob = ensure_user(conn, "bob", role="admin", at=T0, actor_id=system)
        exporter = ensure_user(conn, "svc-export-findings", role="member", at=T0, actor_id=system,
                               is_service_account=True)
        client = create_entity(conn, schema.clients, {"name": "Acme", "created_at": T0},
                               actor_id=system, occurred_at=T0, entity_type="client")
        engagement = create_entity(
            conn, schema.engagements,
            {"client_id": client, "name": "Q3 external", "engagement_type": "external_scan", "status": "active",
             "owner_id": bob, "started_at": T0},
            actor_id=system, occurred_at=T0, entity_type="engagement",
        )
    return Small(engagement, ids["svc-intake"], system, alice, bob, exporter)


def finding_values(small: Small, n: int, **overrides) -> dict:
    return {
        "fingerprint": f"{n:064x}", "title": f"Finding {n}", "description": f"details of {n}",
        "severity": "high", "engagement_id": small.engagement_id, "source_pipeline": "external_scan",
        "source_tool": "nessus", "asset_ref": "portal.acme.example", "port": 443, "cve": [f"CVE-2026-{n:04d}"],
        **overrides,
    }


def small_with_findings(engine: sa.Engine, count: int) -> Small:
    """``build_small`` plus findings 1..count (``finding_values``), all created at T0."""
    from secportal_pipeline.workspace.findings import create_finding

    small = build_small(engine)
    with engine.begin() as conn:
        for n in range(1, count + 1):
            create_finding(conn, finding_values(small, n), actor_id=small.intake, at=T0)
    return small
