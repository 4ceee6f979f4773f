"""The export preflight: who may run an export, refused before a single row is read."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.exports import run as export_run
from secportal_pipeline.exports.preflight import AccessDenied, authorize_export
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.workspace.access import LEVELS, clears
from secportal_pipeline.workspace.accounts import ensure_user
from secportal_pipeline.workspace.activity import utcnow
from secportal_pipeline.workspace.credentials import create_credential, revoke_credentials
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.schema import activity_log, users
from tests.conftest import REPO_ROOT
from tests.workspace.helpers import T0, build_small

CONTRACT = load_contract(REPO_ROOT / "contracts" / "findings_snapshot.yaml")
NOW = T0 + timedelta(days=10)

# role -> the levels it may read, in LEVELS order (public, internal, confidential, restricted)
MATRIX = {
    "viewer": (True, True, False, False),
    "member": (True, True, True, False),
    "admin": (True, True, True, True),
    "owner": (True, True, True, True),
    "billing": (False, False, False, False),
}
CASES = [(role, level, allowed[i]) for role, allowed in MATRIX.items() for i, level in enumerate(LEVELS)]


def contract_at(level: str, *, raw_column_level: str = "public", account: str = "svc-export-findings"):
    """findings_snapshot at contract level ``level``, its first column raw at ``raw_column_level``,
    every other column public."""
    columns = [dataclasses.replace(c, classification="public") for c in CONTRACT.columns]
    columns[0] = dataclasses.replace(columns[0], classification=raw_column_level, treatment="raw")
    custom = {**CONTRACT.custom, "dataClassification": level, "serviceAccount": account}
    return dataclasses.replace(CONTRACT, columns=tuple(columns), custom=custom)


@pytest.fixture
def ws(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    small = build_small(engine)
    with engine.begin() as conn:
        create_credential(conn, "svc-export-findings", actor_id=small.system, at=T0)
    return engine, small


def _account(engine, small, role: str) -> str:
    handle = f"svc-export-{role}"
    with engine.begin() as conn:
        ensure_user(conn, handle, role=role, at=T0, actor_id=small.system, is_service_account=True)
        create_credential(conn, handle, actor_id=small.system, at=T0)
    return handle


def _refusal(engine, contract, now=NOW, **kwargs) -> str:
    with engine.connect() as conn, pytest.raises(AccessDenied) as refused:
        authorize_export(conn, contract, now, **kwargs)
    return str(refused.value)


@pytest.mark.parametrize(("role", "level", "allowed"), CASES)
def test_role_clearance_against_the_contract_level(ws, role, level, allowed):
    engine, small = ws
    contract = contract_at(level, account=_account(engine, small, role))
    assert clears(role, level) is allowed
    if allowed:
        with engine.connect() as conn:
            assert authorize_export(conn, contract, NOW).role == role
    else:
        assert _refusal(engine, contract) == (
            f"export findings_snapshot: service account 'svc-export-{role}' refused: role {role!r} (clearance "
            f"{ {'viewer': 'internal', 'member': 'confidential', 'billing': 'none'}[role] }) lacks clearance for "
            f"the contract's classification {level!r}")


@pytest.mark.parametrize(("role", "level", "allowed"), CASES)
def test_role_clearance_against_a_raw_column(ws, role, level, allowed):
    engine, small = ws
    # a public contract, so only the raw column's level can refuse (billing is refused by the contract itself)
    contract = contract_at("public", raw_column_level=level, account=_account(engine, small, role))
    if allowed:
        with engine.connect() as conn:
            authorize_export(conn, contract, NOW)
    elif role == "billing":
        assert "lacks clearance for the contract's classification 'public'" in _refusal(engine, contract)
    else:
        assert _refusal(engine, contract).endswith(f"lacks clearance for raw column(s) snapshot_week ({level})")


def test_a_hashed_or_redacted_column_needs_no_clearance_for_its_level(ws):
    engine, small = ws
    contract = contract_at("internal", account=_account(engine, small, "viewer"))
    columns = [dataclasses.replace(c, classification="restricted") if c.treatment in ("hashed", "redacted") else c
               for c in contract.columns]
    with engine.connect() as conn:
        authorize_export(conn, dataclasses.replace(contract, columns=tuple(columns)), NOW)


def test_unknown_account(ws):
    engine, _ = ws
    assert _refusal(engine, contract_at("internal", account="svc-ghost")) == (
        "export findings_snapshot: service account 'svc-ghost' refused: unknown account: no such user in the workspace")


def test_a_person_account_is_refused(ws):
    engine, _ = ws
    assert _refusal(engine, contract_at("internal", account="alice")).endswith(
        "refused: not a service account: exports never run under a person's account")


def test_disabled_account(ws):
    engine, _ = ws
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.handle == "svc-export-findings").values(disabled_at=T0 + timedelta(days=2)))
    assert _refusal(engine, CONTRACT) == (
        "export findings_snapshot: service account 'svc-export-findings' refused: account disabled since "
        "2026-09-03T09:00:00+00:00")


def test_no_active_credential_after_revocation(ws):
    engine, small = ws
    with engine.begin() as conn:
        revoke_credentials(conn, "svc-export-findings", actor_id=small.system, at=T0 + timedelta(days=1))
    assert _refusal(engine, CONTRACT) == (
        "export findings_snapshot: service account 'svc-export-findings' refused: no active credential (issue one: "
        "secportal-pipeline accounts credential create svc-export-findings)")


def test_credential_older_than_the_maximum_age(ws, monkeypatch):
    engine, _ = ws
    with engine.connect() as conn:
        assert authorize_export(conn, CONTRACT, T0 + timedelta(days=90)).credential_age_days == 90
    assert _refusal(engine, CONTRACT, T0 + timedelta(days=91)) == (
        "export findings_snapshot: service account 'svc-export-findings' refused: credential "
        "cred:svc-export-findings:1 issued 2026-09-01T09:00:00+00:00 is 91 days old, older than the maximum 90 days "
        "(rotate it: secportal-pipeline accounts credential rotate svc-export-findings)")
    monkeypatch.setenv("SECPORTAL_CREDENTIAL_MAX_AGE_DAYS", "5")
    assert "is 10 days old, older than the maximum 5 days" in _refusal(engine, CONTRACT)


def test_export_partition_fails_before_the_builder_reads_a_row(settings, monkeypatch):
    engine = open_workspace(settings.workspace_url)
    build_small(engine)  # svc-export-findings exists but has no credential

    def must_not_run(*_args):
        raise AssertionError("the builder read the workspace")

    monkeypatch.setitem(export_run.BUILDERS, "findings_snapshot", must_not_run)
    with pytest.raises(AccessDenied, match="'svc-export-findings' refused: no active credential"):
        export_run.export_partition(engine, CONTRACT, "2026-09-07", landing_root=settings.landing_root,
                                    key=load_hmac_key(), run_id="r1")
    assert not settings.landing_root.exists()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(activity_log.c.action == "export.run")).scalar_one() == 0


def test_a_cleared_run_is_logged_under_its_service_account(settings):
    engine = open_workspace(settings.workspace_url)
    small = build_small(engine)
    with engine.begin() as conn:
        create_credential(conn, "svc-export-findings", actor_id=small.system, at=utcnow())
    export_run.export_partition(engine, CONTRACT, "2026-09-07", landing_root=settings.landing_root,
                                key=load_hmac_key(), run_id="r1")
    with engine.connect() as conn:
        (actor,) = conn.execute(sa.select(activity_log.c.actor_id).where(activity_log.c.action == "export.run")).scalars()
    assert actor == small.exporter
