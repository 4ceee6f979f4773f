"""A refused file that cannot be moved (read-only source) is copied to quarantine, not lost."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pytest

from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace.db import open_workspace


def test_unmovable_refused_file_is_copied_and_left_in_place(tmp_path, monkeypatch):
    source = tmp_path / "ro" / "empty.nessus"
    source.parent.mkdir()
    source.write_bytes(b"")

    def read_only_move(src, dst):
        raise OSError(errno.EROFS, "Read-only file system", src)

    monkeypatch.setattr(shutil, "move", read_only_move)
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    summary = import_file(engine, source, quarantine_dir=tmp_path / "q")
    assert summary.outcome == "quarantined" and summary.reason.startswith("unsupported format:")
    assert source.exists()
    copy = tmp_path / "q" / f"{summary.sha256[:12]}__empty.nessus"
    report = json.loads(copy.with_name(copy.name + ".json").read_text())
    assert copy.read_bytes() == b""
    assert report["original_left_in_place"] == "could not move it: Read-only file system"
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == [copy.name, copy.name + ".json"]
    assert summary.line() == (f"empty.nessus: quarantined ({summary.reason}) -> {copy} "
                              "(a copy: the original was left in place)")


def test_the_same_bytes_refused_twice_keep_both_reports(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    reports = []
    for folder in ("first", "second"):
        source = tmp_path / folder / "scan.nessus"
        source.parent.mkdir()
        source.write_bytes(b"<html><body>not a scan</body></html>")
        summary = import_file(engine, source, quarantine_dir=tmp_path / "q")
        assert summary.outcome == "quarantined" and not source.exists()
        reports.append(json.loads(Path(summary.quarantined_to + ".json").read_text()))
    name = f"{summary.sha256[:12]}__scan.nessus"
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == [name, name + ".2", name + ".2.json", name + ".json"]
    assert [r["file"] for r in reports] == [str(tmp_path / "first" / "scan.nessus"), str(tmp_path / "second" / "scan.nessus")]


def test_refused_without_quarantine_says_the_file_stayed(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    source = tmp_path / "empty.csv"
    source.write_bytes(b"")
    summary = import_file(engine, source)
    assert summary.outcome == "quarantined" and source.exists()
    assert summary.line() == f"empty.csv: refused ({summary.reason}); not quarantined, the file was left where it is"


def test_a_device_is_refused_before_a_byte_is_read(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    with pytest.raises(OSError) as refused:
        import_file(engine, Path("/dev/zero"), quarantine_dir=tmp_path / "q")
    assert (refused.value.errno, refused.value.strerror) == (errno.EINVAL, "not a regular file")
    assert not (tmp_path / "q").exists()


def test_a_name_too_long_for_the_quarantine_is_shortened_keeping_its_extension(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    source = tmp_path / ("x" * 240 + ".nessus")
    source.write_text("<html><body>not a scan</body></html>")
    summary = import_file(engine, source, quarantine_dir=tmp_path / "q")
    assert summary.outcome == "quarantined" and not source.exists()
    target = Path(summary.quarantined_to)
    assert target.name == f"{summary.sha256[:12]}__" + "x" * (200 - 14 - 7) + ".nessus"
    assert json.loads(target.with_name(target.name + ".json").read_text())["file"] == str(source)
