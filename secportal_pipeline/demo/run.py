"""`secportal-pipeline demo`: the whole flow on generated data, then where everything landed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from ..config import ENV_HMAC_KEY, ENV_HMAC_KEY_FILE, REPO_ROOT, Settings
from ..exports.secrets import generate_key_file
from ..intake.folder import import_folder, scan_files
from ..workspace.db import open_workspace
from ..workspace.schema import activity_log, findings, scan_executions, workspace_settings
from .history import DEFAULT_FIRST_MONDAY, DEFAULT_WEEKS, play_history

DEMO_SEED = 20260831
WEEKLY_JOB = "weekly_exports"


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


def completed_weeks(first_monday, weeks: int) -> list[str]:
    return [(first_monday + timedelta(weeks=i)).isoformat() for i in range(weeks)]


def import_extra(settings: Settings, engine: sa.Engine, source: Path, echo: Callable[[str], None]):
    """Copy ``source``'s files into the inbox (the source may be read-only) and import them."""
    inbox = settings.intake_dir / "demo-extra"
    inbox.mkdir(parents=True, exist_ok=True)
    for path in scan_files([source]):
        relative = path.relative_to(source)
        target = inbox / "__".join(relative.parts)
        shutil.copyfile(path, target)
    summaries = import_folder(engine, inbox, archive_dir=settings.archive_dir, quarantine_dir=settings.quarantine_dir)
    for summary in summaries:
        echo("  " + summary.line())
    return summaries


def run_demo(settings: Settings, *, intake_dir: Path | None = None, weeks: int | None = None,
             echo: Callable[[str], None] = print, instance: dg.DagsterInstance | None = None) -> dict:
    """Build, import, materialize and load; returns the figures it printed."""
    weeks = weeks or DEFAULT_WEEKS
    ensure_demo_key(settings)
    instance = instance or ensure_dagster_home()
    engine = open_workspace(settings.workspace_url)
    echo(f"workspace: {settings.workspace_url}")
    if _history_played(engine):
        echo("  demo history already in the workspace: reusing it")
    else:
        summary = play_history(
            engine, first_monday=DEFAULT_FIRST_MONDAY, weeks=weeks, seed=DEMO_SEED,
            scan_dir=settings.data_dir / "demo_scans", quarantine_dir=settings.quarantine_dir,
        )
        _mark_history(engine, weeks)
        echo(f"  played {weeks} weeks of history: {summary}")
    extra = import_extra(settings, engine, intake_dir, echo) if intake_dir else []

    from ..orchestration.definitions import build_definitions
    from ..orchestration.runner import run_partitions

    partitions = completed_weeks(DEFAULT_FIRST_MONDAY, weeks)
    echo(f"materializing findings_snapshot + warehouse for {len(partitions)} weeks "
         f"({partitions[0]} .. {partitions[-1]}) in-process")
    def report(key: str, result) -> None:
        rows = [m.materialization.metadata["rows"].value for m in result.get_asset_materialization_events()
                if m.asset_key == dg.AssetKey("findings_snapshot")]
        echo(f"  {key}: findings_snapshot {rows[0] if rows else '?'} rows landed and loaded (run {result.run_id[:8]})")

    run_partitions(build_definitions(), WEEKLY_JOB, partitions, instance, on_done=report)
    figures = summarize(settings, engine, echo)
    figures["extra_imports"] = [s.to_dict() for s in extra]
    return figures


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
    echo(f"  archive     {settings.archive_dir}")
    echo(f"  quarantine  {settings.quarantine_dir}")
    echo(f"  dagster     DAGSTER_HOME={os.environ.get('DAGSTER_HOME')}  (make dev opens the UI on it)")
    return {"workspace": counts, "warehouse": warehouse, "landed_partitions": len(landed),
            "finished_at": datetime.now(UTC).isoformat()}
