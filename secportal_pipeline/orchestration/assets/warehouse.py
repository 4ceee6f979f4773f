"""Warehouse tables: each loads its export's landed partition into DuckDB."""


import dagster as dg

from ...contracts.model import Contract
from ...exports.landing import partition_dir
from ...warehouse.ddl import published_table
from ...warehouse.loader import WAREHOUSE_POOL, load_partition
from ..checks import (check_reconciled, check_workspace, matches_manifest_spec, matches_workspace_spec,
                      warehouse_asset_key)
from ..partitions import BY_CADENCE
from ..resources import PipelineResource

WAREHOUSE_GROUP = "warehouse"


def warehouse_asset(contract: Contract) -> dg.AssetsDefinition:
    """``published.<table>`` for ``contract``, one partition per landed partition."""
    table = published_table(contract)
    cadence = contract.custom.get("partitioning", "weekly")

    @dg.asset(
        key=warehouse_asset_key(contract),
        group_name=WAREHOUSE_GROUP,
        deps=[dg.AssetKey(contract.id)],
        partitions_def=BY_CADENCE[cadence],
        pool=WAREHOUSE_POOL,
        # a backfill of a range loads in one run instead of one run per partition
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"duckdb"},
        check_specs=[matches_manifest_spec(contract), matches_workspace_spec(contract)],
        description=f"published.{table} in the DuckDB warehouse, loaded only from landed, verified files.",
    )
    def _load(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
        current = pipeline.contract(contract.id)
        results = [
            load_partition(pipeline.warehouse_file, partition_dir(pipeline.landing_path, current, key), current)
            for key in context.partition_keys
        ]
        return dg.MaterializeResult(
            check_results=[check_reconciled(current, pipeline.landing_path, pipeline.warehouse_file,
                                            list(context.partition_keys)),
                           check_workspace(current, pipeline.landing_path, pipeline.engine(),
                                           list(context.partition_keys))],
            metadata={
                "table": f"published.{table}",
                "rows": dg.MetadataValue.int(sum(r.rows for r in results)),
                "replaced_rows": dg.MetadataValue.int(sum(r.replaced_rows for r in results)),
                "partitions": dg.MetadataValue.json({r.partition: r.rows for r in results}),
                "warehouse": dg.MetadataValue.path(str(pipeline.warehouse_file)),
            }
        )

    return _load
