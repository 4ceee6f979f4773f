"""Every path and URL the pipeline uses, read from the environment.

Defaults live under one local data folder (``SECPORTAL_DATA_DIR``, default ``./data``),
so pointing a run at a fresh directory is one variable and no file edits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ENV_DATA_DIR = "SECPORTAL_DATA_DIR"
ENV_WORKSPACE_URL = "SECPORTAL_WORKSPACE_URL"
ENV_LANDING_ROOT = "SECPORTAL_LANDING_ROOT"
ENV_WAREHOUSE_PATH = "SECPORTAL_WAREHOUSE_PATH"
ENV_INTAKE_DIR = "SECPORTAL_INTAKE_DIR"
ENV_HMAC_KEY = "SECPORTAL_HMAC_KEY"
ENV_HMAC_KEY_FILE = "SECPORTAL_HMAC_KEY_FILE"
ENV_HMAC_KEY_ID = "SECPORTAL_HMAC_KEY_ID"
ENV_WORKSPACE_PASSWORD = "SECPORTAL_WORKSPACE_PASSWORD"
ENV_WORKSPACE_PASSWORD_FILE = "SECPORTAL_WORKSPACE_PASSWORD_FILE"
ENV_CREDENTIAL_MAX_AGE_DAYS = "SECPORTAL_CREDENTIAL_MAX_AGE_DAYS"
DEFAULT_CREDENTIAL_MAX_AGE_DAYS = 90
ENV_CONTRACTS_DIR = "SECPORTAL_CONTRACTS_DIR"
ENV_PARTITIONS_START = "SECPORTAL_PARTITIONS_START"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PARTITIONS_START = "2026-01-05"  # a Monday: weekly partitions run Monday-Sunday


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    workspace_url: str
    landing_root: Path
    warehouse_path: Path
    intake_dir: Path
    contracts_dir: Path
    partitions_start: str

    @property
    def archive_dir(self) -> Path:
        return self.intake_dir.parent / "archive"

    @property
    def quarantine_dir(self) -> Path:
        return self.intake_dir.parent / "quarantine"


class ConfigError(ValueError):
    pass


def _partitions_start(value: str) -> str:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{ENV_PARTITIONS_START}={value!r} is not a date (expected YYYY-MM-DD)") from None
    if day.weekday() != 0:
        raise ConfigError(f"{ENV_PARTITIONS_START}={value} is a {day:%A}; it must be a Monday, "
                          "since weekly partitions run Monday to Sunday")
    return value


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Resolve settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    data_dir = Path(env.get(ENV_DATA_DIR) or REPO_ROOT / "data").resolve()
    workspace_url = env.get(ENV_WORKSPACE_URL) or f"sqlite:///{data_dir / 'workspace.sqlite'}"
    return Settings(
        data_dir=data_dir,
        workspace_url=workspace_url,
        landing_root=Path(env.get(ENV_LANDING_ROOT) or data_dir / "landing").resolve(),
        warehouse_path=Path(env.get(ENV_WAREHOUSE_PATH) or data_dir / "warehouse.duckdb").resolve(),
        intake_dir=Path(env.get(ENV_INTAKE_DIR) or data_dir / "intake" / "inbox").resolve(),
        contracts_dir=Path(env.get(ENV_CONTRACTS_DIR) or REPO_ROOT / "contracts").resolve(),
        partitions_start=_partitions_start(env.get(ENV_PARTITIONS_START) or DEFAULT_PARTITIONS_START),
    )
