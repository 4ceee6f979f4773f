"""The demo pipeline end to end, in-process, in a temporary directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from secportal_pipeline.demo.history import DEFAULT_FIRST_MONDAY
from secportal_pipeline.demo.run import run_demo
from secportal_pipeline.workspace.db import make_engine
from secportal_pipeline.workspace.schema import activity_log, findings

WEEKS = 3


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECPORTAL_DATA_DIR", str(root / "data"))
        mp.setenv("SECPORTAL_HMAC_KEY", "k" * 64)
        from secportal_pipeline.config import load_settings

        settings = load_settings()
        lines: list[str] = []
        with dg.instance_for_test() as instance:
            figures = run_demo(settings, weeks=WEEKS, echo=lines.append, instance=instance)
            runs = instance.get_runs()
        yield settings, figures, lines, runs


def test_every_week_lands_with_a_manifest_and_loads(demo):
    settings, figures, _, runs = demo
    weeks = [(DEFAULT_FIRST_MONDAY + timedelta(weeks=i)).isoformat() for i in range(WEEKS)]
    manifests = {w: json.loads((settings.landing_root / "findings_snapshot" / "v1" / w / "_manifest.json").read_text())
                 for w in weeks}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        loaded = dict(con.execute("SELECT _partition, count(*) FROM published.fact_finding_snapshot GROUP BY 1").fetchall())
    assert loaded == {w: m["row_count"] for w, m in manifests.items()}
    assert all(m["row_count"] > 0 for m in manifests.values())
    assert figures["warehouse"]["fact_finding_snapshot"] == sum(loaded.values())
    assert len([r for r in runs if r.job_name == "weekly_exports"]) == WEEKS and all(r.is_success for r in runs)


def test_last_week_matches_the_workspace_as_it_stands_now(demo):
    """The history ends with the last week, so its snapshot equals today's findings table."""
    settings, *_ = demo
    last = (DEFAULT_FIRST_MONDAY + timedelta(weeks=WEEKS - 1)).isoformat()
    start = datetime.fromisoformat(last).replace(tzinfo=UTC)
    engine = make_engine(settings.workspace_url)
    with engine.connect() as conn:
        current = conn.execute(
            sa.select(findings.c.finding_id, findings.c.status, findings.c.severity)
            .where(findings.c.opened_at < start + timedelta(days=7))
            .where(sa.or_(findings.c.closed_at.is_(None), findings.c.closed_at >= start))
        ).all()
    landed = pd.read_parquet(settings.landing_root / "findings_snapshot" / "v1" / last / "findings_snapshot.parquet")
    assert sorted(map(tuple, current)) == sorted(
        zip(landed["finding_id"].tolist(), landed["status"].tolist(), landed["severity"].tolist()))


def test_summary_says_where_everything_landed(demo):
    settings, _, lines, _ = demo
    text = "\n".join(lines)
    assert f"warehouse   {settings.warehouse_path}" in text
    manifests = len(list(settings.landing_root.glob("*/v*/*/_manifest.json")))
    assert f"landing     {settings.landing_root}  ({manifests} partitions with a manifest)" in text
    assert "published.fact_finding_snapshot:" in text


def test_every_day_lands_its_activity_slice_in_one_run_and_every_week_its_register(demo):
    settings, figures, lines, runs = demo
    days = [(DEFAULT_FIRST_MONDAY + timedelta(days=i)).isoformat() for i in range(7 * WEEKS)]
    slices = {d: json.loads((settings.landing_root / "activity_slice" / "v1" / d / "_manifest.json").read_text())
              ["row_count"] for d in days}
    start = datetime.fromisoformat(days[0]).replace(tzinfo=UTC)
    with make_engine(settings.workspace_url).connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(activity_log).where(
            activity_log.c.occurred_at >= start, activity_log.c.occurred_at < start + timedelta(days=7 * WEEKS))
        ).scalar_one()
    assert sum(slices.values()) == events == figures["warehouse"]["fact_activity_event"]
    assert [r.job_name for r in runs].count("daily_exports") == 1
    weeks = [(DEFAULT_FIRST_MONDAY + timedelta(weeks=i)).isoformat() for i in range(WEEKS)]
    registers = [json.loads((settings.landing_root / "exception_register" / "v1" / w / "_manifest.json").read_text())
                 ["row_count"] for w in weeks]
    assert registers == sorted(registers) and registers[-1] > 0  # exceptions accumulate in the register
    assert figures["warehouse"]["fact_exception"] == sum(registers)
    assert any(f"activity_slice {events} rows over {7 * WEEKS} daily partitions" in line for line in lines)


def test_monthly_classes_and_every_scan_diff_land_in_one_run_each(demo):
    settings, figures, lines, runs = demo
    months = ["2026-08-01", "2026-09-01"]  # the three weeks from 31 August touch two months
    for name in ("dim_client", "dim_engagement", "dim_asset", "report_severity_distribution",
                 "report_remediation_throughput", "report_exception_summary", "report_framework_coverage"):
        assert sorted(p.name for p in (settings.landing_root / name / "v1").iterdir()) == months, name
    assert (settings.landing_root / "report_framework_coverage" / "v1" / "2026-09-01" /
            "report_framework_coverage.xlsx").exists()
    # the four report tables of each month also land together, one sheet each, in the monthly report
    for month in months:
        assert sorted(p.name for p in (settings.landing_root / "monthly_report" / month).iterdir()) == [
            "_manifest.json", "monthly_report.xlsx"]
    assert any(f"monthly report workbook (one sheet per report table) landed for {', '.join(months)}" in line
               for line in lines)
    diffs = sorted(int(p.name) for p in (settings.landing_root / "scan_diff" / "v1").iterdir())
    assert diffs == list(range(1, figures["workspace"]["scan_executions"] + 1))
    assert figures["warehouse"]["fact_scan_diff"] > 0
    assert [r.job_name for r in runs].count("monthly_exports") == 1
    assert [r.job_name for r in runs].count("per_scan_exports") == 1
    assert any("dimension key gap" in line and "staging.initech-finance.example" in line for line in lines)
