"""Reconciliation: warehouse vs manifest, and manifest vs workspace, on a real warehouse."""

from __future__ import annotations

import duckdb
import pytest

from secportal_pipeline.orchestration.checks import (MATCHES_MANIFEST, MATCHES_WORKSPACE, check_reconciled,
                                                     check_workspace)
from secportal_pipeline.workspace.findings import create_finding
from tests.warehouse.marts_world import CONTRACTS, DAYS, W1, W2, at, build_world
from tests.workspace.helpers import Small, finding_values


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


def test_both_checks_pass_on_a_faithful_load(world):
    for contract_id, keys in (("findings_snapshot", [W1, W2]), ("activity_slice", DAYS),
                              ("exception_register", [W1, W2])):
        contract = CONTRACTS[contract_id]
        assert check_reconciled(contract, world.landing, world.warehouse, keys).passed
        assert check_workspace(contract, world.landing, world.engine, keys).passed


def test_a_tampered_warehouse_partition_fails_naming_partition_and_both_counts(world):
    with duckdb.connect(str(world.warehouse)) as con:
        con.execute("DELETE FROM published.fact_finding_snapshot WHERE _partition = ? AND finding_id = ?",
                    [W1, world.ids["f1"]])
    result = check_reconciled(CONTRACTS["findings_snapshot"], world.landing, world.warehouse, [W1, W2])
    assert (result.check_name, result.passed) == (MATCHES_MANIFEST, False)
    assert result.description == "partition 2026-09-07: manifest 6 rows, warehouse 5 rows"


def test_a_workspace_change_after_landing_fails_naming_partition_and_both_counts(world):
    with world.engine.begin() as conn:  # a finding back-dated into the first week, after both weeks landed
        small = Small(engagement_id=1, intake=2, system=1, alice=0, bob=0, exporter=0)
        create_finding(conn, finding_values(small, 99, severity="low"), actor_id=small.intake, at=at(9))
    result = check_workspace(CONTRACTS["findings_snapshot"], world.landing, world.engine, [W1, W2])
    assert (result.check_name, result.passed) == (MATCHES_WORKSPACE, False)
    assert result.description == ("findings_snapshot partition 2026-09-07: manifest 6 rows, workspace 7 rows; "
                                  "findings_snapshot partition 2026-09-14: manifest 4 rows, workspace 5 rows")
    daily = check_workspace(CONTRACTS["activity_slice"], world.landing, world.engine, DAYS)
    assert not daily.passed and daily.metadata["mismatches"].value == {
        "2026-09-09": {"manifest": 5, "workspace": 6}}  # the back-dated creation event


def test_every_warehouse_asset_carries_both_blocking_reconciliation_checks(env):
    from secportal_pipeline.orchestration.checks import warehouse_asset_key
    from secportal_pipeline.orchestration.definitions import build_definitions

    defs = build_definitions()
    for contract in CONTRACTS.values():
        specs = {s.name: s for s in defs.resolve_assets_def(warehouse_asset_key(contract)).check_specs}
        assert specs[MATCHES_MANIFEST].blocking and specs[MATCHES_WORKSPACE].blocking, contract.id
