"""The same history on PostgreSQL and on SQLite lands identical data files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from secportal_pipeline.contracts.model import load_contracts
from secportal_pipeline.demo.history import play_history
from secportal_pipeline.demo.run import refresh_export_credentials
from secportal_pipeline.exports.landing import MANIFEST_NAME
from secportal_pipeline.exports.run import export_partition
from secportal_pipeline.exports.secrets import HmacKey
from secportal_pipeline.workspace import activity
from secportal_pipeline.workspace.db import open_workspace
from tests.conftest import REPO_ROOT, TEST_KEY

CONTRACTS = load_contracts(REPO_ROOT / "contracts")
KEY = HmacKey(TEST_KEY.encode(), "test-key")
WEEK = date(2026, 8, 31)
# recorded_at is the write time, and the activity slice lands it: the same history needs the same clock
RECORDED = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def play_and_export(url: str, root, monkeypatch) -> dict:
    engine = open_workspace(url)
    with monkeypatch.context() as frozen:
        frozen.setattr(activity, "utcnow", lambda: RECORDED)
        play_history(engine, first_monday=WEEK, weeks=1, seed=11, scan_dir=root / "scans",
                     quarantine_dir=root / "quarantine")
    refresh_export_credentials(engine, echo=lambda _: None)
    landing = root / "landing"
    export_partition(engine, CONTRACTS["findings_snapshot"], WEEK.isoformat(), landing_root=landing, key=KEY,
                     run_id="parity")
    for day in range(7):
        export_partition(engine, CONTRACTS["activity_slice"], (WEEK + timedelta(days=day)).isoformat(),
                         landing_root=landing, key=KEY, run_id="parity")
    engine.dispose()
    return {p.relative_to(landing): p.read_bytes() for p in sorted(landing.rglob("*.*")) if p.name != MANIFEST_NAME}


@pytest.mark.postgres
def test_postgres_and_sqlite_workspaces_land_identical_files(pg_engine, tmp_path, monkeypatch):
    on_sqlite = play_and_export(f"sqlite:///{tmp_path / 'ws.sqlite'}", tmp_path / "sqlite", monkeypatch)
    on_postgres = play_and_export(pg_engine.url.render_as_string(hide_password=False), tmp_path / "pg", monkeypatch)
    assert len(on_sqlite) == 2 + 2 * 7
    assert on_sqlite.keys() == on_postgres.keys()
    assert [str(n) for n in on_sqlite if on_sqlite[n] != on_postgres[n]] == []
    assert sum(len(data) for data in on_sqlite.values()) > 10_000
