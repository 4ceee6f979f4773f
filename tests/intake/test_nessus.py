"""Nessus v2 parsing against the real sample files (counts verified with xml.etree separately)."""

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secportal_pipeline.intake.fingerprint import fingerprint, normalise_text
from secportal_pipeline.intake.nessus import parse_nessus
from secportal_pipeline.intake.records import ScanMeta

NESSUS = Path(__file__).parents[2].parent / "shared" / "samples" / "nessus"


def _parse(path):
    meta = ScanMeta(source_tool="nessus")
    return meta, list(parse_nessus(path, meta))


# file: (ReportItems, distinct hosts, severity histogram, items with cvss3_vector, <cve> total)
EXPECTED = {
    "dd__nessus_with_cvssv3.nessus": (49, 1, {"0": 23, "1": 1, "2": 13, "3": 10, "4": 2}, 9, 138),
    "dd__nessus_v_unknown.xml": (296, 7, {"0": 266, "1": 7, "2": 23}, 0, 7),
    "dd__nessus_many_vuln.xml": (7, 1, {"0": 7}, 0, 0),
    "dd__issue_6992.nessus": (1, 1, {"2": 1}, 1, 0),
    "dd__nessus_with_cwe-.nessus": (1, 1, {"3": 1}, 0, 15),
    "libnessus__nessus_report_local_3.nessus": (106, 3, {"0": 71, "1": 10, "2": 20, "3": 3, "4": 2}, 0, 52),
    "libnessus__nessus_report_test_local.nessus": (147, 2, {"0": 119, "1": 8, "2": 19, "4": 1}, 0, 45),
    "libnessus__nessus_report_local2.nessus": (62, 1, {"0": 61, "2": 1}, 0, 0),
    "libnessus__nessus_report_localpci.nessus": (167, 1, {"0": 94, "1": 5, "2": 44, "3": 21, "4": 3}, 0, 156),
    "rubynessus__example_v3.nessus": (155, 1, {"0": 118, "1": 8, "2": 16, "3": 5, "4": 8}, 0, 34),
    "dradisnessus__example_v2.nessus": (69, 2, {"0": 19, "1": 47, "2": 3}, 0, 3),
    "dd__nessus_was_one_vuln.xml": (1, 1, {"3": 1}, 0, 0),
    "dd__nessus_was_many_vuln.xml": (5, 1, {"0": 1, "1": 3, "3": 1}, 0, 0),
    "dd__nessus_was_no_vuln.xml": (0, 0, {}, 0, 0),
    "dradisnessus__vpr_score.xml": (1, 1, {"1": 1}, 0, 0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_counts(name):
    items, hosts, histogram, with_v3, cves = EXPECTED[name]
    meta, records = _parse(NESSUS / name)
    assert len(records) == items
    assert len({r.asset_ref for r in records}) == hosts
    assert dict(Counter(r.scanner_severity for r in records)) == histogram
    assert sum(1 for r in records if r.cvss3_vector) == with_v3
    assert sum(len(r.cves) for r in records) == cves
    assert meta.issues == []


def test_cvssv3_file_details():
    meta, records = _parse(NESSUS / "dd__nessus_with_cvssv3.nessus")
    assert meta.name == "dummy scan"
    assert meta.targets == ["testphp.vulnweb.com"]
    assert meta.started_at == datetime(2022, 3, 23, 14, 31, 51, tzinfo=UTC)
    assert meta.completed_at == datetime(2022, 3, 23, 15, 7, 52, tzinfo=UTC)
    v3 = [r.cvss3_vector for r in records if r.cvss3_vector]
    assert all(v.startswith("CVSS:3.0/") for v in v3)
    assert sum(1 for r in records if r.cvss2_vector) == 27  # 9 with both + 18 CVSS2-only
    assert not any(r.cvss2_vector.startswith("CVSS2#") for r in records if r.cvss2_vector)
    assert sum(1 for r in records if len(r.cves) > 1) == 15
    assert sum(1 for r in records if r.port == 0) == 8
    bands = Counter(r.scanner_band for r in records)
    assert bands == {"info": 23, "low": 1, "medium": 13, "high": 10, "critical": 2}


def test_record_identity_and_fields():
    _, records = _parse(NESSUS / "dd__issue_6992.nessus")
    (r,) = records
    host, port, proto, plugin = r.record_id.split("|")
    assert (str(r.port), r.protocol, r.plugin_id) == (port, proto, plugin)
    assert r.asset_ref == "testphp.vulnweb.com"
    assert r.scanner_band == "medium"
    assert r.cvss3_vector.startswith("CVSS:3.0/")
    assert r.module  # pluginFamily


def test_cwe_written_as_cwe_dash_number():
    _, (r,) = _parse(NESSUS / "dd__nessus_with_cwe-.nessus")
    assert len(r.cves) == 15
    assert len(r.cwes) == 3 and all(isinstance(c, int) and c > 0 for c in r.cwes)


def test_short_hostnames_use_host_fqdn_and_port_zero_kept():
    meta, records = _parse(NESSUS / "dd__nessus_v_unknown.xml")
    assert len(meta.targets) == 7
    assert sum(1 for r in records if r.port == 0) == 77
    assert sum(1 for r in records if r.evidence == "") == 31  # items without plugin_output


def test_was_variant_url_host_and_upper_case_protocol():
    meta, records = _parse(NESSUS / "dd__nessus_was_many_vuln.xml")
    assert meta.variant == "tenable-was"
    assert {r.asset_ref for r in records} == {"google.com"}
    assert {r.protocol for r in records} == {"tcp"}
    assert {r.port for r in records} == {80}
    assert Counter(r.scanner_band for r in records) == {"high": 1, "low": 3, "info": 1}


def test_empty_was_result_has_target_and_no_records():
    meta, records = _parse(NESSUS / "dd__nessus_was_no_vuln.xml")
    assert records == []
    assert meta.targets == ["google.com"]


def test_old_nessus4_export_without_risk_factor():
    meta, records = _parse(NESSUS / "dradisnessus__example_v2.nessus")
    assert meta.targets == ["snorby.org", "scanme.insecure.org"]
    assert sum(1 for r in records if r.evidence == "") == 42


def test_crlf_file_evidence_is_normalised():
    _, (r,) = _parse(NESSUS / "dradisnessus__vpr_score.xml")
    assert "\r" not in r.evidence and "\r" not in r.description
    assert r.evidence.startswith("Protocol version : HTTP/1.1")
    assert r.asset_ref == "computer.domain"


ITEM = """<?xml version="1.0" ?>
<NessusClientData_v2><Report name="t"><ReportHost name="Web01.Example.COM"><HostProperties>
<tag name="HOST_START">Thu Jan 10 11:50:55 2013</tag><tag name="HOST_END">Thu Jan 10 12:00:00 2013</tag>
</HostProperties>
<ReportItem port="443" svc_name="www" protocol="TCP" severity="2" pluginID="1" pluginName="X" pluginFamily="Web">
<cvss3_vector>{v3}</cvss3_vector><cvss_vector>CVSS2#AV:N/AC:L/Au:N/C:P/I:N/A:N</cvss_vector>
<cwe>79</cwe><cwe>CWE-352</cwe><see_also>https://a.example/1
https://a.example/2</see_also><xref>OSVDB:1</xref>
<plugin_output>{out}</plugin_output></ReportItem></ReportHost></Report></NessusClientData_v2>
"""


def test_bad_vector_becomes_none_plus_row_issue(tmp_path):
    path = tmp_path / "bad.nessus"
    path.write_text(ITEM.format(v3="CVSS:3.0/AV:N/AC:Q", out="x"))
    meta, (r,) = _parse(path)
    assert r.cvss3_vector is None
    assert r.cvss2_vector == "AV:N/AC:L/Au:N/C:P/I:N/A:N"
    assert r.asset_ref == "web01.example.com" and r.protocol == "tcp"
    assert r.cwes == (79, 352)
    assert r.references == ("https://a.example/1", "https://a.example/2", "OSVDB:1")
    assert r.observed_at == datetime(2013, 1, 10, 12, 0, tzinfo=UTC)
    (issue,) = meta.issues
    assert (issue.where, issue.column, issue.value, issue.skipped) == (
        "ReportHost[1]/ReportItem[1]", "cvss3_vector", "CVSS:3.0/AV:N/AC:Q", False)


def test_whitespace_only_plugin_output_changes_do_not_change_fingerprint(tmp_path):
    a, b = tmp_path / "a.nessus", tmp_path / "b.nessus"
    a.write_text(ITEM.format(v3="", out="line one\nline two"))
    b.write_text(ITEM.format(v3="", out="\n  line one   \r\nline two\t\n\n"))
    (ra,), (rb,) = _parse(a)[1], _parse(b)[1]
    assert ra.evidence == rb.evidence == normalise_text("line one\nline two")
    key = lambda r: fingerprint("nessus", r.asset_ref, r.port, r.protocol, r.plugin_id, r.location)
    assert key(ra) == key(rb)
    assert key(ra) != fingerprint("nessus", ra.asset_ref, 80, ra.protocol, ra.plugin_id, ra.location)
    assert fingerprint("nessus", "Host", 1, "TCP", "1", " /a   b ") == fingerprint("nessus", "host", 1, "tcp", "1", "/a b")


@pytest.mark.parametrize(("raw", "port"), [("443", 443), ("0", 0), ("65535", 65535), ("99999", None),
                                           ("-1", None), ("2x2", None)])
def test_port_outside_0_65535_is_a_row_issue_not_a_value(tmp_path, raw, port):
    # a port past 65535 would import and then fail every weekly snapshot's contract check
    path = tmp_path / "ports.nessus"
    path.write_text(f'<?xml version="1.0"?><NessusClientData_v2><Report name="r"><ReportHost name="h">'
                    f'<ReportItem port="{raw}" protocol="tcp" severity="2" pluginID="1" pluginName="p" '
                    f'pluginFamily="f"><description>d</description></ReportItem></ReportHost></Report>'
                    f"</NessusClientData_v2>", encoding="utf-8")
    meta = ScanMeta(source_tool="nessus")
    (record,) = list(parse_nessus(path, meta))
    assert record.port == port
    expected = [] if port is not None else [
        ("ReportHost[1]/ReportItem[1]", "port", raw, "port is not an integer 0-65535; imported without a port")]
    assert [(i.where, i.column, i.value, i.reason) for i in meta.issues] == expected
