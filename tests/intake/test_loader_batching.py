"""The loader writes executions, engagement lookups and completions batch-wise: same values.

A file with three hosts, loaded two records at a time so that the scan's start moves back
after the first host's execution exists (that execution is created with the later start and
completed with the earlier one), one host verified to a client with several engagements and
two unverified hosts that land in "Unassigned intake", created in the middle of the file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import secportal_pipeline.intake.loader as loader
import secportal_pipeline.workspace.activity as activity
from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace import schema
from secportal_pipeline.workspace.accounts import ensure_service_accounts
from secportal_pipeline.workspace.activity import create_entity
from secportal_pipeline.workspace.lookups import UNASSIGNED_CLIENT, verified_engagements

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
SCAN = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _nessus(hosts) -> str:
    """hosts: (name, HOST_START or None, HOST_END or None, [(plugin id, family)])."""
    out = ['<?xml version="1.0" ?>\n<NessusClientData_v2><Report name="batching">']
    for name, start, end, items in hosts:
        out.append(f'<ReportHost name="{name}"><HostProperties>')
        for tag, when in (("HOST_END", end), ("HOST_START", start)):
            if when is not None:
                out.append(f'<tag name="{tag}">{when:%a %b %d %H:%M:%S %Y}</tag>')
        out.append("</HostProperties>")
        for plugin, family in items:
            out.append(f'<ReportItem port="443" svc_name="www" protocol="tcp" severity="2" pluginID="{plugin}" '
                       f'pluginName="Plugin {plugin}" pluginFamily="{family}"><description>d{plugin}</description>'
                       f"<risk_factor>Medium</risk_factor><cwe>79</cwe></ReportItem>")
        out.append("</ReportHost>")
    out.append("</Report></NessusClientData_v2>")
    return "".join(out)


def _world(engine) -> dict[str, int]:
    """Acme verified verified.example; of its engagements the latest active start wins, the
    higher id breaking the tie (E4 over E2); a completed or another client's engagement never."""
    with engine.begin() as conn:
        system = ensure_service_accounts(conn, T0)["svc-workspace"]
        acme = create_entity(conn, schema.clients, {"name": "Acme", "created_at": T0},
                             actor_id=system, occurred_at=T0, entity_type="client")
        other = create_entity(conn, schema.clients, {"name": "Other", "created_at": T0},
                              actor_id=system, occurred_at=T0, entity_type="client")
        ids = {}
        for name, client, status, started in (("E1", acme, "active", T0), ("E2", acme, "active", T0 + 24 * H),
                                              ("E3", acme, "completed", T0 + 48 * H),
                                              ("E4", acme, "active", T0 + 24 * H),
                                              ("E5", other, "active", T0 + 72 * H)):
            ids[name] = create_entity(
                conn, schema.engagements,
                {"client_id": client, "name": name, "engagement_type": "external_scan", "status": status,
                 "owner_id": None, "started_at": started, "ended_at": None},
                actor_id=system, occurred_at=T0, entity_type="engagement",
            )
        create_entity(conn, schema.verified_domains,
                      {"asset_ref": "verified.example", "client_id": acme, "verification_method": "dns_txt",
                       "verified_at": T0, "status": "verified"},
                      actor_id=system, occurred_at=T0, entity_type="verified_domain")
    return ids


@pytest.mark.parametrize("native", [True, False], ids=["native", "core"])
def test_several_hosts_batched(workspace_engine, tmp_path, monkeypatch, native):
    engine = workspace_engine
    if engine.dialect.name != "sqlite" and not native:
        pytest.skip("the Core path is the only path off SQLite")
    monkeypatch.setattr(activity, "NATIVE_SQLITE", native)
    monkeypatch.setattr(loader, "BATCH_SIZE", 2)
    engagement = _world(engine)
    path = tmp_path / "three_hosts.nessus"
    path.write_text(_nessus([
        # batch 1: A, B; batch 2: C, A again (a duplicate); the scan starts at SCAN + 2h so far
        ("verified.example", SCAN + 2 * H, SCAN + 3 * H, [(101, "Web"), (102, "Web"), (103, "SSH"), (101, "Web")]),
        # batch 3: its HOST_START moves the scan's start back to SCAN; first unverified host
        ("stray.example", SCAN, SCAN + H, [(201, "Misc"), (202, "Misc")]),
        # batch 4: the scan now ends at SCAN + 5h
        ("late.example", SCAN + 4 * H, SCAN + 5 * H, [(301, "X")]),
    ]), encoding="utf-8")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    summary = import_file(engine, path, now=now)
    assert (summary.outcome, summary.new, summary.duplicates_merged) == ("imported", 6, 1)

    with engine.connect() as conn:
        scans = conn.execute(sa.select(schema.scan_executions).order_by(schema.scan_executions.c.scan_id)
                             ).mappings().all()
        events = conn.execute(sa.select(schema.activity_log).order_by(schema.activity_log.c.event_id)
                              ).mappings().all()
        per_asset = {ref: engagement_id for ref, engagement_id in conn.execute(
            sa.select(schema.findings.c.asset_ref, schema.findings.c.engagement_id).distinct())}
        unassigned = conn.execute(
            sa.select(schema.engagements.c.engagement_id, schema.engagements.c.started_at,
                      schema.clients.c.created_at)
            .join(schema.clients, schema.clients.c.client_id == schema.engagements.c.client_id)
            .where(schema.clients.c.name == UNASSIGNED_CLIENT)
        ).one()

    # one execution per host, in file order, each completed with the scan's final window
    assert [s["asset_ref"] for s in scans] == ["verified.example", "stray.example", "late.example"]
    assert summary.scan_ids == [s["scan_id"] for s in scans]
    assert [s["modules"] for s in scans] == [["SSH", "Web"], ["Misc"], ["X"]]
    assert {s["status"] for s in scans} == {"completed"}
    assert [s["started_at"] for s in scans] == [SCAN] * 3
    assert [s["completed_at"] for s in scans] == [SCAN + 5 * H] * 3
    assert {(s["source_file"], s["file_sha256"], s["imported_at"]) for s in scans} == {
        ("three_hosts.nessus", summary.sha256, now)}

    created = [e for e in events if e["action"] == "scan_execution.created"]
    completed = [e for e in events if e["action"] == "scan_execution.completed"]
    assert [e["entity_id"] for e in created] == [str(s["scan_id"]) for s in scans]
    assert [e["entity_id"] for e in completed] == [str(s["scan_id"]) for s in scans]
    # created with the start known at that moment: SCAN + 2h for the first host, SCAN after
    assert [e["occurred_at"] for e in created] == [SCAN + 2 * H, SCAN, SCAN]
    assert [e["metadata"]["initial"] for e in created] == [
        {"asset_ref": ref, "source_tool": "nessus", "modules": [], "started_at": started.isoformat(),
         "completed_at": None, "status": "running", "source_file": "three_hosts.nessus",
         "file_sha256": summary.sha256, "imported_at": now.isoformat(), "actor_id": created[0]["actor_id"]}
        for ref, started in (("verified.example", SCAN + 2 * H), ("stray.example", SCAN), ("late.example", SCAN))
    ]
    end = (SCAN + 5 * H).isoformat()
    common = [{"field": "completed_at", "from": None, "to": end},
              {"field": "status", "from": "running", "to": "completed"}]
    assert [e["metadata"] for e in completed] == [
        {"changes": [{"field": "modules", "from": [], "to": ["SSH", "Web"]}, *common,
                     {"field": "started_at", "from": (SCAN + 2 * H).isoformat(), "to": SCAN.isoformat()}]},
        {"changes": [{"field": "modules", "from": [], "to": ["Misc"]}, *common]},
        {"changes": [{"field": "modules", "from": [], "to": ["X"]}, *common]},
    ]
    assert {e["occurred_at"] for e in completed} == {SCAN + 5 * H}

    # engagements: the verified asset to Acme's E4, the others to the catch-all, made once at the
    # first unverified finding's time, after the executions seen so far and before the next one
    assert per_asset == {"verified.example": engagement["E4"], "stray.example": unassigned.engagement_id,
                         "late.example": unassigned.engagement_id}
    assert unassigned.started_at == SCAN + H and unassigned.created_at == SCAN + H
    order = [(e["entity_type"], e["action"]) for e in events
             if e["action"] in {"scan_execution.created", "client.created", "engagement.created"}
             and e["occurred_at"] > T0]
    assert order == [("scan_execution", "scan_execution.created"), ("scan_execution", "scan_execution.created"),
                     ("client", "client.created"), ("engagement", "engagement.created"),
                     ("scan_execution", "scan_execution.created")]


def test_verified_engagements_for_many_assets_in_one_lookup(workspace_engine):
    engine = workspace_engine
    engagement = _world(engine)
    with engine.begin() as conn:
        system = ensure_service_accounts(conn, T0)["svc-workspace"]
        acme = conn.execute(sa.select(schema.clients.c.client_id).where(schema.clients.c.name == "Acme")).scalar_one()
        create_entity(conn, schema.verified_domains,
                      {"asset_ref": "second.example", "client_id": acme, "verification_method": "html_meta",
                       "verified_at": T0, "status": "verified"},
                      actor_id=system, occurred_at=T0, entity_type="verified_domain")
        refs = ["nobody.example", "verified.example", "second.example", "verified.example", "other.example"]
        assert verified_engagements(conn, refs) == {"verified.example": engagement["E4"],
                                                    "second.example": engagement["E4"]}
        assert verified_engagements(conn, []) == {}
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.clients)
                            .where(schema.clients.c.name == UNASSIGNED_CLIENT)).scalar_one() == 0  # nothing made