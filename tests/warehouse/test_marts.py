"""Each mart against values computed by hand on the workspace of marts_world.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest

from secportal_pipeline.warehouse.models import ModelError, build_models, load_models
from secportal_pipeline.warehouse.sla import SlaPolicyError, load_sla_policy
from tests.warehouse.marts_world import build_world

POLICY = {"critical": 7, "high": 30, "medium": 90, "low": 120}
S1, S2 = date(2026, 9, 7), date(2026, 9, 14)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = build_world(tmp_path_factory.mktemp("marts"))
    build_models(world.warehouse, POLICY)
    return world


def rows(world, sql, params=()):
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, list(params)).fetchall()


def test_every_model_file_documents_grain_inputs_and_definitions():
    models = load_models()
    assert {m.table for m in models.values()} >= {
        "published.dim_framework_control", "marts.finding_lifecycle", "marts.sla_attainment",
        "marts.remediation_throughput", "marts.override_frequency", "marts.ownership_rework_finding",
        "marts.ownership_rework_engagement", "marts.severity_distribution", "marts.exception_backlog",
        "marts.framework_coverage"}
    for model in models.values():
        assert model.grain and model.inputs and len(model.definitions) > 40, model.path


def test_lifecycle_latency_and_time_in_state(world):
    ids = world.ids
    got = {r[0]: r[1:] for r in rows(world, """
        SELECT finding_id, current_status, as_of, days_to_in_progress, days_to_resolved, days_to_verified,
               reopen_count, days_open, days_in_progress, days_resolved, days_verified, days_reopened
        FROM marts.finding_lifecycle""")}
    as_of = datetime(2026, 9, 18, tzinfo=UTC)  # the last day with activity is 17 September
    # f1: open 1 Sep 10:00 -> in_progress 3 Sep 10:00 -> resolved 8 Sep 10:00 -> (18 Sep 00:00)
    assert got[ids["f1"]] == ("resolved", as_of, 2.0, 7.0, None, 0, 2.0, 5.0, 9.5833, 0.0, 0.0)
    # f4: open 2 Sep 10:00 -> resolved 9 Sep -> reopened 15 Sep -> verified 17 Sep 10:00 -> (18 Sep 00:00)
    assert got[ids["f4"]] == ("verified", as_of, None, 7.0, 15.0, 1, 7.0, 0.0, 6.0, 0.5833, 2.0)
    # f3: open since 8 Sep 10:00, 9 days 14 hours
    assert got[ids["f3"]] == ("open", as_of, None, None, None, 0, 9.5833, 0.0, 0.0, 0.0, 0.0)
    assert len(got) == 6


def test_sla_attainment_per_week_and_severity(world):
    got = rows(world, "SELECT * FROM marts.sla_attainment ORDER BY week, sla_days")
    # week, severity, sla_days, within, late, open_breaching, open_within_sla, attainment; f5 (false positive) left out
    assert got == [
        (S1, "critical", 7, 0, 1, 0, 1, 0.0),  # f2 closed after 9 days; f3 open 5 d 14 h
        (S1, "high", 30, 1, 0, 0, 1, 1.0),  # f1 closed after 7 days; f6 (high since the override) open 5.5 d
        (S1, "medium", 90, 1, 0, 0, 0, 1.0),  # f4 resolved after 7 days
        (S1, "low", 120, 0, 0, 0, 0, None),
        (S2, "critical", 7, 0, 0, 1, 0, None),  # f3 open 12 d 14 h > 7
        (S2, "high", 30, 0, 0, 0, 1, None),
        (S2, "medium", 90, 1, 0, 0, 0, 1.0),  # f4 verified 17 Sep, 15 days after it opened
        (S2, "low", 120, 0, 0, 0, 0, None),
    ]


def test_sla_policy_is_configurable(world, tmp_path):
    assert load_sla_policy({}) == POLICY
    assert load_sla_policy({"SECPORTAL_SLA_DAYS": "critical=10, high=5"})["critical"] == 10
    policy_file = tmp_path / "sla.yaml"
    policy_file.write_text("critical: 10\nhigh: 5\n")
    policy = load_sla_policy({"SECPORTAL_SLA_POLICY_FILE": str(policy_file)})
    assert policy == {"critical": 10, "high": 5}
    with pytest.raises(SlaPolicyError, match="unknown severity 'urgent'"):
        load_sla_policy({"SECPORTAL_SLA_DAYS": "urgent=1"})
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(world.warehouse.read_bytes())
    build_models(copy, policy, only=["marts.false_positive_weeks", "marts.sla_attainment"])
    with duckdb.connect(str(copy), read_only=True) as con:
        got = con.execute("SELECT week, severity, resolved_within_sla, resolved_late, open_breaching "
                          "FROM marts.sla_attainment ORDER BY week, severity").fetchall()
    # f2 closed after 9 days (within 10 now); f1 after 7 days (late against 5); f6 open 5.5 and 12.5 days
    assert got == [(S1, "critical", 1, 0, 0), (S1, "high", 0, 1, 1), (S2, "critical", 0, 0, 1), (S2, "high", 0, 0, 1)]


def test_remediation_throughput_per_week_by_severity(world):
    got = rows(world, "SELECT * FROM marts.remediation_throughput ORDER BY week, severity")
    # week, severity, opened, resolved, reopened, net_change, open_at_week_end, median_days_to_close
    assert got == [
        (S1, "critical", 1, 1, 0, 0, 1, 9.0),
        (S1, "high", 1, 1, 0, 0, 1, 7.0),
        (S1, "info", 0, 0, 0, 0, 0, None),
        (S1, "low", 0, 0, 0, 0, 0, None),
        (S1, "medium", 0, 1, 0, -1, 0, 7.0),
        (S2, "critical", 0, 0, 0, 0, 1, None),
        (S2, "high", 0, 0, 0, 0, 1, None),
        (S2, "info", 0, 0, 0, 0, 0, None),
        (S2, "low", 0, 0, 0, 0, 0, None),
        (S2, "medium", 0, 1, 1, -1, 0, 15.0),
    ]


def test_override_frequency_and_recalibration_drift(world):
    got = rows(world, "SELECT * FROM marts.override_frequency ORDER BY week, kind")
    assert got == [
        (date(2026, 8, 31), "false_positive", "low", 1, 0, 0, 0),
        (S1, "severity_override", "medium", 1, 1, 0, 1),  # f6 medium -> high
    ]


def test_ownership_rework_per_finding_and_engagement(world):
    ids = world.ids
    got = {r[0]: r[1:] for r in rows(world, "SELECT finding_id, first_assigned_at, owner_changes, rework_changes "
                                            "FROM marts.ownership_rework_finding")}
    assert got[ids["f1"]] == (datetime(2026, 9, 2, 10, tzinfo=UTC), 1, 0)
    assert got[ids["f2"]] == (datetime(2026, 9, 2, 10, tzinfo=UTC), 2, 1)  # alice, then bob
    assert got[ids["f3"]] == (datetime(2026, 9, 8, 10, tzinfo=UTC), 1, 1)  # created with bob, then alice
    assert got[ids["f4"]] == got[ids["f5"]] == got[ids["f6"]] == (None, 0, 0)
    (engagement,) = rows(world, "SELECT findings, findings_assigned, findings_reworked, rework_changes, rework_rate "
                                "FROM marts.ownership_rework_engagement")
    assert engagement == (6, 3, 2, 2, 0.6667)


def test_severity_distribution_per_snapshot(world):
    got = rows(world, "SELECT * FROM marts.severity_distribution WHERE findings > 0 OR severity = 'low' "
                      "ORDER BY week, severity")
    # week, severity, findings, open_at_week_end, share_of_open; f5 (false positive) left out
    assert got == [
        (S1, "critical", 2, 1, 0.5), (S1, "high", 2, 1, 0.5), (S1, "low", 0, 0, 0.0), (S1, "medium", 1, 0, 0.0),
        (S2, "critical", 1, 1, 0.5), (S2, "high", 1, 1, 0.5), (S2, "low", 0, 0, 0.0), (S2, "medium", 1, 0, 0.0),
    ]


def test_exception_backlog_by_expiry_bucket(world):
    got = rows(world, "SELECT week, expiry_bucket, exceptions, approved, pending, critical_high, overdue_reviews "
                      "FROM marts.exception_backlog ORDER BY week, exceptions DESC, expiry_bucket")
    assert got == [
        # as of 14 Sep: e1 expires 1 Oct (17 days), e2 pending on a high finding
        (S1, "later", 1, 0, 1, 1, 0), (S1, "under_30_days", 1, 1, 0, 1, 0),
        (S1, "30_to_90_days", 0, 0, 0, 0, 0), (S1, "expired", 0, 0, 0, 0, 0),
        # as of 21 Sep: e1's weekly review was due 16 Sep 12:00; e2 approved, review in 90 days
        (S2, "later", 1, 1, 0, 1, 0), (S2, "under_30_days", 1, 1, 0, 1, 1),
        (S2, "30_to_90_days", 0, 0, 0, 0, 0), (S2, "expired", 0, 0, 0, 0, 0),
    ]


def test_framework_coverage_attestation_per_control(world):
    controls = rows(world, "SELECT count(*), count(DISTINCT framework) FROM published.dim_framework_control")
    assert controls[0][1] == 4 and controls[0][0] >= 20
    got = rows(world, "SELECT framework, control_id, findings_mapped, open_findings, open_critical_high, "
                      "closed_in_month, attestation, attestable FROM marts.framework_coverage "
                      "WHERE framework = 'ISO27001' AND findings_mapped > 0 ORDER BY control_id")
    assert got == [
        ("ISO27001", "A.8.24", 1, 0, 0, 1, "clear", True),  # f2 (CWE-319) resolved in September
        ("ISO27001", "A.8.28", 2, 1, 1, 1, "at_risk", False),  # f1 (CWE-79) resolved, f3 (CWE-89) critical open
    ]


def test_a_model_whose_input_is_not_loaded_names_it(tmp_path):
    with pytest.raises(ModelError, match="needs published.fact_activity_event"):
        build_models(tmp_path / "empty.duckdb", POLICY, only=["marts.finding_changes"])
