"""One asset per report workbook: the member classes' landed partitions as one Excel file."""


import dagster as dg

from ...contracts.model import Contract
from ...workbooks.assemble import land_workbook
from ..partitions import BY_CADENCE
from ..resources import PipelineResource

WORKBOOK_GROUP = "reports"


def workbook_asset(workbook: str, members: list[Contract]) -> dg.AssetsDefinition:
    """``<workbook>_workbook``: one sheet per member class, from its landed and verified files."""
    cadence = members[0].custom.get("partitioning", "weekly")
    ids = [m.id for m in members]

    @dg.asset(
        name=f"{workbook}_workbook",
        group_name=WORKBOOK_GROUP,
        deps=[dg.AssetKey(i) for i in ids],
        partitions_def=BY_CADENCE[cadence],
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"excel"},
        description=f"The {workbook} workbook, one sheet per table ({', '.join(ids)}), assembled from their "
                    f"landed, manifest-verified Parquet; landed under landing/{workbook}/<partition>/.",
    )
    def _workbook(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
        current = [pipeline.contract(i) for i in ids]
        landed = [land_workbook(workbook, current, key, landing_root=pipeline.landing_path,
                                run_id=context.run.run_id) for key in context.partition_keys]
        last = landed[-1]
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(last.path)),
            "sheets": dg.MetadataValue.json({s["sheet"]: s["rows"] for s in last.manifest["sources"]}),
            "partitions": dg.MetadataValue.json(
                {w.manifest["partition"]: w.manifest["files"][w.path.name]["sha256"] for w in landed}),
        })

    return _workbook
