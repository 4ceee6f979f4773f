"""Generic CSV parsing against the real samples (counts verified with the csv module separately)."""

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secportal_pipeline.intake.csv_generic import parse_csv
from secportal_pipeline.intake.errors import ImportRefused
from secportal_pipeline.intake.records import ScanMeta

CSV = Path(__file__).parents[2].parent / "shared" / "samples" / "csv"


def _parse(path):
    meta = ScanMeta(source_tool="csv")
    return meta, list(parse_csv(path, meta))


# file: (records, distinct hosts, band histogram, records with cvss3, CVE total, blank rows, variant)
EXPECTED = {
    "dd__generic_csv_defect_dojo.csv": (4, 1, {"low": 4}, 0, 0, 0, "defectdojo-generic"),
    "dd__generic_csv_with_epss.csv": (1, 1, {"low": 1}, 0, 0, 0, "defectdojo-generic"),
    "dd__generic_report1.csv": (5, 1, {"low": 5}, 0, 0, 0, "defectdojo-generic"),
    "dd__generic_report3.csv": (2, 1, {"low": 2}, 0, 0, 0, "defectdojo-generic"),
    "dd__generic_report4.csv": (4, 4, {None: 4}, 0, 1, 0, "defectdojo-generic"),  # None: no usable rating
    "dd__generic_report_fix_version.csv": (0, 0, {}, 0, 0, 0, "defectdojo-generic"),
    "dd__nessus_many_vuln2-default.csv": (29, 1, {"info": 28, "medium": 1}, 0, 1, 0, "nessus-default"),
    "dd__nessus_many_vuln2-all.csv": (29, 1, {"info": 28, "medium": 1}, 0, 1, 0, "nessus-all-columns"),
    "dd__tenable_many_vuln.csv": (9, 2, {"high": 3, "medium": 6}, 9, 20, 2, "tenable.io"),
    "dd__tenable_issue_9612.csv": (3, 2, {"critical": 3}, 3, 0, 0, "tenable.sc"),
    "dd__tenable_issue_11102.csv": (3, 2, {"high": 3}, 3, 3, 0, "tenable.sc"),
    "dd__nessus_was_one_vuln.csv": (1, 1, {"high": 1}, 0, 0, 0, "tenable-was"),
    "dd__nessus_was_many_vuln.csv": (5, 1, {"high": 1, "low": 3, "info": 1}, 0, 0, 24, "tenable-was"),
    "dradiscsv__simple.csv": (1, 1, {None: 1}, 0, 0, 0, "generic"),
    "faraday__dummy_faraday_csv_report.csv": (3, 1, {"high": 3}, 0, 0, 0, "faraday"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_counts(name):
    n, hosts, bands, with_v3, cves, blank, variant = EXPECTED[name]
    meta, records = _parse(CSV / name)
    assert len(records) == n
    assert len({r.asset_ref for r in records}) == hosts
    assert dict(Counter(r.scanner_band for r in records)) == bands
    assert sum(1 for r in records if r.cvss3_vector) == with_v3
    assert sum(len(r.cves) for r in records) == cves
    assert meta.blank_rows == blank
    assert meta.variant == variant


def test_tenable_io_one_row_per_cve_is_folded():
    meta, records = _parse(CSV / "dd__tenable_many_vuln.csv")
    by_key = {(r.plugin_id, r.asset_ref): r for r in records}
    mariadb = by_key[("176703", "ip-127-0-0-1.us-west-2.compute.internal")]
    assert len(mariadb.cves) == 10
    assert mariadb.cves[0] == "CVE-2021-46666" and mariadb.record_id == "2"
    assert len(by_key[("176705", "ip-127-0-0-1.us-west-2.compute.internal")].cves) == 3
    # bare "AV:..." vectors get the 3.1 prefix; numeric Severity wins over the word columns
    assert mariadb.cvss3_vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
    assert (mariadb.scanner_severity, mariadb.scanner_band) == ("3", "high")
    assert (mariadb.port, mariadb.protocol) == (0, "tcp")
    assert "(column 14, no name)" in meta.unmapped_columns and "(column 20, no name)" in meta.unmapped_columns
    assert meta.started_at == datetime(2023, 6, 8, 1, 7, 18, 371000, tzinfo=UTC)


def test_nessus_default_multiline_fields_and_non_ascii():
    meta, records = _parse(CSV / "dd__nessus_many_vuln2-default.csv")
    assert records[0].evidence == "The remote web server type is :\n\nCowboy"
    assert records[0].description.startswith("This plugin attempts to determine the type and the version of the\n")
    assert any("\u2019" in r.description + r.evidence + r.solution + r.title for r in records)
    assert meta.unmapped_columns == []
    assert [r.record_id for r in records if r.plugin_id == "22964" and r.port == 443] == ["12"]  # rows 12+13 folded


def test_tenable_sc_dates_and_steps_to_remediate():
    _, records = _parse(CSV / "dd__tenable_issue_9612.csv")
    assert records[0].observed_at == datetime(2024, 2, 19, 21, 1, 1, tzinfo=UTC)
    assert records[0].cvss2_vector == "AV:N/AC:L/Au:N/C:C/I:C/A:C"
    _, records = _parse(CSV / "dd__tenable_issue_11102.csv")
    assert all(r.solution.startswith("Reconfigure the affected application") for r in records)
    assert {r.asset_ref for r in records} == {"1.2.3.4", "2.3.4.5"}  # DNS Name empty -> IP Address


def test_defectdojo_url_becomes_host_port_location():
    meta, records = _parse(CSV / "dd__generic_report1.csv")
    assert [(r.asset_ref, r.port, r.location) for r in records][:2] == [
        ("vulnerable.endpoint.com", 443, "/resource1/asdf"),
        ("vulnerable.endpoint.com", 443, "/resource2/qwerty"),
    ]
    assert [r.cwes for r in records] == [(1,), (2,), (3,), (4,), (5,)]
    assert records[0].observed_at == datetime(2021, 2, 28, tzinfo=UTC)  # dd/mm/yyyy fallback


def test_leading_space_header_is_trimmed():
    meta, (r,) = _parse(CSV / "dd__generic_csv_with_epss.csv")
    assert r.asset_ref == "192.168.1.1"
    assert " Url" not in meta.unmapped_columns and "Url" not in meta.unmapped_columns
    assert meta.unmapped_columns[:2] == ["epss_score", "epss_percentile"]


def test_empty_severity_defaults_to_info_with_row_issues():
    meta, records = _parse(CSV / "dd__generic_report4.csv")
    assert {r.scanner_band for r in records} == {None}  # info once imported as new findings
    assert [(i.where, i.column, i.reason, i.skipped) for i in meta.issues] == [
        (f"row {n} (line {n + 1})", "Severity", "empty severity; info if new, a known finding keeps its severity",
         False) for n in range(1, 5)
    ]
    assert [(r.asset_ref, r.port, r.location) for r in records] == [
        ("www.example.com", None, ""), ("localhost", None, ""), ("127.0.0.1", 80, ""), ("foo.bar", None, "/path")]
    assert records[0].cves == ("CVE-2015-9235",)
    assert records[1].references == ("GHSA-5mrr-rgp6-x4gr",)


def test_rows_without_host_are_skipped_with_issue():
    meta, records = _parse(CSV / "dd__generic_report_fix_version.csv")
    assert records == []
    assert [(i.where, i.column, i.skipped) for i in meta.issues] == [
        ("row 1 (line 2)", "host", True), ("row 2 (line 3)", "host", True)]


def test_was_blank_rows_and_lower_case_risk():
    meta, records = _parse(CSV / "dd__nessus_was_many_vuln.csv")
    assert meta.blank_rows == 24
    assert {r.protocol for r in records} == {"tcp"}  # WAS writes "http"
    assert Counter(r.scanner_severity for r in records) == {"high": 1, "low": 3, "info": 1}
    assert meta.issues == []  # the CVSSv3 column holds scores here, which are valid


def test_free_form_without_severity_column():
    meta, (r,) = _parse(CSV / "dradiscsv__simple.csv")
    assert (r.title, r.asset_ref, r.port, r.scanner_band) == ("SQL Injection", "10.0.0.1", 443, None)
    assert meta.issues[0].reason == "no severity column; info if new, a known finding keeps its severity"
    assert meta.unmapped_columns == ["Id", "Vulnerability Category"]


def test_faraday_lists_and_empty_port():
    _, records = _parse(CSV / "faraday__dummy_faraday_csv_report.csv")
    assert [r.port for r in records] == [133, 133, None]
    assert all(r.cves == () and r.cwes == () and r.references == () for r in records)


def test_semicolon_delimiter(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text('Plugin ID;Host;Port;Protocol;Name;Risk;CVE\n1;h1;80;tcp;"X; with semicolon";High;CVE-2020-0001\n',
                    encoding="utf-8")
    meta, (r,) = _parse(path)
    assert (r.plugin_id, r.asset_ref, r.port, r.title, r.scanner_band, r.cves) == (
        "1", "h1", 80, "X; with semicolon", "high", ("CVE-2020-0001",))


def test_missing_mandatory_columns_named_all_at_once(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Severity,Port,Whatever\nHigh,80,x\n")
    with pytest.raises(ImportRefused) as exc:
        _parse(path)
    msg = str(exc.value)
    assert "lacks mandatory column(s) title, host" in msg
    assert "title (one of: name, title, plugin name" in msg and "host (one of: host, fqdn" in msg
    assert "found: Severity, Port, Whatever" in msg
    assert exc.value.line == 1 and str(path) in msg


def test_bad_cells_make_row_issues_and_never_abort(tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text(
        "Plugin ID,Host,Port,Name,Risk,CVSS v2.0 Base Score,CVSS3 Vector\n"
        '1,h1,abc,"multi\nline title",High,75,AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N\n'
        "2,h2,443,Second,Medium,5.0,CVSS:3.1/AV:Q\n"
        "3,,443,No host,Low,,\n"
        "4,Höst-ü.example,22,Ünïcödé,Low,,\n",
        encoding="utf-8",
    )
    meta, records = _parse(path)
    assert [r.record_id for r in records] == ["1", "2", "4"]
    assert records[0].port is None and records[0].title == "multi\nline title"
    assert records[0].cvss3_vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    assert records[1].cvss3_vector is None
    assert (records[2].asset_ref, records[2].title) == ("höst-ü.example", "Ünïcödé")
    assert [(i.where, i.column, i.value, i.skipped) for i in meta.issues] == [
        ("row 1 (line 2)", "Port", "abc", False),
        ("row 1 (line 2)", "CVSS v2.0 Base Score", "75", False),
        ("row 2 (line 4)", "CVSS3 Vector", "CVSS:3.1/AV:Q", False),
        ("row 3 (line 5)", "host", "", True),
    ]


def test_windows_1252_file_is_read_with_a_note(tmp_path):
    path = tmp_path / "cp.csv"
    path.write_bytes("Host,Name,Risk\nh,Caf\u00e9 finding,Low\n".encode("cp1252"))
    meta, (r,) = _parse(path)
    assert r.title == "Caf\u00e9 finding"
    assert meta.issues[0].reason == ("not valid UTF-8 from byte offset 20 (0xe9) on; bytes that are not UTF-8 "
                                     "read as Windows-1252 (Latin-1 where it has none)")
