"""The SQLite fast path of a bulk import stores exactly what the SQLAlchemy Core path stores.

``workspace.activity`` writes import rows and events on SQLite as pre-encoded tuples through
sqlite3's executemany (``NATIVE_SQLITE``); other databases use Core. The same scenario run
both ways must leave byte-identical rows: findings, scan results, controls and every
activity entry (``recorded_at`` aside, the wall clock; ``metadata`` as parsed JSON, since
SQLite writes creation events itself), through a first import, people's changes, and a
rescan that updates, reopens, remaps controls, skips overridden severity and keeps changed
plugin output on its own scan results.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

import secportal_pipeline.workspace.activity as activity
from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace import findings as finding_ops
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.schema import findings

SAMPLE = "libnessus__nessus_report_localpci.nessus"


def _canonical(metadata: str) -> str:
    """The parsed value, written back with sorted keys: equal exactly when the parsed values are
    (a float stays a float: 10.0 and 10 differ here)."""
    return json.dumps(json.loads(metadata), sort_keys=True)


def _play(tmp_path, samples, native: bool, monkeypatch) -> dict:
    monkeypatch.setattr(activity, "NATIVE_SQLITE", native)
    work = tmp_path / ("native" if native else "core")
    work.mkdir()
    engine = open_workspace(f"sqlite:///{work / 'ws.sqlite'}")
    first_at = datetime(2026, 10, 1, tzinfo=UTC)
    first = work / "a.nessus"
    shutil.copy(samples / "nessus" / SAMPLE, first)
    summaries = [import_file(engine, first, now=first_at).line()]
    with engine.begin() as conn:
        ids = conn.execute(sa.select(findings.c.finding_id).order_by(findings.c.finding_id)).scalars().all()
        finding_ops.set_status(conn, ids[0], "resolved", actor_id=1, at=first_at)
        finding_ops.set_status(conn, ids[1], "verified", actor_id=1, at=first_at)
        finding_ops.apply_override(conn, ids[2], kind="severity_override", reason="triage", actor_id=1,
                                   at=first_at, to_severity="critical")
    text = (samples / "nessus" / SAMPLE).read_text(encoding="utf-8")
    text = text.replace("<plugin_output>", "<plugin_output>changed ", 5)
    text = re.sub(r'HOST_END">[^<]*<', 'HOST_END">Tue Oct 20 10:00:00 2026<', text)
    text = text.replace("<risk_factor>None</risk_factor>", "<risk_factor>None</risk_factor><cwe>79</cwe>", 3)
    rescan = work / "b.nessus"
    rescan.write_text(text, encoding="utf-8")
    summaries.append(import_file(engine, rescan, now=datetime(2026, 10, 21, tzinfo=UTC)).line())
    with engine.connect() as conn:
        def raw(sql):
            return [tuple(row) for row in conn.exec_driver_sql(sql)]
        stored = {
            "summaries": summaries,
            "findings": raw("SELECT * FROM findings ORDER BY finding_id"),
            "scan_results": raw("SELECT * FROM scan_results ORDER BY scan_id, fingerprint"),
            "controls": raw("SELECT * FROM finding_controls ORDER BY 1, 2, 3"),
            "scans": raw("SELECT * FROM scan_executions ORDER BY scan_id"),
            # event ids follow write order, which the batching may change between entities; the
            # metadata compared parsed: SQLite builds creation events itself (compact JSON, the
            # table's column order), the same value as Core's text, not the same bytes
            "activity": sorted(
                (*row[:-1], _canonical(row[-1]))
                for row in raw("SELECT occurred_at, actor_id, entity_type, entity_id, action, metadata "
                               "FROM activity_log")
            ),
        }
    engine.dispose()
    return stored


def test_native_sqlite_writes_match_core(tmp_path, samples, monkeypatch):
    native = _play(tmp_path, samples, True, monkeypatch)
    core = _play(tmp_path, samples, False, monkeypatch)
    assert native["summaries"][1].split(": ", 1)[1].startswith("imported")
    # the 3 added CWEs change findings (one of them reopened anyway); the 5 changed plugin
    # outputs do not: they are the rescan's own observations, on its scan results
    assert "reopened=2" in native["summaries"][1] and "updated=1" in native["summaries"][1]
    assert [(scan_id, evidence[:7]) for scan_id, *_, evidence in native["scan_results"]
            if evidence.startswith("changed")] == [(2, "changed")] * 5
    assert any(action == "finding.controls_mapped" and occurred.startswith("2026-10-20")
               for occurred, _, _, _, action, _ in native["activity"])
    for key in core:
        assert native[key] == core[key], key


def test_native_timestamps_refuse_naive_values():
    with pytest.raises(ValueError, match="naive datetime"):
        activity._sqlite_timestamp(datetime(2026, 1, 1))
