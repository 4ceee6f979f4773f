"""Landed findings_snapshot partitions loading into a real DuckDB warehouse."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime

import duckdb
import pandas as pd
import pytest

from secportal_pipeline.config import REPO_ROOT
from secportal_pipeline.contracts.model import ColumnSpec, load_contract
from secportal_pipeline.contracts.schema import REDACTED_MARKER, build_schema, dtype_for
from secportal_pipeline.exports.landing import MANIFEST_NAME, land_partition
from secportal_pipeline.warehouse.ddl import WarehouseSchemaError, published_table
from secportal_pipeline.warehouse.loader import LandingVerificationError, WarehouseLoadError, load_partition
from secportal_pipeline.warehouse.queries import partition_counts, table_counts

CONTRACT = load_contract(REPO_ROOT / "contracts" / "findings_snapshot.yaml")
TABLE = "fact_finding_snapshot"
WEEK_1, WEEK_2 = "2026-01-05", "2026-01-12"
OWNER_HASH = "ab" * 32


def snapshot_frame(week: str, rows: int, contract=CONTRACT, validate=True, **overrides) -> pd.DataFrame:
    """``rows`` findings as landed for ``week``, checked against the contract's landed schema."""
    records = [
        {
            "snapshot_week": week,
            "finding_id": 100 + i,
            "title": f"TLS weakness {i}",
            "description": REDACTED_MARKER,
            "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            "cvss_base_score": 7.5,
            "scanner_severity": "3",
            "severity": "high",
            "status": "open" if i % 2 == 0 else "resolved",
            "owner": OWNER_HASH if i % 2 == 0 else None,
            "engagement_id": 42,
            "source_pipeline": "external_scan",
            "source_tool": "nessus",
            "asset_ref": f"10.0.0.{i + 1}",
            "port": 443,
            "cve": "CVE-2016-2183",
            "opened_at": datetime(2026, 1, 2, 9, 30, i, tzinfo=UTC),
            "closed_at": None if i % 2 == 0 else datetime(2026, 1, 6, 17, 0, tzinfo=UTC),
            "last_seen_at": datetime(2026, 1, 4, 12, 0, tzinfo=UTC),
            **overrides,
        }
        for i in range(rows)
    ]
    frame = pd.DataFrame.from_records(records, columns=[c.name for c in contract.landed_columns])
    for column in contract.landed_columns:
        frame[column.name] = frame[column.name].astype(dtype_for(column, landed=True))
    return build_schema(contract, landed=True).validate(frame) if validate else frame


def land(tmp_path, frame, week, contract=CONTRACT, run_id="run-1"):
    return land_partition(frame, contract, week, landing_root=tmp_path / "landing", hmac_key_id="test-key",
                          service_account=contract.service_account, run_id=run_id).directory


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse.duckdb"


def rows(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_load_writes_exact_rows_and_physical_types(tmp_path, warehouse):
    landed = land(tmp_path, snapshot_frame(WEEK_1, 3), WEEK_1)

    result = load_partition(warehouse, landed, CONTRACT)

    assert (result.table, result.partition, result.rows, result.replaced_rows) == (TABLE, WEEK_1, 3, 0)
    assert table_counts(warehouse) == {TABLE: 3}
    assert rows(warehouse, f"SELECT snapshot_week, finding_id, description, cvss_base_score, status, owner, port, "
                           f"opened_at, closed_at, _partition, _run_id FROM published.{TABLE} "
                           f"WHERE finding_id = 101") == [(
        date(2026, 1, 5), 101, REDACTED_MARKER, 7.5, "resolved", None, 443,
        datetime(2026, 1, 2, 9, 30, 1, tzinfo=UTC), datetime(2026, 1, 6, 17, 0, tzinfo=UTC), WEEK_1, "run-1",
    )]
    types = dict(rows(warehouse, "SELECT column_name, data_type FROM duckdb_columns() "
                                 f"WHERE schema_name = 'published' AND table_name = '{TABLE}'"))
    assert {k: types[k] for k in ("snapshot_week", "finding_id", "cvss_base_score", "port", "opened_at",
                                  "_partition", "_loaded_at")} == {
        "snapshot_week": "DATE", "finding_id": "BIGINT", "cvss_base_score": "DOUBLE", "port": "INTEGER",
        "opened_at": "TIMESTAMP WITH TIME ZONE", "_partition": "VARCHAR", "_loaded_at": "TIMESTAMP WITH TIME ZONE",
    }
    assert list(types) == [c.name for c in CONTRACT.landed_columns] + ["_partition", "_run_id", "_loaded_at"]


def test_reloading_a_partition_replaces_it_without_duplicates(tmp_path, warehouse):
    landed = land(tmp_path, snapshot_frame(WEEK_1, 3), WEEK_1)
    load_partition(warehouse, landed, CONTRACT)

    result = load_partition(warehouse, landed, CONTRACT)

    assert (result.rows, result.replaced_rows) == (3, 3)
    assert table_counts(warehouse) == {TABLE: 3}


def test_reloading_one_partition_with_fewer_rows_leaves_the_other_alone(tmp_path, warehouse):
    load_partition(warehouse, land(tmp_path, snapshot_frame(WEEK_1, 3), WEEK_1), CONTRACT)
    load_partition(warehouse, land(tmp_path, snapshot_frame(WEEK_2, 4), WEEK_2), CONTRACT)

    result = load_partition(warehouse, land(tmp_path, snapshot_frame(WEEK_2, 2), WEEK_2, run_id="run-2"), CONTRACT)

    assert (result.rows, result.replaced_rows) == (2, 4)
    assert partition_counts(warehouse, TABLE) == {WEEK_1: 3, WEEK_2: 2}
    assert rows(warehouse, f"SELECT DISTINCT _partition, _run_id FROM published.{TABLE} ORDER BY 1") == [
        (WEEK_1, "run-1"), (WEEK_2, "run-2"),
    ]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_tampered_file_is_named_and_nothing_loads(tmp_path, warehouse, suffix):
    landed = land(tmp_path, snapshot_frame(WEEK_1, 3), WEEK_1)
    target = landed / f"findings_snapshot.{suffix}"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size, different content
    target.write_bytes(bytes(data))
    expected = json.loads((landed / MANIFEST_NAME).read_text())["files"][target.name]["sha256"]

    with pytest.raises(LandingVerificationError) as caught:
        load_partition(warehouse, landed, CONTRACT)

    assert str(target) in str(caught.value)
    assert f"sha256 expected {expected}" in str(caught.value)
    assert not warehouse.exists()


def test_a_truncated_file_fails_on_its_byte_size(tmp_path, warehouse):
    landed = land(tmp_path, snapshot_frame(WEEK_1, 3), WEEK_1)
    target = landed / "findings_snapshot.csv"
    size = target.stat().st_size
    target.write_bytes(target.read_bytes()[:-10])

    with pytest.raises(LandingVerificationError, match=f"findings_snapshot.csv: byte size expected {size}, "
                                                       f"found {size - 10}"):
        load_partition(warehouse, landed, CONTRACT)


def test_a_partition_without_manifest_is_incomplete(tmp_path, warehouse):
    landed = land(tmp_path, snapshot_frame(WEEK_1, 3), WEEK_1)
    (landed / MANIFEST_NAME).unlink()

    with pytest.raises(LandingVerificationError, match="no _manifest.json, so the partition is incomplete"):
        load_partition(warehouse, landed, CONTRACT)
    assert not warehouse.exists()


def test_a_file_of_another_major_version_never_loads(tmp_path, warehouse):
    v2 = dataclasses.replace(CONTRACT, version="2.0.0", landing_path="landing/findings_snapshot/v2/{partition}/")
    landed = land(tmp_path, snapshot_frame(WEEK_1, 3), WEEK_1, contract=v2)

    with pytest.raises(LandingVerificationError,
                       match=r"landed with findings_snapshot 2\.0\.0 \(v2\) but the warehouse contract is "
                             r"1\.0\.1 \(v1\); a v2 file never loads into a v1 table"):
        load_partition(warehouse, landed, CONTRACT)
    assert not warehouse.exists()


def test_a_v2_contract_never_loads_into_a_table_built_for_v1(tmp_path, warehouse):
    load_partition(warehouse, land(tmp_path, snapshot_frame(WEEK_1, 3), WEEK_1), CONTRACT)
    v2 = dataclasses.replace(CONTRACT, version="2.0.0")
    landed_v2 = land(tmp_path, snapshot_frame(WEEK_2, 1), WEEK_2, contract=v2)

    with pytest.raises(WarehouseSchemaError, match=r"created for contract findings_snapshot v1, .* version 2\.0\.0"):
        load_partition(warehouse, landed_v2, v2)
    assert partition_counts(warehouse, TABLE) == {WEEK_1: 3}


def test_a_manifest_row_count_that_disagrees_with_the_parquet_fails(tmp_path, warehouse):
    landed = land(tmp_path, snapshot_frame(WEEK_1, 3), WEEK_1)
    manifest_path = landed / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest["row_count"] = 4
    manifest_path.write_text(json.dumps(manifest))

    with pytest.raises(LandingVerificationError, match=r"findings_snapshot.parquet: row count expected 4, found 3"):
        load_partition(warehouse, landed, CONTRACT)
    assert not warehouse.exists()


def test_a_load_failing_after_the_delete_keeps_the_previous_rows(tmp_path, warehouse):
    load_partition(warehouse, land(tmp_path, snapshot_frame(WEEK_1, 3), WEEK_1), CONTRACT)
    before = rows(warehouse, f"SELECT * FROM published.{TABLE} ORDER BY finding_id")
    # a port beyond INTEGER range (which the contract check would have caught) lands intact,
    # passes verification and fails the CAST after the DELETE, inside the transaction
    bad = snapshot_frame(WEEK_1, 5, validate=False, port=2**40)

    with pytest.raises(WarehouseLoadError, match="previous rows kept"):
        load_partition(warehouse, land(tmp_path, bad, WEEK_1, run_id="run-bad"), CONTRACT)

    assert rows(warehouse, f"SELECT * FROM published.{TABLE} ORDER BY finding_id") == before


def test_a_minor_version_column_is_added_to_the_existing_table(tmp_path, warehouse):
    load_partition(warehouse, land(tmp_path, snapshot_frame(WEEK_1, 2), WEEK_1), CONTRACT)
    epss = ColumnSpec(name="epss_score", logical_type="number", physical_type="DOUBLE", required=False,
                      unique=False, primary_key=False, partitioned=False, treatment="raw", classification="internal")
    v1_1 = dataclasses.replace(CONTRACT, version="1.1.0", columns=CONTRACT.columns + (epss,))

    load_partition(warehouse, land(tmp_path, snapshot_frame(WEEK_2, 2, v1_1, epss_score=0.25), WEEK_2, v1_1), v1_1)
    # an older v1.0 file still loads under the v1.1 contract; the new column stays NULL
    load_partition(warehouse, tmp_path / "landing" / "findings_snapshot" / "v1" / WEEK_1, v1_1)

    assert rows(warehouse, f"SELECT _partition, epss_score FROM published.{TABLE} ORDER BY 1, finding_id") == [
        (WEEK_1, None), (WEEK_1, None), (WEEK_2, 0.25), (WEEK_2, 0.25),
    ]


@pytest.mark.parametrize(("export_class", "table"), [
    ("findings_snapshot", "fact_finding_snapshot"),
    ("activity_slice", "fact_activity_event"),
    ("exception_register", "fact_exception"),
    ("scan_diff", "fact_scan_diff"),
    ("dim_asset", "dim_asset"),
])
def test_published_table_follows_the_export_class(export_class, table):
    contract = dataclasses.replace(CONTRACT, id=export_class, custom={**CONTRACT.custom, "exportClass": export_class})
    assert published_table(contract) == table


def test_published_table_prefers_the_contracts_warehouse_table():
    contract = dataclasses.replace(CONTRACT, custom={**CONTRACT.custom, "warehouseTable": "fact_findings_v1"})
    assert published_table(contract) == "fact_findings_v1"


def test_an_unmapped_export_class_asks_for_a_warehouse_table():
    contract = dataclasses.replace(CONTRACT, id="report_tables", custom={**CONTRACT.custom, "exportClass": "report"})
    with pytest.raises(WarehouseSchemaError, match="no published table for export class 'report'"):
        published_table(contract)
