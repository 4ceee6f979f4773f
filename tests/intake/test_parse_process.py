"""Parsing in a child process gives the loader exactly what an in-process parse gives it.

A large file is parsed in a forked child while the importing process writes. Records,
scan metadata (as each batch is handed out), refusals and the resulting workspace must be
the same as in-process; a child that fails or is killed fails the import without
quarantining the file or leaving anything behind.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from secportal_pipeline.intake import loader, parse_process
from secportal_pipeline.intake.errors import ImportRefused
from secportal_pipeline.intake.loader import BATCH_SIZE as LOADER_BATCH
from secportal_pipeline.intake.loader import _batches
from secportal_pipeline.intake.parse_process import ParserProcessFailed, open_scan_in_child
from secportal_pipeline.intake.parsers import open_scan
from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace.db import open_workspace

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
SAMPLE_FILES = sorted(
    (kind, name)
    for kind, names in {
        "nessus": ["dd__nessus_v_unknown.xml", "dd__nessus_with_cvssv3.nessus", "dd__nessus_was_many_vuln.xml",
                   "libnessus__nessus_report_localpci.nessus", "dd__nessus_with_cwe-.nessus"],
        "burp": ["dd__burp_issue4399.xml", "dradisburp__burp.xml", "dd__burp_seven_findings.xml"],
        "csv": ["dd__tenable_many_vuln.csv", "dd__nessus_many_vuln2-all.csv", "faraday__dummy_faraday_csv_report.csv"],
    }.items()
    for name in names
)


def _snapshots(meta, records):
    """Each batch as the loader takes it, with the scan metadata the loader sees then."""
    return [(batch, meta.started_at, meta.completed_at, list(meta.targets), len(meta.issues), meta.variant)
            for batch in _batches(records, LOADER_BATCH)]


@pytest.mark.parametrize(("kind", "name"), SAMPLE_FILES)
def test_child_parse_equals_in_process(samples, kind, name):
    path = samples / kind / name
    here_meta, here = open_scan(path)
    child_meta, there = open_scan_in_child(path)
    in_process, in_child = _snapshots(here_meta, here), _snapshots(child_meta, there)
    assert sum(len(batch) for batch, *_ in in_child) == sum(len(batch) for batch, *_ in in_process) > 0
    assert in_child == in_process
    assert child_meta == here_meta  # name, targets, window, row issues, bytes read, merged duplicates
    assert not multiprocessing.active_children()


def test_batches_carry_the_metadata_of_their_last_record(tmp_path, monkeypatch):
    # three hosts, one item each, one record per batch: every batch sees only the hosts so far
    hosts = "".join(
        f'<ReportHost name="10.0.0.{i}"><HostProperties><tag name="HOST_START">Mon Sep 14 0{i}:00:00 2026</tag>'
        f'</HostProperties><ReportItem port="80" protocol="tcp" severity="2" pluginID="1{i}" pluginName="p{i}" '
        f'pluginFamily="f"><description>d</description></ReportItem></ReportHost>'
        for i in (3, 1, 2)
    )
    path = tmp_path / "three.nessus"
    path.write_text(f'<?xml version="1.0"?><NessusClientData_v2><Report name="r">{hosts}</Report>'
                    "</NessusClientData_v2>", encoding="utf-8")
    monkeypatch.setattr(loader, "BATCH_SIZE", 1)
    meta, records = open_scan_in_child(path)
    seen = [(r.asset_ref, meta.started_at.hour, list(meta.targets)) for r in records]
    assert seen == [("10.0.0.3", 3, ["10.0.0.3"]),
                    ("10.0.0.1", 1, ["10.0.0.3", "10.0.0.1"]),
                    ("10.0.0.2", 1, ["10.0.0.3", "10.0.0.1", "10.0.0.2"])]


def _hostile(tmp_path):
    path = tmp_path / "laughs.nessus"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n'
                    "<NessusClientData_v2><Report>&b;</Report></NessusClientData_v2>\n", encoding="utf-8")
    return path


def _truncated(tmp_path):
    item = ('<ReportItem port="80" protocol="tcp" severity="2" pluginID="10" pluginName="p" pluginFamily="f">'
            "<description>d</description></ReportItem>")
    path = tmp_path / "cut.nessus"
    path.write_text('<?xml version="1.0"?>\n<NessusClientData_v2><Report name="r">\n<ReportHost name="h">\n'
                    + (item + "\n") * 1200 + "<ReportItem port=", encoding="utf-8")
    return path


def _consume(opener, path):
    records = []
    with pytest.raises(ImportRefused) as refused:
        records.extend(opener(path)[1])
    return refused.value, records


@pytest.mark.parametrize("make", [_hostile, _truncated])
def test_refusal_is_the_same_and_arrives_after_the_records_before_it(tmp_path, make):
    path = make(tmp_path)
    here, got_here = _consume(open_scan, path)
    there, got_there = _consume(open_scan_in_child, path)
    assert got_there == got_here
    assert str(there) == str(here)
    assert vars(there) == vars(here)  # line, column, element path, format guess
    assert not multiprocessing.active_children()


def test_truncated_file_reports_where_it_stopped(tmp_path):
    _, records = open_scan_in_child(_truncated(tmp_path))
    with pytest.raises(ImportRefused) as refused:
        list(records)
    assert refused.value.line == 1204 and refused.value.format_guess == "nessus"


def _dump(engine):
    with engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1, 2")]
            for table in ("findings", "scan_results", "scan_executions", "finding_controls")
        } | {"activity": sorted(tuple(row) for row in conn.exec_driver_sql(
            "SELECT occurred_at, actor_id, entity_type, entity_id, action, metadata FROM activity_log"))}


def test_import_through_the_child_stores_what_in_process_stores(tmp_path, samples, monkeypatch):
    monkeypatch.setattr(loader, "BATCH_SIZE", 50)  # several batches, hosts spanning two of them
    stored, children = {}, []
    real = parse_process.open_scan_in_child
    monkeypatch.setattr(parse_process, "open_scan_in_child", lambda path: children.append(path) or real(path))
    for mode, threshold in (("in-process", 1 << 40), ("child", 0)):
        monkeypatch.setattr(parse_process, "CHILD_PARSE_MIN_BYTES", threshold)
        engine = open_workspace(f"sqlite:///{tmp_path / mode}.sqlite")
        summary = import_file(engine, samples / "nessus" / "dd__nessus_v_unknown.xml", now=NOW)
        assert (summary.outcome, summary.new, len(summary.scan_ids)) == ("imported", 296, 7)
        stored[mode] = (summary.line(), _dump(engine))
        assert len(children) == (0 if mode == "in-process" else 1)
        engine.dispose()
    assert stored["child"] == stored["in-process"]


def _empty_workspace(engine):
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("findings", "scan_executions", "scan_results")}


def _kill_the_child(monkeypatch):
    monkeypatch.setattr(parse_process, "_child", lambda path, writer, reader: os.kill(os.getpid(), signal.SIGKILL))


def _break_the_parser(monkeypatch):
    def broken(path):
        raise MemoryError("cannot allocate the parse buffer")

    monkeypatch.setattr(parse_process, "open_scan", broken)  # inherited by the forked child


def _die_mid_message(monkeypatch):
    def child(path, writer, reader=None):
        # what a kill during a batch bigger than the pipe's buffer leaves: a message cut short
        os.write(writer.fileno(), struct.pack("!i", 1_000_000) + b"x" * 1000)
        os._exit(9)

    monkeypatch.setattr(parse_process, "_child", child)


@pytest.mark.parametrize(("breakage", "message"), [
    (_kill_the_child, "the parser process for dd__nessus_v_unknown.xml ended without finishing (exit code -9)"),
    (_die_mid_message, "the parser process for dd__nessus_v_unknown.xml ended without finishing (exit code 9)"),
    (_break_the_parser, "MemoryError: cannot allocate the parse buffer"),
])
def test_a_failed_child_fails_the_import_and_keeps_the_file(tmp_path, samples, monkeypatch, breakage, message):
    path = tmp_path / "dd__nessus_v_unknown.xml"
    path.write_bytes((samples / "nessus" / "dd__nessus_v_unknown.xml").read_bytes())
    monkeypatch.setattr(parse_process, "CHILD_PARSE_MIN_BYTES", 0)
    breakage(monkeypatch)
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    quarantine = tmp_path / "quarantine"
    with pytest.raises(ParserProcessFailed) as failed:
        import_file(engine, path, quarantine_dir=quarantine)
    assert message in str(failed.value)
    assert _empty_workspace(engine) == {"findings": 0, "scan_executions": 0, "scan_results": 0}
    assert path.exists() and not quarantine.exists()  # not the file's fault: left where it was
    assert not multiprocessing.active_children()
    engine.dispose()


def test_stopping_early_stops_the_child(samples):
    _, records = open_scan_in_child(samples / "nessus" / "dd__nessus_many_vuln.xml")
    first = next(records)
    assert first.plugin_id
    assert len(multiprocessing.active_children()) == 1
    records.close()  # what an error while writing does to the stream
    assert not multiprocessing.active_children()


def test_cli_says_the_import_failed_and_goes_on(env, tmp_path, samples, monkeypatch):
    from click.testing import CliRunner

    from secportal_pipeline.cli import main

    path = tmp_path / "dd__nessus_v_unknown.xml"
    path.write_bytes((samples / "nessus" / "dd__nessus_v_unknown.xml").read_bytes())
    monkeypatch.setattr(parse_process, "CHILD_PARSE_MIN_BYTES", 0)
    _kill_the_child(monkeypatch)
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "dd__nessus_v_unknown.xml: failed (the parser process for dd__nessus_v_unknown.xml ended without "
        "finishing (exit code -9)); nothing was imported, the file was left where it is",
        "1 file(s): 0 imported or already present, 1 refused",
    ]
    assert path.exists()


_KILLED_PARENT = """
import multiprocessing, sys
from secportal_pipeline.intake.parse_process import open_scan_in_child
meta, records = open_scan_in_child(sys.argv[1])
next(records)
(child,) = multiprocessing.active_children()
print(child.pid, flush=True)
sys.stdin.read()  # wait to be killed
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its new parent (init) has not reaped it yet


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parser forks on Linux only")
def test_a_killed_importer_leaves_no_parser_running(tmp_path):
    # several batches of 3 KB items: the child is blocked writing to the pipe when its parent dies
    item = ('<ReportItem port="80" protocol="tcp" severity="2" pluginID="{n}" pluginName="p" pluginFamily="f">'
            "<description>d</description><plugin_output>" + "x" * 3000 + "</plugin_output></ReportItem>\n")
    path = tmp_path / "many.nessus"
    path.write_text('<?xml version="1.0"?>\n<NessusClientData_v2><Report name="r"><ReportHost name="h">\n'
                    + "".join(item.format(n=n) for n in range(5000)) + "</ReportHost></Report></NessusClientData_v2>\n",
                    encoding="utf-8")
    importer = subprocess.Popen([sys.executable, "-c", _KILLED_PARENT, str(path)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
    child_pid = int(importer.stdout.readline())
    assert _running(child_pid)
    importer.kill()
    importer.wait()
    deadline = time.monotonic() + 20
    while _running(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child_pid)


def test_cli_reports_a_database_error_per_file_and_goes_on(env, tmp_path, samples):
    from click.testing import CliRunner

    from secportal_pipeline.cli import main
    from secportal_pipeline.config import load_settings

    engine = open_workspace(load_settings().workspace_url)
    with engine.begin() as conn:  # a real database refusal, as a full disk or a lost server gives one
        conn.exec_driver_sql("CREATE TRIGGER refuse_scans BEFORE INSERT ON scan_executions "
                             "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    engine.dispose()
    paths = []
    for name in ("dd__nessus_v_unknown.xml", "dd__nessus_with_cvssv3.nessus"):
        paths.append(tmp_path / name)
        paths[-1].write_bytes((samples / "nessus" / name).read_bytes())
    result = CliRunner().invoke(main, ["import", *map(str, paths)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split(" (", 1)[0] for line in lines[:2]] == [
        "dd__nessus_v_unknown.xml: failed", "dd__nessus_with_cvssv3.nessus: failed"]
    assert all("database or disk is full" in line and line.endswith(
        "; nothing was imported, the file was left where it is") for line in lines[:2])
    assert lines[2] == "2 file(s): 0 imported or already present, 2 refused"
    assert all(p.exists() for p in paths)
