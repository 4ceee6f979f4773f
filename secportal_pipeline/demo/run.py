"""`secportal-pipeline demo`: the whole flow on generated data, then where everything landed."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from ..config import ENV_HMAC_KEY, ENV_HMAC_KEY_FILE, REPO_ROOT, Settings
from ..exports.secrets import generate_key_file
from ..intake.folder import import_folder, scan_files
from ..intake.service import irregular
from ..workspace.db import open_workspace
from ..workspace.schema import activity_log, findings, scan_executions, workspace_settings
from .history import DEFAULT_FIRST_MONDAY, DEFAULT_WEEKS, play_history

DEMO_SEED = 20260831
WEEKLY_JOB = "weekly_exports"
DAILY_JOB = "daily_exports"
MONTHLY_JOB = "monthly_exports"


def ensure_demo_key(settings: Settings) -> None:
    """The demo, and only the demo, makes its own classification key (in the data folder)."""
    if not os.environ.get(ENV_HMAC_KEY) and not os.environ.get(ENV_HMAC_KEY_FILE):
        os.environ[ENV_HMAC_KEY_FILE] = str(generate_key_file(settings.data_dir / "secrets" / "hmac.key"))


def ensure_dagster_home() -> dg.DagsterInstance:
    """The instance at $DAGSTER_HOME (default ./dagster_home), given the project's config if it has none."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    return dg.DagsterInstance.get()


def _history_played(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(workspace_settings.c.value).where(workspace_settings.c.key == "demo_history")
        ).scalar_one_or_none() is not None


def _mark_history(engine: sa.Engine, weeks: int) -> None:
    with engine.begin() as conn:
        conn.execute(workspace_settings.insert().values(key="demo_history", value=f"seed={DEMO_SEED} weeks={weeks}"))


class DemoError(RuntimeError):
    pass


def _play_history_once(settings: Settings, weeks: int):
    """Play the history so that an interrupted demo never leaves half of it behind.

    On SQLite (the default) it is played into a side file that replaces the workspace
    only once complete; a killed run leaves at most that side file, which the next run
    starts over. Elsewhere it plays in place and refuses a workspace already in use.
    """
    options = dict(first_monday=DEFAULT_FIRST_MONDAY, weeks=weeks, seed=DEMO_SEED,
                   scan_dir=settings.data_dir / "demo_scans", quarantine_dir=settings.quarantine_dir)
    url = sa.make_url(settings.workspace_url)
    target = Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None
    engine = open_workspace(settings.workspace_url)
    with engine.connect() as conn:
        in_use = conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one()
    engine.dispose()
    if in_use:
        raise DemoError(
            f"the workspace {settings.workspace_url} already holds {in_use} activity events but no demo "
            "history, and the demo plays its history into an empty workspace: point SECPORTAL_DATA_DIR "
            "at a fresh folder (or remove this one, e.g. `make clean-data`)"
        )
    if target is None:
        engine = open_workspace(settings.workspace_url)
        summary = play_history(engine, **options)
        _mark_history(engine, weeks)
        engine.dispose()
        return summary
    partial = target.with_name(target.name + ".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    engine = open_workspace(f"sqlite:///{partial}")
    summary = play_history(engine, **options)
    _mark_history(engine, weeks)
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    for stale in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        stale.unlink(missing_ok=True)
    os.replace(partial, target)
    return summary


def refresh_export_credentials(engine: sa.Engine, echo: Callable[[str], None]) -> None:
    """Rotate export credentials that aged out since the history began (it starts in the past),
    through the same code path as `secportal-pipeline accounts credential rotate`."""
    from ..workspace.access import credential_max_age_days
    from ..workspace.accounts import SYSTEM_HANDLE, user_id_for
    from ..workspace.activity import utcnow
    from ..workspace.credentials import rotate_aged
    from .seed import EXPORT_SERVICE_ACCOUNTS

    with engine.begin() as conn:
        rotated = rotate_aged(conn, [handle for handle, _, _ in EXPORT_SERVICE_ACCOUNTS],
                              actor_id=user_id_for(conn, SYSTEM_HANDLE), at=utcnow(),
                              max_age_days=credential_max_age_days())
    for issued in rotated:
        echo(f"  rotated {issued.account}'s aged credential: now {issued.credential_id}")


def completed_weeks(first_monday, weeks: int) -> list[str]:
    return [(first_monday + timedelta(weeks=i)).isoformat() for i in range(weeks)]


def import_extra(settings: Settings, engine: sa.Engine, source: Path, echo: Callable[[str], None]):
    """Copy ``source``'s files into the inbox (the source may be read-only) and import them."""
    inbox = settings.intake_dir / "demo-extra"
    inbox.mkdir(parents=True, exist_ok=True)
    for path in scan_files([source]):
        relative = path.relative_to(source)
        if (why := irregular(path)) is not None:
            echo(f"  {relative}: {why}; not copied")
            continue
        shutil.copyfile(path, inbox / "__".join(relative.parts))
    summaries = import_folder(engine, inbox, archive_dir=settings.archive_dir, quarantine_dir=settings.quarantine_dir)
    for summary in summaries:
        echo("  " + summary.line())
        for line in summary.details():
            echo(f"      {line}")
    return summaries


def run_demo(settings: Settings, *, intake_dir: Path | None = None, weeks: int | None = None,
             echo: Callable[[str], None] = print, instance: dg.DagsterInstance | None = None) -> dict:
    """Build, import, materialize and load; returns the figures it printed."""
    weeks = weeks or DEFAULT_WEEKS
    ensure_demo_key(settings)
    instance = instance or ensure_dagster_home()
    from ..orchestration.runner import release_dead_runs

    for run_id in release_dead_runs(instance):
        echo(f"  run {run_id[:8]} of an earlier, killed demo marked failed and its pool slot freed")
    for folder in (settings.intake_dir, settings.archive_dir, settings.quarantine_dir):
        folder.mkdir(parents=True, exist_ok=True)  # the watched folder and where its files go
    engine = open_workspace(settings.workspace_url)
    echo(f"workspace: {settings.workspace_url}")
    if _history_played(engine):
        echo("  demo history already in the workspace: reusing it")
    else:
        engine.dispose()
        summary = _play_history_once(settings, weeks)
        engine = open_workspace(settings.workspace_url)
        echo(f"  played {weeks} weeks of history: {summary}")
    extra = import_extra(settings, engine, intake_dir, echo) if intake_dir else []
    refresh_export_credentials(engine, echo)

    from ..orchestration.definitions import build_definitions
    from ..orchestration.runner import run_partitions

    partitions = completed_weeks(DEFAULT_FIRST_MONDAY, weeks)
    echo(f"materializing the weekly classes + warehouse for {len(partitions)} weeks "
         f"({partitions[0]} .. {partitions[-1]}) in-process")
    def report(key: str, result) -> None:
        rows = {m.asset_key.to_user_string(): m.materialization.metadata["rows"].value
                for m in result.get_asset_materialization_events() if "rows" in m.materialization.metadata}
        echo(f"  {key}: findings_snapshot {rows.get('findings_snapshot', '?')} rows, exception_register "
             f"{rows.get('exception_register', '?')} rows landed and loaded (run {result.run_id[:8]})")

    defs = build_definitions()
    run_partitions(defs, WEEKLY_JOB, partitions, instance, on_done=report)
    materialize_days(defs, instance, DEFAULT_FIRST_MONDAY, weeks, echo)
    materialize_months(defs, instance, DEFAULT_FIRST_MONDAY, weeks, echo)
    materialize_scan_diffs(defs, instance, echo)
    materialize_marts(defs, instance, echo)
    figures = summarize(settings, engine, echo)
    figures["extra_imports"] = [s.to_dict() for s in extra]
    from .evidence import report_evidence

    figures["evidence"] = report_evidence(settings.warehouse_path, engine, echo)
    return figures


def materialize_marts(defs: dg.Definitions, instance: dg.DagsterInstance, echo: Callable[[str], None]) -> None:
    """dim_framework_control and every mart over what the warehouse now holds, in one run."""
    from ..orchestration.assets.marts import MARTS_JOB
    from ..orchestration.runner import QUIET, RunFailed, owner_tags

    started = time.perf_counter()
    result = defs.resolve_job_def(MARTS_JOB).execute_in_process(instance=instance, raise_on_error=False,
                                                                run_config=QUIET, tags=owner_tags())
    if not result.success:
        failures = [event.message for event in result.all_events if event.is_failure]
        raise RunFailed(f"{MARTS_JOB} failed (run {result.run_id}): {' | '.join(failures)}")
    rows = {m.asset_key.to_user_string(): m.materialization.metadata["rows"].value
            for m in result.get_asset_materialization_events()}
    echo(f"  marts: {len(rows)} SQL models rebuilt in one run ({time.perf_counter() - started:.1f} s, "
         f"run {result.run_id[:8]}): " + ", ".join(f"{k.split('/')[-1]} {v}" for k, v in sorted(rows.items())))


def materialize_days(defs: dg.Definitions, instance: dg.DagsterInstance, first_monday, weeks: int,
                     echo: Callable[[str], None]) -> None:
    """The daily classes (activity_slice) for every day of the history, as one range run."""
    from ..orchestration.runner import run_partition_range

    first, last = first_monday.isoformat(), (first_monday + timedelta(days=7 * weeks - 1)).isoformat()
    started = time.perf_counter()
    result = run_partition_range(defs, DAILY_JOB, first, last, instance)
    rows = [m.materialization.metadata["rows"].value for m in result.get_asset_materialization_events()
            if m.asset_key == dg.AssetKey("activity_slice")]
    echo(f"  {first} .. {last}: activity_slice {rows[0] if rows else '?'} rows over {7 * weeks} daily "
         f"partitions landed and loaded in one run ({time.perf_counter() - started:.1f} s, run {result.run_id[:8]})")


def history_months(first_monday, weeks: int) -> list[str]:
    """First days of the months the history touches (31 Aug - 29 Nov: August .. November)."""
    last = first_monday + timedelta(days=7 * weeks - 1)
    months, day = [], first_monday.replace(day=1)
    while day <= last:
        months.append(day.isoformat())
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def materialize_months(defs: dg.Definitions, instance: dg.DagsterInstance, first_monday, weeks: int,
                       echo: Callable[[str], None]) -> None:
    """The monthly classes (dimensions, report tables) for every month of the history, as one range run."""
    from ..orchestration.runner import run_partition_range

    months = history_months(first_monday, weeks)
    started = time.perf_counter()
    result = run_partition_range(defs, MONTHLY_JOB, months[0], months[-1], instance)
    rows = {m.asset_key.to_user_string(): m.materialization.metadata["rows"].value
            for m in result.get_asset_materialization_events() if "rows" in m.materialization.metadata}
    gaps = [e for e in result.get_asset_check_evaluations() if e.check_name == "dimension_key_gap" and not e.passed]
    echo(f"  {months[0]} .. {months[-1]}: {len(months)} monthly partitions of "
         f"{', '.join(sorted(k for k in rows if not k.startswith('published/')))} landed and loaded in one run "
         f"({time.perf_counter() - started:.1f} s, run {result.run_id[:8]})")
    for evaluation in gaps:
        refs = evaluation.metadata["offending_asset_refs"].value
        echo(f"    WARN dimension key gap: findings on unregistered assets {', '.join(refs)}")
    workbook_months = sorted({month for m in result.get_asset_materialization_events()
                              if m.asset_key == dg.AssetKey("monthly_report_workbook")
                              for month in m.materialization.metadata["partitions"].value})
    if workbook_months:
        echo(f"    monthly report workbook (one sheet per report table) landed for {', '.join(workbook_months)}: "
             f"landing/monthly_report/<month>/monthly_report.xlsx")


def materialize_scan_diffs(defs: dg.Definitions, instance: dg.DagsterInstance, echo: Callable[[str], None]) -> None:
    """One scan_diff partition per completed execution, as the sensor adds them, landed in one run."""
    from ..orchestration.runner import run_partition_range
    from ..orchestration.scan_sensor import SCAN_DIFF_JOB, scan_execution_sensor

    started = time.perf_counter()
    with dg.build_sensor_context(instance=instance, resources=defs.resources) as context:
        tick = scan_execution_sensor(context)
    if not tick.run_requests:
        echo(f"  scan_diff: {tick.skip_reason.skip_message if tick.skip_reason else 'nothing to diff'}")
        return
    for request in tick.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    keys = [r.partition_key for r in tick.run_requests]
    result = run_partition_range(defs, SCAN_DIFF_JOB, keys[0], keys[-1], instance)
    rows = [m.materialization.metadata["rows"].value for m in result.get_asset_materialization_events()
            if m.asset_key == dg.AssetKey("scan_diff")]
    echo(f"  scan_diff: {len(keys)} executions (scan {keys[0]} .. {keys[-1]}) added by the scan sensor, "
         f"{rows[0] if rows else '?'} rows landed and loaded in one run "
         f"({time.perf_counter() - started:.1f} s, run {result.run_id[:8]})")


def summarize(settings: Settings, engine: sa.Engine, echo: Callable[[str], None]) -> dict:
    from ..warehouse.queries import table_counts

    with engine.connect() as conn:
        counts = {
            "findings": conn.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one(),
            "scan_executions": conn.execute(sa.select(sa.func.count()).select_from(scan_executions)).scalar_one(),
            "activity_events": conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one(),
        }
    warehouse = table_counts(settings.warehouse_path)
    landed = sorted(settings.landing_root.glob("*/v*/*/_manifest.json"))
    echo("")
    echo("where everything landed")
    echo(f"  workspace   {settings.workspace_url}")
    echo(f"              {counts['findings']} findings, {counts['scan_executions']} scan executions, "
         f"{counts['activity_events']} activity events")
    echo(f"  landing     {settings.landing_root}  ({len(landed)} partitions with a manifest)")
    echo(f"  warehouse   {settings.warehouse_path}")
    for table, rows in sorted(warehouse.items()):
        echo(f"              published.{table}: {rows} rows")
    for label, folder in (("inbox", settings.intake_dir), ("archive", settings.archive_dir),
                          ("quarantine", settings.quarantine_dir)):
        held = sum(1 for p in folder.iterdir() if p.is_file() and not p.name.endswith(".json")) if folder.is_dir() else 0
        echo(f"  {label:<11} {folder}  ({held} file(s))")
    echo(f"  dagster     DAGSTER_HOME={os.environ.get('DAGSTER_HOME')}  (make dev opens the UI on it)")
    return {"workspace": counts, "warehouse": warehouse, "landed_partitions": len(landed),
            "finished_at": datetime.now(UTC).isoformat()}
