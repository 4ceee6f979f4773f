"""Least-privilege PostgreSQL roles for the export service accounts.

An export role may read every workspace table, append to the activity log (its
``export.run`` entries) and read credential ages through the hash-free view; it may
change nothing, delete nothing, and cannot read ``service_credentials`` at all.
The privileges are the database's to enforce, not the pipeline's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from .db import CREDENTIAL_STATUS_VIEW
from .schema import activity_log, metadata, service_credentials

DEFAULT_PREFIX = "secportal_"
_SAFE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(ValueError):
    pass


@dataclass(frozen=True)
class RoleGrant:
    account: str
    role: str
    created: bool


def role_name(account: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The database role for ``account``: ``svc-export-findings`` -> ``secportal_svc_export_findings``."""
    name = prefix + re.sub(r"[^a-z0-9_]", "_", account.lower())
    if not _SAFE.match(name):
        raise RoleError(f"account {account!r} gives role name {name!r}, which is not a safe PostgreSQL identifier")
    return name


def _quote_literal(value: str) -> str:
    # utility statements (ALTER ROLE) take no bind parameters; standard_conforming_strings is on
    return "'" + value.replace("'", "''") + "'"


def export_role_statements(role: str, database: str) -> list[str]:
    """The DDL that makes ``role`` an export role on ``database`` (idempotent)."""
    readable = sorted(name for name in metadata.tables if name != service_credentials.name)
    return [
        f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"',
        f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{role}"',
        f'REVOKE ALL ON SCHEMA public FROM "{role}"',
        f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"',
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'GRANT SELECT ON {", ".join(readable)} TO "{role}"',
        f'GRANT SELECT ON {CREDENTIAL_STATUS_VIEW} TO "{role}"',
        f'GRANT INSERT ON {activity_log.name} TO "{role}"',
    ]


def create_export_roles(engine: sa.Engine, accounts: list[str], *, prefix: str = DEFAULT_PREFIX,
                        password: str | None = None) -> list[RoleGrant]:
    """Create (or re-grant) one login role per account on the workspace's PostgreSQL database.

    Run it as the workspace owner after ``init``; running it again resets each role's
    privileges to exactly these. ``password`` (from a file, never the command line)
    is set on every role when given; otherwise the server's own authentication applies.
    """
    if engine.dialect.name != "postgresql":
        raise RoleError(f"database roles need PostgreSQL; the workspace is {engine.dialect.name}")
    grants = []
    with engine.begin() as conn:
        database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
        sequence = conn.exec_driver_sql(
            f"SELECT pg_get_serial_sequence('{activity_log.name}', 'event_id')").scalar_one()
        for account in accounts:
            role = role_name(account, prefix)
            exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT')
            if password:
                conn.exec_driver_sql(f'ALTER ROLE "{role}" PASSWORD {_quote_literal(password)}')
            for statement in export_role_statements(role, database):
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql(f'GRANT USAGE ON SEQUENCE {sequence} TO "{role}"')
            grants.append(RoleGrant(account, role, created=not exists))
    return grants
