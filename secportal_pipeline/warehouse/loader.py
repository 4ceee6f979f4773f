"""Load one landed partition into the warehouse: verify, stage, then replace in one transaction.

The loader reads only the landing zone. Nothing is written until the manifest, the
contract version and every file's size, sha256 and row count agree. The published
partition is replaced by DELETE + INSERT on ``_partition`` inside one transaction
(no primary key: see PERF_NOTES, it makes the replace 2x slower), so a reload never
duplicates and a failure leaves the previous rows in place.

DuckDB allows one writer per database file, so every Dagster asset that calls
``load_partition`` must share the concurrency pool ``WAREHOUSE_POOL`` with a limit of 1.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from ..contracts.model import Contract
from ..exports.landing import MANIFEST_NAME, read_manifest
from .ddl import PUBLISHED, STAGING, ensure_published_table, quote

WAREHOUSE_POOL = "warehouse"


class LandingVerificationError(ValueError):
    """A landed partition that does not match its manifest or contract; nothing was loaded."""


class WarehouseLoadError(RuntimeError):
    """A verified partition that failed to load; the published table kept its previous rows."""


@dataclass(frozen=True)
class LoadResult:
    table: str  # in the published schema
    partition: str
    rows: int
    replaced_rows: int


@dataclass(frozen=True)
class VerifiedPartition:
    directory: Path
    manifest: dict[str, Any]
    parquet: Path

    @property
    def partition(self) -> str:
        return self.manifest["partition"]

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.manifest["columns"]]


def _mismatch(path: Path, what: str, expected: Any, actual: Any) -> LandingVerificationError:
    return LandingVerificationError(f"{path}: {what} expected {expected}, found {actual}")


def _read_manifest(landed_dir: Path) -> dict[str, Any]:
    try:
        return read_manifest(landed_dir)
    except FileNotFoundError as error:
        raise LandingVerificationError(str(error)) from error
    except json.JSONDecodeError as error:
        raise LandingVerificationError(f"{landed_dir / MANIFEST_NAME}: not valid JSON: {error}") from error


def _check_contract(manifest: dict[str, Any], contract: Contract, path: Path) -> None:
    if manifest.get("contract_id") != contract.id:
        raise _mismatch(path, "contract_id", repr(contract.id), repr(manifest.get("contract_id")))
    landed_version = str(manifest.get("contract_version", ""))
    landed_major = landed_version.split(".")[0]
    if landed_major != str(contract.major):
        raise LandingVerificationError(
            f"{path}: landed with {contract.id} {landed_version} (v{landed_major}) but the warehouse contract is "
            f"{contract.version} (v{contract.major}); a v{landed_major} file never loads into a v{contract.major} table"
        )


def _check_file(path: Path, expected: dict[str, Any]) -> None:
    if not path.is_file():
        raise _mismatch(path, "file", "present", "missing")
    size = path.stat().st_size
    if size != expected["bytes"]:
        raise _mismatch(path, "byte size", expected["bytes"], size)
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if digest != expected["sha256"]:
        raise _mismatch(path, "sha256", expected["sha256"], digest)


def verify_landed(landed_dir: Path, contract: Contract) -> VerifiedPartition:
    """Check a landed partition against its manifest and ``contract``; raise LandingVerificationError."""
    landed_dir = Path(landed_dir)
    manifest = _read_manifest(landed_dir)
    manifest_path = landed_dir / MANIFEST_NAME
    _check_contract(manifest, contract, manifest_path)
    if manifest.get("partition") != landed_dir.name:
        raise _mismatch(manifest_path, "partition", repr(landed_dir.name), repr(manifest.get("partition")))
    parquet = landed_dir / f"{contract.id}.parquet"
    if parquet.name not in manifest["files"]:
        raise _mismatch(manifest_path, "files", f"an entry for {parquet.name}", sorted(manifest["files"]))
    for name, expected in manifest["files"].items():
        _check_file(landed_dir / name, expected)
    metadata = pq.read_metadata(parquet)
    if metadata.num_rows != manifest["row_count"]:
        raise _mismatch(parquet, "row count", manifest["row_count"], metadata.num_rows)
    verified = VerifiedPartition(landed_dir, manifest, parquet)
    file_columns = metadata.schema.to_arrow_schema().names
    if file_columns != verified.columns:
        raise _mismatch(parquet, "columns", verified.columns, file_columns)
    unknown = [name for name in verified.columns if name not in {c.name for c in contract.landed_columns}]
    if unknown:
        raise _mismatch(parquet, "columns known to the contract", "all", f"unknown {unknown}")
    return verified


def _insert_sql(contract: Contract, table: str, landed_columns: list[str]) -> str:
    # Columns a later minor version added are absent from older files and stay NULL.
    columns = [c for c in contract.landed_columns if c.name in landed_columns]
    targets = [quote(c.name) for c in columns] + ['"_partition"', '"_run_id"', '"_loaded_at"']
    values = [f"CAST({quote(c.name)} AS {c.physical_type})" for c in columns] + ["$partition", "$run_id", "now()"]
    return (
        f"INSERT INTO {PUBLISHED}.{quote(table)} ({', '.join(targets)}) "
        f"SELECT {', '.join(values)} FROM {STAGING}.{quote(table)}"
    )


def _replace_partition(con: duckdb.DuckDBPyConnection, contract: Contract, table: str,
                       landed: VerifiedPartition) -> tuple[int, int]:
    con.begin()
    try:
        (replaced,) = con.execute(
            f"DELETE FROM {PUBLISHED}.{quote(table)} WHERE _partition = $partition",
            {"partition": landed.partition},
        ).fetchone()
        (inserted,) = con.execute(
            _insert_sql(contract, table, landed.columns),
            {"partition": landed.partition, "run_id": landed.manifest.get("run_id")},
        ).fetchone()
        if inserted != landed.manifest["row_count"]:
            raise WarehouseLoadError(f"inserted {inserted} rows, manifest row_count {landed.manifest['row_count']}")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return inserted, replaced


def load_partition(warehouse_path: Path, landed_dir: Path, contract: Contract) -> LoadResult:
    """Verify ``landed_dir`` and replace its partition in the published table for ``contract``."""
    landed = verify_landed(landed_dir, contract)
    with duckdb.connect(str(warehouse_path)) as con:
        table = ensure_published_table(con, contract)
        con.execute(
            f"CREATE OR REPLACE TABLE {STAGING}.{quote(table)} AS SELECT * FROM read_parquet($path)",
            {"path": str(landed.parquet)},
        )
        try:
            inserted, replaced = _replace_partition(con, contract, table, landed)
        except (duckdb.Error, WarehouseLoadError) as error:
            raise WarehouseLoadError(
                f"{landed.parquet}: loading partition {landed.partition} into {PUBLISHED}.{table} failed, "
                f"previous rows kept: {error}"
            ) from error
    return LoadResult(table=table, partition=landed.partition, rows=inserted, replaced_rows=replaced)
