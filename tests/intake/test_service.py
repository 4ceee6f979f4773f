"""Importing real scanner files into a workspace: counts, provenance, idempotency, quarantine."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest
import sqlalchemy as sa

from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.schema import activity_log, findings, scan_executions, scan_results


@pytest.fixture
def engine(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    yield engine
    engine.dispose()


def _findings(engine, source_file):
    with engine.connect() as conn:
        return conn.execute(sa.select(findings).where(findings.c.source_file == source_file)).mappings().all()


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_nessus_with_cvss3(engine, samples):
    # 49 ReportItems; "PHP Unsupported Version Detection" (58987) is reported twice on 80/tcp
    summary = import_file(engine, samples / "nessus" / "dd__nessus_with_cvssv3.nessus")
    assert (summary.outcome, summary.new, summary.duplicates_merged) == ("imported", 48, 1)
    rows = _findings(engine, "dd__nessus_with_cvssv3.nessus")
    assert len(rows) == 48
    assert {r["asset_ref"] for r in rows} == {"testphp.vulnweb.com"}
    assert Counter(r["scanner_severity"] for r in rows) == {"0": 23, "1": 1, "2": 13, "3": 10, "4": 1}
    assert sum(1 for r in rows if r["cvss_vector"]) == 8
    assert all(r["cvss_vector"].startswith("CVSS:3.0/") for r in rows if r["cvss_vector"])
    assert Counter(r["severity"] for r in rows) == {"info": 23, "low": 1, "medium": 12, "high": 11, "critical": 1}
    php = next(r for r in rows if r["plugin_id"] == "58987")
    assert php["cvss_base_score"] == 10.0 and php["severity"] == "critical"
    assert php["source_record_id"] == "testphp.vulnweb.com|80|tcp|58987"
    assert php["source_file_sha256"] == summary.sha256 and php["source_tool"] == "nessus"


def test_nessus_seven_hosts(engine, samples):
    summary = import_file(engine, samples / "nessus" / "dd__nessus_v_unknown.xml")
    assert summary.new == 296 and len(summary.scan_ids) == 7
    rows = _findings(engine, "dd__nessus_v_unknown.xml")
    assert Counter(r["scanner_severity"] for r in rows) == {"0": 266, "1": 7, "2": 23}
    assert _count(engine, scan_executions) == 7
    assert _count(engine, scan_results) == 296


def test_burp_every_severity(engine, samples):
    summary = import_file(engine, samples / "burp" / "dradisburp__burp_issue_severity.xml")
    assert summary.new == 5
    rows = _findings(engine, "dradisburp__burp_issue_severity.xml")
    assert Counter(r["scanner_severity"] for r in rows) == {"High": 2, "Medium": 1, "Low": 1, "Information": 1}
    assert Counter(r["severity"] for r in rows) == {"high": 2, "medium": 1, "low": 1, "info": 1}


def test_tenable_io_csv_folds_one_row_per_cve(engine, samples):
    summary = import_file(engine, samples / "csv" / "dd__tenable_many_vuln.csv")
    assert (summary.new, summary.blank_rows, summary.variant) == (9, 2, "tenable.io")
    rows = _findings(engine, "dd__tenable_many_vuln.csv")
    assert len({r["asset_ref"] for r in rows}) == 2
    assert Counter(r["severity"] for r in rows) == {"medium": 6, "high": 3}
    assert max(len(r["cve"]) for r in rows) == 10  # plugin 176703: ten rows, one finding


def test_same_file_twice_is_imported_once(engine, samples):
    path = samples / "nessus" / "libnessus__nessus_report_localpci.nessus"
    first = import_file(engine, path)
    events = _count(engine, activity_log)
    second = import_file(engine, path)
    assert first.new == 166 and second.outcome == "skipped" and "same sha256" in second.reason
    assert _count(engine, activity_log) == events and _count(engine, findings) == 166


def test_rescan_of_same_target_is_all_unchanged_and_resolved_findings_reopen(engine, samples, tmp_path):
    original = samples / "burp" / "dradisburp__burp_issue_severity.xml"
    import_file(engine, original)
    from secportal_pipeline.workspace.findings import set_status

    with engine.begin() as conn:
        first_id = conn.execute(sa.select(sa.func.min(findings.c.finding_id))).scalar_one()
        set_status(conn, first_id, "resolved", actor_id=1, at=conn.execute(
            sa.select(findings.c.last_seen_at).where(findings.c.finding_id == first_id)).scalar_one())
    rescan = tmp_path / "rescan.xml"
    rescan.write_bytes(original.read_bytes() + b"\n<!-- re-exported -->\n")
    summary = import_file(engine, rescan)
    assert (summary.new, summary.reopened, summary.unchanged, summary.updated) == (0, 1, 4, 0)
    with engine.connect() as conn:
        assert conn.execute(sa.select(findings.c.status).where(findings.c.finding_id == first_id)).scalar_one() == "reopened"
        actions = [a for (a,) in conn.execute(sa.select(activity_log.c.action).where(
            activity_log.c.entity_type == "finding", activity_log.c.entity_id == str(first_id)))]
    assert actions == ["finding.created", "finding.updated", "finding.reopened"]


def test_broken_file_is_quarantined_and_workspace_unchanged(engine, samples, tmp_path):
    import_file(engine, samples / "burp" / "dradisburp__burp.xml")
    before = (_count(engine, findings), _count(engine, activity_log), _count(engine, scan_executions))
    broken = tmp_path / "inbox" / "truncated.nessus"
    broken.parent.mkdir()
    data = (samples / "nessus" / "libnessus__nessus_report_local2.nessus").read_bytes()
    broken.write_bytes(data[: len(data) // 2])  # cut mid-file: the first half parses, then it breaks
    summary = import_file(engine, broken, quarantine_dir=tmp_path / "quarantine")
    assert summary.outcome == "quarantined"
    assert (_count(engine, findings), _count(engine, activity_log), _count(engine, scan_executions)) == before
    assert not broken.exists()
    moved = tmp_path / "quarantine" / f"{summary.sha256[:12]}__truncated.nessus"
    assert moved.read_bytes() == data[: len(data) // 2]
    report = json.loads(moved.with_name(moved.name + ".json").read_text())
    assert report["sha256"] == summary.sha256 and report["format_guess"] == "nessus"
    assert report["line"] is not None and report["reason"]


def test_every_shared_sample_imports(workspace_engine, samples, tmp_path):
    """All 36 real exports import, on SQLite and on PostgreSQL (whose column lengths are real)."""
    engine, outcomes = workspace_engine, {}
    for path in sorted(p for p in samples.rglob("*") if p.is_file() and p.suffix != ".md"):
        copy = tmp_path / "in" / path.parent.name / path.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
        outcomes[path.name] = import_file(engine, copy, quarantine_dir=tmp_path / "q").outcome
    assert len(outcomes) == 36
    assert Counter(outcomes.values()) == {"imported": 36}
    assert _count(engine, findings) == 1446  # the same on both databases (files share findings)


@pytest.mark.parametrize(("sample", "new"), [("burp/dradisburp__burp.xml", 4),
                                              ("nessus/dradisnessus__example_v2.nessus", 68)])
def test_xml_with_a_utf8_byte_order_mark_imports_like_without(tmp_path, samples, sample, new):
    plain = open_workspace(f"sqlite:///{tmp_path / 'plain.sqlite'}")
    with_bom = open_workspace(f"sqlite:///{tmp_path / 'bom.sqlite'}")
    source = samples / sample
    marked = tmp_path / source.name
    marked.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    expected, got = import_file(plain, source), import_file(with_bom, marked, quarantine_dir=tmp_path / "q")
    assert got.outcome == "imported", got.reason
    assert (got.tool, got.new, got.updated, got.row_issues) == (expected.tool, new, 0, expected.row_issues)
    plain.dispose()
    with_bom.dispose()
