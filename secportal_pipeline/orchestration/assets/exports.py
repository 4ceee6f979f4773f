"""One partitioned asset per export class, built from its contract."""


import dagster as dg

from ...contracts.model import Contract
from ...exports.run import export_partition
from ..checks import check_landed, landed_contract_spec
from ..dimension_checks import extra_check_results, extra_check_specs
from ..export_failures import REFUSALS, export_failure
from ..partitions import BY_CADENCE
from ..resources import PipelineResource

EXPORT_GROUP = "exports"


def export_asset(contract: Contract) -> dg.AssetsDefinition:
    """The landing-zone asset for ``contract``'s export class."""
    cadence = contract.custom.get("partitioning", "weekly")

    @dg.asset(
        name=contract.id,
        group_name=EXPORT_GROUP,
        partitions_def=BY_CADENCE[cadence],
        description=f"{contract.name} (contract {contract.id} v{contract.version}), landed under "
        f"{contract.landing_path}",
        owners=[f"team:{contract.custom.get('ownerTeam', 'security-data-engineering')}"],
        kinds={"csv", "parquet"},
        tags={"export_class": contract.id, "contract_major": str(contract.major)},
        metadata={"contract_version": contract.version, "service_account": contract.service_account},
        check_specs=[landed_contract_spec(contract), *extra_check_specs(contract)],
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _export(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
        if not context.partition_keys:  # e.g. a --partition-range given end first
            raise dg.Failure(f"{contract.id}: the run selects no partition; a range is FIRST...LAST, oldest first")
        current, key = pipeline.contract(contract.id), pipeline.hmac_key()
        results = []
        for partition in context.partition_keys:
            try:
                results.append(export_partition(pipeline.engine(), current, partition,
                                                landing_root=pipeline.landing_path, key=key,
                                                run_id=context.run.run_id))
            except REFUSALS as error:
                # nothing of this partition landed; the failure cases go to the UI as a table
                raise export_failure(error, current, partition, [r.partition for r in results]) from error
        last = results[-1].landed
        return dg.MaterializeResult(
            check_results=[check_landed(current, pipeline.landing_path, list(context.partition_keys)),
                           *extra_check_results(current, pipeline.engine(), list(context.partition_keys))],
            metadata={
                "rows": dg.MetadataValue.int(sum(r.rows for r in results)),
                "partitions": dg.MetadataValue.json({r.partition: r.rows for r in results}),
                "landing_dir": dg.MetadataValue.path(str(last.directory)),
                "contract_version": current.version,
                "service_account": last.manifest["service_account"],
                "hmac_key_id": last.manifest["hmac_key_id"],
                "files": dg.MetadataValue.json(last.manifest["files"]),
            }
        )

    return _export
