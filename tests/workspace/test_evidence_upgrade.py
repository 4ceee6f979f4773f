"""Scanner output is kept once per observation (``scan_results.evidence``), and a workspace an
earlier version created (the output on ``findings.evidence``) is upgraded on open, on SQLite
and on PostgreSQL, without losing any of it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace.db import WorkspaceError, open_workspace
from secportal_pipeline.workspace.schema import activity_log
from tests.intake.test_issue3_gaps import nessus_file

FIRST = datetime(2026, 10, 1, tzinfo=UTC)
SECOND = datetime(2026, 10, 8, tzinfo=UTC)


def _columns(engine: sa.Engine, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


def _results(engine: sa.Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(
            "SELECT r.scan_id, f.title, r.evidence FROM scan_results r "
            "JOIN findings f ON f.finding_id = r.finding_id ORDER BY r.scan_id, f.title")]


def _two_scans(engine: sa.Engine, tmp_path) -> None:
    import_file(engine, nessus_file(tmp_path / "a.nessus", items=2, output="seen first"), now=FIRST)
    import_file(engine, nessus_file(tmp_path / "b.nessus", items=2, output="seen second"), now=SECOND)


def test_each_scan_keeps_its_own_output_and_the_finding_logs_none(workspace_engine, tmp_path):
    _two_scans(workspace_engine, tmp_path)
    assert _results(workspace_engine) == [
        (1, "Certificate expiry 0", "seen first"), (1, "Certificate expiry 1", "seen first"),
        (2, "Certificate expiry 0", "seen second"), (2, "Certificate expiry 1", "seen second"),
    ]
    assert "evidence" not in _columns(workspace_engine, "findings")
    with workspace_engine.connect() as conn:
        logged = conn.execute(sa.select(activity_log.c.action, activity_log.c.metadata)
                              .where(activity_log.c.entity_type == "finding")).all()
    # created with no output in the initial values; the rescan changed nothing of the findings
    assert sorted(action for action, _ in logged) == ["finding.created"] * 2 + ["finding.seen"] * 2
    for action, metadata in logged:
        if action == "finding.created":
            assert "evidence" not in metadata["initial"] and metadata["initial"]["title"].startswith("Certificate")
        else:
            assert [change["field"] for change in metadata["changes"]] == ["source_file", "source_file_sha256"]


def _as_before(engine: sa.Engine) -> None:
    """Turn a current workspace back into an earlier version's layout: the latest output on the
    finding (NOT NULL, no server default, as ``create_all`` made it), none on the results."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE findings ADD COLUMN evidence TEXT DEFAULT '' NOT NULL")
        conn.exec_driver_sql("UPDATE findings SET evidence = (SELECT r.evidence FROM scan_results r "
                             "WHERE r.finding_id = findings.finding_id ORDER BY r.scan_id DESC LIMIT 1)")
        conn.exec_driver_sql("ALTER TABLE findings ALTER COLUMN evidence DROP DEFAULT"
                             if engine.dialect.name == "postgresql" else "SELECT 1")
        conn.exec_driver_sql("ALTER TABLE scan_results DROP COLUMN evidence")


def _reopen(engine: sa.Engine) -> sa.Engine:
    return open_workspace(engine.url.render_as_string(hide_password=False))


def test_a_workspace_from_before_moves_the_output_to_the_latest_scan_result(workspace_engine, tmp_path):
    _two_scans(workspace_engine, tmp_path)
    _as_before(workspace_engine)
    assert "evidence" in _columns(workspace_engine, "findings")
    upgraded = _reopen(workspace_engine)
    assert "evidence" not in _columns(upgraded, "findings")
    # the finding held the latest output only: that is all there was to keep
    assert _results(upgraded) == [
        (1, "Certificate expiry 0", ""), (1, "Certificate expiry 1", ""),
        (2, "Certificate expiry 0", "seen second"), (2, "Certificate expiry 1", "seen second"),
    ]
    third = import_file(upgraded, nessus_file(tmp_path / "c.nessus", items=3, output="seen third"),
                        now=datetime(2026, 10, 15, tzinfo=UTC))
    assert (third.new, third.unchanged) == (1, 2)
    assert [e for scan, _, e in _results(upgraded) if scan == 3] == ["seen third"] * 3
    _reopen(upgraded).dispose()  # a second open finds nothing left to do
    upgraded.dispose()


def test_an_upgrade_that_would_lose_output_changes_nothing(workspace_engine, tmp_path):
    _two_scans(workspace_engine, tmp_path)
    _as_before(workspace_engine)
    names = sorted(_columns(workspace_engine, "findings") - {"finding_id"})
    copied = ["'entered by hand'" if n == "title" else f"'{'f' * 64}'" if n == "fingerprint" else n for n in names]
    with workspace_engine.begin() as conn:  # a finding with output but no scan result to move it to
        conn.exec_driver_sql(f"INSERT INTO findings ({', '.join(names)}) "
                             f"SELECT {', '.join(copied)} FROM findings WHERE finding_id = 1")
    with pytest.raises(WorkspaceError) as refused:
        _reopen(workspace_engine)
    assert str(refused.value).startswith(
        "workspace upgrade stopped, nothing changed: 1 finding(s) hold scanner output but have no scan result "
        "to move it to (findings.evidence -> scan_results.evidence): finding_id 3. Copy that output out")
    assert "evidence" in _columns(workspace_engine, "findings")
    assert "evidence" not in _columns(workspace_engine, "scan_results")
    with workspace_engine.connect() as conn:
        kept = conn.exec_driver_sql("SELECT title, evidence FROM findings ORDER BY finding_id").all()
    assert [tuple(r) for r in kept] == [("Certificate expiry 0", "seen second"),
                                        ("Certificate expiry 1", "seen second"),
                                        ("entered by hand", "seen second")]



def _snapshot(engine: sa.Engine) -> dict[str, object]:
    with engine.connect() as conn:
        return {"findings": _columns(engine, "findings"), "scan_results": _columns(engine, "scan_results"),
                "evidence": conn.exec_driver_sql("SELECT finding_id, evidence FROM findings ORDER BY 1").all(),
                "results": _results(engine) if "evidence" in _columns(engine, "scan_results") else None}


def test_output_already_on_a_scan_result_is_never_overwritten(workspace_engine, tmp_path):
    # both columns present (an earlier version's column added back to a current workspace):
    # an empty finding value moves nothing, an equal one changes nothing, a different one stops it all
    _two_scans(workspace_engine, tmp_path)
    with workspace_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE findings ADD COLUMN evidence TEXT DEFAULT '' NOT NULL")
        conn.exec_driver_sql("UPDATE findings SET evidence = 'seen second' WHERE finding_id = 1")
        conn.exec_driver_sql("UPDATE scan_results SET evidence = '' WHERE finding_id = 1 AND scan_id = 2")
        conn.exec_driver_sql("UPDATE findings SET evidence = 'written elsewhere' WHERE finding_id = 2")
    before = _snapshot(workspace_engine)
    with pytest.raises(WorkspaceError, match=r"1 finding\(s\) hold scanner output that differs from what their "
                                             r"latest scan result already holds .*finding_id 2\. Compare the two "):
        _reopen(workspace_engine)
    assert _snapshot(workspace_engine) == before
    with workspace_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE findings SET evidence = '' WHERE finding_id = 2")
    upgraded = _reopen(workspace_engine)
    assert "evidence" not in _columns(upgraded, "findings")
    assert _results(upgraded) == [
        (1, "Certificate expiry 0", "seen first"), (1, "Certificate expiry 1", "seen first"),
        (2, "Certificate expiry 0", "seen second"), (2, "Certificate expiry 1", "seen second"),
    ]
    upgraded.dispose()


def test_sqlite_upgrade_failing_midway_leaves_the_earlier_layout_whole(tmp_path):
    # DROP COLUMN fails on an indexed column after the new column was added and the output
    # moved: all three steps are one transaction, so none of them stays
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    _two_scans(engine, tmp_path)
    _as_before(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_findings_evidence ON findings (evidence)")
    before = _snapshot(engine)
    with pytest.raises(WorkspaceError) as failed:
        _reopen(engine)
    assert str(failed.value).startswith(f"cannot open the workspace at sqlite:///{tmp_path / 'ws.sqlite'}: "
                                        "error in index ix_findings_evidence after drop column")
    assert str(failed.value).endswith("; nothing was changed")
    assert _snapshot(engine) == before and before["results"] is None
    engine.dispose()


def test_cli_reports_a_refused_upgrade_in_one_line(env, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from secportal_pipeline.cli import main

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = open_workspace(url)
    _two_scans(engine, tmp_path)
    _as_before(engine)
    with engine.begin() as conn:  # the scan results are gone: the output has nowhere to go
        conn.exec_driver_sql("DELETE FROM scan_results")
    monkeypatch.setenv("SECPORTAL_WORKSPACE_URL", url)
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: workspace upgrade stopped, nothing changed: 2 finding(s) hold scanner output but have no scan "
        "result to move it to (findings.evidence -> scan_results.evidence): finding_id 1, 2. Copy that output "
        "out (SELECT finding_id, evidence FROM findings) and empty it, or give the findings a scan result, "
        "then open the workspace again."]
    assert "evidence" in _columns(engine, "findings")
    engine.dispose()
