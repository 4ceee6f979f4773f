"""A hand-built workspace across September and October 2026 for the monthly classes and scan diffs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from secportal_pipeline.demo.seed import EXPORT_SERVICE_ACCOUNTS
from secportal_pipeline.workspace import schema
from secportal_pipeline.workspace.accounts import ensure_user
from secportal_pipeline.workspace.activity import create_entity, update_entity, utcnow
from secportal_pipeline.workspace.credentials import create_credential
from tests.workspace.helpers import Small

SEP, OCT = "2026-09-01", "2026-10-01"


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def export_accounts(engine: sa.Engine, small: Small) -> None:
    """Every export service account, each with a credential issued now (the preflight checks its age)."""
    with engine.begin() as conn:
        for handle, role, name in EXPORT_SERVICE_ACCOUNTS:
            ensure_user(conn, handle, role=role, at=at(9, 1), display_name=name, is_service_account=True,
                        actor_id=small.system)
            create_credential(conn, handle, actor_id=small.system, at=utcnow())


@dataclass
class Registry:
    acme: int
    globex: int


def registry(engine: sa.Engine, small: Small) -> Registry:
    """Acme (from helpers) plus Globex created in October; portal.acme verified in September,
    api.globex registered pending in October and verified on 20 October; the engagement completes
    on 10 October."""
    with engine.begin() as c:
        acme = c.execute(sa.select(schema.clients.c.client_id).where(schema.clients.c.name == "Acme")).scalar_one()
        create_entity(c, schema.verified_domains,
                      {"asset_ref": "portal.acme.example", "client_id": acme, "verification_method": "dns_txt",
                       "verified_at": at(9, 2), "status": "verified"},
                      actor_id=small.bob, occurred_at=at(9, 2), entity_type="verified_domain")
        globex = create_entity(c, schema.clients, {"name": "Globex", "created_at": at(10, 5)},
                               actor_id=small.system, occurred_at=at(10, 5), entity_type="client")
        create_entity(c, schema.verified_domains,
                      {"asset_ref": "api.globex.example", "client_id": globex, "verification_method": "html_meta",
                       "verified_at": None, "status": "pending"},
                      actor_id=small.bob, occurred_at=at(10, 6), entity_type="verified_domain")
        update_entity(c, schema.verified_domains, "api.globex.example",
                      {"status": "verified", "verified_at": at(10, 20)},
                      actor_id=small.bob, occurred_at=at(10, 20), entity_type="verified_domain")
        update_entity(c, schema.engagements, small.engagement_id,
                      {"status": "completed", "ended_at": at(10, 10)},
                      actor_id=small.bob, occurred_at=at(10, 10), entity_type="engagement")
    return Registry(acme, globex)
