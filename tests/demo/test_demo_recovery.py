"""An interrupted demo leaves nothing half-built; a workspace already in use is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from secportal_pipeline.demo.run import DemoError, _play_history_once
from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.schema import activity_log, workspace_settings


def test_leftover_partial_history_is_started_over(settings):
    target = settings.data_dir / "workspace.sqlite"
    target.parent.mkdir(parents=True)
    partial = target.with_name("workspace.sqlite.partial")
    partial.write_bytes(b"what a killed run left behind")
    summary = _play_history_once(settings, weeks=1)
    assert not partial.exists()
    engine = open_workspace(settings.workspace_url)
    with engine.connect() as conn:
        marker = conn.execute(sa.select(workspace_settings.c.value).where(workspace_settings.c.key == "demo_history")).scalar_one()
        events = conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one()
    assert marker.endswith("weeks=1") and events == summary.events


def test_workspace_with_other_activity_is_refused_untouched(settings, samples):
    engine = open_workspace(settings.workspace_url)
    import_file(engine, samples / "burp" / "dradisburp__burp.xml")
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one()
    with pytest.raises(DemoError, match=rf"already holds {before} activity events but no demo history"):
        _play_history_once(settings, weeks=1)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one() == before
