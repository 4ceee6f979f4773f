"""One partitioned asset per export class, built from its contract."""


import dagster as dg

from ...contracts.model import Contract
from ...exports.run import export_partition
from ..checks import check_landed, landed_contract_spec
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
        check_specs=[landed_contract_spec(contract)],
    )
    def _export(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
        result = export_partition(
            pipeline.engine(), pipeline.contract(contract.id), context.partition_key,
            landing_root=pipeline.landing_path, key=pipeline.hmac_key(), run_id=context.run_id,
        )
        manifest = result.landed.manifest
        return dg.MaterializeResult(
            check_results=[check_landed(result.contract, pipeline.landing_path, context.partition_key)],
            metadata={
                "rows": dg.MetadataValue.int(result.rows),
                "landing_dir": dg.MetadataValue.path(str(result.landed.directory)),
                "contract_version": contract.version,
                "service_account": manifest["service_account"],
                "hmac_key_id": manifest["hmac_key_id"],
                "files": dg.MetadataValue.json(manifest["files"]),
            }
        )

    return _export
