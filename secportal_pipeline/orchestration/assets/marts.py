"""The SQL models as Dagster assets: dim_framework_control (group warehouse) and the marts.

Each model is an unpartitioned asset rebuilt whole (CREATE OR REPLACE) from what
``published`` holds; its dependencies come from the ``-- inputs:`` line of its SQL
file, so the graph never restates the SQL. They write DuckDB, hence the warehouse pool.
"""


import dagster as dg

from ...contracts.model import Contract
from ...warehouse.ddl import PUBLISHED, published_table
from ...warehouse.loader import WAREHOUSE_POOL
from ...warehouse.models import MARTS, REFERENCE_TABLES, Model, build_models, load_models
from ...warehouse.sla import load_sla_policy
from ..checks import warehouse_asset_key
from ..resources import PipelineResource

MARTS_GROUP = "marts"
MARTS_JOB = "build_marts"


def model_asset_key(model: Model) -> dg.AssetKey:
    return dg.AssetKey([model.schema, model.name])


def _input_keys(model: Model, by_table: dict[str, dg.AssetKey]) -> list[dg.AssetKey]:
    keys = []
    for table in model.inputs:
        if table in REFERENCE_TABLES:
            continue
        if table not in by_table:
            raise KeyError(f"{model.path}: input {table} is neither a contract's published table nor a model")
        keys.append(by_table[table])
    return keys


def model_asset(model: Model, by_table: dict[str, dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=model_asset_key(model),
        group_name=MARTS_GROUP if model.schema == MARTS else "warehouse",
        deps=_input_keys(model, by_table),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "sql"},
        description=f"{model.table} ({model.path.name}). {model.description}",
        metadata={"sql_file": dg.MetadataValue.path(str(model.path)), "inputs": list(model.inputs)},
    )
    def _build(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
        policy = load_sla_policy()
        rows = build_models(pipeline.warehouse_file, policy, only=[model.table])[model.table]
        return dg.MaterializeResult(metadata={
            "table": model.table, "rows": dg.MetadataValue.int(rows),
            **({"sla_policy": dg.MetadataValue.json(policy)} if "marts.sla_policy" in model.inputs else {}),
        })

    return _build


def model_assets(contracts: dict[str, Contract]) -> list[dg.AssetsDefinition]:
    """An asset per SQL model, wired to the warehouse tables and models it reads."""
    models = load_models()
    by_table = {f"{PUBLISHED}.{published_table(c)}": warehouse_asset_key(c) for c in contracts.values()}
    by_table.update({table: model_asset_key(m) for table, m in models.items()})
    return [model_asset(m, by_table) for m in models.values()]


def marts_job(assets: list[dg.AssetsDefinition]):
    """Rebuild dim_framework_control and every mart, in dependency order, in one run."""
    return dg.define_asset_job(MARTS_JOB, selection=dg.AssetSelection.assets(*assets),
                               description="Rebuild the SQL models (dim_framework_control and the marts).")


def marts_schedule() -> dg.ScheduleDefinition:
    """Daily at 04:00 UTC, after the 03:00 cadence runs have loaded the warehouse."""
    return dg.ScheduleDefinition(name=f"{MARTS_JOB}_schedule", job_name=MARTS_JOB, cron_schedule="0 4 * * *",
                                 execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING)
