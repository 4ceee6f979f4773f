"""Write one parsed scan file into the workspace in one transaction.

A file becomes one scan execution per target it covers, a scan result per finding
and module, findings upserted by fingerprint (new -> open; seen again while
resolved or verified -> reopened; otherwise last_seen_at moves), and the activity
entries for all of it, under the intake's service account.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa

from ..workspace.activity import create_entity, insert_rows, update_entity, utcnow
from ..workspace.findings import create_findings, update_findings
from ..workspace.lookups import engagement_for_asset
from ..workspace.schema import findings, scan_executions, scan_results
from ..workspace.types import CLOSED_STATUSES
from .fingerprint import fingerprint
from .records import RowIssue, ScanMeta, ScanRecord
from .scoring import effective_severity, score_cvss3

BATCH_SIZE = 500
SQLITE_CACHE_KIB = 64 * 1024

DEFAULT_PIPELINE = {"nessus": "external_scan", "burp": "external_scan", "csv": "bulk_import"}

# fields an import may refresh on an existing finding; a person's severity override wins
REFRESHED_FIELDS = ("title", "description", "solution", "evidence", "cvss_vector", "cvss_base_score",
                    "cvss2_vector", "scanner_severity", "severity", "cve", "cwe")
# a finding seen again with only these changed counts as unchanged
_NOT_SUBSTANTIVE = frozenset({"last_seen_at", "source_tool", "source_file", "source_file_sha256", "source_record_id"})


# the batch's findings already in the workspace; one expanding parameter, not 500 literals to coerce
_EXISTING = sa.select(findings).where(findings.c.fingerprint.in_(sa.bindparam("fingerprints", expanding=True)))


@dataclass
class LoadCounts:
    new: int = 0
    updated: int = 0
    reopened: int = 0
    unchanged: int = 0
    duplicates: int = 0  # the same finding reported twice in one file, counted once
    scan_ids: list[int] = field(default_factory=list)


@dataclass
class _Target:
    scan_id: int
    modules: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)


def finding_values(record: ScanRecord, tool: str) -> dict[str, Any]:
    """The finding columns a scanner record determines (no workspace decisions)."""
    score = band = None
    if record.cvss3_vector:
        score, band = score_cvss3(record.cvss3_vector)
    return {
        "fingerprint": fingerprint(tool, record.asset_ref, record.port, record.protocol,
                                   record.plugin_id, record.location),
        "title": record.title,
        "description": record.description,
        "solution": record.solution,
        "evidence": record.evidence,
        "cvss_vector": record.cvss3_vector,
        "cvss_base_score": score,
        "cvss2_vector": record.cvss2_vector,
        "scanner_severity": record.scanner_severity,
        "severity": effective_severity(band, record.scanner_band),
        "plugin_id": record.plugin_id,
        "asset_ref": record.asset_ref,
        "port": record.port,
        "protocol": record.protocol,
        "location": record.location,
        "cve": list(record.cves),
        "cwe": list(record.cwes),
        "framework_refs": [],
    }


def _bulk_cache(conn: sa.Connection) -> None:
    # One file is one transaction: with SQLite's default 2 MB page cache the random-key
    # fingerprint and activity indexes spill the same dirty pages to the WAL again and
    # again (a 500 MB file wrote a 1.4 GB WAL). A fixed 64 MB cache keeps memory bounded.
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


def _batches(records: Iterable[ScanRecord], size: int) -> Iterator[list[ScanRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


class ScanLoader:
    """Loads one file's records on an open transaction; the caller commits or rolls back."""

    def __init__(self, conn: sa.Connection, *, meta: ScanMeta, source_file: str, file_sha256: str,
                 actor_id: int, now: datetime | None = None, engagement_id: int | None = None,
                 source_pipeline: str | None = None):
        self.conn = conn
        self.meta = meta
        self.source_file = source_file
        self.file_sha256 = file_sha256
        self.actor_id = actor_id
        self.now = now or utcnow()
        self.engagement_id = engagement_id
        self.source_pipeline = source_pipeline or DEFAULT_PIPELINE.get(meta.source_tool, "bulk_import")
        self.targets: dict[str, _Target] = {}
        self.engagements: dict[str, int] = {}
        self.counts = LoadCounts()

    def event_time(self, record: ScanRecord | None = None) -> datetime:
        """When the scanner saw it: the record's own time, else the scan's, else now."""
        if record is not None and record.observed_at is not None:
            return record.observed_at
        return self.meta.completed_at or self.meta.started_at or self.now

    def load(self, records: Iterable[ScanRecord], progress=None) -> LoadCounts:
        _bulk_cache(self.conn)
        for batch in _batches(records, BATCH_SIZE):
            self._load_batch(batch)
            if progress is not None:
                progress(len(batch))
        self._complete_executions()
        return self.counts

    def _target(self, asset_ref: str) -> _Target:
        target = self.targets.get(asset_ref)
        if target is None:
            at = self.meta.started_at or self.event_time()
            scan_id = create_entity(
                self.conn, scan_executions,
                {"asset_ref": asset_ref, "source_tool": self.meta.source_tool, "modules": [],
                 "started_at": self.meta.started_at, "completed_at": None, "status": "running",
                 "source_file": self.source_file, "file_sha256": self.file_sha256,
                 "imported_at": self.now, "actor_id": self.actor_id},
                actor_id=self.actor_id, occurred_at=at, entity_type="scan_execution",
            )
            target = self.targets[asset_ref] = _Target(scan_id)
            self.counts.scan_ids.append(scan_id)
        return target

    def _engagement(self, asset_ref: str, at: datetime) -> int:
        if self.engagement_id is not None:
            return self.engagement_id
        if asset_ref not in self.engagements:
            self.engagements[asset_ref] = engagement_for_asset(self.conn, asset_ref, actor_id=self.actor_id, at=at)
        return self.engagements[asset_ref]

    def _load_batch(self, batch: list[ScanRecord]) -> None:
        tool = self.meta.source_tool
        prepared = [(record, finding_values(record, tool)) for record in batch]
        fingerprints = {values["fingerprint"] for _, values in prepared}
        existing = {
            row.fingerprint: row._mapping
            for row in self.conn.execute(_EXISTING, {"fingerprints": list(fingerprints)})
        }
        results: list[dict[str, Any]] = []
        created: list[tuple[dict[str, Any], datetime]] = []  # new findings, inserted together below
        awaiting_id: list[dict[str, Any]] = []  # their scan results
        refreshed: list[tuple[ScanRecord, dict[str, Any], Any]] = []  # seen again, updated together below
        for record, values in prepared:
            target = self._target(record.asset_ref)
            fp = values["fingerprint"]
            target.modules.add(record.module)
            if fp in target.seen:  # the same finding twice in one file: count it once
                self.counts.duplicates += 1
                continue
            target.seen.add(fp)
            current = existing.get(fp)
            result = {"scan_id": target.scan_id, "module": record.module, "fingerprint": fp,
                      "finding_id": None if current is None else current["finding_id"],
                      "record_id": record.record_id}
            if current is None:
                created.append(self._new_finding(record, values))
                awaiting_id.append(result)
            else:
                refreshed.append((record, values, current))
            results.append(result)
        if refreshed:
            self._refresh(refreshed)
        for result, finding_id in zip(awaiting_id, create_findings(self.conn, created, actor_id=self.actor_id),
                                      strict=True):
            result["finding_id"] = finding_id
        insert_rows(self.conn, scan_results, results)

    def _provenance(self, record: ScanRecord) -> dict[str, Any]:
        return {"source_tool": self.meta.source_tool, "source_file": self.source_file,
                "source_file_sha256": self.file_sha256, "source_record_id": record.record_id}

    def _new_finding(self, record: ScanRecord, values: dict[str, Any]) -> tuple[dict[str, Any], datetime]:
        at = self.event_time(record)
        self.counts.new += 1
        values.update(self._provenance(record))
        values["engagement_id"] = self._engagement(record.asset_ref, at)
        values["source_pipeline"] = self.source_pipeline
        values["owner_id"] = None
        return values, at

    def _refresh(self, refreshed: list[tuple[ScanRecord, dict[str, Any], Any]]) -> None:
        """Findings seen again: new scanner values, provenance and last_seen_at; closed ones reopen."""
        items = []
        for record, values, current in refreshed:
            at = self.event_time(record)
            changes = {name: values[name] for name in REFRESHED_FIELDS}
            if current["override_id"] is not None:  # a person's severity override wins
                changes.pop("severity", None)
            changes.update(self._provenance(record))
            if current["status"] in CLOSED_STATUSES:
                changes["status"] = "reopened"
                self.counts.reopened += 1
                action = "finding.reopened"
            else:
                action = "finding.seen"
            if current["last_seen_at"] < at:  # an older file imported late does not move it back
                changes["last_seen_at"] = at
            items.append((dict(current), changes, at, action))
        for (_, _, _, action), diff in zip(items, update_findings(self.conn, items, actor_id=self.actor_id),
                                          strict=True):
            if action == "finding.seen":
                if {d["field"] for d in diff} - _NOT_SUBSTANTIVE:
                    self.counts.updated += 1
                else:
                    self.counts.unchanged += 1

    def _complete_executions(self) -> None:
        completed = self.meta.completed_at or self.meta.started_at or self.now
        for target in self.targets.values():
            update_entity(
                self.conn, scan_executions, target.scan_id,
                {"modules": sorted(target.modules), "completed_at": completed, "status": "completed",
                 "started_at": self.meta.started_at},
                actor_id=self.actor_id, occurred_at=completed, entity_type="scan_execution",
                action="scan_execution.completed",
            )


def issue_dicts(issues: list[RowIssue]) -> list[dict[str, Any]]:
    return [{"where": i.where, "column": i.column, "value": i.value, "reason": i.reason,
             "skipped": i.skipped} for i in issues]
