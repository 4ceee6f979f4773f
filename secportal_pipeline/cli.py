"""`secportal-pipeline`: import scanner files, run the demo, inspect contracts."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

from .config import load_settings


@click.group()
def main() -> None:
    """secportal-pipeline: the export contract between a security workspace and its warehouse."""
    # Dagster flags single-run backfill policies as beta on every definition load; the
    # CLI's users cannot act on that, so it is not printed here (it is in the docs).
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")


@main.command()
def init() -> None:
    """Create the workspace schema at SECPORTAL_WORKSPACE_URL (safe to run twice)."""
    from .workspace.db import open_workspace

    settings = load_settings()
    open_workspace(settings.workspace_url).dispose()
    click.echo(f"workspace ready: {settings.workspace_url}")


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--engagement", "engagement_id", type=int, default=None,
              help="Engagement id for every finding (default: the asset's client's active engagement).")
@click.option("--pipeline", "source_pipeline", default=None,
              help="Source pipeline (default: external_scan for Nessus/Burp, bulk_import for CSV).")
@click.option("--quarantine/--no-quarantine", default=True,
              help="Move refused files to the quarantine folder with a report (default: yes).")
def import_cmd(paths: tuple[Path, ...], engagement_id: int | None, source_pipeline: str | None,
               quarantine: bool) -> None:
    """Import scanner files (Nessus v2, Burp XML, CSV) or every file under folders."""
    from .intake.folder import scan_files
    from .intake.service import import_file
    from .workspace.db import open_workspace

    settings = load_settings()
    engine = open_workspace(settings.workspace_url)
    try:
        files = scan_files(paths)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    refused = 0
    for path in files:
        summary = import_file(
            engine, path, engagement_id=engagement_id, source_pipeline=source_pipeline,
            quarantine_dir=settings.quarantine_dir if quarantine else None,
        )
        click.echo(summary.line())
        for issue in summary.row_issues:
            verb = "skipped" if issue["skipped"] else "kept"
            click.echo(f"    {issue['where']}: {issue['column'] or '(row)'}={issue['value']!r}: {issue['reason']} ({verb})")
        if summary.unmapped_columns:
            click.echo(f"    unmapped columns (ignored): {', '.join(summary.unmapped_columns)}")
        refused += summary.outcome == "quarantined"
    click.echo(f"{len(files)} file(s): {len(files) - refused} imported or already present, {refused} refused")
    sys.exit(1 if refused else 0)


@main.command()
@click.option("--intake", "intake_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Also import every file under this folder (copied into the inbox first).")
@click.option("--weeks", type=int, default=None, help="Weeks of history to generate (default 13).")
def demo(intake_dir: Path | None, weeks: int | None) -> None:
    """Build the demo workspace, import scans, materialize every export, load the warehouse."""
    from .demo.run import run_demo

    run_demo(load_settings(), intake_dir=intake_dir, weeks=weeks, echo=click.echo)


if __name__ == "__main__":
    main()
