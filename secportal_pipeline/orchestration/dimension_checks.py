"""The dimension key gap: findings whose asset_ref the verified-domain registry does not hold.

Severity WARN, not blocking: the intake deliberately accepts scans of unregistered
assets (they go to the "Unassigned intake" engagement), and the registry rows that do
exist are still right, so holding back dim_asset for every other asset would punish
the warehouse for a GRC task (verify or retire the host). The check fails loudly
with the offending references and their finding counts in its metadata.
"""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from ..contracts.model import Contract
from ..exports.dimensions import key_gaps

DIMENSION_KEY_GAP = "dimension_key_gap"
ASSET_DIMENSION = "dim_asset"


def extra_check_specs(contract: Contract) -> list[dg.AssetCheckSpec]:
    """Checks particular to one export class, beyond the contract check every class has."""
    if contract.id != ASSET_DIMENSION:
        return []
    return [dg.AssetCheckSpec(
        DIMENSION_KEY_GAP, asset=contract.id, blocking=False,
        description="Every finding's asset_ref is in the verified-domain registry as of the month's end "
                    "(WARN: lists the unregistered references).",
    )]


def check_key_gap(engine: sa.Engine, partitions: list[str]) -> dg.AssetCheckResult:
    with engine.connect() as conn:
        gaps = {partition: key_gaps(conn, partition) for partition in partitions}
    offending = sorted({ref for per in gaps.values() for ref in per})
    metadata = {
        "offending_asset_refs": dg.MetadataValue.json(offending),
        "gaps_by_partition": dg.MetadataValue.json(gaps),
        "findings_without_registered_asset": dg.MetadataValue.int(
            max((sum(g["findings"] for g in per.values()) for per in gaps.values()), default=0)),
    }
    if not offending:
        return dg.AssetCheckResult(check_name=DIMENSION_KEY_GAP, passed=True, metadata=metadata)
    latest = gaps[partitions[-1]]
    text = ", ".join(f"{ref} ({gap['findings']} findings)" for ref, gap in latest.items()) or ", ".join(offending)
    return dg.AssetCheckResult(
        check_name=DIMENSION_KEY_GAP, passed=False, severity=dg.AssetCheckSeverity.WARN,
        description=f"dimension key gap: findings reference assets missing from the registry: {text}",
        metadata=metadata,
    )


def extra_check_results(contract: Contract, engine: sa.Engine, partitions: list[str]) -> list[dg.AssetCheckResult]:
    if contract.id != ASSET_DIMENSION:
        return []
    return [check_key_gap(engine, partitions)]
