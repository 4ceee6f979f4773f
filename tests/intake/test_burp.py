"""Burp issues XML against the real samples (counts verified with xml.etree separately)."""

import base64
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secportal_pipeline.intake.burp import EVIDENCE_LIMIT, parse_burp, parse_export_time
from secportal_pipeline.intake.records import ScanMeta

BURP = Path(__file__).parents[2].parent / "shared" / "samples" / "burp"


def _parse(path):
    meta = ScanMeta(source_tool="burp")
    return meta, list(parse_burp(path, meta))


# file: (records, merged duplicates, hosts, severity histogram)
EXPECTED = {
    "dd__burp_issue4399.xml": (438, 3, {"testphp.vulnweb.com"}, {"High": 23, "Medium": 3, "Low": 343, "Information": 69}),
    "dd__burp_one_finding.xml": (3, 0, {"bwa"}, {"High": 3}),
    "dd__burp_seven_findings.xml": (16, 0, {"bwa"}, {"High": 5, "Low": 2, "Information": 9}),
    "dd__burp_one_finding_with_cwe.xml": (1, 0, {"example.com"}, {"Information": 1}),
    "dradisburp__burp.xml": (4, 0, {"www.test.com"}, {"Information": 4}),
    "dradisburp__burp_issue_severity.xml": (5, 0, {"www.test.com"}, {"High": 2, "Medium": 1, "Low": 1, "Information": 1}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_counts(name):
    records_n, merged, hosts, histogram = EXPECTED[name]
    meta, records = _parse(BURP / name)
    assert len(records) == records_n
    assert meta.duplicates_merged == merged
    assert {r.asset_ref for r in records} == hosts
    assert dict(Counter(r.scanner_severity for r in records)) == histogram
    assert len({r.record_id for r in records}) == records_n
    assert {r.protocol for r in records} == {"tcp"}


def test_large_export_dedup_keeps_first_serial_and_never_merges_severities():
    meta, records = _parse(BURP / "dd__burp_issue4399.xml")
    assert meta.name == "Burp Suite 2021.4.2"
    assert meta.completed_at == datetime(2021, 4, 30, 6, 15, 49, tzinfo=UTC)  # 11:45:49 IST
    assert Counter(r.module for r in records) == {"extension": 344, "scanner": 94}
    assert sum(len(r.cwes) for r in records) == 162
    assert sum(1 for r in records if r.evidence) == 363
    assert max(len(r.evidence) for r in records) <= EVIDENCE_LIMIT
    assert {r.port for r in records} == {80}
    # 441 issues in the file: 24 High in the raw file, one High repeat merged
    keys = Counter((r.plugin_id, r.location, r.scanner_severity, r.title if r.module == "extension" else "") for r in records)
    assert max(keys.values()) == 1


def test_cwe_from_vulnerability_classifications_and_empty_response():
    _, (r,) = _parse(BURP / "dd__burp_one_finding_with_cwe.xml")
    assert r.cwes == (524, 525)
    assert r.port == 443 and r.asset_ref == "example.com"
    assert r.plugin_id == "7340288" and r.module == "scanner"
    assert r.scanner_band == "info"
    assert r.evidence.startswith("GET ")  # request decoded, response empty
    assert "<" not in r.description  # HTML tags stripped
    assert any("cwe.mitre.org" in ref for ref in r.references)


def test_first_request_response_pair_is_evidence():
    _, records = _parse(BURP / "dd__burp_one_finding.xml")
    assert [r.record_id for r in records] == ["7121655797013284864", "4138373804920735744", "4859812391421595648"]
    assert records[0].location == "/bodgeit/basket.jsp [b_id cookie]"
    assert records[0].title == "SQL injection"
    assert all("HTTP/1.1" in r.evidence for r in records)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Fri Apr 30 11:45:49 IST 2021", datetime(2021, 4, 30, 6, 15, 49, tzinfo=UTC)),
        ("Sat Sep 13 22:39:44 CEST 2014", datetime(2014, 9, 13, 20, 39, 44, tzinfo=UTC)),
        ("Wed Jan 27 22:43:35 WIB 2021", datetime(2021, 1, 27, 15, 43, 35, tzinfo=UTC)),
        ("Wed Nov 10 17:26:55 EDT 2014", datetime(2014, 11, 10, 21, 26, 55, tzinfo=UTC)),
        ("Wed Nov 10 17:26:55 UTC 2014", datetime(2014, 11, 10, 17, 26, 55, tzinfo=UTC)),
    ],
)
def test_export_time_zones(text, expected):
    assert parse_export_time(text) == (expected, None)


def test_unknown_zone_is_utc_and_named():
    assert parse_export_time("Wed Nov 10 17:26:55 XYZ 2014") == (datetime(2014, 11, 10, 17, 26, 55, tzinfo=UTC), "XYZ")
    assert parse_export_time("") == (None, None)


HOSTILE_BODIES = """<?xml version="1.1"?>
<issues burpVersion="2023.1">
<issue><serialNumber>1</serialNumber><type>134217728</type><name>Ext A</name>
<host ip="10.0.0.1">https://App.Example.com:8443</host><path><![CDATA[/a]]></path>
<location><![CDATA[/a]]></location><severity>Medium</severity><confidence>Firm</confidence>
<vulnerabilityClassifications><![CDATA[<ul><li><a href="https://cwe.mitre.org/data/definitions/79.html">CWE-79: XSS</a></li></ul>]]></vulnerabilityClassifications>
<requestresponse><request base64="false"><![CDATA[GET /a HTTP/1.1\r\nHost: x\r\n\r\n]]></request>
<response base64="true">{resp}</response></requestresponse></issue>
<issue><serialNumber>2</serialNumber><type>134217728</type><name>Ext B</name>
<host ip="10.0.0.1">https://App.Example.com:8443</host><path>/a</path><location>/a</location>
<severity>Medium</severity><confidence>Firm</confidence></issue>
<issue><serialNumber>3</serialNumber><type>134217728</type><name>Ext A</name>
<host ip="10.0.0.1">https://App.Example.com:8443</host><path>/a</path><location>/a</location>
<severity>Medium</severity><confidence>Firm</confidence></issue>
<issue><serialNumber>4</serialNumber><type>134217728</type><name>Ext A</name>
<host ip="10.0.0.1">https://App.Example.com:8443</host><path>/a</path><location>/a</location>
<severity>High</severity><confidence>Firm</confidence></issue>
</issues>
"""


def test_nul_non_utf8_bodies_and_extension_dedup(tmp_path):
    body = b"HTTP/1.1 200 OK\r\n\r\n\x00\xff\xfebinary\x00" + b"A" * 10000
    path = tmp_path / "b.xml"
    path.write_text(HOSTILE_BODIES.format(resp=base64.b64encode(body).decode()))
    meta, records = _parse(path)
    # serial 3 repeats serial 1 (same name, same severity); serial 4 differs in severity; 2 in name
    assert [r.record_id for r in records] == ["1", "2", "4"]
    assert meta.duplicates_merged == 1
    first = records[0]
    assert (first.asset_ref, first.port, first.module) == ("app.example.com", 8443, "extension")
    assert first.cwes == (79,)
    assert "\x00" not in first.evidence and "\r" not in first.evidence
    assert "\ufffd\ufffdbinary" in first.evidence
    assert len(first.evidence) == EVIDENCE_LIMIT


def test_reused_serial_number_gets_a_unique_record_id():
    meta, records = _parse(BURP / "dradisburp__burp_issue_severity.xml")
    assert [r.record_id for r in records][-2:] == ["1833460934674078323", "issue[5]"]
    (issue,) = meta.issues
    assert (issue.where, issue.column, issue.value) == ("issues/issue[5]", "serialNumber", "1833460934674078323")
