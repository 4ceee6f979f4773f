"""Excel landing: typed cells read back, frozen header, deterministic bytes, no formula injection."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from python_calamine import CalamineWorkbook

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.contracts.schema import typed_frame
from secportal_pipeline.demo.scanner_files import FORMULA_PAYLOADS, plan_scans, write_scan_file
from secportal_pipeline.exports import excel
from secportal_pipeline.exports.run import BUILDERS, export_partition
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.schema import findings
from tests.conftest import REPO_ROOT
from tests.exports.monthly_world import OCT, export_accounts
from tests.exports.test_reports import workspace  # noqa: F401  (the hand-built October workspace)
from tests.workspace.helpers import build_small

THROUGHPUT = load_contract(REPO_ROOT / "contracts" / "report_remediation_throughput.yaml")


def test_report_workbook_reads_back_typed_with_a_frozen_header(workspace, settings):  # noqa: F811
    engine, small, _ = workspace
    export_accounts(engine, small)
    result = export_partition(engine, THROUGHPUT, OCT, landing_root=settings.landing_root, key=load_hmac_key(),
                              run_id="r1")
    path = result.landed.files["report_remediation_throughput.xlsx"]
    assert "report_remediation_throughput.xlsx" in result.landed.manifest["files"]
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["Remediation throughput"]
    rows = book.get_sheet_by_index(0).to_python()
    assert rows[0] == [c.name for c in THROUGHPUT.landed_columns]
    assert rows[1] == [date(2026, 10, 1), "critical", 0.0, 1.0, 0.0, -1.0, 33.0, 7.0, 0.0, 0.0]
    assert rows[3][6:] == ["", 90.0, 0.0, ""]  # empty cells stay empty, not 0 or "nan"
    sheet = openpyxl.load_workbook(path).active
    assert sheet.freeze_panes == "A2"
    assert sheet["A2"].is_date and sheet["A2"].number_format == "yyyy-mm-dd"
    assert sheet["C2"].data_type == "n" and sheet["B2"].data_type == "s"
    assert sheet.column_dimensions["G"].width >= len("median_days_to_close")
    # a re-run lands the same bytes (created date from the partition, not the clock)
    again = export_partition(engine, THROUGHPUT, OCT, landing_root=settings.landing_root, key=load_hmac_key(),
                             run_id="r2")
    assert again.landed.manifest["files"]["report_remediation_throughput.xlsx"]["sha256"] == \
        result.landed.manifest["files"]["report_remediation_throughput.xlsx"]["sha256"]
    assert openpyxl.load_workbook(path).properties.created == datetime(2026, 10, 1)


def test_timestamps_are_excel_datetimes_in_utc():
    contract = load_contract(REPO_ROOT / "contracts" / "dim_client.yaml")
    frame = typed_frame([{"month": "2026-10-01", "client_id": 1, "name": "=cmd",
                          "created_at": datetime(2026, 9, 1, 9, 30, tzinfo=UTC)}], contract)
    data = excel.contract_workbook(frame, contract, "2026-10-01")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet["D2"].value == datetime(2026, 9, 1, 9, 30) and sheet["D2"].number_format.endswith('"UTC"')
    assert sheet["C2"].value == "'=cmd" and sheet["C2"].data_type == "s"
    assert excel.contract_workbook(frame, contract, "2026-10-01") == data


# ------------------------------------------------------------------------------------------
# Formula injection with payloads from an imported Burp file
# ------------------------------------------------------------------------------------------

PROBE = "finding_text"


def _probe_contract(tmp_path):
    """A people-read class of finding text (title, location, the reflected parameter and value)."""
    document = yaml.safe_load((REPO_ROOT / "contracts" / "dim_client.yaml").read_text())
    document.update(id=PROBE, name="Finding text probe")
    document["servers"][0]["path"] = f"landing/{PROBE}/v1/{{partition}}/"
    document["customProperties"] = [
        *(p for p in document["customProperties"] if p["property"] not in ("peopleRead", "serviceAccount")),
        {"property": "peopleRead", "value": True}, {"property": "serviceAccount", "value": "svc-export-findings"}]
    raw = {"customProperties": [{"property": "treatment", "value": "raw"}], "classification": "internal"}
    document["schema"] = [{"name": PROBE, "physicalType": "table", "logicalType": "object", "properties": [
        {"name": "finding_id", "logicalType": "integer", "physicalType": "BIGINT", "required": True, **raw},
        {"name": "title", "logicalType": "string", "physicalType": "VARCHAR", "required": True, **raw},
        {"name": "location", "logicalType": "string", "physicalType": "VARCHAR", "required": True, **raw},
        {"name": "parameter", "logicalType": "string", "physicalType": "VARCHAR", "required": False, **raw},
        {"name": "submitted_value", "logicalType": "string", "physicalType": "VARCHAR", "required": False, **raw},
    ]}]
    path = tmp_path / f"{PROBE}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_contract(path)


def _probe_builder(conn, contract, partition):
    rows = conn.execute(sa.select(findings.c.finding_id, findings.c.title, findings.c.location,
                                  findings.c.description)
                        .where(findings.c.plugin_id == "4197376").order_by(findings.c.finding_id)).all()
    records = []
    for finding_id, title, location, description in rows:
        parameter = re.search(r"\[(.*) parameter\]", location)
        value = re.search(r"The submitted value was: (.*)$", description)
        records.append({"finding_id": finding_id, "title": title, "location": location,
                        "parameter": parameter.group(1) if parameter else None,
                        "submitted_value": value.group(1).strip() if value else None})
    return typed_frame(records, contract)


@pytest.fixture
def imported_burp(settings, tmp_path):
    engine = open_workspace(settings.workspace_url)
    small = build_small(engine)
    export_accounts(engine, small)
    scan = next(s for s in plan_scans([("portal.acme.example", "web")], date(2026, 8, 31), 2, 7) if s.tool == "burp")
    summary = import_file(engine, write_scan_file(scan, tmp_path / "scans", 7))
    assert summary.outcome == "imported"
    return engine


def test_formula_payloads_from_an_imported_burp_file_land_neutralised(imported_burp, settings, tmp_path,
                                                                       monkeypatch):
    contract = _probe_contract(tmp_path)
    monkeypatch.setitem(BUILDERS, PROBE, _probe_builder)
    result = export_partition(imported_burp, contract, "2026-10-01", landing_root=settings.landing_root,
                              key=load_hmac_key(), run_id="probe")
    with imported_burp.connect() as conn:
        raw = _probe_builder(conn, contract, "2026-10-01")
    payloads = {v for column in ("parameter", "submitted_value") for v in raw[column].dropna()
                if v.startswith(("=", "+", "-", "@"))}
    assert {FORMULA_PAYLOADS[0], FORMULA_PAYLOADS[1], FORMULA_PAYLOADS[3]} <= payloads  # from the scanner's text

    with open(result.landed.files[f"{PROBE}.csv"], newline="", encoding="utf-8") as fh:
        csv_cells = {cell for row in csv.reader(fh) for cell in row}
    book = openpyxl.load_workbook(result.landed.files[f"{PROBE}.xlsx"])
    xlsx_cells = [cell for row in book.active.iter_rows() for cell in row]
    for payload in payloads:
        assert "'" + payload in csv_cells and payload not in csv_cells
        assert "'" + payload in {c.value for c in xlsx_cells}
    assert not [c.coordinate for c in xlsx_cells if c.data_type == "f"]
    with zipfile.ZipFile(result.landed.files[f"{PROBE}.xlsx"]) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    assert pd.read_parquet(result.landed.files[f"{PROBE}.parquet"])["parameter"].isin(payloads).any()  # raw kept


def test_imported_findings_get_their_controls_mapped(imported_burp):
    from secportal_pipeline.workspace.schema import activity_log, finding_controls

    with imported_burp.connect() as conn:
        reflected = conn.execute(sa.select(findings.c.finding_id).where(findings.c.plugin_id == "4197376")).scalars().all()
        controls = conn.execute(sa.select(finding_controls.c.framework, finding_controls.c.control_id)
                                .where(finding_controls.c.finding_id == reflected[0])
                                .order_by(finding_controls.c.framework)).all()
        logged = conn.execute(sa.select(sa.func.count()).select_from(activity_log).where(
            activity_log.c.action == "finding.controls_mapped", activity_log.c.entity_id == str(reflected[0]))
        ).scalar_one()
    # CWE-20, CWE-116, CWE-1236: the injection family
    assert [tuple(c) for c in controls] == [("ISO27001", "A.8.28"), ("NIST-CSF", "PR.PS-06"), ("PCI-DSS", "6.2.4"),
                                            ("SOC2", "CC8.1")]
    assert logged == 1
