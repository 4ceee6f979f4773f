"""The monthly report tables: exact figures for October 2026 on a hand-built workspace."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.contracts.validate import validate
from secportal_pipeline.exports import reports
from secportal_pipeline.workspace.controls import control_catalogue, controls_for
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import (
    apply_override,
    create_finding,
    decide_exception,
    request_exception,
    set_status,
)
from secportal_pipeline.workspace.schema import activity_log, finding_controls
from tests.conftest import REPO_ROOT
from tests.exports.monthly_world import OCT, at, registry
from tests.workspace.helpers import build_small, finding_values

CONTRACTS = {name: load_contract(REPO_ROOT / "contracts" / f"report_{name}.yaml")
             for name in ("severity_distribution", "remediation_throughput", "exception_summary",
                          "framework_coverage")}


def _exception(c, s, finding_id, requested, expires):
    return request_exception(
        c, finding_id, compensating_controls="WAF rule", residual_likelihood="low", residual_impact="low",
        business_rationale="vendor fix pending", expires_on=expires, review_cadence_days=30,
        actor_id=s.alice, at=requested)


@pytest.fixture
def workspace(settings):
    engine = open_workspace(settings.workspace_url)
    s = build_small(engine)
    reg = registry(engine, s)
    with engine.begin() as c:
        def finding(n, severity, opened, cwe=()):
            return create_finding(c, finding_values(s, n, severity=severity, cwe=list(cwe)), actor_id=s.intake,
                                  at=opened)
        f1 = finding(1, "critical", at(9, 3), [89])
        f2 = finding(2, "high", at(10, 2), [327])
        f3 = finding(3, "high", at(9, 10), [79])
        f4 = finding(4, "medium", at(10, 5), [89])
        f5 = finding(5, "medium", at(9, 1), [16])
        finding(6, "low", at(10, 20))
        finding(7, "info", at(11, 2))  # after the month
        set_status(c, f3, "resolved", actor_id=s.alice, at=at(9, 20))
        set_status(c, f3, "reopened", actor_id=s.intake, at=at(10, 3))
        e3 = _exception(c, s, f1, at(9, 5), date(2026, 9, 30))
        decide_exception(c, e3, "approved", actor_id=s.bob, at=at(9, 6))
        decide_exception(c, e3, "expired", actor_id=s.bob, at=at(10, 1, 9))
        set_status(c, f1, "resolved", actor_id=s.alice, at=at(10, 6))
        set_status(c, f2, "resolved", actor_id=s.alice, at=at(10, 12))
        apply_override(c, f4, kind="false_positive", reason="heuristic", actor_id=s.bob, at=at(10, 6))
        e1 = _exception(c, s, f5, at(9, 15), date(2026, 11, 20))
        decide_exception(c, e1, "approved", actor_id=s.bob, at=at(10, 2))
        apply_override(c, f5, kind="severity_override", to_severity="high", reason="PHI", actor_id=s.bob,
                       at=at(10, 7))
        _exception(c, s, f3, at(10, 4), date(2026, 12, 31))
        set_status(c, f5, "resolved", actor_id=s.alice, at=at(11, 3))  # after the month: still open in October
    return engine, s, reg


def _rows(frame: pd.DataFrame, drop=("month",)) -> list[tuple]:
    def clean(v):
        if pd.isna(v):
            return None
        return round(v, 4) if isinstance(v, float) else v
    columns = [c for c in frame.columns if c not in drop]
    return [tuple(clean(v) for v in row) for row in frame[columns].itertuples(index=False)]


def _build(engine, name):
    with engine.connect() as conn:
        frame = getattr(reports, f"build_{name}")(conn, CONTRACTS[name], OCT)
    validate(frame, CONTRACTS[name], partition=OCT)
    assert set(frame["month"]) == {OCT}
    return frame


def test_severity_distribution_per_client_leaves_out_false_positives(workspace):
    engine, _, reg = workspace
    assert _rows(_build(engine, "severity_distribution")) == [
        # client, name, severity, open, opened in month, closed in month, share of the client's open
        (reg.acme, "Acme", "critical", 0, 0, 1, 0.0),
        (reg.acme, "Acme", "high", 2, 1, 1, 0.6667),  # f3 reopened, f5 raised to high; f2 opened and closed
        (reg.acme, "Acme", "medium", 0, 0, 0, 0.0),  # f4 is a false positive
        (reg.acme, "Acme", "low", 1, 1, 0, 0.3333),
        (reg.acme, "Acme", "info", 0, 0, 0, 0.0),  # f7 opens in November
        *[(reg.globex, "Globex", sev, 0, 0, 0, None) for sev in ("critical", "high", "medium", "low", "info")],
    ]


def test_remediation_throughput_measures_closures_against_the_sla(workspace):
    engine, *_ = workspace
    assert _rows(_build(engine, "remediation_throughput")) == [
        # severity, opened, closed, reopened, net, median days, sla, within sla, attainment
        ("critical", 0, 1, 0, -1, 33.0, 7, 0, 0.0),
        ("high", 1, 1, 1, 0, 10.0, 30, 1, 1.0),
        ("medium", 0, 0, 0, 0, None, 90, 0, None),
        ("low", 1, 0, 0, 1, None, 180, 0, None),
        ("info", 0, 0, 0, 0, None, None, 0, None),
    ]


def test_exception_summary_counts_the_register_as_at_the_months_end(workspace):
    engine, *_ = workspace
    assert _rows(_build(engine, "exception_summary")) == [
        # decision, exceptions, requested in month, decided in month, critical/high, expiring <= 30 d, earliest
        ("pending", 1, 1, 0, 1, 0, "2026-12-31"),
        ("approved", 1, 0, 1, 0, 1, "2026-11-20"),
        ("rejected", 0, 0, 0, 0, 0, None),
        ("expired", 1, 0, 1, 1, 0, "2026-09-30"),
        ("revoked", 0, 0, 0, 0, 0, None),
    ]


def test_framework_coverage_lists_every_control_with_its_attestation(workspace):
    engine, *_ = workspace
    frame = _build(engine, "framework_coverage")
    assert len(frame) == len(control_catalogue()) == 23
    iso = frame[frame["framework"] == "ISO27001"]
    assert _rows(iso, drop=("month", "framework", "control_name")) == [
        # control, mapped, open, open critical/high, closed in month, attestation
        ("A.8.12", 0, 0, 0, 0, "clear"),
        ("A.8.24", 1, 0, 0, 1, "clear"),  # f2 (CWE-327) fixed in October
        ("A.8.28", 2, 1, 1, 1, "at_risk"),  # f1 fixed, f3 reopened; f4 is a false positive
        ("A.8.5", 0, 0, 0, 0, "clear"),
        ("A.8.8", 0, 0, 0, 0, "clear"),
        ("A.8.9", 1, 1, 1, 0, "at_risk"),  # f5 (CWE-16), raised to high
    ]


def test_crosswalk_maps_a_findings_cwes_on_creation_with_an_activity_entry(workspace):
    engine, *_ = workspace
    assert controls_for(["CWE-89", 79]) == [("ISO27001", "A.8.28"), ("NIST-CSF", "PR.PS-06"),
                                            ("PCI-DSS", "6.2.4"), ("SOC2", "CC8.1")]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(finding_controls.c.framework, finding_controls.c.control_id)
                            .where(finding_controls.c.finding_id == 2).order_by(finding_controls.c.framework)).all()
        events = conn.execute(sa.select(activity_log.c.entity_id, activity_log.c.metadata)
                              .where(activity_log.c.action == "finding.controls_mapped")
                              .order_by(activity_log.c.event_id)).all()
    assert [tuple(r) for r in rows] == [("ISO27001", "A.8.24"), ("NIST-CSF", "PR.DS-02"), ("PCI-DSS", "4.2.1"),
                                        ("SOC2", "CC6.7")]
    assert [e.entity_id for e in events] == ["1", "2", "3", "4", "5"]  # f6 and f7 have no CWE
    assert events[1].metadata["controls"] == [list(r) for r in rows]


def test_an_old_scan_imported_late_counts_for_its_client_before_its_engagement_existed(settings):
    """A 2009 finding in an engagement created in September 2026 shows in August's distribution."""
    from datetime import UTC, datetime

    engine = open_workspace(settings.workspace_url)
    s = build_small(engine)  # client and engagement created 2026-09-01
    with engine.begin() as c:
        create_finding(c, finding_values(s, 1, severity="medium"), actor_id=s.intake,
                       at=datetime(2009, 5, 4, 12, tzinfo=UTC))
    with engine.connect() as conn:
        frame = reports.build_severity_distribution(conn, CONTRACTS["severity_distribution"], "2026-08-01")
    validate(frame, CONTRACTS["severity_distribution"], partition="2026-08-01")
    medium = frame[frame["severity"] == "medium"].iloc[0]
    assert (medium["client_name"], medium["open_findings"], medium["opened_in_month"]) == ("Acme", 1, 0)
    assert frame["open_findings"].sum() == 1
