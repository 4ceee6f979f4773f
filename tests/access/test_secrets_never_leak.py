"""A whole demo run never writes the classification key: not to the landing zone, the
workspace, the warehouse, Dagster's run and event storage, nor any log or output."""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from secportal_pipeline.demo.run import run_demo
from secportal_pipeline.exports.secrets import key_id_for
from secportal_pipeline.workspace.secrets import MissingSecret, workspace_password


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.slow
def test_a_demo_run_never_writes_the_key(tmp_path, monkeypatch, caplog, capfd):
    key = secrets.token_hex(32)
    key_file = tmp_path / "outside-the-repo" / "hmac.key"
    key_file.parent.mkdir()
    key_file.write_text(key + "\n")
    for name in ("SECPORTAL_WORKSPACE_URL", "SECPORTAL_LANDING_ROOT", "SECPORTAL_WAREHOUSE_PATH",
                 "SECPORTAL_INTAKE_DIR", "SECPORTAL_HMAC_KEY", "SECPORTAL_HMAC_KEY_ID", "SECPORTAL_CONTRACTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECPORTAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECPORTAL_HMAC_KEY_FILE", str(key_file))  # the key reaches the run by file only
    from secportal_pipeline.config import load_settings

    lines: list[str] = []
    caplog.set_level(logging.DEBUG)
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        run_demo(load_settings(), weeks=2, echo=lines.append, instance=instance)
        runs = instance.get_runs()
        stored = [serialize_value(run) for run in runs]
        stored += [serialize_value(entry) for run in runs for entry in instance.all_logs(run.run_id)]
    captured = capfd.readouterr()

    assert runs and all(run.is_success for run in runs)
    needle = key.encode()
    assert _files_holding(tmp_path / "data", needle) == []  # landing zone, workspace, warehouse, archive
    assert _files_holding(tmp_path / "dagster", needle) == []  # run, event log and compute-log storage
    assert not any(key in text for text in stored)
    assert key not in "\n".join(lines) + captured.out + captured.err + caplog.text
    manifests = [json.loads(p.read_text()) for p in (tmp_path / "data" / "landing").rglob("_manifest.json")]
    assert len(manifests) > 2 and {m["hmac_key_id"] for m in manifests} == {key_id_for(key.encode())}


def test_the_database_password_comes_from_the_environment_or_a_file(tmp_path):
    secret_file = tmp_path / "pg.password"
    secret_file.write_text("s3cret-from-file\n")
    assert workspace_password({}) is None
    assert workspace_password({"SECPORTAL_WORKSPACE_PASSWORD": "s3cret"}) == "s3cret"
    assert workspace_password({"SECPORTAL_WORKSPACE_PASSWORD_FILE": str(secret_file)}) == "s3cret-from-file"
    with pytest.raises(MissingSecret, match="SECPORTAL_WORKSPACE_PASSWORD_FILE points at .*missing"):
        workspace_password({"SECPORTAL_WORKSPACE_PASSWORD_FILE": str(tmp_path / "missing")})


def test_the_password_is_added_to_the_engine_not_to_the_configured_url(monkeypatch):
    from secportal_pipeline.orchestration.resources import PipelineResource
    from secportal_pipeline.workspace.db import make_engine

    monkeypatch.setenv("SECPORTAL_WORKSPACE_URL", "postgresql+psycopg://svc@127.0.0.1:1/ws")
    monkeypatch.setenv("SECPORTAL_WORKSPACE_PASSWORD", "s3cret")
    resource = PipelineResource.from_settings()
    assert "s3cret" not in resource.workspace_url  # resource config is shown in the Dagster UI
    assert make_engine(resource.workspace_url).url.password == "s3cret"
