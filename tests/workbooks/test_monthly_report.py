"""The monthly report workbook (issue 4 §8): the four report tables of a month in one workbook, assembled only
from their landed, manifest-verified Parquet."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime

import dagster as dg
import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from secportal_pipeline.contracts.model import load_contracts
from secportal_pipeline.exports.landing import partition_dir
from secportal_pipeline.exports.neutralise import neutralise
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.orchestration.assets.workbooks import workbook_asset
from secportal_pipeline.orchestration.definitions import build_definitions
from secportal_pipeline.orchestration.resources import PipelineResource
from secportal_pipeline.warehouse.loader import LandingVerificationError
from secportal_pipeline.workbooks.assemble import MONTHLY_REPORT, land_workbook, workbooks
from tests.conftest import REPO_ROOT
from tests.exports.monthly_world import OCT, export_accounts
from tests.exports.test_reports import workspace  # noqa: F401  (the hand-built October workspace)

CONTRACTS = load_contracts(REPO_ROOT / "contracts")
MEMBERS = workbooks(CONTRACTS)[MONTHLY_REPORT]
SHEETS = ["Severity distribution", "Remediation throughput", "Exception register", "Framework coverage"]


@pytest.fixture
def landed_reports(workspace, settings):  # noqa: F811
    engine, small, _ = workspace
    export_accounts(engine, small)
    for contract in MEMBERS:
        export_partition(engine, contract, OCT, landing_root=settings.landing_root, key=load_hmac_key(),
                         run_id="reports")
    return settings.landing_root


def _expected(value, logical_type):
    """A landed Parquet value as openpyxl reads its typed cell back."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if logical_type == "date":
        return datetime.fromisoformat(value)
    if logical_type == "string":
        return neutralise(value)
    return value


def test_the_members_are_the_four_report_tables_in_sheet_order():
    assert [c.id for c in MEMBERS] == ["report_severity_distribution", "report_remediation_throughput",
                                       "report_exception_summary", "report_framework_coverage"]
    assert list(workbooks(CONTRACTS)) == [MONTHLY_REPORT]


def test_one_workbook_four_typed_sheets_equal_to_the_landed_parquet(landed_reports):
    landing = landed_reports
    landed = land_workbook(MONTHLY_REPORT, MEMBERS, OCT, landing_root=landing, run_id="wb-1")
    path = landing / "monthly_report" / OCT / "monthly_report.xlsx"
    assert landed.path == path and sorted(p.name for p in path.parent.iterdir()) == [
        "_manifest.json", "monthly_report.xlsx"]

    assert CalamineWorkbook.from_path(str(path)).sheet_names == SHEETS
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == SHEETS
    assert book.properties.created == datetime(2026, 10, 1)
    for contract, sheet in zip(MEMBERS, book.worksheets, strict=True):
        parquet = pd.read_parquet(partition_dir(landing, contract, OCT) / f"{contract.id}.parquet")
        types = [c.logical_type for c in contract.landed_columns]
        rows = list(sheet.iter_rows(values_only=True))
        assert sheet.freeze_panes == "A2"
        assert list(rows[0]) == [c.name for c in contract.landed_columns] == list(parquet.columns)
        assert len(rows) - 1 == len(parquet) > 0
        expected = [[_expected(v, t) for v, t in zip(row, types, strict=True)]
                    for row in parquet.astype(object).itertuples(index=False)]
        assert [list(r) for r in rows[1:]] == expected, contract.id
        # typed cells: a date is a date, a count a number, never text
        for cell, kind in zip(sheet[2], types, strict=True):
            if cell.value is not None:
                assert (cell.is_date, cell.data_type) == ((True, "d") if kind == "date" else
                                                          (False, "n") if kind in ("integer", "number") else
                                                          (False, "s")), (contract.id, cell.coordinate)
        widths = {i: d.width for d in sheet.column_dimensions.values() for i in range(d.min, d.max + 1)}
        assert all(widths[i] >= len(c.name) for i, c in enumerate(contract.landed_columns, start=1)), widths

    manifest = json.loads((path.parent / "_manifest.json").read_text())
    assert manifest["files"]["monthly_report.xlsx"] == {
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": path.stat().st_size}
    assert [(s["sheet"], s["contract_id"], s["file"]) for s in manifest["sources"]] == [
        (name, c.id, f"{c.id}/v1/{OCT}/{c.id}.parquet") for name, c in zip(SHEETS, MEMBERS, strict=True)]
    for source in manifest["sources"]:
        source_manifest = json.loads((landing / source["manifest"]).read_text())
        assert source["sha256"] == source_manifest["files"][f"{source['contract_id']}.parquet"]["sha256"]
        assert source["rows"] == source_manifest["row_count"]

    before = path.read_bytes()
    again = land_workbook(MONTHLY_REPORT, MEMBERS, OCT, landing_root=landing, run_id="wb-2")
    assert path.read_bytes() == before  # byte-identical on a re-run
    assert again.manifest["run_id"] == "wb-2"


def test_a_source_that_does_not_match_its_manifest_is_refused_and_nothing_lands(landed_reports):
    landing = landed_reports
    land_workbook(MONTHLY_REPORT, MEMBERS, OCT, landing_root=landing, run_id="wb-1")
    target = landing / "monthly_report" / OCT
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    csv = partition_dir(landing, MEMBERS[2], OCT) / "report_exception_summary.csv"
    csv.write_bytes(csv.read_bytes() + b"\n")
    with pytest.raises(LandingVerificationError, match=r"report_exception_summary.csv: byte size expected"):
        land_workbook(MONTHLY_REPORT, MEMBERS, OCT, landing_root=landing, run_id="wb-2")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in target.parent.iterdir()) == [OCT]  # no staging left behind


def test_the_workbook_asset_runs_in_the_monthly_job(env):
    defs = build_definitions()
    job = defs.resolve_job_def("monthly_exports")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert "monthly_report_workbook" in selected
    asset = defs.resolve_assets_def("monthly_report_workbook")
    assert asset.partitions_def == defs.resolve_assets_def("report_severity_distribution").partitions_def
    assert {d.asset_key.to_user_string() for d in asset.specs_by_key[asset.key].deps} == {c.id for c in MEMBERS}


def test_materializing_the_asset_lands_the_workbook(landed_reports, settings):
    with dg.instance_for_test() as instance:
        result = dg.materialize([workbook_asset(MONTHLY_REPORT, MEMBERS)], partition_key=OCT, instance=instance,
                                resources={"pipeline": PipelineResource.from_settings(settings)})
    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    path = landed_reports / "monthly_report" / OCT / "monthly_report.xlsx"
    assert metadata["path"].value == str(path)
    assert metadata["sheets"].value == {"Severity distribution": 10, "Remediation throughput": 5,
                                        "Exception register": 5, "Framework coverage": 23}
    assert metadata["partitions"].value == {OCT: hashlib.sha256(path.read_bytes()).hexdigest()}
