"""A partition older than the workspace's activity retention is refused and nothing lands."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from secportal_pipeline.exports import run as export_run
from secportal_pipeline.exports.retention import RetentionExceeded
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.workspace.retention import (DEFAULT_RETENTION_DAYS, RetentionSettingError, retention_days,
                                                    set_retention_days)
from tests.warehouse.marts_world import CONTRACTS, KEY, W1, build_history
from secportal_pipeline.workspace.db import open_workspace

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)  # W1 (7 Sep) is 87 days back, September's month 93


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setattr(export_run, "utcnow", lambda: NOW)
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    build_history(engine)
    return engine


def test_default_retention_is_365_days_and_keeps_the_demo_history(engine, tmp_path):
    with engine.connect() as conn:
        assert retention_days(conn) == DEFAULT_RETENTION_DAYS == 365
    landed = export_partition(engine, CONTRACTS["findings_snapshot"], W1, landing_root=tmp_path / "landing",
                              key=KEY, run_id="r")
    assert landed.rows == 6


@pytest.mark.parametrize(("contract_id", "partition", "starts"), [
    ("findings_snapshot", W1, "2026-09-07"), ("activity_slice", "2026-09-01", "2026-09-01"),
    ("report_framework_coverage", "2026-09-01", "2026-09-01")])
def test_a_partition_older_than_a_30_day_plan_is_refused_and_nothing_lands(engine, tmp_path, contract_id,
                                                                          partition, starts):
    with engine.begin() as conn:
        set_retention_days(conn, 30, actor_id=1, at=NOW)
    landing = tmp_path / "landing"
    with pytest.raises(RetentionExceeded) as refused:
        export_partition(engine, CONTRACTS[contract_id], partition, landing_root=landing, key=KEY, run_id="r")
    assert str(refused.value) == (
        f"export {contract_id}: partition {partition} starts {starts}, before the workspace's activity retention "
        "of 30 days (nothing older than 2026-11-03 12:00 UTC is kept; workspace setting retention_days), so it "
        "cannot be rebuilt from the log; nothing was landed")
    assert not landing.exists() or not any(landing.rglob("*.*"))


def test_a_90_day_plan_still_rebuilds_week_one_but_not_august(engine, tmp_path):
    with engine.begin() as conn:
        set_retention_days(conn, 90, actor_id=1, at=NOW)
    assert export_partition(engine, CONTRACTS["findings_snapshot"], W1, landing_root=tmp_path / "l", key=KEY,
                            run_id="r").rows == 6
    with pytest.raises(RetentionExceeded, match="partition 2026-08-31 starts 2026-08-31"):
        export_partition(engine, CONTRACTS["findings_snapshot"], "2026-08-31", landing_root=tmp_path / "l",
                         key=KEY, run_id="r")


def test_only_the_plans_retentions_are_accepted(engine):
    with engine.begin() as conn, pytest.raises(RetentionSettingError, match="the plans offer 30, 90, 365"):
        set_retention_days(conn, 60, actor_id=1, at=NOW)
