"""Service-account credentials: issue, rotate, revoke, verify.

Only a salted scrypt hash of each secret is stored; the secret itself is returned
once to whoever issued it and is never written anywhere by the pipeline (not to the
table, not to the activity log, whose entries carry the credential id only).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from .accounts import user_id_for
from .activity import record_event
from .db import CREDENTIAL_STATUS_VIEW
from .schema import service_credentials, users
from .types import UTCDateTime

# scrypt cost: ~16 MiB and a few tens of ms per hash; verification is rare (CLI, preflight)
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32
SECRET_PREFIX = "spc_"

credential_status = sa.table(
    CREDENTIAL_STATUS_VIEW,
    sa.column("credential_id", sa.String), sa.column("account", sa.String),
    sa.column("issued_at", UTCDateTime), sa.column("revoked_at", UTCDateTime),
)


class CredentialError(ValueError):
    """A credential operation that cannot be done, with the account and the reason."""


@dataclass(frozen=True)
class IssuedCredential:
    account: str
    credential_id: str
    issued_at: datetime
    secret: str
    revoked: tuple[str, ...] = ()

    def __repr__(self) -> str:  # the secret is printed once, on purpose, never by accident
        return (f"IssuedCredential(account={self.account!r}, credential_id={self.credential_id!r}, "
                f"issued_at={self.issued_at.isoformat()!r})")


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$<salt hex>$<hash hex>`` for ``secret``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def secret_matches(secret: str, stored: str) -> bool:
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(secret.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                               dklen=len(bytes.fromhex(digest)))
    return hmac.compare_digest(candidate.hex(), digest)


def _service_account(conn: sa.Connection, account: str) -> int:
    row = conn.execute(
        sa.select(users.c.user_id, users.c.is_service_account, users.c.disabled_at).where(users.c.handle == account)
    ).one_or_none()
    if row is None:
        user_id_for(conn, account)  # raises UnknownAccount with the usual wording
    if not row.is_service_account:
        raise CredentialError(f"account {account!r} is a person's account; credentials are for service accounts")
    return row.user_id


def active_credentials(conn: sa.Connection, account: str) -> list[dict]:
    """Unrevoked credentials of ``account``, newest first (read through the hash-free view)."""
    rows = conn.execute(
        sa.select(credential_status).where(credential_status.c.account == account,
                                           credential_status.c.revoked_at.is_(None))
        .order_by(credential_status.c.issued_at.desc())
    ).mappings()
    return [dict(row) for row in rows]


def _insert(conn: sa.Connection, user_id: int, account: str, at: datetime) -> tuple[str, str]:
    # a readable, deterministic id (the n-th credential of the account); the secret is the random part
    issued = conn.execute(sa.select(sa.func.count()).select_from(service_credentials)
                          .where(service_credentials.c.user_id == user_id)).scalar_one()
    credential_id = f"cred:{account}:{issued + 1}"
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    conn.execute(service_credentials.insert().values(
        credential_id=credential_id, user_id=user_id, secret_hash=hash_secret(secret), issued_at=at, revoked_at=None,
    ))
    return credential_id, secret


def _revoke_all(conn: sa.Connection, user_id: int, at: datetime) -> list[str]:
    ids = list(conn.execute(
        sa.select(service_credentials.c.credential_id)
        .where(service_credentials.c.user_id == user_id, service_credentials.c.revoked_at.is_(None))
        .order_by(service_credentials.c.issued_at)
    ).scalars())
    if ids:
        conn.execute(service_credentials.update().where(service_credentials.c.credential_id.in_(ids))
                     .values(revoked_at=at))
    return ids


def create_credential(conn: sa.Connection, account: str, *, actor_id: int, at: datetime) -> IssuedCredential:
    """Issue the first credential of ``account``; refuses if one is active (rotate instead)."""
    user_id = _service_account(conn, account)
    active = active_credentials(conn, account)
    if active:
        raise CredentialError(f"account {account!r} already has active credential {active[0]['credential_id']}; "
                              "rotate it instead")
    credential_id, secret = _insert(conn, user_id, account, at)
    record_event(conn, actor_id=actor_id, entity_type="service_credential", entity_id=credential_id,
                 action="service_credential.created", occurred_at=at,
                 metadata={"account": account, "credential_id": credential_id, "issued_at": at})
    return IssuedCredential(account, credential_id, at, secret)


def rotate_credential(conn: sa.Connection, account: str, *, actor_id: int, at: datetime) -> IssuedCredential:
    """Revoke every active credential of ``account`` and issue a new one, in one transaction."""
    user_id = _service_account(conn, account)
    revoked = _revoke_all(conn, user_id, at)
    credential_id, secret = _insert(conn, user_id, account, at)
    record_event(conn, actor_id=actor_id, entity_type="service_credential", entity_id=credential_id,
                 action="service_credential.rotated", occurred_at=at,
                 metadata={"account": account, "credential_id": credential_id, "issued_at": at,
                           "revoked_credential_ids": revoked})
    return IssuedCredential(account, credential_id, at, secret, tuple(revoked))


def revoke_credentials(conn: sa.Connection, account: str, *, actor_id: int, at: datetime) -> list[str]:
    """Revoke every active credential of ``account``: its exports fail until a new one is issued."""
    user_id = _service_account(conn, account)
    revoked = _revoke_all(conn, user_id, at)
    if not revoked:
        raise CredentialError(f"account {account!r} has no active credential to revoke")
    for credential_id in revoked:
        record_event(conn, actor_id=actor_id, entity_type="service_credential", entity_id=credential_id,
                     action="service_credential.revoked", occurred_at=at,
                     metadata={"account": account, "credential_id": credential_id})
    return revoked


def verify_credential(conn: sa.Connection, account: str, secret: str) -> str | None:
    """The id of ``account``'s active credential whose secret is ``secret``, else None."""
    rows = conn.execute(
        sa.select(service_credentials.c.credential_id, service_credentials.c.secret_hash)
        .join(users, users.c.user_id == service_credentials.c.user_id)
        .where(users.c.handle == account, service_credentials.c.revoked_at.is_(None))
    ).all()
    return next((row.credential_id for row in rows if secret_matches(secret, row.secret_hash)), None)


def rotate_aged(conn: sa.Connection, accounts: list[str], *, actor_id: int, at: datetime,
                max_age_days: int) -> list[IssuedCredential]:
    """Rotate the credential of each of ``accounts`` that would be refused at ``at`` for its age."""
    rotated = []
    for account in accounts:
        active = active_credentials(conn, account)
        if active and (at - active[0]["issued_at"]).total_seconds() / 86400 <= max_age_days:
            continue
        rotated.append(rotate_credential(conn, account, actor_id=actor_id, at=at))
    return rotated
