"""The weekly snapshot: the right findings, as they stood at the week's end, landed byte-stable."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime

import duckdb
import pytest

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.contracts.validate import ContractViolation, validate
from secportal_pipeline.exports import findings_snapshot
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.exports.windows import BadPartition
from secportal_pipeline.warehouse.loader import load_partition
from secportal_pipeline.workspace.activity import utcnow
from secportal_pipeline.workspace.credentials import create_credential
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import apply_override, assign_owner, create_finding, set_status
from tests.conftest import REPO_ROOT, TEST_KEY
from tests.exports.export_helpers import keyed
from tests.workspace.helpers import build_small, finding_values

CONTRACT = load_contract(REPO_ROOT / "contracts" / "findings_snapshot.yaml")
W1, W2 = "2026-09-07", "2026-09-14"


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 9, day, hour, tzinfo=UTC)


@pytest.fixture
def workspace(settings):
    """Seven findings whose history crosses the weeks of 7 and 14 September 2026."""
    engine = open_workspace(settings.workspace_url)
    s = build_small(engine)
    with engine.begin() as c:
        # issued now: the export preflight measures a credential's age against the wall clock
        create_credential(c, "svc-export-findings", actor_id=s.system, at=utcnow())
        f1 = create_finding(c, finding_values(s, 1), actor_id=s.intake, at=at(1))
        f2 = create_finding(c, finding_values(s, 2), actor_id=s.intake, at=at(2))
        set_status(c, f2, "resolved", actor_id=s.bob, at=at(5))  # closed before week 1
        f3 = create_finding(c, finding_values(s, 3), actor_id=s.intake, at=at(8))
        set_status(c, f3, "resolved", actor_id=s.bob, at=at(10))  # opened and closed in week 1
        f4 = create_finding(c, finding_values(s, 4), actor_id=s.intake, at=at(15))  # week 2 only
        f5 = create_finding(c, finding_values(s, 5), actor_id=s.intake, at=at(3))
        set_status(c, f5, "resolved", actor_id=s.bob, at=at(9))
        set_status(c, f5, "reopened", actor_id=s.intake, at=at(16))
        f6 = create_finding(c, finding_values(s, 6), actor_id=s.intake, at=at(4))
        assign_owner(c, f6, s.alice, actor_id=s.bob, at=at(12))
        assign_owner(c, f6, s.bob, actor_id=s.bob, at=at(17))
        f7 = create_finding(c, finding_values(s, 7, severity="high"), actor_id=s.intake, at=at(4))
        apply_override(c, f7, kind="severity_override", to_severity="critical", reason="internet-facing",
                       actor_id=s.bob, at=at(13))
        # a change exactly at the week boundary belongs to the next week
        set_status(c, f1, "in_progress", actor_id=s.alice, at=datetime(2026, 9, 14, tzinfo=UTC))
    return engine, dict(f1=f1, f2=f2, f3=f3, f4=f4, f5=f5, f6=f6, f7=f7)


def test_past_week_holds_exactly_the_findings_open_or_closed_in_it_as_they_stood(workspace):
    engine, ids = workspace
    with engine.connect() as conn:
        frame = findings_snapshot.build(conn, CONTRACT, W1)
    rows = {r["finding_id"]: r for r in frame.to_dict("records")}
    assert sorted(rows) == sorted([ids["f1"], ids["f3"], ids["f5"], ids["f6"], ids["f7"]])
    assert rows[ids["f1"]]["status"] == "open"  # the boundary change is not in week 1
    assert rows[ids["f3"]]["status"] == "resolved"
    assert rows[ids["f3"]]["closed_at"] == at(10)
    assert rows[ids["f5"]]["status"] == "resolved" and rows[ids["f5"]]["closed_at"] == at(9)
    assert rows[ids["f6"]]["owner"] == "alice"
    assert rows[ids["f7"]]["severity"] == "critical"
    assert set(frame["snapshot_week"]) == {W1}
    validate(frame, CONTRACT, partition=W1)


def test_next_week_reflects_later_changes(workspace):
    engine, ids = workspace
    with engine.connect() as conn:
        frame = findings_snapshot.build(conn, CONTRACT, W2)
    rows = {r["finding_id"]: r for r in frame.to_dict("records")}
    assert sorted(rows) == sorted([ids["f1"], ids["f4"], ids["f5"], ids["f6"], ids["f7"]])
    assert rows[ids["f1"]]["status"] == "in_progress"
    assert rows[ids["f5"]]["status"] == "reopened" and rows[ids["f5"]]["closed_at"] is None or \
        str(rows[ids["f5"]]["closed_at"]) == "NaT"
    assert rows[ids["f6"]]["owner"] == "bob"


def test_partition_that_is_not_a_monday_is_refused(workspace):
    engine, _ = workspace
    with engine.connect() as conn, pytest.raises(BadPartition, match="is a Tuesday; weekly partitions start on Mondays"):
        findings_snapshot.build(conn, CONTRACT, "2026-09-08")


def test_landed_files_are_classified_and_byte_identical_on_rerun(workspace, settings):
    engine, ids = workspace
    key = load_hmac_key()
    first = export_partition(engine, CONTRACT, W1, landing_root=settings.landing_root, key=key, run_id="run-1")
    directory = settings.landing_root / "findings_snapshot" / "v1" / W1
    assert first.landed.directory == directory
    data_names = ["findings_snapshot.csv", "findings_snapshot.parquet"]
    before = {name: (directory / name).read_bytes() for name in data_names}
    manifest = json.loads((directory / "_manifest.json").read_text())
    assert manifest["row_count"] == 5 and manifest["partition"] == W1
    assert manifest["contract_id"] == "findings_snapshot" and manifest["contract_version"] == "1.0.1"
    assert manifest["service_account"] == "svc-export-findings" and manifest["run_id"] == "run-1"
    assert manifest["hmac_key_id"] == key.key_id and TEST_KEY not in json.dumps(manifest)
    assert manifest["classification_policy"]["owner"] == "hashed"
    assert manifest["classification_policy"]["description"] == "redacted"
    for name in data_names:
        assert manifest["files"][name]["sha256"] == hashlib.sha256(before[name]).hexdigest()

    rows = list(csv.DictReader(io.StringIO(before["findings_snapshot.csv"].decode())))
    assert [r["finding_id"] for r in rows] == [str(i) for i in sorted([ids["f1"], ids["f3"], ids["f5"], ids["f6"], ids["f7"]])]
    by_id = {int(r["finding_id"]): r for r in rows}
    assert by_id[ids["f6"]]["owner"] == keyed("alice")
    assert by_id[ids["f1"]]["owner"] == ""
    assert {r["description"] for r in rows} == {"[REDACTED]"}
    assert "details of" not in before["findings_snapshot.csv"].decode()

    export_partition(engine, CONTRACT, W1, landing_root=settings.landing_root, key=key, run_id="run-2")
    assert {name: (directory / name).read_bytes() for name in data_names} == before
    assert json.loads((directory / "_manifest.json").read_text())["run_id"] == "run-2"


def test_reloading_a_partition_leaves_the_warehouse_count_unchanged(workspace, settings):
    engine, _ = workspace
    key = load_hmac_key()
    for week in (W1, W2):
        export_partition(engine, CONTRACT, week, landing_root=settings.landing_root, key=key, run_id="r")
    directory = settings.landing_root / "findings_snapshot" / "v1"
    load_partition(settings.warehouse_path, directory / W1, CONTRACT)
    load_partition(settings.warehouse_path, directory / W2, CONTRACT)
    again = load_partition(settings.warehouse_path, directory / W1, CONTRACT)
    assert again.rows == 5 and again.replaced_rows == 5
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        counts = dict(con.execute(
            "SELECT _partition, count(*) FROM published.fact_finding_snapshot GROUP BY 1 ORDER BY 1").fetchall())
        severities = con.execute(
            "SELECT severity FROM published.fact_finding_snapshot WHERE snapshot_week = DATE '2026-09-07' "
            "ORDER BY finding_id").fetchall()
    assert counts == {W1: 5, W2: 5}
    assert [s for (s,) in severities] == ["high", "high", "high", "high", "critical"]


def test_an_export_without_a_key_fails_with_a_clear_message(workspace, settings, monkeypatch):
    monkeypatch.delenv("SECPORTAL_HMAC_KEY")
    with pytest.raises(Exception, match="no classification key: set SECPORTAL_HMAC_KEY"):
        load_hmac_key()


def test_contract_violation_blocks_landing(workspace, settings, monkeypatch):
    engine, _ = workspace
    real_build = findings_snapshot.build

    def drifted(conn, contract, partition):
        return real_build(conn, contract, partition).rename(columns={"asset_ref": "asset"})

    monkeypatch.setitem(__import__("secportal_pipeline.exports.run", fromlist=["BUILDERS"]).BUILDERS,
                        "findings_snapshot", drifted)
    with pytest.raises(ContractViolation) as violation:
        export_partition(engine, CONTRACT, W1, landing_root=settings.landing_root, key=load_hmac_key(), run_id="x")
    message = str(violation.value)
    assert "column 'asset': column not in the contract (added or renamed)" in message
    assert "column 'asset_ref': contract column missing from the data (removed or renamed)" in message
    assert not (settings.landing_root / "findings_snapshot" / "v1" / W1).exists()


def test_a_different_key_is_refused_once_partitions_were_hashed_with_another(workspace, settings, monkeypatch):
    engine, _ = workspace
    first = load_hmac_key()
    export_partition(engine, CONTRACT, W1, landing_root=settings.landing_root, key=first, run_id="r1")
    monkeypatch.setenv("SECPORTAL_HMAC_KEY", "x" * 40)
    other = load_hmac_key()
    with pytest.raises(Exception) as refused:
        export_partition(engine, CONTRACT, W2, landing_root=settings.landing_root, key=other, run_id="r2")
    assert str(refused.value).startswith(
        f"findings_snapshot: 1 landed partition(s) (latest {W1}) were hashed with key {first.key_id}, "
        f"this run's key is {other.key_id}")
    assert not (settings.landing_root / "findings_snapshot" / "v1" / W2).exists()
    monkeypatch.setenv("SECPORTAL_ALLOW_KEY_CHANGE", "1")  # a deliberate rotation re-lands every partition
    for week in (W1, W2):
        export_partition(engine, CONTRACT, week, landing_root=settings.landing_root, key=other, run_id="r3")
    manifests = [json.loads((settings.landing_root / "findings_snapshot" / "v1" / w / "_manifest.json").read_text())
                 for w in (W1, W2)]
    assert {m["hmac_key_id"] for m in manifests} == {other.key_id}
