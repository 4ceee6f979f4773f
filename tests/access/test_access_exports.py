"""The access-review and incident-register export classes, run through export_partition."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.workspace.accounts import ensure_user
from secportal_pipeline.workspace.activity import update_entity, utcnow
from secportal_pipeline.workspace.credentials import create_credential, rotate_credential
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.incidents import open_incident, recover_incidents
from secportal_pipeline.workspace.schema import users
from tests.conftest import REPO_ROOT
from tests.workspace.helpers import T0, build_small

ACCESS = load_contract(REPO_ROOT / "contracts" / "access_review.yaml")
INCIDENTS = load_contract(REPO_ROOT / "contracts" / "incident_register.yaml")
SEPT, OCT = "2026-09-01", "2026-10-01"


def _workspace(settings):
    engine = open_workspace(settings.workspace_url)
    small = build_small(engine)
    with engine.begin() as conn:
        ensure_user(conn, "svc-export-audit", role="member", at=T0, actor_id=small.system, is_service_account=True)
        create_credential(conn, "svc-export-audit", actor_id=small.system, at=utcnow())
    return engine, small


def _landed(settings, contract, partition) -> pd.DataFrame:
    return pd.read_parquet(settings.landing_root / contract.id / "v1" / partition / f"{contract.id}.parquet")


def test_access_review_lists_every_account_as_of_the_month_end(settings):
    engine, small = _workspace(settings)
    with engine.begin() as conn:
        create_credential(conn, "svc-export-findings", actor_id=small.system, at=T0 + timedelta(days=2))
        rotate_credential(conn, "svc-export-findings", actor_id=small.system, at=datetime(2026, 10, 5, tzinfo=UTC))
        # bob is disabled in October: September's review still shows him enabled
        update_entity(conn, users, small.bob, {"disabled_at": datetime(2026, 10, 9, tzinfo=UTC)},
                      actor_id=small.system, occurred_at=datetime(2026, 10, 9, tzinfo=UTC), entity_type="user")
    export_partition(engine, ACCESS, SEPT, landing_root=settings.landing_root, key=load_hmac_key(), run_id="r-sep")
    export_partition(engine, ACCESS, OCT, landing_root=settings.landing_root, key=load_hmac_key(), run_id="r-oct")
    sept = _landed(settings, ACCESS, SEPT).set_index("account")
    octo = _landed(settings, ACCESS, OCT).set_index("account")
    assert list(sept.index) == ["svc-workspace", "svc-intake", "alice", "bob", "svc-export-findings",
                                "svc-export-audit"]
    assert list(sept.columns) == [c.name for c in ACCESS.landed_columns if c.name != "account"]
    assert sept.loc["alice", ["role", "mfa_enrolled", "credential_status"]].tolist() == ["member", True,
                                                                                         "not_applicable"]
    assert pd.isna(sept.loc["alice", "attention"])
    assert sept.loc["bob", "attention"] == "mfa_missing" and pd.isna(sept.loc["bob", "disabled_at"])
    assert octo.loc["bob", "attention"] == "disabled"
    assert sept.loc["svc-export-findings", ["credential_id", "credential_age_days", "credential_status"]].tolist() \
        == ["cred:svc-export-findings:1", 27, "active"]  # issued 3 Sep 09:00, 27 whole days to 1 Oct
    assert octo.loc["svc-export-findings", ["credential_id", "credential_age_days"]].tolist() == \
        ["cred:svc-export-findings:2", 27]
    # issued today (December): in September it did not exist yet
    assert sept.loc["svc-export-audit", ["credential_status", "attention"]].tolist() == ["none", "no_credential"]
    assert sept.loc["svc-workspace", "last_activity_at"] == pd.Timestamp(T0 + timedelta(days=2))
    assert sept.loc["alice", "email"] != "alice@secportal.local" and len(sept.loc["alice", "email"]) == 64
    assert (settings.landing_root / "access_review" / "v1" / SEPT / "access_review.xlsx").exists()


def test_incident_register_shows_each_incident_open_in_the_month_with_its_status_then(settings):
    engine, _ = _workspace(settings)
    opened, recovered = datetime(2026, 9, 20, 2, tzinfo=UTC), datetime(2026, 10, 3, 2, tzinfo=UTC)
    with engine.begin() as conn:
        first = open_incident(conn, category="contract_violation", export_class="findings_snapshot",
                              partition="2026-09-14", run_id="run-a", diagnosis="ContractViolation: 2 rows",
                              at=opened)
        open_incident(conn, category="other", export_class="dim_asset", partition="2026-08-01", run_id="run-b",
                      diagnosis="ValueError: boom", at=datetime(2026, 8, 2, tzinfo=UTC))
        recover_incidents(conn, export_class="dim_asset", partition="2026-08-01", run_id="run-c",
                          at=datetime(2026, 8, 3, tzinfo=UTC))
        recover_incidents(conn, export_class="findings_snapshot", partition="2026-09-14", run_id="run-d",
                          at=recovered)
    for month in (SEPT, OCT, "2026-11-01"):
        export_partition(engine, INCIDENTS, month, landing_root=settings.landing_root, key=load_hmac_key(),
                         run_id=f"r-{month}")
    sept, octo = _landed(settings, INCIDENTS, SEPT), _landed(settings, INCIDENTS, OCT)
    assert sept[["incident_id", "category", "status", "run_id"]].values.tolist() == [
        [first, "contract_violation", "open", "run-a"]]  # the August one was recovered in August
    assert octo[["incident_id", "status", "recovered_by_run_id"]].values.tolist() == [[first, "recovered", "run-d"]]
    assert octo["recovered_at"].tolist() == [pd.Timestamp(recovered)]
    assert len(_landed(settings, INCIDENTS, "2026-11-01")) == 0
    assert sept["diagnosis"].tolist() == ["ContractViolation: 2 rows"]
    assert date.fromisoformat(str(sept["register_month"][0])[:10]) == date(2026, 9, 1)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 7  # + the monitor
