"""Write one export partition into the landing zone, all or nothing.

Files go to a hidden temporary folder beside the target, the manifest is written
last, and the folder is swapped into place with renames, so a reader sees either
the previous complete partition or the new complete one, never a mix. A partition
folder without ``_manifest.json`` is incomplete by definition.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..contracts.model import Contract
from .excel import contract_workbook
from .neutralise import neutralise_frame

MANIFEST_NAME = "_manifest.json"


@dataclass(frozen=True)
class Landed:
    directory: Path
    manifest: dict[str, Any]

    @property
    def files(self) -> dict[str, Path]:
        return {name: self.directory / name for name in self.manifest["files"]}


def partition_dir(landing_root: Path, contract: Contract, partition: str) -> Path:
    return Path(landing_root) / contract.id / f"v{contract.major}" / partition


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    # no pandas metadata: the contract, not pandas, says what a column is
    return pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(_arrow_table(neutralise_frame(frame)), buffer)
    return buffer.getvalue()


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(_arrow_table(frame), buffer, compression="zstd", write_statistics=True)
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def land_partition(
    frame: pd.DataFrame,
    contract: Contract,
    partition: str,
    *,
    landing_root: Path,
    hmac_key_id: str,
    service_account: str,
    run_id: str,
    extra_files: dict[str, bytes] | None = None,
    check_staged: Callable[[Path], None] | None = None,
) -> Landed:
    """Land ``frame`` (already classified and validated) as CSV, Parquet and manifest.

    ``check_staged`` is called on the staging folder once the data files are written and
    before the manifest: if it raises, nothing lands and the previous partition stays.
    """
    payloads = {
        f"{contract.id}.csv": _csv_bytes(frame),
        f"{contract.id}.parquet": _parquet_bytes(frame),
        # a person opens this class in Excel: typed, neutralised, no formulas (excel.py)
        **({f"{contract.id}.xlsx": contract_workbook(frame, contract, partition)} if contract.people_read else {}),
        **(extra_files or {}),
    }
    manifest = {
        "contract_id": contract.id,
        "contract_version": contract.version,
        "export_class": contract.id,
        "partition": partition,
        "row_count": len(frame),
        "columns": [
            {"name": c.name, "logical_type": c.logical_type, "physical_type": c.physical_type,
             "treatment": c.treatment}
            for c in contract.landed_columns
        ],
        "classification_policy": {c.name: c.treatment for c in contract.columns},
        "hmac_key_id": hmac_key_id,
        "service_account": service_account,
        "run_id": run_id,
    }
    target = partition_dir(landing_root, contract, partition)
    manifest = land_files(target, payloads, manifest, check_staged=check_staged)
    return Landed(target, manifest)


def _swap_into_place(staging: Path, target: Path) -> None:
    previous = None
    if target.exists():
        previous = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
        target.rename(previous)
    try:
        staging.rename(target)
    except BaseException:
        if previous is not None:
            previous.rename(target)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def landed_key_ids(landing_root: Path, contract: Contract) -> dict[str, str]:
    """Partition -> HMAC key id of every landed partition of ``contract``'s current major."""
    root = Path(landing_root) / contract.id / f"v{contract.major}"
    found = {}
    for manifest in root.glob(f"*/{MANIFEST_NAME}"):
        key_id = json.loads(manifest.read_text(encoding="utf-8")).get("hmac_key_id")
        if key_id:
            found[manifest.parent.name] = key_id
    return found


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        raise FileNotFoundError(f"{directory}: no {MANIFEST_NAME}, so the partition is incomplete and cannot be loaded")
    return json.loads(path.read_text(encoding="utf-8"))


def land_files(target: Path, payloads: dict[str, bytes], manifest: dict[str, Any], *,
               check_staged: Callable[[Path], None] | None = None) -> dict[str, Any]:
    """Land ``payloads`` in ``target``: staged, checked, manifest last, swapped in.

    The manifest written is ``manifest`` plus the sha256 and size of each file and the
    landing time; it is returned. ``check_staged`` sees the staged files before the
    manifest exists: if it raises, nothing lands and the previous folder stays.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        for name, data in payloads.items():
            _write(staging / name, data)
        if check_staged is not None:
            check_staged(staging)
        manifest = {**manifest,
                    "files": {name: {"sha256": _sha256(data), "bytes": len(data)} for name, data in payloads.items()},
                    "landed_at": datetime.now(UTC).isoformat()}
        _write(staging / MANIFEST_NAME, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest
