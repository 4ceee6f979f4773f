"""The weekly exception register: as of the week's end, with its decision chain, backfill-stable."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.exports import exception_register
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import create_finding, decide_exception, request_exception
from tests.conftest import REPO_ROOT
from tests.exports.export_helpers import add_export_account, export_runs, keyed
from tests.workspace.helpers import build_small, finding_values

CONTRACT = load_contract(REPO_ROOT / "contracts" / "exception_register.yaml")
W1, W2 = "2026-09-07", "2026-09-14"
RATIONALE = "Client Acme's payment outage window is in Q4"


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 9, day, hour, tzinfo=UTC)


def ask(conn, s, finding_id, day):
    return request_exception(
        conn, finding_id, compensating_controls="-WAF rule 9001 blocks the payload", residual_likelihood="low",
        residual_impact="medium", business_rationale=RATIONALE, expires_on=date(2026, 9, 15),
        review_cadence_days=30, actor_id=s.alice, at=at(day))


@pytest.fixture
def world(settings):
    engine = open_workspace(settings.workspace_url)
    s = build_small(engine)
    with engine.begin() as c:
        add_export_account(c, "svc-export-exceptions", "admin", s.system)
        f1 = create_finding(c, finding_values(s, 1), actor_id=s.intake, at=at(1))
        f2 = create_finding(c, finding_values(s, 2, severity="critical"), actor_id=s.intake, at=at(1))
        e1 = ask(c, s, f1, 8)
        decide_exception(c, e1, "approved", actor_id=s.bob, at=at(10))
    return engine, s, dict(f1=f1, f2=f2, e1=e1)


def later_weeks(engine, s, ids) -> int:
    """Week 2: e1 expires (exactly at the boundary it is week 2's), e2 is requested and stays pending."""
    with engine.begin() as c:
        decide_exception(c, ids["e1"], "expired", actor_id=s.system, at=datetime(2026, 9, 14, tzinfo=UTC))
        return ask(c, s, ids["f2"], 15)


def test_week_one_register_as_it_stood(world):
    engine, s, ids = world
    later_weeks(engine, s, ids)  # rebuilt from the log: what happened later does not leak back
    with engine.connect() as conn:
        (row,) = exception_register.build(conn, CONTRACT, W1).to_dict("records")
    assert row == {
        "register_week": W1, "exception_id": ids["e1"], "finding_id": ids["f1"], "engagement_id": s.engagement_id,
        "severity": "high", "compensating_controls": "-WAF rule 9001 blocks the payload",
        "residual_likelihood": "low", "residual_impact": "medium", "business_rationale": RATIONALE,
        "approver": "bob", "expires_on": "2026-09-15", "review_cadence_days": 30, "decision": "approved",
        "decided_at": pd.Timestamp(at(10)), "requested_at": pd.Timestamp(at(8)), "decision_count": 1,
        "previous_decision": "pending",
    }


def test_week_two_carries_the_decision_chain(world):
    engine, s, ids = world
    e2 = later_weeks(engine, s, ids)
    with engine.connect() as conn:
        frame = exception_register.build(conn, CONTRACT, W2)
    rows = {r["exception_id"]: r for r in frame.to_dict("records")}
    assert sorted(rows) == [ids["e1"], e2]
    e1 = rows[ids["e1"]]
    assert (e1["decision"], e1["decision_count"], e1["previous_decision"], e1["approver"]) == (
        "expired", 2, "approved", "bob")
    assert e1["decided_at"] == pd.Timestamp(datetime(2026, 9, 14, tzinfo=UTC))
    pending = rows[e2]
    assert (pending["decision"], pending["decision_count"], pending["approver"], pending["severity"]) == (
        "pending", 0, None, "critical")
    assert pd.isna(pending["previous_decision"]) and pd.isna(pending["decided_at"])


def test_a_backfill_lands_the_same_bytes_as_the_live_run(world, settings):
    engine, s, ids = world
    key = load_hmac_key()
    directory = settings.landing_root / "exception_register" / "v1" / W1
    names = ["exception_register.csv", "exception_register.parquet"]
    export_partition(engine, CONTRACT, W1, landing_root=settings.landing_root, key=key, run_id="live")
    live = {n: (directory / n).read_bytes() for n in names}
    later_weeks(engine, s, ids)
    export_partition(engine, CONTRACT, W1, landing_root=settings.landing_root, key=key, run_id="backfill")
    assert {n: (directory / n).read_bytes() for n in names} == live


def test_landed_register_redacts_hashes_neutralises_and_logs_the_run(world, settings):
    engine, s, ids = world
    later_weeks(engine, s, ids)
    result = export_partition(engine, CONTRACT, W2, landing_root=settings.landing_root, key=load_hmac_key(),
                              run_id="run-x")
    text = (result.landed.directory / "exception_register.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["business_rationale"] for r in rows] == ["[REDACTED]", "[REDACTED]"]
    assert [r["approver"] for r in rows] == [keyed("bob"), ""]
    assert rows[0]["compensating_controls"] == "'-WAF rule 9001 blocks the payload"  # formula-neutralised
    assert RATIONALE not in text and "Acme" not in text
    manifest = json.loads((result.landed.directory / "_manifest.json").read_text())
    assert (manifest["service_account"], manifest["row_count"]) == ("svc-export-exceptions", 2)
    assert export_runs(engine, "exception_register") == [(
        "svc-export-exceptions", f"exception_register:{W2}",
        {"contract_id": "exception_register", "contract_version": "1.0.1", "partition": W2, "row_count": 2,
         "run_id": "run-x", "landing_dir": str(result.landed.directory)},
    )]
