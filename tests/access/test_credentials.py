"""Service-account credentials: hash only, one active, rotation and revocation on the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from secportal_pipeline.cli import main
from secportal_pipeline.workspace.access import credential_max_age_days
from secportal_pipeline.workspace.activity import utcnow
from secportal_pipeline.workspace.credentials import (
    CredentialError,
    create_credential,
    revoke_credentials,
    rotate_credential,
    verify_credential,
)
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.schema import activity_log, service_credentials
from tests.workspace.helpers import T0, build_small


def _log(engine, entity_type="service_credential"):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(activity_log).where(activity_log.c.entity_type == entity_type)
            .order_by(activity_log.c.event_id)).mappings()]


def test_create_stores_a_hash_and_logs_the_id_never_the_secret(engine):
    small = build_small(engine)
    with engine.begin() as conn:
        issued = create_credential(conn, "svc-export-findings", actor_id=small.bob, at=T0)
    with engine.connect() as conn:
        (row,) = conn.execute(sa.select(service_credentials)).mappings()
    assert issued.credential_id == row["credential_id"] == "cred:svc-export-findings:1"
    assert issued.secret.startswith("spc_") and len(issued.secret) > 40
    assert row["secret_hash"].startswith("scrypt$16384$8$1$") and issued.secret not in row["secret_hash"]
    assert row["issued_at"] == T0 and row["revoked_at"] is None
    (event,) = _log(engine)
    assert (event["action"], event["actor_id"], event["entity_id"]) == (
        "service_credential.created", small.bob, "cred:svc-export-findings:1")
    assert event["metadata"] == {"account": "svc-export-findings", "credential_id": "cred:svc-export-findings:1",
                                 "issued_at": T0.isoformat()}
    assert issued.secret not in repr(issued)
    with engine.connect() as conn:
        assert verify_credential(conn, "svc-export-findings", issued.secret) == issued.credential_id
        assert verify_credential(conn, "svc-export-findings", issued.secret + "x") is None


def test_rotate_revokes_the_old_secret_and_revoke_leaves_none(engine):
    small = build_small(engine)
    later = T0 + timedelta(days=30)
    with engine.begin() as conn:
        first = create_credential(conn, "svc-export-findings", actor_id=small.bob, at=T0)
        with pytest.raises(CredentialError, match="already has active credential .*rotate it instead"):
            create_credential(conn, "svc-export-findings", actor_id=small.bob, at=T0)
        second = rotate_credential(conn, "svc-export-findings", actor_id=small.bob, at=later)
    assert second.revoked == (first.credential_id,) and second.credential_id == "cred:svc-export-findings:2"
    with engine.connect() as conn:
        assert verify_credential(conn, "svc-export-findings", first.secret) is None
        assert verify_credential(conn, "svc-export-findings", second.secret) == second.credential_id
    with engine.begin() as conn:
        assert revoke_credentials(conn, "svc-export-findings", actor_id=small.bob, at=later) == [second.credential_id]
        with pytest.raises(CredentialError, match="no active credential to revoke"):
            revoke_credentials(conn, "svc-export-findings", actor_id=small.bob, at=later)
    actions = [(e["action"], e["entity_id"]) for e in _log(engine)]
    assert actions == [("service_credential.created", "cred:svc-export-findings:1"),
                       ("service_credential.rotated", "cred:svc-export-findings:2"),
                       ("service_credential.revoked", "cred:svc-export-findings:2")]
    assert _log(engine)[1]["metadata"]["revoked_credential_ids"] == ["cred:svc-export-findings:1"]


def test_people_do_not_get_credentials(engine):
    small = build_small(engine)
    with engine.begin() as conn, pytest.raises(CredentialError, match="'alice' is a person's account"):
        create_credential(conn, "alice", actor_id=small.bob, at=T0)


def test_max_age_comes_from_the_environment():
    assert credential_max_age_days({}) == 90
    assert credential_max_age_days({"SECPORTAL_CREDENTIAL_MAX_AGE_DAYS": "30"}) == 30
    with pytest.raises(ValueError, match="SECPORTAL_CREDENTIAL_MAX_AGE_DAYS='ninety' is not a whole number"):
        credential_max_age_days({"SECPORTAL_CREDENTIAL_MAX_AGE_DAYS": "ninety"})


def test_cli_create_rotate_revoke_print_the_secret_once_and_log_each(settings):
    engine = open_workspace(settings.workspace_url)
    small = build_small(engine)
    runner = CliRunner()
    created = runner.invoke(main, ["accounts", "credential", "create", "svc-export-findings", "--by", "bob"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert created.output.startswith("credential cred:svc-export-findings:1 issued to svc-export-findings at ")
    assert secret.startswith("spc_")
    rotated = runner.invoke(main, ["accounts", "credential", "rotate", "svc-export-findings", "--by", "bob"])
    assert rotated.exit_code == 0 and "revoked cred:svc-export-findings:1" in rotated.output
    revoked = runner.invoke(main, ["accounts", "credential", "revoke", "svc-export-findings", "--by", "bob"])
    assert revoked.output == "revoked cred:svc-export-findings:2 of svc-export-findings\n"
    unknown = runner.invoke(main, ["accounts", "credential", "create", "svc-nobody"])
    assert unknown.exit_code == 1 and "account 'svc-nobody' does not exist" in unknown.output
    events = _log(engine)
    assert [e["action"] for e in events] == ["service_credential.created", "service_credential.rotated",
                                             "service_credential.revoked"]
    assert all(secret not in str(e["metadata"]) for e in events)
    assert {e["actor_id"] for e in events} == {small.bob}
    with engine.connect() as conn:
        assert verify_credential(conn, "svc-export-findings", secret) is None  # revoked by the rotation
    assert utcnow() - events[0]["occurred_at"] < timedelta(minutes=5)
