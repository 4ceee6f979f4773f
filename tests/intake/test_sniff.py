"""Format is decided from content; everything else is refused with a precise message."""

import random
from pathlib import Path

import pytest

from secportal_pipeline.intake.errors import ImportRefused, UnsupportedFormat
from secportal_pipeline.intake.sniff import sniff

SAMPLES = Path(__file__).parents[2].parent / "shared" / "samples"


@pytest.mark.parametrize("sub, expected", [("nessus", "nessus"), ("burp", "burp"), ("csv", "csv")])
def test_every_sample_is_recognised_by_content(sub, expected):
    files = sorted((SAMPLES / sub).iterdir())
    assert files
    assert {f.name: sniff(f) for f in files} == {f.name: expected for f in files}


def test_extension_is_ignored(tmp_path):
    # A Nessus file named .csv is still Nessus; a CSV named .nessus is still CSV.
    nessus_as_csv = tmp_path / "scan.csv"
    nessus_as_csv.write_bytes((SAMPLES / "nessus" / "dradisnessus__vpr_score.xml").read_bytes())
    csv_as_nessus = tmp_path / "scan.nessus"
    csv_as_nessus.write_bytes((SAMPLES / "csv" / "dradiscsv__simple.csv").read_bytes())
    assert sniff(nessus_as_csv) == "nessus"
    assert sniff(csv_as_nessus) == "csv"


REFUSALS = {
    "empty": (b"", "unsupported format: empty file"),
    "blank": (b"  \n\n", "unsupported format: file contains only whitespace"),
    "nessus_v1": (
        b'<?xml version="1.0"?>\n<NessusClientData><Report><ReportHost><HostName>h</HostName>'
        b"<ReportItem><port>80</port><severity>1</severity><pluginID>1</pluginID><data>x</data>"
        b"</ReportItem></ReportHost></Report></NessusClientData>",
        "unsupported format: Nessus v1 report (root <NessusClientData>",
    ),
    "fragment_host": (b'<ReportHost name="10.0.0.1"><HostProperties/></ReportHost>', "unsupported format: Nessus fragment (root <ReportHost>"),
    "fragment_item": (b'<ReportItem port="80" pluginID="1"/>', "unsupported format: Nessus fragment (root <ReportItem>"),
    "junit": (b'<?xml version="1.0"?>\n<testsuites><testsuite name="x"/></testsuites>', "unsupported format: JUnit test report (root <testsuites>)"),
    "junit_single": (b'<testsuite name="x"><testcase/></testsuite>', "unsupported format: JUnit test report (root <testsuite>)"),
    "html": (b"<!DOCTYPE html>\n<html><body>Scan report</body></html>", "unsupported format: HTML document"),
    "html_no_doctype": (b"<html><head></head></html>", "unsupported format: HTML document"),
    "other_xml": (b"<?xml version='1.0'?><nmaprun/>", "unsupported format: root element <nmaprun> (expected NessusClientData_v2, issues, or a CSV header)"),
    "json": (b'{"vulnerabilities": []}', "unsupported format: JSON document"),
    "json_list": (b'[{"id": 1}]', "unsupported format: JSON document"),
    "text": (b"hello world\nthis is not a scan\n", "unsupported format: text whose first line is not a known CSV header"),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_unsupported_kinds_are_refused_precisely(tmp_path, name):
    data, message = REFUSALS[name]
    path = tmp_path / f"{name}.xml"
    path.write_bytes(data)
    with pytest.raises(UnsupportedFormat) as exc:
        sniff(path)
    assert str(exc.value).startswith(message)
    assert "expected NessusClientData_v2, issues, or a CSV header" in str(exc.value)
    assert str(path) in str(exc.value)


def test_burp_project_file_is_refused_as_binary(tmp_path):
    path = tmp_path / "project.burp"
    path.write_bytes(b"\x00\x00\x00\x1cburp project" + bytes(range(256)) * 8)
    with pytest.raises(UnsupportedFormat) as exc:
        sniff(path)
    assert str(exc.value).startswith("unsupported format: binary content (a Burp project file is binary")


def test_random_binary_is_refused(tmp_path):
    path = tmp_path / "blob.csv"
    path.write_bytes(random.Random(7).randbytes(4096))
    with pytest.raises(UnsupportedFormat, match=r"^unsupported format: binary content"):
        sniff(path)


def test_hostile_xml_is_refused_by_sniff_not_called_unsupported(tmp_path):
    path = tmp_path / "evil.nessus"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE NessusClientData_v2 [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<NessusClientData_v2>&x;</NessusClientData_v2>')
    with pytest.raises(ImportRefused) as exc:
        sniff(path)
    assert not isinstance(exc.value, UnsupportedFormat)
    assert "external entity refused" in str(exc.value)


def test_csv_header_with_semicolons_is_recognised(tmp_path):
    path = tmp_path / "export.txt"
    path.write_text("Plugin ID;Host;Port;Name;Risk\n1;h;80;x;Low\n")
    assert sniff(path) == "csv"


# Every shared sample, end to end through open_scan: (tool, records). None would mean "refused".
ALL_SAMPLES = {
    "burp/dd__burp_issue4399.xml": ("burp", 438),
    "burp/dd__burp_one_finding.xml": ("burp", 3),
    "burp/dd__burp_one_finding_with_cwe.xml": ("burp", 1),
    "burp/dd__burp_seven_findings.xml": ("burp", 16),
    "burp/dradisburp__burp.xml": ("burp", 4),
    "burp/dradisburp__burp_issue_severity.xml": ("burp", 5),
    "csv/dd__generic_csv_defect_dojo.csv": ("csv", 4),
    "csv/dd__generic_csv_with_epss.csv": ("csv", 1),
    "csv/dd__generic_report1.csv": ("csv", 5),
    "csv/dd__generic_report3.csv": ("csv", 2),
    "csv/dd__generic_report4.csv": ("csv", 4),
    "csv/dd__generic_report_fix_version.csv": ("csv", 0),  # both rows lack a Url: skipped with RowIssues
    "csv/dd__nessus_many_vuln2-all.csv": ("csv", 29),
    "csv/dd__nessus_many_vuln2-default.csv": ("csv", 29),
    "csv/dd__nessus_was_many_vuln.csv": ("csv", 5),
    "csv/dd__nessus_was_one_vuln.csv": ("csv", 1),
    "csv/dd__tenable_issue_11102.csv": ("csv", 3),
    "csv/dd__tenable_issue_9612.csv": ("csv", 3),
    "csv/dd__tenable_many_vuln.csv": ("csv", 9),
    "csv/dradiscsv__simple.csv": ("csv", 1),
    "csv/faraday__dummy_faraday_csv_report.csv": ("csv", 3),
    "nessus/dd__issue_6992.nessus": ("nessus", 1),
    "nessus/dd__nessus_many_vuln.xml": ("nessus", 7),
    "nessus/dd__nessus_v_unknown.xml": ("nessus", 296),
    "nessus/dd__nessus_was_many_vuln.xml": ("nessus", 5),
    "nessus/dd__nessus_was_no_vuln.xml": ("nessus", 0),
    "nessus/dd__nessus_was_one_vuln.xml": ("nessus", 1),
    "nessus/dd__nessus_with_cvssv3.nessus": ("nessus", 49),
    "nessus/dd__nessus_with_cwe-.nessus": ("nessus", 1),
    "nessus/dradisnessus__example_v2.nessus": ("nessus", 69),
    "nessus/dradisnessus__vpr_score.xml": ("nessus", 1),
    "nessus/libnessus__nessus_report_local2.nessus": ("nessus", 62),
    "nessus/libnessus__nessus_report_local_3.nessus": ("nessus", 106),
    "nessus/libnessus__nessus_report_localpci.nessus": ("nessus", 167),
    "nessus/libnessus__nessus_report_test_local.nessus": ("nessus", 147),
    "nessus/rubynessus__example_v3.nessus": ("nessus", 155),
}


def test_every_sample_parses_fully_or_is_refused():
    from secportal_pipeline.intake.parsers import open_scan

    files = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix != ".md")
    assert len(files) == 36
    outcome = {}
    for path in files:
        try:
            meta, records = open_scan(path)
            outcome[str(path.relative_to(SAMPLES))] = (meta.source_tool, sum(1 for _ in records))
        except ImportRefused as exc:  # UnsupportedFormat included
            outcome[str(path.relative_to(SAMPLES))] = (None, str(exc))
    assert outcome == ALL_SAMPLES


def test_truncated_nessus_is_refused_while_streaming_with_location(tmp_path):
    from secportal_pipeline.intake.parsers import open_scan

    data = (SAMPLES / "nessus" / "dradisnessus__vpr_score.xml").read_bytes()
    path = tmp_path / "cut.nessus"
    path.write_bytes(data[: len(data) - 60])
    meta, records = open_scan(path)
    with pytest.raises(ImportRefused) as exc:
        list(records)
    assert exc.value.format_guess == "nessus"
    assert exc.value.line is not None and exc.value.element_path.startswith("NessusClientData_v2/Report/ReportHost")
    assert str(path) in str(exc.value)
