"""A partition exported while the history is played equals, byte for byte, its backfill afterwards."""

from __future__ import annotations

from datetime import date

import pytest

from secportal_pipeline.contracts.model import load_contracts
from secportal_pipeline.demo.history import play_history
from secportal_pipeline.demo.run import refresh_export_credentials
from secportal_pipeline.exports.landing import MANIFEST_NAME
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import HmacKey
from secportal_pipeline.workspace.db import open_workspace
from tests.conftest import REPO_ROOT, TEST_KEY

CONTRACTS = load_contracts(REPO_ROOT / "contracts")
KEY = HmacKey(TEST_KEY.encode(), "test-key")
CLASSES = ("findings_snapshot", "exception_register")
FIRST_MONDAY, WEEKS = date(2026, 8, 31), 3


def data_files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.*")) if p.name != MANIFEST_NAME}


@pytest.mark.slow
def test_weekly_partitions_exported_live_equal_their_backfill(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    live, backfill = tmp_path / "live", tmp_path / "backfill"
    exported_live = []

    def on_week(week_start: date) -> None:
        # the week just closed, exported while later weeks are still to be played
        refresh_export_credentials(engine, echo=lambda _: None)
        for contract_id in CLASSES:
            export_partition(engine, CONTRACTS[contract_id], week_start.isoformat(), landing_root=live, key=KEY,
                             run_id=f"live-{week_start}")
        exported_live.append(week_start.isoformat())

    summary = play_history(engine, first_monday=FIRST_MONDAY, weeks=WEEKS, seed=7, scan_dir=tmp_path / "scans",
                           quarantine_dir=tmp_path / "quarantine", on_week=on_week)
    assert exported_live == ["2026-08-31", "2026-09-07", "2026-09-14"] and summary.files_imported > 0
    for week in exported_live:
        for contract_id in CLASSES:
            export_partition(engine, CONTRACTS[contract_id], week, landing_root=backfill, key=KEY,
                             run_id=f"backfill-{week}")

    live_files, backfill_files = data_files(live), data_files(backfill)
    assert len(live_files) == len(CLASSES) * 2 * WEEKS + WEEKS  # csv + parquet each, xlsx for the register
    assert live_files.keys() == backfill_files.keys()
    differing = [str(name) for name in live_files if live_files[name] != backfill_files[name]]
    assert differing == []
    assert any(b"critical" in data or b"high" in data for name, data in live_files.items() if name.suffix == ".csv")
