"""The Dagster code location: a table of contents, nothing more.

Every export class comes from its contract in ``contracts/``: its export asset,
its warehouse table, their checks, and the job and schedule of its cadence.
"""

from __future__ import annotations

from collections import defaultdict

import dagster as dg

from ..config import load_settings
from ..contracts.model import load_contracts
from ..workbooks.assemble import workbooks
from .assets.exports import export_asset
from .assets.marts import marts_job, marts_schedule, model_assets
from .assets.warehouse import warehouse_asset
from .assets.workbooks import workbook_asset
from .access_checks import access_checks
from .incident_sensors import INCIDENT_SENSORS
from .intake_job import intake_file_job
from .late_data_sensor import build_late_data_sensor
from .resources import PipelineResource
from .schedules import cadence_job, cadence_schedule
from .scan_sensor import SCAN_DIFF_JOB, scan_execution_sensor
from .sensors import intake_folder_sensor


def build_definitions() -> dg.Definitions:
    settings = load_settings()
    contracts = load_contracts(settings.contracts_dir)
    assets: list[dg.AssetsDefinition] = []
    by_cadence: dict[str, list[dg.AssetKey]] = defaultdict(list)
    for contract in contracts.values():
        exported, loaded = export_asset(contract), warehouse_asset(contract)
        assets += [exported, loaded]
        by_cadence[contract.custom.get("partitioning", "weekly")] += [exported.key, loaded.key]
    for workbook, members in workbooks(contracts).items():  # after its members, in their cadence's job
        assembled = workbook_asset(workbook, members)
        assets.append(assembled)
        by_cadence[members[0].custom.get("partitioning", "weekly")].append(assembled.key)
    jobs = [cadence_job(cadence, keys) for cadence, keys in sorted(by_cadence.items())]
    models = model_assets(contracts)  # dim_framework_control and the marts, from their SQL files
    assets += models
    timed = [job for job in jobs if job.name != SCAN_DIFF_JOB]
    return dg.Definitions(
        assets=assets,
        asset_checks=access_checks(contracts),
        jobs=[*jobs, intake_file_job, marts_job(models)],
        schedules=[*(cadence_schedule(job) for job in timed), marts_schedule()],
        sensors=[scan_execution_sensor, intake_folder_sensor, *INCIDENT_SENSORS, build_late_data_sensor(timed)],
        resources={"pipeline": PipelineResource.from_settings(settings)},
        # one process per run: a 2-core box re-importing the module per step is slower
        executor=dg.in_process_executor,
    )


defs = build_definitions()
