"""scan_diff: one partition per scan execution, against the previous one on the same target; the sensor."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.contracts.validate import validate
from secportal_pipeline.exports import scan_diff
from secportal_pipeline.exports.windows import BadPartition
from secportal_pipeline.orchestration.definitions import build_definitions
from secportal_pipeline.orchestration.resources import PipelineResource
from secportal_pipeline.orchestration.scan_sensor import scan_execution_sensor
from secportal_pipeline.workspace import schema
from secportal_pipeline.workspace.activity import create_entity
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.findings import apply_override, create_finding
from tests.conftest import REPO_ROOT
from tests.exports.monthly_world import at
from tests.workspace.helpers import build_small, finding_values

CONTRACT = load_contract(REPO_ROOT / "contracts" / "scan_diff.yaml")
ASSET = "portal.acme.example"


def _scan(conn, small, tool: str, modules: list[str], completed, results: dict[int, str], status="completed"):
    """A scan execution on ASSET with ``results`` {finding_id: module}."""
    scan_id = create_entity(
        conn, schema.scan_executions,
        {"asset_ref": ASSET, "source_tool": tool, "modules": modules, "started_at": completed,
         "completed_at": completed if status == "completed" else None, "status": status,
         "source_file": f"{tool}-{completed:%m%d}.xml", "file_sha256": f"{len(modules)}{completed:%m%d%H}" * 8,
         "imported_at": completed, "actor_id": small.intake},
        actor_id=small.intake, occurred_at=completed, entity_type="scan_execution",
    )
    fingerprints = dict(conn.execute(
        sa.select(schema.findings.c.finding_id, schema.findings.c.fingerprint)
        .where(schema.findings.c.finding_id.in_(list(results)))
    ).tuples().all())
    if results:
        conn.execute(schema.scan_results.insert(), [
            {"scan_id": scan_id, "module": module, "fingerprint": fingerprints[fid], "finding_id": fid,
             "record_id": str(fid)}
            for fid, module in results.items()
        ])
    return scan_id


@pytest.fixture
def workspace(settings):
    engine = open_workspace(settings.workspace_url)
    s = build_small(engine)
    with engine.begin() as c:
        f = {n: create_finding(c, finding_values(s, n, asset_ref=ASSET), actor_id=s.intake, at=at(9, 2, 9))
             for n in range(1, 6)}
        s1 = _scan(c, s, "nessus", ["General", "Web Servers"], at(9, 2), {f[1]: "General", f[2]: "Web Servers",
                                                                         f[3]: "General"})
        apply_override(c, f[3], kind="false_positive", reason="banner only", actor_id=s.bob, at=at(9, 5))
        burp = _scan(c, s, "burp", ["scanner"], at(9, 8), {f[5]: "scanner"})  # same asset, another tool
        s2 = _scan(c, s, "nessus", ["General", "Misc."], at(9, 9), {f[2]: "General", f[3]: "General",
                                                                   f[4]: "Misc."})
        # an override after the scan completed is not in that scan's diff
        apply_override(c, f[2], kind="severity_override", to_severity="low", reason="VPN only", actor_id=s.bob,
                       at=at(9, 10))
        running = _scan(c, s, "nessus", ["General"], at(9, 16), {}, status="running")
    return engine, f, dict(s1=s1, burp=burp, s2=s2, running=running)


def _rows(frame: pd.DataFrame) -> list[tuple]:
    columns = ["change_kind", "finding_id", "module", "override_kind"]
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame[columns].itertuples(index=False)]


def test_diff_against_the_previous_execution_on_the_same_target_and_tool(workspace):
    engine, f, scans = workspace
    with engine.connect() as conn:
        frame = scan_diff.build(conn, CONTRACT, str(scans["s2"]))
    validate(frame, CONTRACT, partition=str(scans["s2"]))
    fp = dict(zip(frame["finding_id"].dropna().tolist(), frame["fingerprint"].dropna().tolist(), strict=True))
    assert sorted(_rows(frame), key=lambda r: (r[0], r[1] or 0, r[2])) == [
        ("fixed", f[1], "General", None),
        ("module_added", None, "Misc.", None),
        ("module_removed", None, "Web Servers", None),
        ("new", f[4], "Misc.", None),
        ("unchanged", f[2], "General", "none"),  # overridden only after this scan completed
        ("unchanged", f[3], "General", "false_positive"),
    ]
    assert set(frame["previous_scan_id"]) == {scans["s1"]} and set(frame["scan_id"]) == {scans["s2"]}
    assert set(frame["previous_completed_at"]) == {at(9, 2)} and set(frame["completed_at"]) == {at(9, 9)}
    assert len(fp) == 4 and all(len(v) == 64 for v in fp.values())


def test_first_execution_on_a_target_is_all_new_without_module_rows(workspace):
    engine, f, scans = workspace
    with engine.connect() as conn:
        first = scan_diff.build(conn, CONTRACT, str(scans["s1"]))
        burp = scan_diff.build(conn, CONTRACT, str(scans["burp"]))
    assert sorted(_rows(first)) == [("new", f[1], "General", None), ("new", f[2], "Web Servers", None),
                                    ("new", f[3], "General", None)]
    assert first["previous_scan_id"].isna().all()
    assert _rows(burp) == [("new", f[5], "scanner", None)]  # the Nessus scans are another target


@pytest.mark.parametrize("key, message", [("abc", "not a scan execution id"), ("999", "no such scan execution")])
def test_bad_keys_are_refused_by_name(workspace, key, message):
    engine, *_ = workspace
    with engine.connect() as conn, pytest.raises(BadPartition, match=message):
        scan_diff.build(conn, CONTRACT, key)


def test_a_running_execution_has_no_diff_yet(workspace):
    engine, _, scans = workspace
    with engine.connect() as conn, pytest.raises(BadPartition, match="running, not completed"):
        scan_diff.build(conn, CONTRACT, str(scans["running"]))


def test_sensor_adds_a_partition_and_requests_a_run_per_completed_execution(workspace, settings):
    engine, _, scans = workspace
    resource = PipelineResource.from_settings(settings)
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance, resources={"pipeline": resource}) as context:
            first = scan_execution_sensor(context)
        completed = [str(scans[k]) for k in ("s1", "burp", "s2")]
        assert [r.partition_key for r in first.run_requests] == completed
        (request,) = first.dynamic_partitions_requests
        assert request.partitions_def_name == "scan_executions" and list(request.partition_keys) == completed
        assert first.cursor == str(scans["s2"])
        with dg.build_sensor_context(instance=instance, resources={"pipeline": resource},
                                     cursor=first.cursor) as context:
            second = scan_execution_sensor(context)
        assert not second.run_requests
        assert second.skip_reason.skip_message == f"no scan execution completed after scan_id {scans['s2']}"
        with engine.begin() as conn:  # the running execution completes: the next tick picks it up
            conn.execute(schema.scan_executions.update().where(schema.scan_executions.c.scan_id == scans["running"])
                         .values(status="completed", completed_at=at(9, 16)))
        with dg.build_sensor_context(instance=instance, resources={"pipeline": resource},
                                     cursor=second.cursor or first.cursor) as context:
            third = scan_execution_sensor(context)
    assert [r.partition_key for r in third.run_requests] == [str(scans["running"])]


def test_scan_diff_job_is_driven_by_the_sensor_not_a_schedule(env):
    defs = build_definitions()
    assert defs.resolve_sensor_def("scan_execution_sensor").job_name == "per_scan_exports"
    assert "per_scan_exports_schedule" not in {s.name for s in defs.schedules}
    partitions = defs.resolve_assets_def("scan_diff").partitions_def
    assert isinstance(partitions, dg.DynamicPartitionsDefinition) and partitions.name == "scan_executions"


def test_sensor_without_a_cursor_skips_executions_already_diffed(workspace, settings):
    """Executions whose diff landed in this landing zone are not diffed again; the instance does not decide."""
    _, _, scans = workspace
    resource = PipelineResource.from_settings(settings)
    with dg.instance_for_test() as instance:
        for done in ("s1", "burp"):  # their diffs already landed here; another data folder's would not count
            landed = settings.landing_root / "scan_diff" / "v1" / str(scans[done])
            landed.mkdir(parents=True)
            (landed / "_manifest.json").write_text("{}")
        instance.add_dynamic_partitions("scan_executions", [str(scans["s2"])])  # known to the instance only
        with dg.build_sensor_context(instance=instance, resources={"pipeline": resource}) as context:
            tick = scan_execution_sensor(context)
    assert [r.partition_key for r in tick.run_requests] == [str(scans["s2"])]
    assert tick.cursor == str(scans["s2"])
