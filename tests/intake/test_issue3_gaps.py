"""Issue 3 evidence not covered elsewhere: bulk writes, progress, row issues on the log,
whitespace-only re-exports, unicode from a scanner file to the landed snapshot."""

import csv
import hashlib
import io
import json
import os
import re
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from secportal_pipeline.cli import main
from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.intake import loader, nessus
from secportal_pipeline.intake.parsers import open_scan
from secportal_pipeline.intake.progress import ImportProgress
from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace.accounts import ensure_user
from secportal_pipeline.workspace.activity import to_json_value, utcnow
from secportal_pipeline.workspace.credentials import create_credential
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import create_finding
from secportal_pipeline.workspace.schema import activity_log, findings, scan_results
from tests.conftest import REPO_ROOT
from tests.workspace.helpers import T0


@pytest.fixture
def engine(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    yield engine
    engine.dispose()


def nessus_file(path, hosts=1, items=3, title="Certificate expiry", output="line one\nline two"):
    """A small valid Nessus v2 file: ``hosts`` x ``items`` distinct findings."""
    body = []
    for h in range(hosts):
        body.append(f'<ReportHost name="10.0.{h // 250}.{h % 250 + 1}"><HostProperties>'
                    f'<tag name="host-fqdn">host{h}.example</tag>'
                    '<tag name="HOST_END">Mon Sep 14 03:00:00 2026</tag></HostProperties>')
        for i in range(items):
            body.append(f'<ReportItem port="443" svc_name="www" protocol="tcp" severity="2" pluginID="{1000 + i}" '
                        f'pluginName="{title} {i}" pluginFamily="General"><description>d</description>'
                        f'<solution>s</solution><plugin_output>{output}</plugin_output></ReportItem>')
        body.append("</ReportHost>")
    path.write_text('<?xml version="1.0" ?>\n<NessusClientData_v2><Report name="t">'
                    + "\n".join(body) + "</Report></NessusClientData_v2>\n", encoding="utf-8")
    return path


def events(engine, action):
    with engine.connect() as conn:
        return conn.execute(sa.select(activity_log).where(activity_log.c.action == action)
                            .order_by(activity_log.c.event_id)).mappings().all()


# 1. streaming, bounded memory, batches, progress ------------------------------------------

def test_parser_releases_every_item_and_its_processed_siblings(tmp_path, monkeypatch):
    path = nessus_file(tmp_path / "many.nessus", hosts=3, items=400)
    widest, cleared, leftover = [], [], []
    real_release = nessus.release

    def spy(elem):
        real_release(elem)
        cleared.append(len(elem) == 0 and not elem.attrib)
        parent = elem.getparent()
        widest.append(0 if parent is None else len(parent))
        leftover.append(elem.getprevious() is not None)

    monkeypatch.setattr(nessus, "release", spy)
    meta, records = open_scan(path)
    assert sum(1 for _ in records) == 1200
    # cleared, no processed sibling kept; what remains is lxml's read-ahead of one parse chunk
    assert all(cleared) and not any(leftover)
    assert max(widest) < 200


def test_new_findings_are_written_in_batches_not_row_by_row(engine, tmp_path):
    path = nessus_file(tmp_path / "batch.nessus", hosts=3, items=400)
    statements = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *a: statements.append(statement.split("(")[0].strip()))
    summary = import_file(engine, path)
    assert summary.new == 1200
    batches = -(-1200 // loader.BATCH_SIZE)
    assert statements.count("INSERT INTO findings") == batches
    assert statements.count("INSERT INTO scan_results") == batches
    # one statement per batch for the findings' creation events (the rest: scans, engagement, import)
    assert sum(1 for s in statements if s == "INSERT INTO activity_log") < batches + 12


def test_bulk_created_findings_log_exactly_what_create_finding_logs(engine, tmp_path):
    summary = import_file(engine, nessus_file(tmp_path / "one.nessus", items=2))
    created = events(engine, "finding.created")
    assert summary.new == 2 and len(created) == 2
    with engine.begin() as conn:
        rows = {r.finding_id: r._mapping for r in conn.execute(sa.select(findings))}
        for event in created:
            row = rows[int(event["entity_id"])]
            # the creation event holds the whole initial row: every column but the key
            assert event["metadata"]["initial"] == {k: to_json_value(v) for k, v in row.items() if k != "finding_id"}
            assert event["occurred_at"] == row["first_seen_at"] == datetime(2026, 9, 14, 3, tzinfo=UTC)
        # the one-row path given the same values logs the same thing
        values = {k: v for k, v in rows[int(created[0]["entity_id"])].items()
                  if k not in ("finding_id", "status", "opened_at", "first_seen_at", "last_seen_at")}
        values["fingerprint"] = "x" * 64
        single = create_finding(conn, values, actor_id=created[0]["actor_id"], at=created[0]["occurred_at"])
        logged = conn.execute(sa.select(activity_log.c.metadata).where(
            activity_log.c.entity_id == str(single), activity_log.c.action == "finding.created")).scalar_one()
    expected = dict(created[0]["metadata"]["initial"], fingerprint="x" * 64)
    assert logged["initial"] == expected


def test_progress_reports_records_bytes_and_total(engine, tmp_path):
    path = nessus_file(tmp_path / "p.nessus", hosts=3, items=400)
    seen: list[ImportProgress] = []
    import_file(engine, path, progress=seen.append)
    assert [p.records for p in seen] == [500, 1000, 1200]
    assert all(p.total_bytes == path.stat().st_size for p in seen)
    assert 0 < seen[0].bytes_read <= seen[-1].bytes_read == path.stat().st_size
    assert re.fullmatch(r"p\.nessus: 1,200 records, [\d.]+ / [\d.]+ MB \(100%\), [\d.]+ MB/s, [\d,]+ records/s",
                        seen[-1].line())


def test_csv_progress_counts_bytes_too(engine, samples):
    seen: list[ImportProgress] = []
    path = samples / "csv" / "dd__nessus_many_vuln2-all.csv"
    import_file(engine, path, progress=seen.append)
    assert seen and 0 < seen[-1].bytes_read <= path.stat().st_size


def test_cli_progress_goes_to_stderr_only_when_asked(env, tmp_path):
    path = nessus_file(tmp_path / "cli.nessus", hosts=2, items=300)
    result = CliRunner().invoke(main, ["import", "--progress", str(path)])
    assert result.exit_code == 0, result.output
    assert "cli.nessus: imported (nessus/nessus-v2) new=600" in result.stdout
    assert re.search(r"cli\.nessus: \d[\d,]* records, [\d.]+ / [\d.]+ MB", result.stderr)
    assert "records" not in result.stdout
    quiet = CliRunner().invoke(main, ["import", str(nessus_file(tmp_path / "q.nessus", title="Other"))])
    assert quiet.exit_code == 0 and quiet.stderr == ""  # not a terminal, no flag: no progress


# 4. bad rows in the CLI summary and on the activity entry ---------------------------------

BAD_ROWS = ("Plugin ID,Host,Port,Name,Risk,CVSS3 Vector\n"
            "1,h1.example,abc,Weak TLS,High,AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N\n"
            "2,h2.example,443,Old server,Medium,CVSS:3.1/AV:Q\n"
            "3,,443,No host,Low,\n")


def test_bad_rows_are_listed_in_the_cli_summary_and_on_the_import_entry(settings, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_ROWS, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "bad.csv: imported (csv/nessus-default) new=2 updated=0 reopened=0 unchanged=0 skipped=1" in result.stdout
    assert "    row 1 (line 2): Port='abc': " in result.stdout
    assert "    row 2 (line 3): CVSS3 Vector='CVSS:3.1/AV:Q': " in result.stdout
    assert "    row 3 (line 4): host='': " in result.stdout and "(skipped)" in result.stdout
    (entry,) = events(open_workspace(settings.workspace_url), "import.completed")
    issues = entry["metadata"]["row_issues"]
    assert [(i["where"], i["column"], i["value"], i["skipped"]) for i in issues] == [
        ("row 1 (line 2)", "Port", "abc", False),
        ("row 2 (line 3)", "CVSS3 Vector", "CVSS:3.1/AV:Q", False),
        ("row 3 (line 4)", "host", "", True),
    ]
    assert all(i["reason"] for i in issues) and entry["metadata"]["rows_skipped"] == 1
    assert entry["metadata"]["file"] == "bad.csv"


# 5. idempotent re-imports ------------------------------------------------------------------

def test_whitespace_only_changes_in_a_real_file_create_nothing_new(engine, samples, tmp_path):
    original = samples / "nessus" / "libnessus__nessus_report_localpci.nessus"
    first = import_file(engine, original)
    text = original.read_bytes().decode("utf-8")
    # trailing spaces on every plugin_output line, then CRLF line ends throughout
    changed = re.sub(r"<plugin_output>(.*?)</plugin_output>",
                     lambda m: "<plugin_output>" + m.group(1).replace("\n", "   \n") + "  </plugin_output>",
                     text, flags=re.S).replace("\n", "\r\n")
    assert changed != text and changed.count("<plugin_output>") > 50
    copy = tmp_path / "localpci-reexported.nessus"
    copy.write_bytes(changed.encode("utf-8"))
    again = import_file(engine, copy)
    assert first.new == 166
    assert (again.outcome, again.new, again.reopened, again.updated, again.unchanged) == ("imported", 0, 0, 0, 166)


def test_rescan_of_the_same_target_gives_zero_new_zero_reopened(engine, samples, tmp_path):
    original = samples / "nessus" / "rubynessus__example_v3.nessus"
    first = import_file(engine, original)
    rescan = tmp_path / "rescan.nessus"
    rescan.write_bytes(original.read_bytes() + b"\n")  # another export of the same scan: other sha256
    again = import_file(engine, rescan)
    assert first.new > 0 and again.sha256 != first.sha256
    assert (again.new, again.reopened, again.unchanged + again.updated) == (0, 0, first.new)


# 6. unicode end to end ------------------------------------------------------------------

def test_non_ascii_survives_import_workspace_and_the_landed_snapshot(settings, tmp_path):
    engine = open_workspace(settings.workspace_url)
    title = "Zertifikat läuft ab – Café 日本語 ✓"
    summary = import_file(engine, nessus_file(tmp_path / "u.nessus", items=1, title=title, output="Ünïcödé"))
    with engine.begin() as conn:
        ensure_user(conn, "svc-export-findings", role="member", at=T0, is_service_account=True, actor_id=1)
        create_credential(conn, "svc-export-findings", actor_id=1, at=utcnow())
        stored = conn.execute(sa.select(findings.c.title, scan_results.c.evidence)
                              .join_from(findings, scan_results)).one()
    assert summary.new == 1 and tuple(stored) == (f"{title} 0", "Ünïcödé")
    contract = load_contract(REPO_ROOT / "contracts" / "findings_snapshot.yaml")
    landed = export_partition(engine, contract, "2026-09-14", landing_root=settings.landing_root,
                              key=load_hmac_key(), run_id="unicode").landed
    rows = list(csv.DictReader(io.StringIO((landed.directory / "findings_snapshot.csv").read_bytes().decode("utf-8"))))
    assert [r["title"] for r in rows] == [f"{title} 0"]
    assert pq.read_table(landed.directory / "findings_snapshot.parquet").column("title").to_pylist() == [f"{title} 0"]
    assert json.loads((landed.directory / "_manifest.json").read_text())["row_count"] == 1


def test_cli_archive_moves_imported_and_present_files_and_reports_the_rest(env, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    first = nessus_file(inbox / "a.nessus", title="Archived")
    again = inbox / "again.nessus"
    again.write_bytes(first.read_bytes())
    sha = hashlib.sha256(first.read_bytes()).hexdigest()
    refused = inbox / "page.nessus"
    refused.write_text("<html><body>not a scan</body></html>")
    result = CliRunner().invoke(main, ["import", "--archive", str(first), str(again), str(refused), "/dev/zero"])
    assert result.exit_code == 1
    archive_dir = tmp_path / "data" / "intake" / "archive"
    lines = result.stdout.splitlines()
    assert lines[0] == "a.nessus: imported (nessus/nessus-v2) new=3 updated=0 reopened=0 unchanged=0 skipped=0"
    assert lines[1] == f"    archived -> {archive_dir / f'{sha[:12]}__a.nessus'}"
    assert lines[2].startswith("again.nessus: skipped (already imported on ")
    assert lines[3] == f"    archived -> {archive_dir / f'{sha[:12]}__again.nessus'}"
    assert lines[4].startswith("page.nessus: quarantined (unsupported format: ")
    assert lines[5:] == ["zero: failed (not a regular file); the file was left where it is",
                         "4 file(s): 2 imported or already present, 2 refused"]
    assert sorted(p.name for p in archive_dir.iterdir()) == [f"{sha[:12]}__a.nessus", f"{sha[:12]}__again.nessus"]
    assert list(inbox.iterdir()) == []


def test_cli_reports_links_and_fifos_and_reads_a_path_named_twice_once(env, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:TOP-SECRET-CANARY\n")
    folder = tmp_path / "drop"
    folder.mkdir()
    os.mkfifo(folder / "pipe.csv")
    (folder / "link.csv").symlink_to(secret)
    scan = nessus_file(folder / "scan.nessus", title="Once")
    result = CliRunner().invoke(main, ["import", str(folder), str(scan)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "link.csv: failed (a symbolic link: name the file it points to instead); the file was left where it is"
    assert lines[1] == "pipe.csv: failed (not a regular file); the file was left where it is"
    assert lines[2].startswith("scan.nessus: imported (nessus/nessus-v2) new=3 ")
    assert lines[3:] == ["3 file(s): 1 imported or already present, 2 refused"]
    assert "CANARY" not in result.output


def test_cli_names_a_missing_path_and_imports_the_rest(env, tmp_path):
    scan = nessus_file(tmp_path / "ok.nessus", title="Still imported")
    result = CliRunner().invoke(main, ["import", str(tmp_path / "nope.nessus"), str(scan)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{tmp_path / 'nope.nessus'}: failed (no such file or folder)"
    assert lines[1].startswith("ok.nessus: imported (nessus/nessus-v2) new=3 ")
    assert lines[2:] == ["2 file(s): 1 imported or already present, 1 refused"]


def test_a_file_name_cannot_forge_lines_of_the_output(env, tmp_path):
    path = tmp_path / "evil\n2 file(s): 2 imported or already present, 0 refused\x1b[2K.xml"
    path.write_text("<html><body>not a scan</body></html>")
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 1
    first, last = result.stdout.splitlines()
    assert first.startswith("evil\\x0a2 file(s): 2 imported or already present, 0 refused\\x1b[2K.xml: quarantined (")
    assert last == "1 file(s): 0 imported or already present, 1 refused"


def test_a_file_with_no_findings_is_imported_once(engine, tmp_path):
    path = tmp_path / "header-only.csv"
    path.write_text("Host,Name,Severity\n")
    first = import_file(engine, path)
    again = import_file(engine, path)
    assert (first.outcome, first.reason) == ("imported", "the file holds no findings")
    assert again.outcome == "skipped" and again.reason.startswith("already imported on ")
    with engine.connect() as conn:
        logged = conn.execute(sa.text("SELECT count(*) FROM activity_log WHERE action = 'import.completed'")).scalar()
    assert logged == 1


def test_a_name_too_long_to_archive_is_shortened_like_the_quarantines(env, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    scan = nessus_file(inbox / ("A" * 246 + ".nessus"), title="Long name")
    sha = hashlib.sha256(scan.read_bytes()).hexdigest()
    result = CliRunner().invoke(main, ["import", "--archive", str(scan)])
    assert result.exit_code == 0, result.output
    archived = tmp_path / "data" / "intake" / "archive" / (f"{sha[:12]}__" + "A" * (200 - 14 - 7) + ".nessus")
    assert result.stdout.splitlines()[1] == f"    archived -> {archived}"
    assert archived.read_bytes().startswith(b"<?xml") and not scan.exists()


def test_a_line_break_in_a_refused_path_is_shown_not_obeyed(env, tmp_path):
    path = tmp_path / "bad\nline.xml"
    path.write_text("<html/>")
    result = CliRunner().invoke(main, ["import", "--no-quarantine", str(path)])
    (line, _) = result.stdout.splitlines()
    assert line.startswith("bad\\x0aline.xml: refused (unsupported format: HTML document (root <html>)")
    assert f"in {tmp_path}/bad\\x0aline.xml)" in line
