"""The blocking leak check: a raw value of a non-raw column in a landed file stops the landing."""

from __future__ import annotations

import openpyxl
import pytest
import sqlalchemy as sa

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.exports import classify as classify_module
from secportal_pipeline.exports import run as run_module
from secportal_pipeline.exports.leakcheck import LeakDetected, find_leaks
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.workspace.activity import record_event, utcnow
from secportal_pipeline.workspace.credentials import create_credential
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import assign_owner, create_finding
from secportal_pipeline.workspace.schema import activity_log
from tests.conftest import REPO_ROOT
from tests.exports.export_helpers import add_export_account
from tests.workspace.helpers import T0, build_small, finding_values

FINDINGS = load_contract(REPO_ROOT / "contracts" / "findings_snapshot.yaml")
ACTIVITY = load_contract(REPO_ROOT / "contracts" / "activity_slice.yaml")
WEEK, DAY = "2026-08-31", "2026-09-01"


@pytest.fixture
def engine(settings):
    engine = open_workspace(settings.workspace_url)
    s = build_small(engine)
    with engine.begin() as c:
        create_credential(c, "svc-export-findings", actor_id=s.system, at=utcnow())
        add_export_account(c, "svc-export-activity", "member", s.system)
        f1 = create_finding(c, finding_values(s, 1, description="=cmd|' /C calc'!A0"), actor_id=s.intake, at=T0)
        create_finding(c, finding_values(s, 2, description="Server banner leaks version 2.4.1"),
                       actor_id=s.intake, at=T0)
        assign_owner(c, f1, s.alice, actor_id=s.bob, at=T0)
        record_event(c, actor_id=s.bob, entity_type="finding", entity_id=f1, action="finding.commented",
                     occurred_at=T0, metadata={"comment": "root password is hunter2-prod"})
    return engine


def broken(leak):
    """A classifier that classifies, then lets ``leak`` put a raw value somewhere it still validates."""
    real = classify_module.classify

    def classify(frame, contract, key):
        return leak(real(frame, contract, key), frame)
    return classify


def landed_events(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(activity_log)
                            .where(activity_log.c.action == "export.run")).scalar_one()


def test_a_description_copied_into_a_raw_column_blocks_the_landing(engine, settings, monkeypatch):
    key = load_hmac_key()
    export_partition(engine, FINDINGS, WEEK, landing_root=settings.landing_root, key=key, run_id="good")
    directory = settings.landing_root / "findings_snapshot" / "v1" / WEEK
    before = {p.name: p.read_bytes() for p in directory.iterdir()}

    def into_title(landed, canonical):
        return landed.assign(title=canonical["description"].to_numpy())
    monkeypatch.setattr(run_module, "classify", broken(into_title))
    with pytest.raises(LeakDetected) as error:
        export_partition(engine, FINDINGS, WEEK, landing_root=settings.landing_root, key=key, run_id="bad")
    assert [leak.describe() for leak in error.value.leaks] == [
        "raw value(s) of column 'description' (redacted) found in findings_snapshot.csv column 'title', "
        "first at row 1 (2 cell(s))",
        "raw value(s) of column 'description' (redacted) found in findings_snapshot.parquet column 'title', "
        "first at row 1 (2 cell(s))",
    ]
    assert "redaction rule miss" in str(error.value) and "hunter2" not in str(error.value)
    assert "calc" not in str(error.value)  # the message never repeats the secret
    # nothing landed: the previous partition is untouched, no staging left, no second export.run
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    assert sorted(p.name for p in directory.parent.iterdir()) == [WEEK]
    assert landed_events(engine) == 1


def test_an_unhashed_owner_in_any_text_column_is_found(engine, settings, monkeypatch):
    def owner_in_cve(landed, canonical):
        return landed.assign(cve=canonical["owner"].to_numpy())
    monkeypatch.setattr(run_module, "classify", broken(owner_in_cve))
    with pytest.raises(LeakDetected, match=r"raw value\(s\) of column 'owner' \(hashed\) found in "
                                           r"findings_snapshot.csv column 'cve', first at row 1 \(1 cell\(s\)\)"):
        export_partition(engine, FINDINGS, WEEK, landing_root=settings.landing_root, key=load_hmac_key(),
                         run_id="bad")
    assert not (settings.landing_root / "findings_snapshot" / "v1" / WEEK).exists()


def test_a_json_mask_that_masks_nothing_is_caught(engine, settings, monkeypatch):
    def unmasked(landed, canonical):
        return landed.assign(metadata=canonical["metadata"].to_numpy())
    monkeypatch.setattr(run_module, "classify", broken(unmasked))
    with pytest.raises(LeakDetected) as error:
        export_partition(engine, ACTIVITY, DAY, landing_root=settings.landing_root, key=load_hmac_key(),
                         run_id="bad")
    assert {(leak.column, leak.file, leak.landed_column) for leak in error.value.leaks} == {
        ("metadata", "activity_slice.csv", "metadata"), ("metadata", "activity_slice.parquet", "metadata")}
    assert not (settings.landing_root / "activity_slice" / "v1" / DAY).exists()


def test_one_hidden_value_kept_inside_a_payload_is_caught(engine, settings, monkeypatch):
    def one_comment(landed, canonical):
        return landed.assign(metadata=landed["metadata"].str.replace(
            '"comment":"[REDACTED]"', '"comment":"root password is hunter2-prod"', regex=False))
    monkeypatch.setattr(run_module, "classify", broken(one_comment))
    with pytest.raises(LeakDetected, match=r"column 'metadata' \(redacted\) found in activity_slice.csv column "
                                           r"'metadata', first at row \d+ \(1 cell\(s\)\)"):
        export_partition(engine, ACTIVITY, DAY, landing_root=settings.landing_root, key=load_hmac_key(),
                         run_id="bad")


def test_clean_exports_pass_and_shared_values_are_not_secrets(engine, settings, tmp_path):
    key = load_hmac_key()
    for contract, partition in ((FINDINGS, WEEK), (ACTIVITY, DAY)):
        result = export_partition(engine, contract, partition, landing_root=settings.landing_root, key=key,
                                  run_id="ok")
        assert result.rows > 0
    # a redacted value equal to a raw column's value (a title repeated as description) is not a leak
    with engine.connect() as conn:
        canonical = run_module.BUILDERS["findings_snapshot"](conn, FINDINGS, WEEK)
    directory = settings.landing_root / "findings_snapshot" / "v1" / WEEK
    assert find_leaks(canonical, FINDINGS, directory) == []
    assert find_leaks(canonical.assign(description=canonical["title"]), FINDINGS, directory) == []
    assert len(find_leaks(canonical.assign(description=["Finding 1", "a secret"]), FINDINGS, directory)) == 0


def test_excel_workbooks_are_scanned_too(engine, settings, tmp_path):
    with engine.connect() as conn:
        canonical = run_module.BUILDERS["findings_snapshot"](conn, FINDINGS, WEEK)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "findings"
    sheet.append(["finding_id", "note"])
    sheet.append([1, "fine"])
    sheet.append([2, "Server banner leaks version 2.4.1"])
    workbook.save(tmp_path / "findings_snapshot.xlsx")
    assert [leak.describe() for leak in find_leaks(canonical, FINDINGS, tmp_path)] == [
        "raw value(s) of column 'description' (redacted) found in findings_snapshot.xlsx[findings] column 'note', "
        "first at row 2 (1 cell(s))"]
