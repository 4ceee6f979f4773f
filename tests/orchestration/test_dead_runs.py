"""A killed in-process run no longer blocks the warehouse pool for every later run."""

from __future__ import annotations

import socket
import subprocess
import sys

import dagster as dg

from secportal_pipeline.orchestration.runner import HOST_TAG, PID_TAG, release_dead_runs


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_dead_runs_are_failed_and_their_pool_slots_freed():
    with dg.instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots("warehouse", 1)
        dead = instance.create_run_for_job(
            dg.GraphDefinition(name="g").to_job(), run_id="dead0000-0000-0000-0000-000000000000",
            tags={PID_TAG: str(_dead_pid()), HOST_TAG: socket.gethostname()},
            status=dg.DagsterRunStatus.STARTED,
        )
        alive = instance.create_run_for_job(
            dg.GraphDefinition(name="h").to_job(), run_id="a1be0000-0000-0000-0000-000000000000",
            tags={PID_TAG: "1", HOST_TAG: socket.gethostname()}, status=dg.DagsterRunStatus.STARTED,
        )
        claim = instance.event_log_storage.claim_concurrency_slot("warehouse", dead.run_id, "fact_finding_snapshot")
        assert claim.is_claimed
        blocked = instance.event_log_storage.claim_concurrency_slot("warehouse", "next-run", "fact_finding_snapshot")
        assert not blocked.is_claimed

        assert release_dead_runs(instance) == [dead.run_id]

        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
        assert instance.event_log_storage.claim_concurrency_slot("warehouse", "next-run", "fact_finding_snapshot").is_claimed
