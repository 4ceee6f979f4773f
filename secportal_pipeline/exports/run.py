"""One export materialization: read -> validate -> classify -> land -> log.

Dagster assets, the CLI and the tests all call ``export_partition``; it knows
nothing about Dagster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ..contracts.model import Contract
from ..contracts.validate import validate
from ..workspace.activity import record_event, utcnow
from . import activity_slice, exception_register, findings_snapshot
from . import dimensions, reports, scan_diff
from . import access_review, incident_register
from .classify import classify
from .landing import Landed, land_partition, landed_key_ids
from .leakcheck import assert_no_leaks
from .preflight import authorize_export
from .retention import check_retention
from .secrets import HmacKey, assert_same_key

Builder = Callable[[sa.Connection, Contract, str], pd.DataFrame]

BUILDERS: dict[str, Builder] = {
    "findings_snapshot": findings_snapshot.build,
    "dim_client": dimensions.build_clients,
    "dim_engagement": dimensions.build_engagements,
    "dim_asset": dimensions.build_assets,
    "scan_diff": scan_diff.build,
    "report_severity_distribution": reports.build_severity_distribution,
    "report_remediation_throughput": reports.build_remediation_throughput,
    "report_exception_summary": reports.build_exception_summary,
    "report_framework_coverage": reports.build_framework_coverage,
    "activity_slice": activity_slice.build,
    "exception_register": exception_register.build,
    "access_review": access_review.build,
    "incident_register": incident_register.build,
}


@dataclass(frozen=True)
class ExportResult:
    contract: Contract
    partition: str
    rows: int
    landed: Landed


def export_partition(
    engine: sa.Engine,
    contract: Contract,
    partition: str,
    *,
    landing_root: Path,
    key: HmacKey,
    run_id: str,
) -> ExportResult:
    """Materialize one partition of ``contract``'s export class into the landing zone.

    Nothing lands unless the canonical and the landed frames both meet the contract;
    the ``export.run`` entry is written only after the files are in place.
    """
    builder = BUILDERS.get(contract.id)
    if builder is None:
        raise KeyError(f"no export builder for contract {contract.id!r}; known: {sorted(BUILDERS)}")
    with engine.connect() as conn:
        # a partition the log no longer fully holds is refused before anything is read
        check_retention(conn, contract, partition, utcnow())
        # refused here, before the builder reads a row, if the account may not run it
        actor_id = authorize_export(conn, contract, utcnow()).user_id
        canonical = validate(builder(conn, contract, partition), contract, partition=partition)
    if any(c.treatment == "hashed" for c in contract.columns):
        assert_same_key(landed_key_ids(landing_root, contract), key, contract.id)
    landed_frame = validate(classify(canonical, contract, key.key), contract, partition=partition, landed=True)
    landed = land_partition(
        landed_frame, contract, partition, landing_root=landing_root, hmac_key_id=key.key_id,
        service_account=contract.service_account, run_id=run_id,
        check_staged=lambda staged: assert_no_leaks(canonical, contract, staged, partition),
    )
    with engine.begin() as conn:
        record_event(
            conn, actor_id=actor_id, entity_type="export", entity_id=f"{contract.id}:{partition}",
            action="export.run", occurred_at=utcnow(),
            metadata={"contract_id": contract.id, "contract_version": contract.version, "partition": partition,
                      "row_count": len(landed_frame), "run_id": run_id, "landing_dir": str(landed.directory)},
        )
    return ExportResult(contract, partition, len(landed_frame), landed)
