"""Blocking checks the assets run on what they just wrote.

They are declared as check specs on the assets themselves, so each result belongs to
the partition the run materialized: landed files meet their contract, the warehouse
holds exactly the manifest's rows, and the manifest holds exactly the rows the
workspace gives for that partition now (recomputed with the export's own builder).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import sqlalchemy as sa

from ..contracts.model import Contract
from ..contracts.schema import dtype_for
from ..contracts.validate import ContractViolation, validate
from ..exports.landing import partition_dir, read_manifest
from ..exports.run import BUILDERS
from ..warehouse.ddl import published_table

LANDED_CONTRACT = "landed_contract"
MATCHES_MANIFEST = "matches_manifest"
MATCHES_WORKSPACE = "matches_workspace"


def warehouse_asset_key(contract: Contract) -> dg.AssetKey:
    """The warehouse table's asset key: its table name, under ``published/`` when the
    export class has the same name (the dimensions), since an asset cannot depend on itself."""
    table = published_table(contract)
    return dg.AssetKey(["published", table]) if table == contract.id else dg.AssetKey(table)


def landed_contract_spec(contract: Contract) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(LANDED_CONTRACT, asset=contract.id, blocking=True,
                             description=f"Landed files of {contract.id} meet contract v{contract.version}.")


def matches_manifest_spec(contract: Contract) -> dg.AssetCheckSpec:
    table = published_table(contract)
    return dg.AssetCheckSpec(MATCHES_MANIFEST, asset=warehouse_asset_key(contract), blocking=True,
                             description=f"published.{table} holds exactly the manifest's rows per partition.")


def matches_workspace_spec(contract: Contract) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(MATCHES_WORKSPACE, asset=warehouse_asset_key(contract), blocking=True,
                             description=f"Each loaded partition's manifest row count equals the rows the workspace "
                                         f"gives for that partition now ({contract.id} builder re-run).")


def _landed_frame(path: Path, contract: Contract) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    for column in contract.landed_columns:
        if column.name in frame.columns:
            frame[column.name] = frame[column.name].astype(dtype_for(column, landed=True))
    return frame


def check_landed(contract: Contract, landing_root: Path, partitions: list[str]) -> dg.AssetCheckResult:
    """Re-read each landed Parquet and run the landed contract on it."""
    rows = 0
    for partition in partitions:
        directory = partition_dir(landing_root, contract, partition)
        frame = _landed_frame(directory / f"{contract.id}.parquet", contract)
        try:
            validate(frame, contract, partition=partition, landed=True)
        except ContractViolation as violation:
            return dg.AssetCheckResult(
                check_name=LANDED_CONTRACT, passed=False, description=str(violation),
                metadata={"partition": partition, "failure_cases": dg.MetadataValue.json(
                    [v.__dict__ for v in violation.violations[:200]])},
            )
        rows += len(frame)
    return dg.AssetCheckResult(check_name=LANDED_CONTRACT, passed=True,
                               metadata={"rows": rows, "partitions": len(partitions)})


def check_reconciled(contract: Contract, landing_root: Path, warehouse: Path,
                     partitions: list[str]) -> dg.AssetCheckResult:
    """Warehouse rows per partition equal the manifest's row count, naming any that differ."""
    table = published_table(contract)
    mismatches = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for key in partitions:
            expected = read_manifest(partition_dir(landing_root, contract, key))["row_count"]
            actual = con.execute(f'SELECT count(*) FROM published."{table}" WHERE _partition = ?', [key]).fetchone()[0]
            if actual != expected:
                mismatches[key] = {"manifest": expected, "warehouse": actual}
    return _count_check(MATCHES_MANIFEST, mismatches, "warehouse", prefix="",
                        passed_metadata={"partitions": len(partitions)})


def _count_check(check_name: str, mismatches: dict[str, dict[str, int]], other: str, *, prefix: str,
                 passed_metadata: dict) -> dg.AssetCheckResult:
    """Passed, or failed naming each partition with the manifest's count and ``other``'s."""
    if not mismatches:
        return dg.AssetCheckResult(check_name=check_name, passed=True, metadata=passed_metadata)
    text = "; ".join(f"{prefix}partition {k}: manifest {v['manifest']} rows, {other} {v[other]} rows"
                     for k, v in mismatches.items())
    return dg.AssetCheckResult(check_name=check_name, passed=False, description=text,
                               metadata={"mismatches": dg.MetadataValue.json(mismatches)})


def workspace_counts(engine: sa.Engine, contract: Contract, partitions: list[str]) -> dict[str, int]:
    """Rows the export's builder gives for each partition from the workspace as it is now."""
    builder = BUILDERS[contract.id]
    with engine.connect() as conn:
        return {key: len(builder(conn, contract, key)) for key in partitions}


def check_workspace(contract: Contract, landing_root: Path, engine: sa.Engine,
                    partitions: list[str]) -> dg.AssetCheckResult:
    """Each partition's manifest row count equals the workspace's count now, naming any that differ.

    A difference means the workspace changed after the partition landed (late data, a
    back-dated change): re-run the partition (the late-data sensor requests it).
    """
    counts = workspace_counts(engine, contract, partitions)
    mismatches = {}
    for key in partitions:
        landed = read_manifest(partition_dir(landing_root, contract, key))["row_count"]
        if landed != counts[key]:
            mismatches[key] = {"manifest": landed, "workspace": counts[key]}
    return _count_check(MATCHES_WORKSPACE, mismatches, "workspace", prefix=f"{contract.id} ",
                        passed_metadata={"partitions": len(partitions), "rows": sum(counts.values())})
