"""Import every file in a folder: imported files go to the archive, refused ones to quarantine."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from .service import FileSummary, filed_name, import_file

IGNORED_NAMES = {".DS_Store", "PROVENANCE.md", "FORMAT_NOTES.md", "README.md"}


def scan_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus everything but folders below named folders (a FIFO or a
    link there is listed too, so it is reported rather than passed over), in a stable order;
    a path named twice is listed once."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir() and not path.is_symlink():
            found += sorted(p for p in path.rglob("*") if not (p.is_dir() and not p.is_symlink())
                            and p.name not in IGNORED_NAMES and not p.name.startswith("."))
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def archive(path: Path, sha256: str, archive_dir: Path) -> Path:
    archive_dir.mkdir(parents=True, exist_ok=True)
    target = archive_dir / filed_name(sha256, path.name)
    shutil.move(str(path), target)
    return target


def import_folder(engine: sa.Engine, inbox: Path, *, archive_dir: Path, quarantine_dir: Path,
                  **options) -> list[FileSummary]:
    """Import what is in ``inbox``; nothing stays behind, nothing is lost."""
    summaries = []
    for path in scan_files([inbox]):
        try:
            summary = import_file(engine, path, quarantine_dir=quarantine_dir, **options)
        except OSError as error:  # not read (a link, a FIFO, no permission): reported, left in place
            summaries.append(FileSummary.unread(path, error))
            continue
        if summary.outcome in ("imported", "skipped"):
            archive(path, summary.sha256, archive_dir)
        summaries.append(summary)
    return summaries
