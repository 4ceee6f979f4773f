"""Run cadence jobs for given partitions in this process (the demo and the tests use it)."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg


class RunFailed(RuntimeError):
    pass


def run_partitions(defs: dg.Definitions, job_name: str, partition_keys: Iterable[str],
                   instance: dg.DagsterInstance) -> list[dg.ExecuteInProcessResult]:
    """Execute ``job_name`` once per partition key, stopping at the first failure with its reason."""
    job = defs.resolve_job_def(job_name)
    results = []
    for key in partition_keys:
        result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
        if not result.success:
            failures = [event.message for event in result.all_events if event.is_failure]
            raise RunFailed(f"{job_name} partition {key} failed (run {result.run_id}): {' | '.join(failures)}")
        results.append(result)
    return results
