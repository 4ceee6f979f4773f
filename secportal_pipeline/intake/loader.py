"""Write one parsed scan file into the workspace in one transaction.

A file becomes one scan execution per target it covers, a scan result per finding
and module (holding what the scanner showed for it: plugin output, request/response),
findings upserted by fingerprint (new -> open; seen again while resolved or verified ->
reopened; otherwise last_seen_at moves), and the activity entries for all of it, under
the intake's service account.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa

from ..workspace.activity import create_entities, field_changes, insert_rows, record_events, update_rows, utcnow
from ..workspace.findings import create_findings, update_findings
from ..workspace.lookups import unassigned_engagement, verified_engagements
from ..workspace.schema import findings, scan_executions, scan_results
from ..workspace.types import CLOSED_STATUSES
from .fingerprint import fingerprint
from .records import RowIssue, ScanMeta, ScanRecord
from .scoring import effective_severity, score_cvss3

BATCH_SIZE = 500
SQLITE_CACHE_KIB = 64 * 1024

DEFAULT_PIPELINE = {"nessus": "external_scan", "burp": "external_scan", "csv": "bulk_import"}

# fields an import may refresh on an existing finding; a person's severity override wins
# (not the evidence: each scan's output is that scan's result row, see schema.scan_results)
REFRESHED_FIELDS = ("title", "description", "solution", "cvss_vector", "cvss_base_score",
                    "cvss2_vector", "scanner_severity", "severity", "cve", "cwe")
# what a rescan leaves empty is not evidence that it went away: a known value stays (a renamed
# CSV column, an export without CVSS); a non-empty value replaces it
_KEPT_WHEN_EMPTY = ("description", "solution", "cvss_vector", "cvss2_vector", "scanner_severity", "cve", "cwe")
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
    scan_id: int | None  # None until the batch's new executions are written (ScanLoader._flush_targets)
    started_at: datetime | None  # as the execution was created: meta.started_at may still move
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


def _refreshed_values(record: ScanRecord, values: dict[str, Any], current: Any) -> dict[str, Any]:
    """What a rescan may change on a known finding (see _KEPT_WHEN_EMPTY and the severity rule)."""
    changes = {name: values[name] for name in REFRESHED_FIELDS}
    for name in _KEPT_WHEN_EMPTY:
        if not changes[name] and current[name]:
            del changes[name]
    if "cvss_vector" not in changes:  # the known vector stays, and with it its score
        del changes["cvss_base_score"]
    # severity follows the rule on what the finding holds after this: a kept CVSS vector still
    # drives it, and a file with neither a vector nor a usable rating has nothing to say about it
    no_vector = values["cvss_vector"] is None
    if (no_vector and (current["cvss_vector"] or record.scanner_band is None)) or current["override_id"] is not None:
        del changes["severity"]  # (a person's severity override wins)
    return changes


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
        self.engagements: dict[str, int] = {}  # asset_ref -> engagement its new findings go to
        self._unverified: set[str] = set()  # looked up: no verified active engagement (-> unassigned)
        self._unassigned: int | None = None
        # executions to create, in first-seen order: (values, occurred_at, target)
        self._pending: list[tuple[dict[str, Any], datetime, _Target]] = []
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
        """The asset's execution; a new one is queued and written by ``_flush_targets``."""
        target = self.targets.get(asset_ref)
        if target is None:
            at = self.meta.started_at or self.event_time()
            target = self.targets[asset_ref] = _Target(None, self.meta.started_at)
            self._pending.append((
                {"asset_ref": asset_ref, "source_tool": self.meta.source_tool, "modules": [],
                 "started_at": self.meta.started_at, "completed_at": None, "status": "running",
                 "source_file": self.source_file, "file_sha256": self.file_sha256,
                 "imported_at": self.now, "actor_id": self.actor_id},
                at, target,
            ))
        return target

    def _flush_targets(self) -> None:
        """Create the queued executions (rows and ``scan_execution.created`` events) together."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        # asset_ref is unique among one file's executions (uq_scan_file_target: file_sha256, asset_ref)
        ids = create_entities(self.conn, scan_executions, [(values, at) for values, at, _ in pending],
                              actor_id=self.actor_id, entity_type="scan_execution", unique_key="asset_ref")
        for (_, _, target), scan_id in zip(pending, ids, strict=True):
            target.scan_id = scan_id
            self.counts.scan_ids.append(scan_id)

    def _lookup_engagements(self, asset_refs: Iterable[str]) -> None:
        """Find the verified engagements of the assets not looked up yet, in one query."""
        wanted = [ref for ref in dict.fromkeys(asset_refs)
                  if ref not in self.engagements and ref not in self._unverified]
        if wanted:
            found = verified_engagements(self.conn, wanted)
            self.engagements.update(found)
            self._unverified.update(ref for ref in wanted if ref not in found)

    def _engagement(self, asset_ref: str, at: datetime) -> int:
        if self.engagement_id is not None:
            return self.engagement_id
        engagement_id = self.engagements.get(asset_ref)
        if engagement_id is None and asset_ref not in self._unverified:
            self._lookup_engagements((asset_ref,))  # normally done for the whole batch already
            engagement_id = self.engagements.get(asset_ref)
        if engagement_id is None:  # nobody verified it: the catch-all engagement, made here if missing
            if self._unassigned is None:
                self._flush_targets()  # the executions seen so far are logged before it, as one at a time did
                self._unassigned = unassigned_engagement(self.conn, actor_id=self.actor_id, at=at)
            engagement_id = self.engagements[asset_ref] = self._unassigned
        return engagement_id

    def _load_batch(self, batch: list[ScanRecord]) -> None:
        tool = self.meta.source_tool
        prepared = [(record, finding_values(record, tool)) for record in batch]
        fingerprints = {values["fingerprint"] for _, values in prepared}
        existing = {
            row.fingerprint: row._mapping
            for row in self.conn.execute(_EXISTING, {"fingerprints": list(fingerprints)})
        }
        if self.engagement_id is None:  # where the batch's new findings go, for all their assets at once
            self._lookup_engagements(record.asset_ref for record, values in prepared
                                     if values["fingerprint"] not in existing)
        results: list[dict[str, Any]] = []
        created: list[tuple[dict[str, Any], datetime]] = []  # new findings, inserted together below
        awaiting_id: list[dict[str, Any]] = []  # their scan results
        refreshed: list[tuple[ScanRecord, dict[str, Any], Any]] = []  # seen again, updated together below
        result_targets: list[_Target] = []  # whose scan_id each result takes once the executions exist
        for record, values in prepared:
            target = self._target(record.asset_ref)
            fp = values["fingerprint"]
            target.modules.add(record.module)
            if fp in target.seen:  # the same finding twice in one file: count it once
                self.counts.duplicates += 1
                continue
            target.seen.add(fp)
            current = existing.get(fp)
            result = {"scan_id": None, "module": record.module, "fingerprint": fp,
                      "finding_id": None if current is None else current["finding_id"],
                      "record_id": record.record_id, "evidence": record.evidence}
            result_targets.append(target)
            if current is None:
                created.append(self._new_finding(record, values))
                awaiting_id.append(result)
            else:
                refreshed.append((record, values, current))
            results.append(result)
        self._flush_targets()
        for result, target in zip(results, result_targets, strict=True):
            result["scan_id"] = target.scan_id
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
            changes = _refreshed_values(record, values, current)
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
        """Close every execution: ``update_entity``'s rows and ``{field, from, to}`` events, batched.

        The current values are the ones ``_target`` inserted in this transaction (no modules,
        not completed, running, ``started_at`` as the meta said then), so nothing is read back.
        """
        self._flush_targets()
        completed = self.meta.completed_at or self.meta.started_at or self.now
        updates: list[tuple[int, dict[str, Any]]] = []
        events: list[dict[str, Any]] = []
        for target in self.targets.values():
            current = {"modules": [], "completed_at": None, "status": "running", "started_at": target.started_at}
            changes = {"modules": sorted(target.modules), "completed_at": completed, "status": "completed",
                       "started_at": self.meta.started_at}
            diff = field_changes(current, changes)
            if not diff:
                continue
            updates.append((target.scan_id, {d["field"]: changes[d["field"]] for d in diff}))
            events.append({"occurred_at": completed, "actor_id": self.actor_id, "entity_type": "scan_execution",
                           "entity_id": target.scan_id, "action": "scan_execution.completed",
                           "metadata": {"changes": diff}})
        update_rows(self.conn, scan_executions, updates)
        record_events(self.conn, events)


def issue_dicts(issues: list[RowIssue]) -> list[dict[str, Any]]:
    return [{"where": i.where, "column": i.column, "value": i.value, "reason": i.reason,
             "skipped": i.skipped} for i in issues]
