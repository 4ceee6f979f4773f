"""The demo scanner-file generator: deterministic, well-formed, realistic, evolving."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from cvss import CVSS2, CVSS3
from lxml import etree

from secportal_pipeline.demo import scanner_files as sf
from secportal_pipeline.demo.scanner_files import (
    BURP_ISSUES,
    FORMULA_PAYLOADS,
    NESSUS_PLUGINS,
    PlannedScan,
    plan_scans,
    scan_items,
    write_all,
    write_scan_file,
)

SEED = 1234
MONDAY = date(2026, 9, 7)
ASSETS = [
    ("portal.acme-corp.example", "web"),
    ("shop.acme-corp.example", "web"),
    ("api.acme-corp.example", "web"),
    ("vpn.acme-corp.example", "host"),
    ("dc01.corp.acme-corp.example", "host"),
    ("mail.acme-corp.example", "host"),
    ("build.acme-corp.example", "host"),
    ("files.corp.acme-corp.example", "host"),
]


def _parse(path: Path) -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.parse(str(path), parser)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def twelve_weeks(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[PlannedScan, Path]]:
    out = tmp_path_factory.mktemp("scans12")
    plan = plan_scans(ASSETS, MONDAY, 12, SEED)
    paths = write_all(ASSETS, MONDAY, 12, SEED, out)
    assert [p.name for p in paths] == [s.file_name for s in plan]
    return list(zip(plan, paths, strict=True))


# ---- determinism ------------------------------------------------------------------------


def test_same_inputs_give_byte_identical_files(tmp_path: Path) -> None:
    first = write_all(ASSETS[:4], MONDAY, 4, SEED, tmp_path / "a")
    second = write_all(ASSETS[:4], MONDAY, 4, SEED, tmp_path / "b")
    assert first and [p.name for p in first] == [p.name for p in second]
    assert [_sha(p) for p in first] == [_sha(p) for p in second]
    other = write_all(ASSETS[:4], MONDAY, 4, SEED + 1, tmp_path / "c")
    assert [_sha(p) for p in first] != [_sha(p) for p in other]


def test_output_does_not_depend_on_hash_randomisation(tmp_path: Path) -> None:
    code = (
        "import sys; from datetime import date; from pathlib import Path;"
        "from secportal_pipeline.demo.scanner_files import write_all;"
        f"write_all({ASSETS[:3]!r}, date(2026, 9, 7), 3, {SEED}, Path(sys.argv[1]))"
    )
    digests = []
    for hash_seed, name in (("1", "x"), ("4242", "y")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], check=True, env=env)
        digests.append({p.name: _sha(p) for p in sorted((tmp_path / name).iterdir())})
    assert digests[0] and digests[0] == digests[1]


def test_other_assets_and_later_weeks_do_not_change_existing_files(tmp_path: Path) -> None:
    base = {p.name: _sha(p) for p in write_all(ASSETS[:3], MONDAY, 6, SEED, tmp_path / "base")}
    more = {p.name: _sha(p) for p in write_all(ASSETS, MONDAY, 9, SEED, tmp_path / "more")}
    assert base.items() <= more.items()


# ---- the plan ---------------------------------------------------------------------------


def test_plan_is_realistic_and_sorted() -> None:
    plan = plan_scans(ASSETS, MONDAY, 12, SEED)
    assert plan == sorted(plan, key=lambda s: (s.completed_at, s.file_name))
    assert len({s.file_name for s in plan}) == len(plan)
    kinds = dict(ASSETS)
    series: dict[tuple[str, str], list[PlannedScan]] = defaultdict(list)
    for s in plan:
        assert s.started_at.tzinfo is not None and s.started_at.utcoffset() == timedelta(0)
        assert timedelta(minutes=20) <= s.completed_at - s.started_at <= timedelta(hours=3)
        assert s.started_at.weekday() < 5 and 8 <= s.started_at.hour < 16
        assert MONDAY <= s.started_at.date() < MONDAY + timedelta(weeks=12)
        ext = "nessus" if s.tool == "nessus" else "xml"
        assert s.file_name == f"{s.started_at.date().isoformat()}_{s.tool}_{s.asset_ref}.{ext}"
        assert s.asset_kind == kinds[s.asset_ref]
        assert s.tool == "nessus" or kinds[s.asset_ref] == "web"
        series[(s.asset_ref, s.tool)].append(s)
    for ref, kind in ASSETS:
        assert (ref, "burp" if kind == "web" else "nessus") in series
    for scans in series.values():
        scans.sort(key=lambda s: s.started_at)
        assert [s.sequence for s in scans] == list(range(len(scans)))
        weeks = [(s.started_at.date() - MONDAY).days // 7 for s in scans]
        assert all(1 <= b - a <= 3 for a, b in zip(weeks, weeks[1:], strict=False))
    # roughly one scan per asset every 1-2 weeks
    assert 8 * 12 / 2 <= sum(1 for s in plan if s.tool == "burp" or kinds[s.asset_ref] == "host") <= 8 * 12


def test_plan_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="Monday"):
        plan_scans(ASSETS, date(2026, 9, 8), 2, SEED)
    with pytest.raises(ValueError, match="kind"):
        plan_scans([("x.example", "laptop")], MONDAY, 2, SEED)
    with pytest.raises(ValueError, match="lower-case"):
        plan_scans([("X.Example", "host")], MONDAY, 2, SEED)


# ---- the catalogue ----------------------------------------------------------------------


def test_nessus_catalogue_is_realistic() -> None:
    ids = [p.plugin_id for p in NESSUS_PLUGINS]
    assert len(ids) == len(set(ids)) and 35 <= len(ids) <= 50
    info = sum(p.severity == 0 for p in NESSUS_PLUGINS)
    assert 0.4 <= info / len(ids) <= 0.6
    assert {p.severity for p in NESSUS_PLUGINS} == {0, 1, 2, 3, 4}
    cwes = [c for p in NESSUS_PLUGINS for c in p.cwes]
    assert any(c.isdigit() for c in cwes) and any(c.startswith("CWE-") for c in cwes)
    assert any(len(p.cves) > 1 for p in NESSUS_PLUGINS) and any(not p.cves for p in NESSUS_PLUGINS)
    assert any(p.cvss3 and not p.cvss2 for p in NESSUS_PLUGINS)
    assert any(p.cvss2 and not p.cvss3 for p in NESSUS_PLUGINS)
    assert any(not p.cvss2 and not p.cvss3 for p in NESSUS_PLUGINS)
    for p in NESSUS_PLUGINS:
        if p.cvss3:
            assert p.cvss3[0].startswith("CVSS:3.0/")
            score = CVSS3(p.cvss3[0]).base_score
            assert score == Decimal(p.cvss3[1]), p.plugin_id
            band = 0 if score == 0 else 1 if score < 4 else 2 if score < 7 else 3 if score < 9 else 4
            assert p.severity == band, p.plugin_id
        if p.cvss2:
            assert p.cvss2[0].startswith("CVSS2#")
            assert CVSS2(p.cvss2[0].removeprefix("CVSS2#")).base_score == Decimal(p.cvss2[1]), p.plugin_id


def test_burp_catalogue_is_realistic() -> None:
    types = {i.type_id: i for i in BURP_ISSUES}
    assert len(types) == len(BURP_ISSUES) >= 12
    assert types[1049088].name == "SQL injection"
    assert types[2097920].name == "Cross-site scripting (reflected)"
    assert types[5244416].name == "Cookie without HttpOnly flag set"
    assert 134217728 in types and 16777472 in types
    assert {i.severity for i in BURP_ISSUES} == {"High", "Medium", "Low", "Information"}
    assert {i.confidence for i in BURP_ISSUES} <= {"Certain", "Firm", "Tentative"}


# ---- structure of the files -------------------------------------------------------------


def test_nessus_files_have_the_expected_structure(twelve_weeks) -> None:
    nessus = [(s, p) for s, p in twelve_weeks if s.tool == "nessus"]
    assert nessus
    for scan, path in nessus:
        assert path.read_bytes().startswith(b'<?xml version="1.0" ?>\n<NessusClientData_v2>')
        root = _parse(path).getroot()
        assert root.tag == "NessusClientData_v2"
        assert len(root.findall("Policy")) == 1 and len(root.findall("Report")) == 1
        hosts = root.findall("Report/ReportHost")
        assert len(hosts) == 1 and hosts[0].get("name") == scan.asset_ref
        tags = {t.get("name"): t.text for t in hosts[0].iterfind("HostProperties/tag")}
        assert tags["host-fqdn"] == scan.asset_ref
        assert tags["host-ip"].startswith(("192.0.2.", "198.51.100.", "203.0.113."))
        assert tags["operating-system"]
        start = datetime.strptime(tags["HOST_START"], "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
        end = datetime.strptime(tags["HOST_END"], "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
        assert (start, end) == (scan.started_at, scan.completed_at)
        expected = scan_items(scan, SEED)
        items = hosts[0].findall("ReportItem")
        assert len(items) == len(expected)
        keys = [(int(i.get("pluginID")), int(i.get("port")), i.get("protocol")) for i in items]
        assert keys == [e.key for e in expected]
        assert len(set(keys)) == len(keys)
        for item in items:
            assert set(item.attrib) == {"port", "svc_name", "protocol", "severity", "pluginID", "pluginName",
                                        "pluginFamily"}
            assert item.findtext("risk_factor") in {"None", "Low", "Medium", "High", "Critical"}
            assert item.findtext("description") and item.findtext("synopsis") and item.findtext("solution")


def test_burp_files_have_the_expected_structure(twelve_weeks) -> None:
    burp = [(s, p) for s, p in twelve_weeks if s.tool == "burp"]
    assert burp
    for scan, path in burp:
        raw = path.read_bytes()
        assert raw.startswith(b'<?xml version="1.0"?>\n<!DOCTYPE issues [\n<!ELEMENT issues (issue*)>')
        assert b"<!ENTITY" not in raw
        tree = _parse(path)
        assert list(tree.docinfo.internalDTD.iterentities()) == []
        root = tree.getroot()
        assert root.tag == "issues" and root.get("burpVersion").startswith("2025.")
        exported = datetime.strptime(root.get("exportTime"), "%a %b %d %H:%M:%S UTC %Y").replace(tzinfo=UTC)
        assert scan.completed_at < exported < scan.completed_at + timedelta(hours=1)
        expected = scan_items(scan, SEED)
        issues = root.findall("issue")
        assert len(issues) == len(expected)
        assert [(int(i.findtext("type")), i.findtext("path"), i.findtext("location")) for i in issues] == [
            e.key for e in expected
        ]
        serials = [i.findtext("serialNumber") for i in issues]
        assert len(set(serials)) == len(serials) and all(s.isdigit() for s in serials)
        for issue in issues:
            assert issue.findtext("host") == f"https://{scan.asset_ref}"
            assert issue.find("host").get("ip")
            assert issue.findtext("severity") in {"High", "Medium", "Low", "Information"}
            assert issue.findtext("confidence") in {"Certain", "Firm", "Tentative"}
            assert "cwe.mitre.org/data/definitions/" in issue.findtext("vulnerabilityClassifications")
            request, response = issue.find("requestresponse/request"), issue.find("requestresponse/response")
            assert request.get("base64") == "true" and response.get("base64") == "true"
            http = base64.b64decode(request.text, validate=True).decode("utf-8")
            assert http.startswith(f"{request.get('method')} /") and f"Host: {scan.asset_ref}\r\n" in http
            assert base64.b64decode(response.text, validate=True).startswith(b"HTTP/1.1 ")


# ---- content realism --------------------------------------------------------------------


def test_every_severity_appears_across_twelve_weeks(twelve_weeks) -> None:
    nessus, burp = set(), set()
    for scan, path in twelve_weeks:
        root = _parse(path).getroot()
        if scan.tool == "nessus":
            nessus |= {i.get("severity") for i in root.iter("ReportItem")}
        else:
            burp |= {i.findtext("severity") for i in root.iter("issue")}
    assert nessus == {"0", "1", "2", "3", "4"}
    assert burp == {"High", "Medium", "Low", "Information"}


def test_about_half_of_the_nessus_items_are_informational(twelve_weeks) -> None:
    severities = [
        i.get("severity")
        for scan, path in twelve_weeks
        if scan.tool == "nessus"
        for i in _parse(path).getroot().iter("ReportItem")
    ]
    # real exports run 47-100 % informational (FORMAT_NOTES); the demo stays near the low end
    assert 0.45 <= severities.count("0") / len(severities) <= 0.8


def test_cvss_and_cwe_forms_in_the_files(twelve_weeks) -> None:
    v3, v2, cwes, none = set(), set(), set(), 0
    for scan, path in twelve_weeks:
        if scan.tool != "nessus":
            continue
        for item in _parse(path).getroot().iter("ReportItem"):
            v3 |= {e.text for e in item.iterfind("cvss3_vector")}
            v2 |= {e.text for e in item.iterfind("cvss_vector")}
            cwes |= {e.text for e in item.iterfind("cwe")}
            none += item.find("cvss3_vector") is None and item.find("cvss_vector") is None
    assert v3 and all(v.startswith("CVSS:3.0/") for v in v3)
    assert v2 and all(v.startswith("CVSS2#") for v in v2)
    assert any(c.isdigit() for c in cwes) and any(c.startswith("CWE-") for c in cwes)
    assert none > 0


def test_non_ascii_text_in_plugin_output(twelve_weeks) -> None:
    outputs = "\n".join(
        e.text or ""
        for scan, path in twelve_weeks
        if scan.tool == "nessus"
        for e in _parse(path).getroot().iter("plugin_output")
    )
    for text in ("Zertifikat läuft ab", "日本語", "Café"):
        assert text in outputs


def test_formula_payloads_in_burp_findings(twelve_weeks) -> None:
    locations, evidence = set(), set()
    for scan, path in twelve_weeks:
        if scan.tool != "burp":
            continue
        root = _parse(path).getroot()
        locations |= {i.findtext("location") for i in root.iter("issue")}
        evidence |= {e.text for e in root.iter("issueDetailItem")}
    assert set(FORMULA_PAYLOADS) <= evidence  # each as a whole value, leading formula character first
    assert any(FORMULA_PAYLOADS[0] in loc for loc in locations)
    assert '"]]><img src=x onerror=alert(1)>' in evidence  # "]]>" survived the CDATA split


def test_special_characters_are_escaped(tmp_path: Path) -> None:
    scan = next(s for s in plan_scans(ASSETS, MONDAY, 12, SEED) if s.tool == "nessus")
    path = write_scan_file(scan, tmp_path, SEED)
    text = path.read_text("utf-8")
    assert "-&gt;" in text  # "cpe:/o:... -> OS" in HostProperties
    names = {i.get("pluginName") for i in _parse(path).getroot().iter("ReportItem")}
    assert names <= {p.name for p in NESSUS_PLUGINS}


# ---- evolution --------------------------------------------------------------------------


def _presence(twelve_weeks) -> dict[tuple[str, str], list[set[tuple]]]:
    """Per (asset, tool): the finding keys read back from each file, in import order."""
    series: dict[tuple[str, str], list[set[tuple]]] = defaultdict(list)
    for scan, path in twelve_weeks:
        root = _parse(path).getroot()
        if scan.tool == "nessus":
            keys = {(i.get("pluginID"), i.get("port"), i.get("protocol")) for i in root.iter("ReportItem")}
        else:
            keys = {(i.findtext("type"), i.findtext("path"), i.findtext("location")) for i in root.iter("issue")}
        series[(scan.asset_ref, scan.tool)].append(keys)
    return series


def test_findings_are_new_unchanged_fixed_and_reopened(twelve_weeks) -> None:
    counts = defaultdict(int)
    for (asset, tool), scans in _presence(twelve_weeks).items():
        reopened = set()
        for key in set().union(*scans):
            seen = [key in s for s in scans]
            first, last = seen.index(True), len(seen) - 1 - seen[::-1].index(True)
            counts["unchanged"] += all(seen)
            counts["new"] += first > 0
            counts["fixed"] += last < len(seen) - 1
            if not all(seen[first : last + 1]):
                reopened.add(key)
        counts["reopened"] += len(reopened)
        if len(scans) >= 4:  # every series long enough shows at least one reopened finding
            assert reopened, (asset, tool)
    assert all(counts[k] > 0 for k in ("unchanged", "new", "fixed", "reopened")), dict(counts)


def test_assets_differ_from_each_other(twelve_weeks) -> None:
    first_scan = {}
    for (asset, tool), scans in _presence(twelve_weeks).items():
        if tool == "nessus":
            first_scan[asset] = frozenset(k[0] for k in scans[0])
    assert len(set(first_scan.values())) == len(first_scan)


# ---- size -------------------------------------------------------------------------------


def test_demo_volume_stays_small(tmp_path: Path) -> None:
    paths = write_all(sf.DEFAULT_ASSETS, sf.DEFAULT_FIRST_MONDAY, 13, SEED, tmp_path)
    assert 40 <= len(paths) <= 150
    assert sum(p.stat().st_size for p in paths) < 10 * 1024 * 1024
