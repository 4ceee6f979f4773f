"""The access tests run on an SQLite workspace and on the real PostgreSQL server."""

from __future__ import annotations

import pytest


@pytest.fixture
def engine(workspace_engine):
    return workspace_engine
