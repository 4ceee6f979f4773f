"""The least an import of a Nessus file can cost on SQLite: only the database's own work.

Parses the file first (untimed) and builds, in memory, exactly what DESIGN §2 makes an
import store for each finding: its ``findings`` row, its ``finding.created`` event with the
initial values (title, description, solution), and its scan result holding the plugin
output (kept once, per observation). Then it times nothing but three ``executemany`` calls
and the commit, on a fresh workspace file (the project's own schema, WAL, the import's
64 MB page cache). No fingerprints, no lookups, no controls, no Python per row inside the
timed part: a floor, not an estimate.

``--synchronous normal`` shows what relaxing durability would buy (WAL: a power cut could lose
the last commit, never corrupt the file). With ``--without-evidence`` the plugin output is left out (what storing no output at all
would cost); with ``--evidence-twice`` it is also on the finding row and in its creation
event, as the workspace kept it before (for comparison).

    .venv/bin/python bench/sqlite_floor.py /tmp/secportal-intake-bench/bench_50MB.nessus
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

MB = 1_000_000
STAMP = "2026-09-14 03:00:00.000000"


def main(argv: list[str] | None = None) -> int:
    from secportal_pipeline.intake.parsers import open_scan
    from secportal_pipeline.workspace.db import open_workspace

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path)
    stored = parser.add_mutually_exclusive_group()
    stored.add_argument("--without-evidence", action="store_true")
    stored.add_argument("--evidence-twice", action="store_true")
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full",
                        help="SQLite's fsync policy (the workspace runs at full, SQLite's default)")
    args = parser.parse_args(argv)

    _, records = open_scan(args.file)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "floor.sqlite"
        open_workspace(f"sqlite:///{db}").dispose()
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA cache_size=-65536")
        con.execute(f"PRAGMA synchronous={args.synchronous.upper()}")
        con.execute(f"INSERT INTO clients (client_id, name, created_at) VALUES (1, 'c', '{STAMP}')")
        con.execute("INSERT INTO engagements (engagement_id, client_id, name, engagement_type, status, started_at) "
                    f"VALUES (1, 1, 'e', 'external_scan', 'active', '{STAMP}')")
        con.execute("INSERT INTO users (user_id, handle, email, display_name, role, is_service_account, "
                    f"mfa_enrolled, created_at) VALUES (1, 'svc', 'svc@x', 'svc', 'member', 1, 0, '{STAMP}')")
        con.execute("INSERT INTO scan_executions (scan_id, asset_ref, source_tool, modules, status, source_file, "
                    f"file_sha256, imported_at, actor_id) VALUES (1, 'h', 'nessus', '[]', 'running', 'f', 'x', "
                    f"'{STAMP}', 1)")
        if args.evidence_twice:
            con.execute("ALTER TABLE findings ADD COLUMN evidence TEXT NOT NULL DEFAULT ''")
        columns = [row[1] for row in con.execute("PRAGMA table_info(findings)")]
        rows, events, results = [], [], []
        for n, r in enumerate(records, 1):
            evidence = "" if args.without_evidence else r.evidence
            values = dict.fromkeys(columns)
            values.update(
                finding_id=n, fingerprint=f"{n:064d}", title=r.title, description=r.description,
                solution=r.solution, cvss_vector=r.cvss3_vector, cvss2_vector=r.cvss2_vector,
                scanner_severity=r.scanner_severity, severity=r.scanner_band or "info", status="open", engagement_id=1,
                source_pipeline="external_scan", source_tool="nessus", source_file=args.file.name,
                source_file_sha256="0" * 64, source_record_id=r.record_id, plugin_id=r.plugin_id,
                asset_ref=r.asset_ref, port=r.port, protocol=r.protocol, location="", cve="[]", cwe="[]",
                framework_refs="[]", first_seen_at=STAMP, last_seen_at=STAMP, opened_at=STAMP,
            )
            initial = {"title": r.title, "description": r.description, "solution": r.solution}
            if args.evidence_twice:
                values["evidence"] = initial["evidence"] = evidence
            rows.append(tuple(values[c] for c in columns))
            results.append((1, r.module, f"{n:064d}", n, r.record_id, "" if args.evidence_twice else evidence))
            events.append((STAMP, STAMP, 1, "finding", str(n), "finding.created",
                           json.dumps({"initial": initial}, ensure_ascii=False, separators=(",", ":"))))
        start = time.perf_counter()
        con.execute("BEGIN")
        con.executemany(f"INSERT INTO findings VALUES ({', '.join('?' * len(columns))})", rows)
        con.executemany("INSERT INTO activity_log (occurred_at, recorded_at, actor_id, entity_type, entity_id, "
                        "action, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)", events)
        con.executemany("INSERT INTO scan_results (scan_id, module, fingerprint, finding_id, record_id, evidence) "
                        "VALUES (?, ?, ?, ?, ?, ?)", results)
        inserted = time.perf_counter()
        con.execute("COMMIT")
        done = time.perf_counter()
        size = db.stat().st_size / MB
        con.close()
    print(f"{args.file.name}: {len(rows):,} findings; inserts {inserted - start:.2f} s, commit {done - inserted:.2f} s, "
          f"total {done - start:.2f} s ({args.file.stat().st_size / MB / (done - start):.1f} MB/s of file); "
          f"workspace {size:.0f} MB" + (" (without evidence)" if args.without_evidence else
                                        " (evidence twice, as before)" if args.evidence_twice else "")
          + (f" (synchronous={args.synchronous})" if args.synchronous != "full" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
