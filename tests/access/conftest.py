"""A workspace with one export service account, on SQLite or the real PostgreSQL server."""

from __future__ import annotations

import pytest



@pytest.fixture
def engine(workspace_engine):
    return workspace_engine
