"""The demo history: three weeks of scans and team work, played twice from the same seed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from secportal_pipeline.demo.history import play_history
from secportal_pipeline.demo.seed import EXPORT_SERVICE_ACCOUNTS
from secportal_pipeline.exports.asof import replay
from secportal_pipeline.workspace.accounts import INTAKE_HANDLE
from secportal_pipeline.workspace.activity import to_json_value
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.lookups import UNASSIGNED_CLIENT
from secportal_pipeline.workspace.schema import (
    activity_log,
    clients,
    engagements,
    findings,
    users,
    verified_domains,
)

FIRST_MONDAY = date(2026, 8, 31)
WEEKS = 3
SEED = 7
START = datetime(2026, 8, 31, tzinfo=UTC)
END = START + timedelta(weeks=WEEKS)
REBUILT_FIELDS = ("status", "severity", "owner_id", "closed_at", "opened_at")
INTAKE_ACTIONS = {"finding.created", "finding.seen", "finding.reopened", "scan_execution.created",
                  "scan_execution.completed", "import.completed"}
HUMAN_ACTIONS = {"finding.assigned", "finding.overridden", "override.created", "retest.created",
                 "retest.performed", "exception.created", "exception.approved", "exception.rejected",
                 "exception.expired"}


class Played:
    def __init__(self, root: Path, url: str | None = None):
        self.root = root
        self.engine = open_workspace(url or f"sqlite:///{root / 'workspace.sqlite'}")
        self.weeks_seen: list[date] = []
        self.summary = play_history(
            self.engine, first_monday=FIRST_MONDAY, weeks=WEEKS, seed=SEED, scan_dir=root / "scans",
            quarantine_dir=root / "quarantine", on_week=self.weeks_seen.append,
        )

    def rows(self, query) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def events(self, entity_type: str | None = None) -> list[dict]:
        query = sa.select(activity_log).order_by(activity_log.c.occurred_at, activity_log.c.event_id)
        if entity_type:
            query = query.where(activity_log.c.entity_type == entity_type)
        return self.rows(query)


@pytest.fixture(scope="module")
def played(tmp_path_factory) -> Played:
    return Played(tmp_path_factory.mktemp("first"))


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> Played:
    return Played(tmp_path_factory.mktemp("second"))


def _dump_activity(run: Played) -> list[tuple]:
    """The log without recorded_at (wall clock) and with the run's folder (differs per run) blanked."""
    dump = []
    for event in run.rows(sa.select(activity_log).order_by(activity_log.c.event_id)):
        metadata = json.dumps(event["metadata"], sort_keys=True).replace(str(run.root), "<root>")
        dump.append((event["event_id"], event["occurred_at"], event["actor_id"], event["entity_type"],
                     event["entity_id"], event["action"], metadata))
    return dump


def test_the_same_seed_plays_the_same_history(played, replayed):
    assert played.rows(sa.select(findings).order_by(findings.c.finding_id)) == \
        replayed.rows(sa.select(findings).order_by(findings.c.finding_id))
    assert _dump_activity(played) == _dump_activity(replayed)
    assert played.summary == replayed.summary


def test_every_finding_is_rebuilt_exactly_from_its_log(played):
    events = played.events("finding")
    rebuilt = replay(events, datetime.max.replace(tzinfo=UTC))
    current = played.rows(sa.select(findings))
    assert current and set(rebuilt) == {row["finding_id"] for row in current}
    for row in current:
        assert {f: rebuilt[row["finding_id"]][f] for f in REBUILT_FIELDS} == \
            {f: to_json_value(row[f]) for f in REBUILT_FIELDS}, row["finding_id"]
    created = [e["entity_id"] for e in events if e["action"] == "finding.created"]
    assert sorted(created) == sorted(str(row["finding_id"]) for row in current)  # exactly one each


def test_log_order_agrees_with_time_for_every_entity(played):
    """What makes an as-of rebuild right at every past instant, not only at the end."""
    last: dict[tuple[str, str], datetime] = {}
    for event in played.rows(sa.select(activity_log).order_by(activity_log.c.event_id)):
        key = (event["entity_type"], event["entity_id"])
        assert event["occurred_at"] >= last.get(key, event["occurred_at"]), (key, event["action"])
        last[key] = event["occurred_at"]


def test_the_team_does_the_whole_workflow(played):
    actions = played.summary.actions
    for action in ("finding.assigned", "finding.updated", "finding.overridden", "exception.approved",
                   "retest.performed"):
        assert actions.get(action, 0) > 0, action
    changes = [c for e in played.events("finding") for c in e["metadata"].get("changes", ())]
    statuses = {c["to"] for c in changes if c["field"] == "status"}
    assert {"in_progress", "resolved", "verified", "reopened"} <= statuses
    kinds = {e["metadata"]["initial"]["kind"] for e in played.events("override")}
    assert kinds == {"severity_override", "false_positive", "accepted_risk"}


def test_every_event_happens_inside_the_played_weeks(played):
    times = [e["occurred_at"] for e in played.events()]
    assert START <= min(times) and max(times) < END
    assert played.weeks_seen == [FIRST_MONDAY + timedelta(weeks=w) for w in range(WEEKS)]


def test_actors_are_the_intake_account_or_people(played):
    accounts = {u["user_id"]: u for u in played.rows(sa.select(users))}
    for event in played.events():
        actor = accounts[event["actor_id"]]
        if event["action"] in INTAKE_ACTIONS:
            assert actor["handle"] == INTAKE_HANDLE, event
        if event["action"] in HUMAN_ACTIONS or event["action"] == "finding.updated":
            assert not actor["is_service_account"], event


def test_summary_counts_what_is_in_the_workspace(played):
    summary = played.summary
    assert summary.weeks == WEEKS and summary.files_imported > 0 and summary.files_quarantined == 0
    assert summary.findings == len(played.rows(sa.select(findings.c.finding_id)))
    assert summary.events == len(played.events()) == sum(summary.actions.values())


def test_seeded_cast(played):
    accounts = {u["handle"]: u for u in played.rows(sa.select(users))}
    for handle, role, _name in EXPORT_SERVICE_ACCOUNTS:
        assert accounts[handle]["role"] == role and accounts[handle]["is_service_account"]
    people = [u for u in accounts.values() if not u["is_service_account"]]
    assert {u["role"] for u in people} == {"owner", "admin", "member", "viewer", "billing"}
    assert any(not u["mfa_enrolled"] for u in people)
    registry = {r["asset_ref"]: r for r in played.rows(sa.select(verified_domains))}
    assert len(registry) == 8
    assert {r["verification_method"] for r in registry.values()} == {"dns_txt", "html_meta", "well_known_file"}
    # the one scanned asset nobody verified lands in the catch-all engagement
    unverified = played.rows(
        sa.select(findings.c.asset_ref).distinct()
        .join(engagements, engagements.c.engagement_id == findings.c.engagement_id)
        .join(clients, clients.c.client_id == engagements.c.client_id)
        .where(clients.c.name == UNASSIGNED_CLIENT)
    )
    assert [r["asset_ref"] for r in unverified] == ["staging.initech-finance.example"]
    assert "staging.initech-finance.example" not in registry


@pytest.mark.postgres
def test_postgres_plays_the_same_history_as_sqlite(played, pg_engine, tmp_path):
    on_postgres = Played(tmp_path, url=pg_engine.url.render_as_string(hide_password=False))
    assert on_postgres.rows(sa.select(findings).order_by(findings.c.finding_id)) == \
        played.rows(sa.select(findings).order_by(findings.c.finding_id))
    assert _dump_activity(on_postgres) == _dump_activity(played)


def test_refuses_a_workspace_that_already_has_history(played, tmp_path):
    with pytest.raises(ValueError, match="empty workspace"):
        play_history(played.engine, weeks=1, seed=SEED, scan_dir=tmp_path / "s", quarantine_dir=tmp_path / "q")
