"""`secportal-pipeline`: import scanner files, run the demo, inspect contracts."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

from .config import load_settings


class _Main(click.Group):
    """Turns the errors a person can act on (bad contract, bad setting, missing key) into one line."""

    def invoke(self, ctx: click.Context):
        from .config import ConfigError
        from .contracts.model import ContractError
        from .exports.secrets import MissingKey
        from .workspace.db import WorkspaceError

        try:
            return super().invoke(ctx)
        except (ContractError, ConfigError, MissingKey, WorkspaceError) as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=_Main)
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
# readable=False: an unreadable file is reported on its own line and the rest still imported
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("--engagement", "engagement_id", type=int, default=None,
              help="Engagement id for every finding (default: the asset's client's active engagement).")
@click.option("--pipeline", "source_pipeline", default=None,
              help="Source pipeline (default: external_scan for Nessus/Burp, bulk_import for CSV).")
@click.option("--quarantine/--no-quarantine", default=True,
              help="Move refused files to the quarantine folder with a report (default: yes).")
@click.option("--archive", "archive_done", is_flag=True, default=False,
              help="Move each imported or already-present file to the archive folder, as the watched folder does.")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="Show records, MB read and rate on stderr while importing (default: when stderr is a terminal).")
def import_cmd(paths: tuple[Path, ...], engagement_id: int | None, source_pipeline: str | None,
               quarantine: bool, archive_done: bool, show_progress: bool | None) -> None:
    """Import scanner files (Nessus v2, Burp XML, CSV) or every file under folders."""
    import sqlalchemy as sa

    from .intake.folder import archive, scan_files
    from .intake.parse_process import ParserProcessFailed
    from .intake.progress import ProgressLine
    from .intake.errors import printable
    from .intake.service import FileSummary, import_file
    from .workspace.db import open_workspace

    settings = load_settings()
    engine = open_workspace(settings.workspace_url)
    missing = [path for path in paths if not (path.exists() or path.is_symlink())]
    for path in missing:  # said per path, like any file that fails; the others are still imported
        click.echo(printable(f"{path}: failed (no such file or folder)"))
    files = scan_files(path for path in paths if path not in missing)
    refused = len(missing)
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    progress = ProgressLine(sys.stderr) if show_progress else None
    for path in files:
        try:
            summary = import_file(
                engine, path, engagement_id=engagement_id, source_pipeline=source_pipeline,
                quarantine_dir=settings.quarantine_dir if quarantine else None, progress=progress,
            )
        except OSError as error:  # unreadable file: say so, leave it, go on with the rest
            click.echo(FileSummary.unread(path, error).line())
            refused += 1
            continue
        except (ParserProcessFailed, sa.exc.DBAPIError) as error:  # not the file's fault: nothing imported
            first, _, rest = str(error).partition("\n")
            click.echo(printable(f"{path.name}: failed ({first}); nothing was imported, the file was left where it is"))
            if rest:
                click.echo(rest, err=True)
            refused += 1
            continue
        finally:
            if progress is not None:
                progress.finish()
        click.echo(summary.line())
        for line in summary.details():
            click.echo(f"    {line}")
        if archive_done and summary.outcome in ("imported", "skipped"):
            try:
                click.echo(printable(f"    archived -> {archive(path, summary.sha256, settings.archive_dir)}"))
            except OSError as error:  # imported all the same; the file stays where it is
                click.echo(f"    not archived ({error.strerror or error}); the file was left where it is")
        refused += summary.outcome == "quarantined"
    named = len(files) + len(missing)
    click.echo(f"{named} file(s): {named - refused} imported or already present, {refused} refused")
    sys.exit(1 if refused else 0)


@main.command()
@click.option("--intake", "intake_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Also import every file under this folder (copied into the inbox first).")
@click.option("--weeks", type=int, default=None, help="Weeks of history to generate (default 13).")
def demo(intake_dir: Path | None, weeks: int | None) -> None:
    """Build the demo workspace, import scans, materialize every export, load the warehouse."""
    from .demo.run import run_demo

    from .demo.run import DemoError

    try:
        run_demo(load_settings(), intake_dir=intake_dir, weeks=weeks, echo=click.echo)
    except DemoError as error:
        raise click.ClickException(str(error)) from None


from .contracts.commands import contracts_group  # noqa: E402  (commands: contracts check|release)

main.add_command(contracts_group)

# after the contracts group: `contracts review` joins it; `accounts` is added beside it
from .cli_access import register as _register_access  # noqa: E402

_register_access(main)

if __name__ == "__main__":
    main()
