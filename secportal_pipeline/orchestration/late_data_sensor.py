"""Late-arriving data: re-run exactly the landed partitions an event arrived too late for.

An event is late for a landed partition when it was recorded (``recorded_at``) after
the partition landed (its manifest's ``landed_at``) yet belongs in it by event time
(``occurred_at``): an old scan imported today, a back-dated manual change. Which
partitions an event belongs in depends on the class:

- event classes (``activity_slice``) hold the events that occurred in the partition's
  window: only the partition containing ``occurred_at``;
- as-of classes (snapshots, registers, dimensions, report tables) hold state as of the
  partition's end: every partition ending after ``occurred_at``.

Each tick reads the events after its cursor (the last event_id it saw) and requests,
per cadence job, one run per contiguous range of affected partitions over the affected
classes' export and warehouse assets (single-run backfill policy: a range is one run).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from ..contracts.model import Contract
from ..exports.landing import MANIFEST_NAME
from ..exports.windows import day_window, month_window, week_window
from ..workspace.schema import activity_log
from .checks import warehouse_asset_key
from .partitions import BY_CADENCE
from .resources import PipelineResource

SENSOR_NAME = "late_data_sensor"
MAX_EVENTS_PER_TICK = 20_000
ALL = "*"
# The entity types whose events each export class is built from (its builder's reads).
SOURCES: dict[str, frozenset[str]] = {
    "findings_snapshot": frozenset({"finding"}),
    "exception_register": frozenset({"exception"}),
    "activity_slice": frozenset({ALL}),
    "dim_client": frozenset({"client"}),
    "dim_engagement": frozenset({"engagement"}),
    "dim_asset": frozenset({"verified_domain", "finding"}),
    "report_severity_distribution": frozenset({"finding", "override", "client", "engagement"}),
    "report_remediation_throughput": frozenset({"finding", "override"}),
    "report_exception_summary": frozenset({"exception"}),
    "report_framework_coverage": frozenset({"finding", "override"}),
    "incident_register": frozenset({"pipeline_incident"}),
}
EVENT_CLASSES = frozenset({"activity_slice"})  # partitions hold events by occurred_at, not state
_WINDOWS = {"weekly": week_window, "daily": day_window, "monthly": month_window}


@dataclass(frozen=True)
class LandedPartition:
    key: str
    start: datetime
    end: datetime
    landed_at: datetime


def landed_partitions(landing_root: Path, contract: Contract) -> list[LandedPartition]:
    """The partitions of ``contract`` with a manifest, and when each landed."""
    window = _WINDOWS[contract.custom.get("partitioning", "weekly")]
    folder = Path(landing_root) / contract.id / f"v{contract.major}"
    found = []
    for manifest in sorted(folder.glob(f"*/{MANIFEST_NAME}")):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        start, end = window(data["partition"])
        found.append(LandedPartition(data["partition"], start, end, datetime.fromisoformat(data["landed_at"])))
    return found


def _affects(export_class: str, entity_type: str) -> bool:
    sources = SOURCES.get(export_class, frozenset())
    return ALL in sources or entity_type in sources


def affected_partitions(events: list[dict], landed: dict[str, list[LandedPartition]]) -> dict[str, list[str]]:
    """Per export class, the landed partition keys some event arrived too late for."""
    affected: dict[str, set[str]] = defaultdict(set)
    for export_class, partitions in landed.items():
        if not partitions:
            continue
        earliest = min(p.landed_at for p in partitions)
        for event in events:
            # most events were recorded before anything landed: skip them cheaply
            if event["recorded_at"] <= earliest or not _affects(export_class, event["entity_type"]):
                continue
            for p in partitions:
                if event["recorded_at"] <= p.landed_at:
                    continue
                if export_class in EVENT_CLASSES:
                    hit = p.start <= event["occurred_at"] < p.end
                else:
                    hit = event["occurred_at"] < p.end
                if hit:
                    affected[export_class].add(p.key)
    return {k: sorted(v) for k, v in affected.items()}


def _ranges(keys: list[str], all_keys: list[str]) -> list[tuple[str, str]]:
    """Contiguous runs of ``keys`` in the partitions definition's order."""
    index = {k: i for i, k in enumerate(all_keys)}
    ordered = sorted(keys, key=lambda k: index.get(k, -1))
    ranges: list[list[str]] = []
    for key in ordered:
        if ranges and index.get(key) is not None and index.get(ranges[-1][1]) == index[key] - 1:
            ranges[-1][1] = key
        else:
            ranges.append([key, key])
    return [(a, b) for a, b in ranges]


def run_requests(affected: dict[str, list[str]], contracts: dict[str, Contract], cursor: str,
                 now: datetime) -> list[dg.RunRequest]:
    """One request per (cadence job, contiguous range), over the classes affected on that range."""
    by_range: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for export_class, keys in sorted(affected.items()):
        cadence = contracts[export_class].custom.get("partitioning", "weekly")
        all_keys = BY_CADENCE[cadence].get_partition_keys(current_time=now)
        for first, last in _ranges(keys, all_keys):
            by_range[(cadence, first, last)].append(export_class)
    requests = []
    for (cadence, first, last), classes in sorted(by_range.items()):
        selection = []
        for export_class in classes:
            selection += [dg.AssetKey(export_class), warehouse_asset_key(contracts[export_class])]
        tags = {"late_data": ",".join(classes), "late_data_events": cursor}
        if first == last:
            partition = {"partition_key": first}
        else:
            partition = {}
            tags.update({ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last})
        requests.append(dg.RunRequest(
            run_key=f"late-data:{cursor}:{cadence}:{first}...{last}", job_name=f"{cadence}_exports",
            asset_selection=selection, tags=tags, **partition,
        ))
    return requests


def events_after(engine: sa.Engine, cursor: int, limit: int = MAX_EVENTS_PER_TICK) -> list[dict]:
    log = activity_log.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(log.event_id, log.occurred_at, log.recorded_at, log.entity_type)
            .where(log.event_id > cursor).order_by(log.event_id).limit(limit)
        )
        return [dict(r._mapping) for r in rows]


def build_late_data_sensor(jobs: list[dg.UnresolvedAssetJobDefinition]) -> dg.SensorDefinition:
    """The sensor, targeting the cadence jobs (whose assets its requests select)."""

    @dg.sensor(name=SENSOR_NAME, jobs=jobs, minimum_interval_seconds=300,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Re-runs landed partitions whose events arrived late (recorded after the partition "
                           "landed, occurred within it): exactly the affected partitions of the affected classes.")
    def late_data_sensor(context: dg.SensorEvaluationContext, pipeline: PipelineResource) -> dg.SensorResult:
        cursor = int(context.cursor or 0)
        events = events_after(pipeline.engine(), cursor)
        if not events:
            return dg.SensorResult(skip_reason=f"no activity after event_id {cursor}")
        contracts = {c: k for c, k in pipeline.contracts.items()
                     if c in SOURCES and k.custom.get("partitioning", "weekly") in _WINDOWS}
        landed = {c: landed_partitions(pipeline.landing_path, k) for c, k in contracts.items()}
        affected = affected_partitions(events, landed)
        seen = f"{events[0]['event_id']}-{events[-1]['event_id']}"
        new_cursor = str(events[-1]["event_id"])
        if not affected:
            return dg.SensorResult(skip_reason=f"events {seen}: none late for a landed partition", cursor=new_cursor)
        context.log.info("late data in events %s: %s", seen, json.dumps(affected))
        requests = run_requests(affected, contracts, seen, datetime.now(UTC))
        return dg.SensorResult(run_requests=requests, cursor=new_cursor)

    return late_data_sensor
