"""The watched intake folder: one `intake_file` run per new file, keyed by its sha256.

A corrected re-export under the same name has other bytes, so another key and another
run; the same bytes dropped again match a finished run and are filed to the archive
without a second import, unless that run refused them: then they get a run of their own
(keyed by the refusing run), which quarantines them again beside the first report. A run
that failed (a refused file is quarantined, so a failure is not the file's: a killed run,
the database down) is retried under a new key, up to ``MAX_ATTEMPTS`` runs, then left for
a person. Files still being written (modified in the last few seconds) wait for a later
tick; links and FIFOs are reported once and never read.
"""


import json
import os
import time
from pathlib import Path

import dagster as dg

from ..intake.folder import archive, scan_files
from ..intake.service import file_sha256, irregular
from .intake_job import JOB_NAME, TAG_FILE, TAG_OUTCOME, TAG_SHA256
from .resources import PipelineResource

SENSOR_NAME = "intake_folder_sensor"
SETTLE_SECONDS = 2.0


MAX_ATTEMPTS = 3  # a run that failed for a reason that is not the file's (killed, database down) is retried


def _finished_run(instance: dg.DagsterInstance, sha256: str) -> dg.DagsterRun | None:
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=JOB_NAME, tags={TAG_SHA256: sha256}, statuses=[dg.DagsterRunStatus.SUCCESS]),
        limit=1,
    )
    return runs[0] if runs else None


def _failed_attempts(instance: dg.DagsterInstance, sha256: str) -> int:
    return len(instance.get_runs(filters=dg.RunsFilter(
        job_name=JOB_NAME, tags={TAG_SHA256: sha256},
        statuses=[dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED],
    )))


def run_key(sha256: str, attempt: int) -> str:
    """The first attempt is keyed by the content alone; a retry after a failed run by content and attempt."""
    return sha256 if attempt == 1 else f"{sha256}#attempt-{attempt}"


def _request(path: Path, name: str, sha256: str, key: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=key,
        run_config=dg.RunConfig(ops={"import_scanner_file": {"config": {"path": str(path), "sha256": sha256}}}),
        tags={TAG_FILE: name, TAG_SHA256: sha256},
    )


def _settled_files(inbox: Path, now: float) -> list[tuple[Path, os.stat_result]]:
    """The inbox's entries not modified for SETTLE_SECONDS, with their lstat (a link, even a
    dangling one, is judged as itself: the sensor refuses it below without reading it)."""
    entries = ((p, p.lstat()) for p in scan_files([inbox]))
    return [(p, st) for p, st in entries if now - st.st_mtime >= SETTLE_SECONDS]


@dg.sensor(name=SENSOR_NAME, job_name=JOB_NAME, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Requests one intake_file run per new file in the configured intake folder.")
def intake_folder_sensor(context: dg.SensorEvaluationContext, pipeline: PipelineResource):
    inbox = pipeline.intake_path
    if not inbox.is_dir():
        return dg.SkipReason(f"intake folder {inbox} does not exist yet")
    # cursor: relative name -> [size, mtime_ns, sha256], so an unchanged waiting file is not hashed every tick
    # (or -> [why] for what is left unread, so it is reported once)
    known = json.loads(context.cursor) if context.cursor else {}
    seen: dict[str, list] = {}
    requests = []
    for path, stat in _settled_files(inbox, time.time()):
        name = str(path.relative_to(inbox))
        cached = known.get(name)
        if (why := irregular(path, stat.st_mode)) is not None:  # never read: a FIFO would block, a link leak its target
            if cached != [why]:
                context.log.warning(f"{name}: {why}; left in {inbox}, not imported")
            seen[name] = [why]
            continue
        sha256 = cached[2] if cached and cached[:2] == [stat.st_size, stat.st_mtime_ns] else file_sha256(path)
        earlier = _finished_run(context.instance, sha256)
        if earlier is not None and earlier.tags.get(TAG_OUTCOME) != "quarantined":
            moved = archive(path, sha256, pipeline.archive_path)
            context.log.info(f"{name}: same bytes as run {earlier.run_id} imported; filed to {moved} without a new run")
            continue
        seen[name] = [stat.st_size, stat.st_mtime_ns, sha256]
        if earlier is not None:  # these bytes were refused before: refused again, beside the first report
            requests.append(_request(path, name, sha256, f"{sha256}#refused-before-by-{earlier.run_id}"))
            continue
        attempt = _failed_attempts(context.instance, sha256) + 1
        if attempt > MAX_ATTEMPTS:
            context.log.warning(f"{name}: {MAX_ATTEMPTS} intake runs failed for these bytes; left in {inbox} "
                                "for a person to look at (re-execute the last run once the cause is fixed)")
            continue
        requests.append(_request(path, name, sha256, run_key(sha256, attempt)))
    context.update_cursor(json.dumps(seen, sort_keys=True))
    return requests or dg.SkipReason(f"no new settled files in {inbox}")
