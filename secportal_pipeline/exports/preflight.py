"""May this export run? Checked before a single workspace row is read.

The contract names the service account; the account must exist, be a service
account, be enabled, hold an unrevoked credential younger than the configured
maximum age, and its role's clearance must reach the contract's classification
and every column landed raw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..contracts.model import Contract
from ..workspace.access import CLEARANCE, clears, credential_max_age_days
from ..workspace.credentials import active_credentials
from ..workspace.schema import users


class AccessDenied(PermissionError):
    """A run refused before it read anything: the account and the reason are named."""

    def __init__(self, contract: Contract, account: str, reason: str):
        self.contract_id, self.account, self.reason = contract.id, account, reason
        super().__init__(f"export {contract.id}: service account {account!r} refused: {reason}")


@dataclass(frozen=True)
class Authorization:
    account: str
    user_id: int
    role: str
    credential_id: str
    credential_age_days: float


def authorize_export(conn: sa.Connection, contract: Contract, now: datetime,
                     *, max_age_days: int | None = None) -> Authorization:
    """The contract's service account, cleared to run it at ``now``; else ``AccessDenied``."""
    account = contract.service_account
    max_age = max_age_days if max_age_days is not None else credential_max_age_days()

    def deny(reason: str) -> AccessDenied:
        return AccessDenied(contract, account, reason)

    user = conn.execute(
        sa.select(users.c.user_id, users.c.role, users.c.is_service_account, users.c.disabled_at)
        .where(users.c.handle == account)
    ).one_or_none()
    if user is None:
        raise deny("unknown account: no such user in the workspace")
    if not user.is_service_account:
        raise deny("not a service account: exports never run under a person's account")
    if user.disabled_at is not None and user.disabled_at <= now:
        raise deny(f"account disabled since {user.disabled_at.isoformat()}")
    ceiling = CLEARANCE.get(user.role)
    if not clears(user.role, contract.classification):
        raise deny(f"role {user.role!r} (clearance {ceiling or 'none'}) lacks clearance for the contract's "
                   f"classification {contract.classification!r}")
    over = [f"{c.name} ({c.classification})" for c in contract.columns
            if c.treatment == "raw" and not clears(user.role, c.classification)]
    if over:
        raise deny(f"role {user.role!r} (clearance {ceiling or 'none'}) lacks clearance for raw column(s) "
                   f"{', '.join(over)}")
    credentials = active_credentials(conn, account)
    if not credentials:
        raise deny("no active credential (issue one: secportal-pipeline accounts credential create "
                   f"{account})")
    newest = credentials[0]
    age = (now - newest["issued_at"]).total_seconds() / 86400
    if age > max_age:
        raise deny(f"credential {newest['credential_id']} issued {newest['issued_at'].isoformat()} is "
                   f"{age:.0f} days old, older than the maximum {max_age} days (rotate it: "
                   f"secportal-pipeline accounts credential rotate {account})")
    return Authorization(account, user.user_id, user.role, newest["credential_id"], age)
