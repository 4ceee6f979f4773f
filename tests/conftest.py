"""Shared fixtures: a fresh settings tree per test, the shared samples, PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from secportal_pipeline.config import load_settings
from secportal_pipeline.workspace.db import open_workspace

pytest_plugins = ["tests.pg_fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT.parent / "shared" / "samples"
TEST_KEY = "0123456789abcdef" * 4


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.fail(f"shared samples not found at {SAMPLES}")
    return SAMPLES


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    """Every pipeline path under tmp_path, and a known classification key."""
    values = {
        "SECPORTAL_DATA_DIR": str(tmp_path / "data"),
        "SECPORTAL_HMAC_KEY": TEST_KEY,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    (tmp_path / "dagster_home").mkdir()
    for name in ("SECPORTAL_WORKSPACE_URL", "SECPORTAL_LANDING_ROOT", "SECPORTAL_WAREHOUSE_PATH",
                 "SECPORTAL_INTAKE_DIR", "SECPORTAL_HMAC_KEY_FILE", "SECPORTAL_HMAC_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def workspace_engine(request, tmp_path):
    """An empty workspace, once on an SQLite file and once on the real PostgreSQL server."""
    if request.param == "sqlite":
        engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    else:
        engine = open_workspace(request.getfixturevalue("pg_engine").url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()


@pytest.fixture
def settings(env):
    return load_settings()
