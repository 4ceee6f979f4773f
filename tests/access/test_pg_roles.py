"""Least privilege on the real PostgreSQL server: the export role reads, appends, and nothing else."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.workspace.activity import utcnow
from secportal_pipeline.workspace.credentials import create_credential
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import create_finding
from secportal_pipeline.workspace.pg_roles import create_export_roles, role_name
from secportal_pipeline.workspace.schema import activity_log, users
from tests.conftest import REPO_ROOT
from tests.workspace.helpers import T0, build_small, finding_values

pytestmark = pytest.mark.postgres

CONTRACT = load_contract(REPO_ROOT / "contracts" / "findings_snapshot.yaml")
DENIED = "permission denied"


@pytest.fixture
def workspace(pg_engine):
    """A workspace as its owner, plus an engine connected as svc-export-findings' own login role."""
    owner = open_workspace(pg_engine.url.render_as_string(hide_password=False))
    small = build_small(owner)
    with owner.begin() as conn:
        create_credential(conn, "svc-export-findings", actor_id=small.system, at=utcnow())
        create_finding(conn, finding_values(small, 1), actor_id=small.intake, at=T0)
    prefix = f"t{uuid.uuid4().hex[:8]}_"  # roles are cluster-wide: never collide with a parallel test
    (grant,) = create_export_roles(owner, ["svc-export-findings"], prefix=prefix)
    # the test server trusts loopback, so the role logs in without a password
    exporter = sa.create_engine(pg_engine.url.set(username=grant.role))
    yield owner, exporter, grant.role, small
    exporter.dispose()
    with owner.begin() as conn:
        conn.exec_driver_sql(f'DROP OWNED BY "{grant.role}"')
        conn.exec_driver_sql(f'DROP ROLE "{grant.role}"')
    owner.dispose()


def _refused(engine: sa.Engine, statement: str) -> str:
    with pytest.raises(sa.exc.ProgrammingError) as refused, engine.begin() as conn:
        conn.exec_driver_sql(statement)
    return str(refused.value.orig)


def test_role_names_are_safe_identifiers():
    assert role_name("svc-export-findings") == "secportal_svc_export_findings"


def test_the_export_role_is_really_that_role(workspace):
    _, exporter, role, _ = workspace
    with exporter.connect() as conn:
        assert conn.exec_driver_sql("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").one() \
            == (role, False)


def test_it_cannot_update_a_finding(workspace):
    _, exporter, _, _ = workspace
    assert DENIED in _refused(exporter, "UPDATE findings SET status = 'resolved'")
    assert DENIED in _refused(exporter, "DELETE FROM findings")
    assert DENIED in _refused(exporter, "INSERT INTO workspace_settings VALUES ('require_mfa', 'false')")


def test_it_cannot_update_or_delete_an_activity_entry(workspace):
    _, exporter, _, _ = workspace
    assert _refused(exporter, "UPDATE activity_log SET action = 'tampered'") == \
        "permission denied for table activity_log"
    assert _refused(exporter, "DELETE FROM activity_log") == "permission denied for table activity_log"


def test_it_cannot_read_the_credential_table_only_the_hash_free_view(workspace):
    _, exporter, _, _ = workspace
    assert _refused(exporter, "SELECT secret_hash FROM service_credentials") == \
        "permission denied for table service_credentials"
    with exporter.connect() as conn:
        view = conn.exec_driver_sql("SELECT * FROM service_credential_status").mappings().one()
    assert set(view) == {"credential_id", "account", "issued_at", "revoked_at"}


def test_the_export_still_runs_under_it_and_logs_its_run(workspace, settings):
    owner, exporter, _, small = workspace
    url = exporter.url.render_as_string(hide_password=False)
    result = export_partition(open_workspace(url), CONTRACT, "2026-09-07", landing_root=settings.landing_root,
                              key=load_hmac_key(), run_id="run-pg")
    assert result.rows == 1 and result.landed.manifest["service_account"] == "svc-export-findings"
    with owner.connect() as conn:
        (entry,) = conn.execute(sa.select(activity_log).where(activity_log.c.action == "export.run")).mappings()
        (handle,) = conn.execute(sa.select(users.c.handle).where(users.c.user_id == entry["actor_id"])).scalars()
    assert handle == "svc-export-findings" and entry["metadata"]["run_id"] == "run-pg"


def test_granting_twice_resets_to_the_same_privileges(workspace):
    owner, exporter, role, _ = workspace
    prefix = role[: -len("svc_export_findings")]
    (again,) = create_export_roles(owner, ["svc-export-findings"], prefix=prefix)
    assert again.role == role and again.created is False
    assert DENIED in _refused(exporter, "UPDATE findings SET status = 'resolved'")
