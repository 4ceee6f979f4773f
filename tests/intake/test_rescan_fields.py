"""A rescan changes what it reports and keeps what it leaves out (loader._refreshed_values)."""

from __future__ import annotations

import sqlalchemy as sa

from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.schema import activity_log, findings

V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8, critical


def _import(engine, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return import_file(engine, path, quarantine_dir=tmp_path / "quarantine")


def _finding(engine):
    with engine.connect() as conn:
        rows = conn.execute(sa.select(findings)).mappings().all()
    assert len(rows) == 1
    return rows[0]


PROVENANCE = {"last_seen_at", "source_file", "source_file_sha256", "source_record_id", "source_tool"}


def _field_changes(engine):
    """The rescans' finding.seen events, each as its changes other than provenance."""
    with engine.connect() as conn:
        events = conn.execute(sa.select(activity_log.c.metadata).where(
            activity_log.c.action == "finding.seen").order_by(activity_log.c.event_id)).scalars().all()
    return [[c for c in e["changes"] if c["field"] not in PROVENANCE] for e in events]


def test_renamed_severity_column_keeps_the_known_severity(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    first = _import(engine, tmp_path, "a.csv", "Host,Name,Severity,Port,Description,CVE\n"
                    "10.7.7.4,Weak TLS,High,443,Old protocols,CVE-2014-3566\n")
    assert (first.outcome, first.new) == ("imported", 1)
    # the vendor renamed the column and dropped the CVE column: nothing says either went away
    again = _import(engine, tmp_path, "b.csv", "Host,Name,Criticality,Port,Description\n"
                    "10.7.7.4,Weak TLS,High,443,Old protocols\n")
    assert (again.outcome, again.new, again.updated, again.unchanged) == ("imported", 0, 0, 1)
    row = _finding(engine)
    assert (row["severity"], row["scanner_severity"], row["cve"]) == ("high", "High", ["CVE-2014-3566"])
    assert _field_changes(engine) == [[]]
    assert {"where": "header", "column": "severity", "value": "", "skipped": False,
            "reason": "no severity column; info if new, a known finding keeps its severity"} in again.row_issues


def test_a_reported_change_still_replaces_and_a_kept_vector_still_drives_severity(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    _import(engine, tmp_path, "a.csv", f"Host,Name,Severity,Port,CVSS v3.0 Vector\n10.7.7.4,RCE,High,443,{V31}\n")
    row = _finding(engine)
    assert (row["severity"], row["cvss_base_score"], row["cvss_vector"]) == ("critical", 9.8, V31)
    # a later export without the vector column, and with the scanner's rating lowered
    again = _import(engine, tmp_path, "b.csv", "Host,Name,Severity,Port\n10.7.7.4,RCE,Medium,443\n")
    assert (again.new, again.updated) == (0, 1)
    row = _finding(engine)
    assert (row["scanner_severity"], row["cvss_vector"], row["cvss_base_score"]) == ("Medium", V31, 9.8)
    assert row["severity"] == "critical"  # the CVSS 3 band wins while the finding holds a vector
    assert _field_changes(engine) == [[{"field": "scanner_severity", "from": "High", "to": "Medium"}]]


def test_without_a_vector_the_scanner_rating_moves_severity(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    _import(engine, tmp_path, "a.csv", "Host,Name,Severity,Port,Solution\n10.7.7.4,Info leak,Low,80,Patch it\n")
    again = _import(engine, tmp_path, "b.csv", "Host,Name,Severity,Port,Solution\n10.7.7.4,Info leak,High,80,\n")
    assert again.updated == 1
    row = _finding(engine)
    assert (row["severity"], row["scanner_severity"], row["solution"]) == ("high", "High", "Patch it")
    [changes] = _field_changes(engine)
    assert sorted((c["field"], c["from"], c["to"]) for c in changes) == [
        ("scanner_severity", "Low", "High"), ("severity", "low", "high")]
