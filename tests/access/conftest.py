"""A workspace with one export service account, on SQLite or the real PostgreSQL server."""

from __future__ import annotations

import pytest

from secportal_pipeline.workspace.db import open_workspace


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    else:
        engine = open_workspace(request.getfixturevalue("pg_engine").url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()
