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
from ..workspace.accounts import user_id_for
from ..workspace.activity import record_event, utcnow
from . import findings_snapshot
from .classify import classify
from .landing import Landed, land_partition
from .secrets import HmacKey

Builder = Callable[[sa.Connection, Contract, str], pd.DataFrame]

BUILDERS: dict[str, Builder] = {
    "findings_snapshot": findings_snapshot.build,
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
        actor_id = user_id_for(conn, contract.service_account)
        canonical = validate(builder(conn, contract, partition), contract, partition=partition)
    landed_frame = validate(classify(canonical, contract, key.key), contract, partition=partition, landed=True)
    landed = land_partition(
        landed_frame, contract, partition, landing_root=landing_root, hmac_key_id=key.key_id,
        service_account=contract.service_account, run_id=run_id,
    )
    with engine.begin() as conn:
        record_event(
            conn, actor_id=actor_id, entity_type="export", entity_id=f"{contract.id}:{partition}",
            action="export.run", occurred_at=utcnow(),
            metadata={"contract_id": contract.id, "contract_version": contract.version, "partition": partition,
                      "row_count": len(landed_frame), "run_id": run_id, "landing_dir": str(landed.directory)},
        )
    return ExportResult(contract, partition, len(landed_frame), landed)
