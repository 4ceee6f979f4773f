"""The daily activity slice: the day's events, actors hashed, metadata masked, the run logged."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.exports import activity_slice
from secportal_pipeline.exports.jsonmask import mask_text
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import load_hmac_key
from secportal_pipeline.workspace.activity import record_event
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import create_finding, set_status
from secportal_pipeline.workspace.schema import activity_log
from tests.conftest import REPO_ROOT
from tests.exports.export_helpers import add_export_account, export_runs, keyed
from tests.workspace.helpers import build_small, finding_values

CONTRACT = load_contract(REPO_ROOT / "contracts" / "activity_slice.yaml")
DAY = "2026-09-08"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 9, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def workspace(settings):
    engine = open_workspace(settings.workspace_url)
    s = build_small(engine)
    with engine.begin() as c:
        add_export_account(c, "svc-export-activity", "member", s.system)
        before = create_finding(c, finding_values(s, 1), actor_id=s.intake, at=at(7, 23, 59))
        f2 = create_finding(c, finding_values(s, 2, description="=HYPERLINK(\"http://x\") secret text"),
                            actor_id=s.intake, at=at(8, 0))
        set_status(c, f2, "in_progress", actor_id=s.alice, at=at(8, 14))
        record_event(c, actor_id=s.bob, entity_type="finding", entity_id=f2, action="finding.commented",
                     occurred_at=at(8, 15), metadata={"comment": "call alice@acme.example about it"})
        set_status(c, before, "resolved", actor_id=s.bob, at=at(9, 0))  # the next day's first event
        ids = [r for (r,) in c.execute(sa.select(activity_log.c.event_id)
                                       .where(activity_log.c.occurred_at >= at(8, 0))
                                       .where(activity_log.c.occurred_at < at(9, 0))
                                       .order_by(activity_log.c.event_id))]
    return engine, s, f2, ids


def test_the_slice_holds_exactly_the_days_events_with_actor_and_payload(workspace):
    engine, s, f2, ids = workspace
    with engine.connect() as conn:
        frame = activity_slice.build(conn, CONTRACT, DAY)
    rows = frame.to_dict("records")
    assert [r["event_id"] for r in rows] == ids and len(ids) == 3
    assert [(r["actor"], r["actor_is_service_account"], r["entity_type"], r["entity_id"], r["action"])
            for r in rows] == [
        ("svc-intake", True, "finding", str(f2), "finding.created"),
        ("alice", False, "finding", str(f2), "finding.updated"),
        ("bob", False, "finding", str(f2), "finding.commented"),
    ]
    assert rows[0]["occurred_at"] == at(8, 0) and set(frame["activity_date"]) == {DAY}
    assert rows[1]["metadata"] == '{"changes":[{"field":"status","from":"open","to":"in_progress"}]}'
    assert rows[2]["metadata"] == '{"comment":"call alice@acme.example about it"}'


def test_the_mask_keeps_keys_enumerations_and_ids_and_hides_text():
    keep = CONTRACT.column("metadata").keep_keys
    created = json.dumps({"initial": {"title": "SQLi", "description": "payload ' OR 1=1", "severity": "high",
                                      "engagement_id": 3, "owner_id": 7, "cve": ["CVE-2026-0001"], "closed_at": None}})
    assert mask_text(created, keep) == (
        '{"initial":{"closed_at":null,"cve":["CVE-2026-0001"],"description":"[REDACTED]","engagement_id":3,'
        '"owner_id":"[REDACTED]","severity":"high","title":"[REDACTED]"}}')
    changes = json.dumps({"changes": [{"field": "evidence", "from": "old proof", "to": "new proof"},
                                      {"field": "status", "from": "open", "to": "resolved"}]})
    assert mask_text(changes, keep) == (
        '{"changes":[{"field":"evidence","from":"[REDACTED]","to":"[REDACTED]"},'
        '{"field":"status","from":"open","to":"resolved"}]}')
    assert mask_text("not json", keep) == "[REDACTED]"


def test_landed_slice_is_hashed_masked_neutral_and_logged(workspace, settings):
    engine, s, f2, ids = workspace
    result = export_partition(engine, CONTRACT, DAY, landing_root=settings.landing_root, key=load_hmac_key(),
                              run_id="run-a")
    directory = settings.landing_root / "activity_slice" / "v1" / DAY
    assert result.landed.directory == directory and result.rows == 3
    text = (directory / "activity_slice.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["actor"] for r in rows] == [keyed("svc-intake"), keyed("alice"), keyed("bob")]
    assert [r["actor_is_service_account"] for r in rows] == ["true", "false", "false"]
    assert rows[2]["metadata"] == '{"comment":"[REDACTED]"}'
    created = json.loads(rows[0]["metadata"])["initial"]
    assert created["description"] == "[REDACTED]" and created["severity"] == "high"
    assert created["fingerprint"] == "[REDACTED]" and created["asset_ref"] == "portal.acme.example"
    for secret in ("secret text", "alice@acme.example", "HYPERLINK", "svc-intake"):
        assert secret not in text
    parquet = pd.read_parquet(directory / "activity_slice.parquet")
    assert parquet["metadata"].tolist() == [r["metadata"] for r in rows]
    manifest = json.loads((directory / "_manifest.json").read_text())
    assert manifest["service_account"] == "svc-export-activity"
    assert manifest["classification_policy"]["metadata"] == "redacted"
    assert manifest["classification_policy"]["actor"] == "hashed"
    assert export_runs(engine, "activity_slice") == [(
        "svc-export-activity", f"activity_slice:{DAY}",
        {"contract_id": "activity_slice", "contract_version": "1.0.1", "partition": DAY, "row_count": 3,
         "run_id": "run-a", "landing_dir": str(directory)},
    )]


def test_a_rerun_gives_identical_files(workspace, settings):
    engine, *_ = workspace
    key = load_hmac_key()
    directory = settings.landing_root / "activity_slice" / "v1" / DAY
    names = ["activity_slice.csv", "activity_slice.parquet"]
    export_partition(engine, CONTRACT, DAY, landing_root=settings.landing_root, key=key, run_id="1")
    first = {n: (directory / n).read_bytes() for n in names}
    export_partition(engine, CONTRACT, DAY, landing_root=settings.landing_root, key=key, run_id="2")
    assert {n: (directory / n).read_bytes() for n in names} == first


def test_an_empty_day_lands_an_empty_slice(workspace, settings):
    engine, *_ = workspace
    result = export_partition(engine, CONTRACT, "2026-09-20", landing_root=settings.landing_root,
                              key=load_hmac_key(), run_id="r")
    assert result.rows == 0
    header = (result.landed.directory / "activity_slice.csv").read_text().splitlines()
    assert header == ['"activity_date","event_id","occurred_at","recorded_at","actor","actor_is_service_account",'
                      '"entity_type","entity_id","action","metadata"']
