"""Report workbooks: the report tables of one partition in one workbook a person opens.

Built only from landed files, never from the workspace: each member class's partition
is verified against its manifest with the warehouse loader's own ``verify_landed``
(contract, partition, columns, row count, size and sha256 of every file), its Parquet
bytes are checked against that sha256 once more as they are read, and the sheets are
written by ``exports/excel.py`` (typed cells, frozen header, widths, neutralised text,
deterministic bytes). Which classes a workbook holds, its sheet names and their order
come from the contracts (customProperties ``workbook``, ``sheetName``, ``sheetPosition``).

The workbook lands atomically under ``landing/<workbook>/<partition>/<workbook>.xlsx``
with a manifest naming every source file and its sha256, so a reader can tell exactly
which landed partitions it shows.
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contracts.model import Contract
from ..contracts.schema import dtype_for
from ..exports.excel import created_for, sheet_for, workbook_bytes
from ..exports.landing import MANIFEST_NAME, land_files, partition_dir
from ..warehouse.loader import LandingVerificationError, VerifiedPartition, verify_landed

MONTHLY_REPORT = "monthly_report"


class WorkbookError(ValueError):
    """Contracts that do not describe a workbook consistently (positions, cadence)."""


@dataclass(frozen=True)
class LandedWorkbook:
    directory: Path
    manifest: dict[str, Any]

    @property
    def path(self) -> Path:
        return self.directory / self.manifest["workbook_file"]


def workbooks(contracts: dict[str, Contract]) -> dict[str, list[Contract]]:
    """Each workbook named by a contract, with its member contracts in sheet order."""
    found: dict[str, list[Contract]] = defaultdict(list)
    for contract in contracts.values():
        if contract.custom.get("workbook"):
            found[str(contract.custom["workbook"])].append(contract)
    out = {}
    for name, members in sorted(found.items()):
        positions = [m.custom.get("sheetPosition") for m in members]
        if any(not isinstance(p, int) for p in positions) or len(set(positions)) != len(positions):
            raise WorkbookError(f"workbook {name!r}: every member needs its own integer sheetPosition; found "
                                f"{dict(zip((m.id for m in members), positions, strict=True))}")
        cadences = {m.custom.get("partitioning", "weekly") for m in members}
        if len(cadences) != 1:
            raise WorkbookError(f"workbook {name!r}: members are partitioned {sorted(cadences)}; one cadence needed")
        out[name] = sorted(members, key=lambda m: m.custom["sheetPosition"])
    return out


def workbook_dir(landing_root: Path, workbook: str, partition: str) -> Path:
    return Path(landing_root) / workbook / partition


def read_verified(verified: VerifiedPartition, contract: Contract) -> pd.DataFrame:
    """The verified partition's Parquet with the contract's landed dtypes, from bytes whose sha256 matches."""
    data = verified.parquet.read_bytes()
    expected = verified.manifest["files"][verified.parquet.name]["sha256"]
    if hashlib.sha256(data).hexdigest() != expected:  # re-landed between the check and the read
        raise LandingVerificationError(f"{verified.parquet}: sha256 changed while it was being read; run again")
    frame = pd.read_parquet(io.BytesIO(data))
    for column in contract.landed_columns:
        frame[column.name] = frame[column.name].astype(dtype_for(column, landed=True))
    return frame


def land_workbook(workbook: str, members: list[Contract], partition: str, *, landing_root: Path,
                  run_id: str) -> LandedWorkbook:
    """Assemble ``workbook`` for ``partition`` from its members' landed files and land it."""
    sheets, sources = [], []
    for contract in members:
        directory = partition_dir(landing_root, contract, partition)
        verified = verify_landed(directory, contract)
        frame = read_verified(verified, contract)
        sheet = sheet_for(contract, frame)
        sheets.append(sheet)
        sources.append({
            "sheet": sheet.name, "contract_id": contract.id,
            "contract_version": verified.manifest["contract_version"], "rows": len(frame),
            "file": verified.parquet.relative_to(landing_root).as_posix(),
            "sha256": verified.manifest["files"][verified.parquet.name]["sha256"],
            "manifest": (directory / MANIFEST_NAME).relative_to(landing_root).as_posix(),
            "source_run_id": verified.manifest["run_id"],
            "hmac_key_id": verified.manifest["hmac_key_id"],
        })
    title = f"{workbook.replace('_', ' ').capitalize()} {partition}"
    data = workbook_bytes(sheets, created=created_for(partition), title=title)
    name = f"{workbook}.xlsx"
    target = workbook_dir(landing_root, workbook, partition)
    manifest = land_files(target, {name: data}, {
        "workbook": workbook, "workbook_file": name, "partition": partition, "sources": sources,
        # the key id(s) its sources were classified under (never the key), as every landed manifest records
        "hmac_key_id": ",".join(sorted({s["hmac_key_id"] for s in sources})), "run_id": run_id,
    })
    return LandedWorkbook(target, manifest)
