"""dim_client, dim_engagement, dim_asset as of each month's end, and the dimension key gap."""

from __future__ import annotations


import dagster as dg
import pandas as pd
import pytest

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.contracts.validate import validate
from secportal_pipeline.exports import dimensions
from secportal_pipeline.exports.asof import replay
from secportal_pipeline.exports.events import entity_events
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.exports.windows import BadPartition
from secportal_pipeline.orchestration.definitions import build_definitions
from secportal_pipeline.orchestration.runner import run_partitions
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import create_finding
from tests.conftest import REPO_ROOT
from tests.exports.export_helpers import keyed
from tests.exports.monthly_world import OCT, SEP, at, export_accounts, registry
from tests.workspace.helpers import build_small, finding_values

CONTRACTS = {name: load_contract(REPO_ROOT / "contracts" / f"{name}.yaml")
             for name in ("dim_client", "dim_engagement", "dim_asset")}


@pytest.fixture
def workspace(settings):
    engine = open_workspace(settings.workspace_url)
    small = build_small(engine)
    reg = registry(engine, small)
    with engine.begin() as c:
        create_finding(c, finding_values(small, 1, asset_ref="portal.acme.example"), actor_id=small.intake, at=at(9, 3))
        create_finding(c, finding_values(small, 2, asset_ref="staging.acme.example"), actor_id=small.intake, at=at(9, 3))
        create_finding(c, finding_values(small, 3, asset_ref="staging.acme.example"), actor_id=small.intake, at=at(9, 4))
        # scanned in September, registered only in October: a gap in September, none after
        create_finding(c, finding_values(small, 4, asset_ref="api.globex.example"), actor_id=small.intake, at=at(9, 20))
        create_finding(c, finding_values(small, 5, asset_ref="new.acme.example"), actor_id=small.intake, at=at(11, 2))
    return engine, small, reg


def _rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame[list(columns)].itertuples(index=False)]


def test_replay_keeps_text_keys_of_the_registry(workspace):
    engine, *_ = workspace
    with engine.connect() as conn:
        state = replay(entity_events(conn, "verified_domain", at(12, 1)), at(12, 1), key=str)
    assert state["api.globex.example"]["status"] == "verified"
    assert state["api.globex.example"]["id"] == "api.globex.example"


def test_dimensions_stand_as_at_each_months_end(workspace):
    engine, small, reg = workspace
    with engine.connect() as conn:
        clients = {m: dimensions.build_clients(conn, CONTRACTS["dim_client"], m) for m in (SEP, OCT)}
        engagements = {m: dimensions.build_engagements(conn, CONTRACTS["dim_engagement"], m) for m in (SEP, OCT)}
        assets = {m: dimensions.build_assets(conn, CONTRACTS["dim_asset"], m) for m in (SEP, OCT)}
    assert _rows(clients[SEP], "month", "client_id", "name") == [(SEP, reg.acme, "Acme")]
    assert _rows(clients[OCT], "client_id", "name") == [(reg.acme, "Acme"), (reg.globex, "Globex")]
    assert _rows(engagements[SEP], "engagement_id", "status", "owner", "ended_at") == \
        [(small.engagement_id, "active", "bob", None)]
    assert _rows(engagements[OCT], "status", "ended_at") == [("completed", at(10, 10))]
    assert _rows(assets[SEP], "asset_ref", "client_id", "verification_method", "verified_at", "status") == \
        [("portal.acme.example", reg.acme, "dns_txt", at(9, 2), "verified")]
    assert _rows(assets[OCT], "asset_ref", "client_id", "verification_method", "verified_at", "status") == [
        ("api.globex.example", reg.globex, "html_meta", at(10, 20), "verified"),
        ("portal.acme.example", reg.acme, "dns_txt", at(9, 2), "verified"),
    ]
    for name, frames in (("dim_client", clients), ("dim_engagement", engagements), ("dim_asset", assets)):
        for month, frame in frames.items():
            validate(frame, CONTRACTS[name], partition=month)


def test_key_gap_lists_unregistered_asset_refs_as_of_the_month(workspace):
    engine, *_ = workspace
    with engine.connect() as conn:
        september, october = dimensions.key_gaps(conn, SEP), dimensions.key_gaps(conn, OCT)
    assert {ref: gap["findings"] for ref, gap in september.items()} == \
        {"api.globex.example": 1, "staging.acme.example": 2}
    assert {ref: gap["findings"] for ref, gap in october.items()} == {"staging.acme.example": 2}
    assert october["staging.acme.example"]["finding_ids"] == [2, 3]


def test_a_monthly_key_is_the_first_of_a_month(workspace):
    engine, *_ = workspace
    with engine.connect() as conn, pytest.raises(BadPartition, match="first day of a month"):
        dimensions.build_assets(conn, CONTRACTS["dim_asset"], "2026-09-07")


def test_landed_engagement_owner_is_the_keyed_hash(workspace, settings):
    engine, small, _ = workspace
    export_accounts(engine, small)
    result = export_partition(engine, CONTRACTS["dim_engagement"], SEP, landing_root=settings.landing_root,
                              key=load_hmac_key(), run_id="test")
    landed = pd.read_parquet(result.landed.files["dim_engagement.parquet"])
    assert landed["owner"].tolist() == [keyed("bob")]
    assert "dim_engagement.xlsx" not in result.landed.manifest["files"]  # not read by people


def test_monthly_job_warns_of_the_key_gap_with_the_offending_references(workspace, settings):
    engine, small, _ = workspace
    export_accounts(engine, small)
    defs = build_definitions()
    with dg.instance_for_test() as instance:
        (result,) = run_partitions(defs, "monthly_exports", [OCT], instance)
    (gap,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "dimension_key_gap"]
    assert not gap.passed and gap.severity == dg.AssetCheckSeverity.WARN
    assert gap.metadata["offending_asset_refs"].value == ["staging.acme.example"]
    assert "staging.acme.example (2 findings)" in gap.description
    assert result.success  # WARN: the dimension still lands and loads
    assert (settings.landing_root / "dim_asset" / "v1" / OCT / "_manifest.json").exists()
