"""A refused file that cannot be moved (read-only source) is copied to quarantine, not lost."""

from __future__ import annotations

import errno
import json
import shutil

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
