"""The demo workspace's cast: clients, engagements, the verified-domain registry, people
and the named service accounts, every one created through the logged code paths.

Deterministic for a given (at, seed): no wall clock, one ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..workspace.access import set_require_mfa
from ..workspace.accounts import SYSTEM_HANDLE, ensure_service_accounts, ensure_user
from ..workspace.activity import create_entity
from ..workspace.credentials import create_credential
from ..workspace.schema import clients, engagements, verified_domains


@dataclass(frozen=True)
class Person:
    handle: str
    display_name: str
    role: str
    job: str  # what they do in the story: lead, grc, engineer, tester, auditor, finance
    mfa_enrolled: bool


# The security team running the portal. Two people without MFA give the
# account-hygiene views something to flag.
PEOPLE = (
    Person("dana.whitfield", "Dana Whitfield", "owner", "ciso", True),
    Person("marcus.chen", "Marcus Chen", "admin", "lead", True),
    Person("priya.raman", "Priya Raman", "admin", "grc", True),
    Person("tom.okafor", "Tom Okafor", "admin", "lead", False),
    Person("lena.fischer", "Lena Fischer", "member", "engineer", True),
    Person("sam.ortiz", "Sam Ortiz", "member", "engineer", True),
    Person("yuki.tanaka", "Yuki Tanaka", "member", "engineer", False),
    Person("omar.haddad", "Omar Haddad", "member", "engineer", True),
    Person("nina.petrova", "Nina Petrova", "member", "tester", True),
    Person("grace.liu", "Grace Liu", "viewer", "auditor", True),
    Person("rob.baker", "Rob Baker", "billing", "finance", False),
)

# One account per export class, each with the least role its contract allows; the
# exception register needs admin because approvers' identities are in it.
EXPORT_SERVICE_ACCOUNTS = (
    ("svc-export-findings", "member", "Findings snapshot export"),
    ("svc-export-activity", "member", "Activity slice export"),
    ("svc-export-exceptions", "admin", "Exception register export"),
    ("svc-export-dimensions", "member", "Dimension exports"),
    ("svc-export-reports", "member", "Report tables export"),
    ("svc-export-scandiff", "member", "Scan diff export"),
    ("svc-export-audit", "member", "Access review and incident register exports"),
)

CLIENTS = ("Acme Corp", "Globex Health", "Initech Finance")


@dataclass(frozen=True)
class EngagementSpec:
    client: str
    name: str
    engagement_type: str
    status: str
    owner: str
    started_days_before: int  # relative to the seeding instant
    ended_days_before: int | None = None


ENGAGEMENTS = (
    EngagementSpec("Acme Corp", "Acme internal network review 2026", "internal_network", "completed",
                   "tom.okafor", 160, 120),
    EngagementSpec("Acme Corp", "Acme customer portal web test", "web_app_test", "active", "marcus.chen", 45),
    EngagementSpec("Acme Corp", "Acme external perimeter monitoring", "external_scan", "active", "marcus.chen", 20),
    EngagementSpec("Globex Health", "Globex patient API assessment", "web_app_test", "active", "tom.okafor", 30),
    EngagementSpec("Globex Health", "Globex cloud posture review", "cloud_review", "planned", "priya.raman", 0),
    EngagementSpec("Initech Finance", "Initech external perimeter monitoring", "external_scan", "active",
                   "marcus.chen", 60),
)


@dataclass(frozen=True)
class AssetSpec:
    asset_ref: str
    kind: str  # "host" (Nessus) or "web" (Burp)
    client: str
    method: str | None  # None: deliberately missing from the registry
    status: str = "verified"


# 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a real host.
ASSETS = (
    AssetSpec("portal.acme-corp.example", "web", "Acme Corp", "html_meta"),
    AssetSpec("vpn.acme-corp.example", "host", "Acme Corp", "dns_txt"),
    AssetSpec("mail.acme-corp.example", "host", "Acme Corp", "dns_txt"),
    AssetSpec("api.globex-health.example", "web", "Globex Health", "well_known_file"),
    AssetSpec("patients.globex-health.example", "web", "Globex Health", "html_meta"),
    AssetSpec("192.0.2.10", "host", "Globex Health", "well_known_file"),
    AssetSpec("www.initech-finance.example", "web", "Initech Finance", "dns_txt"),
    AssetSpec("192.0.2.45", "host", "Initech Finance", "well_known_file", status="pending"),
    # Scanned but never verified: the dimension key-gap check must report it.
    AssetSpec("staging.initech-finance.example", "host", "Initech Finance", None),
)


@dataclass
class DemoWorld:
    """Ids of everything seeded, for the history player and the tests."""

    at: datetime
    client_ids: dict[str, int] = field(default_factory=dict)
    engagement_ids: dict[str, int] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)  # handle -> id, people and service accounts
    people: dict[str, Person] = field(default_factory=dict)
    assets: list[tuple[str, str]] = field(default_factory=list)  # (asset_ref, kind) for plan_scans
    asset_client: dict[str, str] = field(default_factory=dict)
    unregistered_assets: list[str] = field(default_factory=list)
    # the engineer who looks after each asset: triage assigns its findings to them
    asset_engineer: dict[str, str] = field(default_factory=dict)

    def handles(self, job: str) -> list[str]:
        return [p.handle for p in self.people.values() if p.job == job]

    def uid(self, handle: str) -> int:
        return self.user_ids[handle]


def seed_workspace(conn: sa.Connection, at: datetime, seed: int) -> DemoWorld:
    """Create the demo cast at instant ``at`` (tz-aware); returns their ids."""
    rng = random.Random(seed)
    world = DemoWorld(at=at)
    world.user_ids.update(ensure_service_accounts(conn, at))
    _seed_people(conn, world, at)
    _seed_service_accounts(conn, world, at)
    _seed_clients(conn, world, at)
    _seed_engagements(conn, world, at)
    _seed_registry(conn, world, at, rng)
    _assign_asset_engineers(world, rng)
    return world


def _seed_people(conn: sa.Connection, world: DemoWorld, at: datetime) -> None:
    # The owner is created by the workspace itself; everyone else is invited by the owner.
    inviter = world.user_ids[SYSTEM_HANDLE]
    for person in PEOPLE:
        world.user_ids[person.handle] = ensure_user(
            conn, person.handle, role=person.role, at=at, display_name=person.display_name,
            email=f"{person.handle}@secportal.example", mfa_enrolled=person.mfa_enrolled, actor_id=inviter,
        )
        world.people[person.handle] = person
        if person.role == "owner":
            inviter = world.user_ids[person.handle]


def _owner_id(world: DemoWorld) -> int:
    return world.uid(next(p.handle for p in PEOPLE if p.role == "owner"))


def _seed_service_accounts(conn: sa.Connection, world: DemoWorld, at: datetime) -> None:
    for handle, role, display_name in EXPORT_SERVICE_ACCOUNTS:
        world.user_ids[handle] = ensure_user(
            conn, handle, role=role, at=at, display_name=display_name, is_service_account=True,
            actor_id=_owner_id(world),
        )
        # every export account gets its credential on day one (the secret is thrown away:
        # the demo never authenticates with it); run_demo rotates any that aged out since
        create_credential(conn, handle, actor_id=_owner_id(world), at=at)
    # the team requires MFA, so the posture check has people to flag
    set_require_mfa(conn, True, actor_id=_owner_id(world), at=at)


def _seed_clients(conn: sa.Connection, world: DemoWorld, at: datetime) -> None:
    for name in CLIENTS:
        world.client_ids[name] = create_entity(
            conn, clients, {"name": name, "created_at": at},
            actor_id=_owner_id(world), occurred_at=at, entity_type="client",
        )


def _seed_engagements(conn: sa.Connection, world: DemoWorld, at: datetime) -> None:
    for spec in ENGAGEMENTS:
        ended = at - timedelta(days=spec.ended_days_before) if spec.ended_days_before is not None else None
        world.engagement_ids[spec.name] = create_entity(
            conn, engagements,
            {"client_id": world.client_ids[spec.client], "name": spec.name,
             "engagement_type": spec.engagement_type, "status": spec.status,
             "owner_id": world.uid(spec.owner), "started_at": at - timedelta(days=spec.started_days_before),
             "ended_at": ended},
            actor_id=world.uid(spec.owner), occurred_at=at, entity_type="engagement",
        )


def _seed_registry(conn: sa.Connection, world: DemoWorld, at: datetime, rng: random.Random) -> None:
    grc = world.uid("priya.raman")
    for spec in ASSETS:
        world.assets.append((spec.asset_ref, spec.kind))
        world.asset_client[spec.asset_ref] = spec.client
        if spec.method is None:
            world.unregistered_assets.append(spec.asset_ref)
            continue
        # verified some weeks before the demo starts: the registry predates the scans
        verified_at = None
        if spec.status == "verified":
            verified_at = at - timedelta(days=rng.randint(7, 90), hours=rng.randint(0, 8))
        create_entity(
            conn, verified_domains,
            {"asset_ref": spec.asset_ref, "client_id": world.client_ids[spec.client],
             "verification_method": spec.method, "verified_at": verified_at, "status": spec.status},
            actor_id=grc, occurred_at=at, entity_type="verified_domain",
        )


def _assign_asset_engineers(world: DemoWorld, rng: random.Random) -> None:
    engineers = world.handles("engineer")
    rng.shuffle(engineers)
    for index, (asset_ref, _kind) in enumerate(world.assets):
        world.asset_engineer[asset_ref] = engineers[index % len(engineers)]
