"""The watched intake folder: one run per new file keyed by sha256, archive, quarantine, metadata."""

import json
import os
import time

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.storage.tags import RUN_KEY_TAG

from secportal_pipeline.intake.service import file_sha256
from secportal_pipeline.orchestration.definitions import build_definitions
from secportal_pipeline.orchestration.intake_job import TAG_FILE, TAG_OUTCOME
from secportal_pipeline.orchestration.sensors import SENSOR_NAME
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.schema import findings

BURP = "dradisburp__burp_issue_severity.xml"


@pytest.fixture
def defs(env):
    return build_definitions()


@pytest.fixture
def inbox(settings):
    settings.intake_dir.mkdir(parents=True)
    return settings.intake_dir


def drop(inbox, name, data, age=60.0):
    """Put a file in the inbox as if it was written ``age`` seconds ago (settled)."""
    path = inbox / name
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def tick(defs, instance, cursor=None):
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    resources = {"pipeline": defs.resources["pipeline"]}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        result = sensor.evaluate_tick(context)
    return result.run_requests or [], result.cursor


def run(defs, instance, request):
    job = defs.resolve_job_def("intake_file")
    tags = {**request.tags, RUN_KEY_TAG: request.run_key}
    return job.execute_in_process(run_config=request.run_config, tags=tags, instance=instance,
                                  raise_on_error=False)


def output_metadata(result):
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    return {k: v.value for k, v in event.event_specific_data.metadata.items()}


def finding_count(settings):
    engine = open_workspace(settings.workspace_url)
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one()
    engine.dispose()
    return count


def test_definitions_hold_the_intake_sensor_and_job(defs):
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    assert sensor.job_name == "intake_file"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_one_run_per_settled_file_keyed_by_sha256_with_the_name_in_tags(defs, inbox, samples):
    burp = drop(inbox, BURP, (samples / "burp" / BURP).read_bytes())
    nessus = drop(inbox, "scan.nessus", (samples / "nessus" / "dradisnessus__example_v2.nessus").read_bytes())
    with dg.instance_for_test() as instance:
        drop(inbox, "still-copying.nessus", b"<NessusClientData_v2>", age=0.0)  # written just now: wait
        requests, _ = tick(defs, instance)
    by_name = {r.tags[TAG_FILE]: r for r in requests}
    assert set(by_name) == {BURP, "scan.nessus"}
    assert by_name[BURP].run_key == file_sha256(burp)
    assert by_name["scan.nessus"].run_key == file_sha256(nessus)
    config = by_name[BURP].run_config["ops"]["import_scanner_file"]["config"]
    assert config == {"path": str(burp), "sha256": file_sha256(burp)}


def test_run_imports_archives_and_shows_the_summary_then_same_bytes_are_not_imported_again(
        defs, inbox, samples, settings):
    data = (samples / "burp" / BURP).read_bytes()
    path = drop(inbox, BURP, data)
    sha = file_sha256(path)
    with dg.instance_for_test() as instance:
        (request,) = tick(defs, instance)[0]
        result = run(defs, instance, request)
        assert result.success
        meta = output_metadata(result)
        assert (meta["outcome"], meta["new"], meta["reopened"], meta["row_issues"]) == ("imported", 5, 0, 1)
        assert "| issues/issue[5] | serialNumber | `1833460934674078323` |" in meta["row_issue_list"]
        assert not path.exists()
        archived = settings.archive_dir / f"{sha[:12]}__{BURP}"
        assert archived.read_bytes() == data and meta["filed_to"] == str(archived)

        # the same bytes again, under another name: no run, filed to the archive, nothing imported
        again = drop(inbox, "copy-of-burp.xml", data)
        requests, _ = tick(defs, instance)
        assert requests == [] and not again.exists()
        assert (settings.archive_dir / f"{sha[:12]}__copy-of-burp.xml").exists()

        # a corrected re-export under the same name: new bytes, new key, imported
        corrected = drop(inbox, BURP, data.replace(b"</issues>", b"</issues>\n<!-- corrected -->"))
        (request,) = tick(defs, instance)[0]
        assert request.run_key == file_sha256(corrected) != sha and request.tags[TAG_FILE] == BURP
        result = run(defs, instance, request)
        meta = output_metadata(result)
        assert result.success and (meta["outcome"], meta["new"], meta["unchanged"]) == ("imported", 0, 5)
    assert finding_count(settings) == 5


def test_refused_file_is_quarantined_and_the_run_says_why(defs, inbox, settings):
    hostile = drop(inbox, "laughs.xml", b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                                        b' <!ENTITY lol2 "&lol;&lol;&lol;">\n]>\n<issues>&lol2;</issues>\n')
    with dg.instance_for_test() as instance:
        (request,) = tick(defs, instance)[0]
        result = run(defs, instance, request)
    meta = output_metadata(result)
    assert result.success and meta["outcome"] == "quarantined"
    assert "entity declaration refused" in meta["reason"]
    quarantined = settings.quarantine_dir / f"{request.run_key[:12]}__laughs.xml"
    assert meta["quarantined_to"] == str(quarantined) and quarantined.exists()
    assert quarantined.with_name(quarantined.name + ".json").exists() and not hostile.exists()
    assert finding_count(settings) == 0


def test_refused_bytes_dropped_again_are_refused_again_not_archived(defs, inbox, settings):
    data = b'<?xml version="1.0"?>\n<!DOCTYPE a [ <!ENTITY e "x"> ]>\n<issues>&e;</issues>\n'
    with dg.instance_for_test() as instance:
        drop(inbox, "evil1.xml", data)
        (first,) = tick(defs, instance)[0]
        first_run = run(defs, instance, first)
        assert first_run.success
        assert instance.get_run_by_id(first_run.run_id).tags[TAG_OUTCOME] == "quarantined"
        again = drop(inbox, "evil2.xml", data)
        (second,) = tick(defs, instance)[0]
        assert second.run_key == f"{first.run_key}#refused-before-by-{first_run.run_id}"
        assert tick(defs, instance)[0][0].run_key == second.run_key  # stable until that run ends
        second_run = run(defs, instance, second)
        assert output_metadata(second_run)["outcome"] == "quarantined" and not again.exists()
    sha = first.run_key
    assert sorted(p.name for p in settings.quarantine_dir.iterdir()) == [
        f"{sha[:12]}__evil1.xml", f"{sha[:12]}__evil1.xml.json", f"{sha[:12]}__evil2.xml", f"{sha[:12]}__evil2.xml.json"]
    assert not settings.archive_dir.exists() or list(settings.archive_dir.iterdir()) == []


def test_run_refuses_bytes_that_changed_since_the_sensor_saw_them(defs, inbox, samples, settings):
    path = drop(inbox, BURP, (samples / "burp" / BURP).read_bytes())
    with dg.instance_for_test() as instance:
        (request,) = tick(defs, instance)[0]
        path.write_bytes(path.read_bytes() + b"\n<!-- still being edited -->\n")
        result = run(defs, instance, request)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "content changed since the sensor saw it" in failure.event_specific_data.error.message
    assert path.exists() and finding_count(settings) == 0


def test_unchanged_waiting_file_is_not_hashed_again(defs, inbox, samples, monkeypatch):
    drop(inbox, BURP, (samples / "burp" / BURP).read_bytes())
    with dg.instance_for_test() as instance:
        first, cursor = tick(defs, instance)
        import secportal_pipeline.orchestration.sensors as sensors

        monkeypatch.setattr(sensors, "file_sha256", lambda path: pytest.fail(f"hashed {path} again"))
        second, _ = tick(defs, instance, cursor=cursor)
    assert [r.run_key for r in second] == [r.run_key for r in first]


def test_missing_inbox_is_a_skip_with_the_folder_named(defs, settings):
    with dg.instance_for_test() as instance:
        sensor = defs.resolve_sensor_def(SENSOR_NAME)
        with dg.build_sensor_context(instance=instance, resources={"pipeline": defs.resources["pipeline"]}) as ctx:
            result = sensor.evaluate_tick(ctx)
    assert result.run_requests == [] and str(settings.intake_dir) in result.skip_message


def test_a_failed_run_is_retried_under_a_new_key_then_left_for_a_person(defs, inbox, samples, settings,
                                                                       monkeypatch):
    import signal

    from secportal_pipeline.intake import parse_process

    data = (samples / "nessus" / "dradisnessus__example_v2.nessus").read_bytes()
    path = drop(inbox, "scan.nessus", data)
    sha = file_sha256(path)
    monkeypatch.setattr(parse_process, "CHILD_PARSE_MIN_BYTES", 0)
    # the parser is killed (say, out of memory): not the file's fault, so no quarantine
    monkeypatch.setattr(parse_process, "_child", lambda p, writer, reader: os.kill(os.getpid(), signal.SIGKILL))
    with dg.instance_for_test() as instance:
        keys = []
        for _ in range(3):
            (request,), _ = tick(defs, instance)
            keys.append(request.run_key)
            assert not run(defs, instance, request).success
            assert path.exists() and finding_count(settings) == 0
        assert keys == [sha, f"{sha}#attempt-2", f"{sha}#attempt-3"]
        assert tick(defs, instance)[0] == []  # three failed runs: left in the inbox for a person
        assert path.exists()
        monkeypatch.undo()  # the cause is fixed; a person re-executes the last run
        result = run(defs, instance, request)
        assert result.success and finding_count(settings) == 68  # 69 items, one reported twice
        assert not path.exists() and (settings.archive_dir / f"{sha[:12]}__scan.nessus").exists()


def test_links_and_fifos_in_the_inbox_are_reported_once_and_never_read(defs, inbox, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY-4711\n")
    (inbox / "shadow.csv").symlink_to(secret)
    (inbox / "dangling.xml").symlink_to(tmp_path / "gone.xml")
    os.mkfifo(inbox / "pipe.nessus")
    for name in ("shadow.csv", "dangling.xml", "pipe.nessus"):
        then = time.time() - 60
        os.utime(inbox / name, (then, then), follow_symlinks=False)
    with dg.instance_for_test() as instance:
        requests, cursor = tick(defs, instance)
        assert requests == []
        assert json.loads(cursor) == {"dangling.xml": ["a symbolic link: name the file it points to instead"],
                                      "pipe.nessus": ["not a regular file"],
                                      "shadow.csv": ["a symbolic link: name the file it points to instead"]}
        assert tick(defs, instance, cursor=cursor) == ([], cursor)
    assert sorted(p.name for p in inbox.iterdir()) == ["dangling.xml", "pipe.nessus", "shadow.csv"]
