"""The `intake_file` job: import one scanner file from the watched folder, then file it away.

One run per file (the sensor in sensors.py requests it, keyed by the file's sha256).
The run imports through the same audited service as the CLI, moves the file to the
archive (or the service moves it to quarantine), and attaches the file summary as
metadata so the Dagster UI shows what happened without opening the workspace.
"""


from pathlib import Path

import dagster as dg

from ..intake.folder import archive
from ..intake.service import FileSummary, file_sha256, import_file
from .resources import PipelineResource

JOB_NAME = "intake_file"
TAG_FILE = "secportal/intake_file"
TAG_SHA256 = "secportal/sha256"
TAG_OUTCOME = "secportal/intake_outcome"  # set when the run ends: imported, skipped or quarantined


class IntakeFileConfig(dg.Config):
    """The file to import and the sha256 the sensor saw (the run refuses different bytes)."""

    path: str
    sha256: str


def summary_metadata(summary: FileSummary, filed_to: str) -> dict[str, dg.MetadataValue]:
    """The run's result as Dagster metadata: counts, row issues, where the file went."""
    issues = summary.row_issues
    table = "\n".join(
        ["| where | column | value | reason | row |", "|---|---|---|---|---|"]
        + [f"| {i['where']} | {i['column']} | `{i['value'][:60]}` | {i['reason']} | "
           f"{'skipped' if i['skipped'] else 'kept'} |".replace("\n", " ") for i in issues[:200]]
    )
    return {
        "outcome": dg.MetadataValue.text(summary.outcome),
        "summary": dg.MetadataValue.text(summary.line()),
        "tool": dg.MetadataValue.text(f"{summary.tool}/{summary.variant}".strip("/")),
        "new": dg.MetadataValue.int(summary.new),
        "updated": dg.MetadataValue.int(summary.updated),
        "reopened": dg.MetadataValue.int(summary.reopened),
        "unchanged": dg.MetadataValue.int(summary.unchanged),
        "rows_skipped": dg.MetadataValue.int(summary.rows_skipped),
        "duplicates_merged": dg.MetadataValue.int(summary.duplicates_merged),
        "row_issues": dg.MetadataValue.int(len(issues)),
        "row_issue_list": dg.MetadataValue.md(table if issues else "none"),
        "unmapped_columns": dg.MetadataValue.json(summary.unmapped_columns),
        "scan_ids": dg.MetadataValue.json(summary.scan_ids),
        "sha256": dg.MetadataValue.text(summary.sha256),
        "reason": dg.MetadataValue.text(summary.reason),
        "filed_to": dg.MetadataValue.path(filed_to),
        "quarantined_to": dg.MetadataValue.text(summary.quarantined_to),
    }


@dg.op(out=dg.Out(dg.Nothing), tags={"kind": "intake"})
def import_scanner_file(context: dg.OpExecutionContext, config: IntakeFileConfig, pipeline: PipelineResource):
    """Import the file in one transaction; archive it, or leave it quarantined with its report."""
    path = Path(config.path)
    if not path.is_file():
        raise dg.Failure(f"{path}: not in the intake folder any more (moved or already filed); nothing imported")
    sha256 = file_sha256(path)
    if sha256 != config.sha256:
        raise dg.Failure(f"{path.name}: content changed since the sensor saw it (sha256 {config.sha256[:12]}... "
                         f"now {sha256[:12]}...); nothing imported, the sensor requests a run for the new bytes")
    summary = import_file(pipeline.engine(), path, quarantine_dir=pipeline.quarantine_path)
    # the sensor reads it: the same bytes dropped again after a refusal are refused again, not archived
    context.instance.add_run_tags(context.run_id, {TAG_OUTCOME: summary.outcome})
    if summary.outcome == "quarantined":
        filed_to = summary.quarantined_to
        context.log.warning(summary.line())
    else:
        filed_to = str(archive(path, summary.sha256, pipeline.archive_path))
        context.log.info(summary.line())
    yield dg.Output(None, metadata=summary_metadata(summary, filed_to))


@dg.job(name=JOB_NAME, description="Import one scanner file from the watched intake folder.",
        tags={"pipeline_stage": "intake"})
def intake_file_job():
    import_scanner_file()
