"""The one resource every asset uses: where things are, resolved from configuration."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from pydantic import PrivateAttr

from ..config import Settings, load_settings
from ..contracts.model import Contract, load_contracts
from ..exports.secrets import HmacKey, load_hmac_key
from ..workspace.db import open_workspace


class PipelineResource(dg.ConfigurableResource):
    """Workspace URL, landing root, warehouse path, contracts and intake folder.

    Values come from the environment (see config.py) when the definitions load, so a
    deployment is chosen by variables, never by editing code. The classification key
    is read from the environment at run time and never stored in run config.
    """

    workspace_url: str
    landing_root: str
    warehouse_path: str
    contracts_dir: str
    intake_dir: str

    _engine: sa.Engine | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> PipelineResource:
        settings = settings or load_settings()
        return cls(
            workspace_url=settings.workspace_url,
            landing_root=str(settings.landing_root),
            warehouse_path=str(settings.warehouse_path),
            contracts_dir=str(settings.contracts_dir),
            intake_dir=str(settings.intake_dir),
        )

    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = open_workspace(self.workspace_url)
        return self._engine

    @cached_property
    def contracts(self) -> dict[str, Contract]:
        return load_contracts(Path(self.contracts_dir))

    def contract(self, contract_id: str) -> Contract:
        return self.contracts[contract_id]

    def hmac_key(self) -> HmacKey:
        return load_hmac_key()

    @property
    def landing_path(self) -> Path:
        return Path(self.landing_root)

    @property
    def warehouse_file(self) -> Path:
        return Path(self.warehouse_path)

    @property
    def intake_path(self) -> Path:
        return Path(self.intake_dir)

    # beside the inbox, as Settings.archive_dir / quarantine_dir place them
    @property
    def archive_path(self) -> Path:
        return self.intake_path.parent / "archive"

    @property
    def quarantine_path(self) -> Path:
        return self.intake_path.parent / "quarantine"
