"""The one audited way a scanner file enters the workspace (CLI and sensor both call it)."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..workspace.accounts import INTAKE_HANDLE, ensure_service_accounts, user_id_for
from ..workspace.activity import record_event, utcnow
from ..workspace.schema import activity_log, scan_executions
from .errors import ImportRefused, printable
from .loader import ScanLoader, issue_dicts
from .parse_process import open_scan_for_import
from .progress import ImportProgress
from .records import ScanMeta


@dataclass
class FileSummary:
    """What happened to one file, for the CLI, the sensor's metadata and the activity log."""

    file: str
    sha256: str
    outcome: str  # imported, skipped, quarantined; failed: not read (see FileSummary.unread)
    reason: str = ""
    tool: str = ""
    variant: str = ""
    new: int = 0
    updated: int = 0
    reopened: int = 0
    unchanged: int = 0
    rows_skipped: int = 0
    duplicates_merged: int = 0
    blank_rows: int = 0
    scan_ids: list[int] = field(default_factory=list)
    row_issues: list[dict[str, Any]] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)
    quarantined_to: str = ""
    original_left_in_place: bool = False  # quarantined as a copy: the source could not be moved

    def line(self) -> str:
        """One line a terminal shows as it is (see printable)."""
        return printable(self._line())

    def _line(self) -> str:
        name = Path(self.file).name
        if self.outcome == "imported":
            text = (f"{name}: imported ({self.tool}{'/' + self.variant if self.variant else ''}) "
                    f"new={self.new} updated={self.updated} reopened={self.reopened} "
                    f"unchanged={self.unchanged} skipped={self.rows_skipped}")
            if self.duplicates_merged:
                text += f" merged_duplicates={self.duplicates_merged}"
            return text + (f" blank_rows={self.blank_rows}" if self.blank_rows else "")
        if self.outcome == "skipped":
            return f"{name}: skipped ({self.reason})"
        if self.outcome == "failed":
            return f"{name}: failed ({self.reason}); the file was left where it is"
        if not self.quarantined_to:
            return f"{name}: refused ({self.reason}); not quarantined, the file was left where it is"
        if self.original_left_in_place:
            return f"{name}: quarantined ({self.reason}) -> {self.quarantined_to} (a copy: the original was left in place)"
        return f"{name}: quarantined ({self.reason}) -> {self.quarantined_to}"

    @classmethod
    def unread(cls, path: Path, error: OSError) -> FileSummary:
        """A file import_file could not read (not there, no permission, a link, a FIFO)."""
        return cls(str(path), "", "failed", reason=str(error.strerror or error))

    def details(self) -> list[str]:
        """One line per bad row or ignored column, for a person reading the summary."""
        lines = [
            f"{i['where']}: " + (f"{i['column'] or '(row)'}={i['value']!r}: " if i["column"] or i["value"] else "")
            + f"{i['reason']} ({'skipped' if i['skipped'] else 'kept'})"
            for i in self.row_issues
        ]
        if self.unmapped_columns:
            lines.append(f"unmapped columns (ignored): {', '.join(self.unmapped_columns)}")
        return [printable(line) for line in lines]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _already_imported(conn: sa.Connection, sha256: str) -> datetime | None:
    """When these bytes were first imported: by their scan executions, or, for a file that held
    no findings (so no execution), by its ``import.completed`` entry (keyed by the sha256's
    first 16 hex digits, as import_file writes it)."""
    executions = sa.select(sa.func.min(scan_executions.c.imported_at)).where(
        scan_executions.c.file_sha256 == sha256).scalar_subquery()
    logged = sa.select(sa.func.min(activity_log.c.occurred_at)).where(
        activity_log.c.entity_type == "import", activity_log.c.entity_id == _import_entity(sha256),
        activity_log.c.action == "import.completed").scalar_subquery()
    first = conn.execute(sa.select(executions, logged)).one()
    return min((when for when in first if when is not None), default=None)


def _import_entity(sha256: str) -> str:
    return sha256[:16]


_NAME_BYTES = 200  # room left in a 255-byte file name for ".NN" and ".json"


def filed_name(sha256: str, name: str) -> str:
    """The name a file is kept under in the archive or the quarantine: its content's sha256
    prefix and its own name, shortened (extension kept) when that would not fit the file
    system; the quarantine report and the workspace keep the full original name."""
    filed = f"{sha256[:12]}__{name}"
    if len(filed.encode()) > _NAME_BYTES:
        suffix = Path(name).suffix if len(Path(name).suffix) <= 16 else ""
        filed = filed.encode()[: _NAME_BYTES - len(suffix.encode())].decode(errors="ignore") + suffix
    return filed


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name.2``, ``name.3``... when an earlier refusal holds it (the same
    bytes refused again leave the first report as it was: its path and its time)."""
    target, n = folder / name, 1
    while target.exists() or target.with_name(target.name + ".json").exists():
        n += 1
        target = folder / f"{name}.{n}"
    return target


def irregular(path: Path, mode: int | None = None) -> str | None:
    """Why ``path`` is not a file the intake reads, or None (``mode``: its lstat mode, when
    the caller has it). A device or FIFO would be read forever (/dev/zero); a symbolic link
    would have the intake read, and quote in its refusal, whatever it points at (a link
    dropped in the watched folder to /etc/shadow)."""
    mode = path.lstat().st_mode if mode is None else mode
    if stat.S_ISLNK(mode):
        return "a symbolic link: name the file it points to instead"
    return None if stat.S_ISREG(mode) else "not a regular file"


def _regular_file(path: Path) -> None:
    if (why := irregular(path)) is not None:
        raise OSError(errno.EINVAL, why, str(path))


def quarantine(path: Path, sha256: str, error: ImportRefused, quarantine_dir: Path) -> tuple[Path, bool]:
    """Move a refused file aside with a JSON report beside it; never overwrite an earlier one.

    A file that cannot be moved (a read-only source folder) is copied instead and the
    report says the original was left in place: nothing is lost either way. Returns where
    it went and whether that is a copy.
    """
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    target = _free_name(quarantine_dir, filed_name(sha256, path.name))
    report = {
        "file": str(path), "sha256": sha256, "format_guess": error.format_guess,
        "reason": error.reason, "line": error.line, "column": error.column,
        "element_path": error.element_path, "quarantined_at": utcnow().isoformat(),
    }
    try:
        shutil.move(str(path), target)
    except OSError as move_error:
        target.unlink(missing_ok=True)  # a cross-device move may have copied before failing
        shutil.copyfile(path, target)
        report["original_left_in_place"] = f"could not move it: {move_error.strerror or move_error}"
    report_path = target.with_name(target.name + ".json")
    tmp = report_path.with_name(report_path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(report_path)
    return target, "original_left_in_place" in report


def _batch_progress(path: Path, meta: ScanMeta, report: Callable[[ImportProgress], None] | None):
    if report is None:
        return None
    total, started, loaded = path.stat().st_size, time.monotonic(), 0

    def batch_loaded(size: int) -> None:
        nonlocal loaded
        loaded += size
        report(ImportProgress(path.name, loaded, meta.bytes_read, total, time.monotonic() - started))

    return batch_loaded


def import_file(
    engine: sa.Engine,
    path: Path,
    *,
    quarantine_dir: Path | None = None,
    actor_handle: str = INTAKE_HANDLE,
    engagement_id: int | None = None,
    source_pipeline: str | None = None,
    now: datetime | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
) -> FileSummary:
    """Import one file: all of it in one transaction, or none of it.

    A refused file is moved to ``quarantine_dir`` (when given) with a report; the
    workspace is left exactly as it was. ``progress`` hears about every loaded batch.
    """
    path = Path(path)
    _regular_file(path)
    sha256 = file_sha256(path)
    now = now or utcnow()
    with engine.begin() as conn:
        ensure_service_accounts(conn, now)
        earlier = _already_imported(conn, sha256)
    if earlier is not None:
        return FileSummary(str(path), sha256, "skipped", reason=f"already imported on {earlier:%Y-%m-%d %H:%M} UTC (same sha256)")
    try:
        with engine.begin() as conn:
            actor_id = user_id_for(conn, actor_handle)
            meta, records = open_scan_for_import(path)
            loader = ScanLoader(conn, meta=meta, source_file=path.name, file_sha256=sha256, actor_id=actor_id,
                                now=now, engagement_id=engagement_id, source_pipeline=source_pipeline)
            counts = loader.load(records, progress=_batch_progress(path, meta, progress))
            summary = FileSummary(
                str(path), sha256, "imported", tool=meta.source_tool, variant=meta.variant,
                new=counts.new, updated=counts.updated, reopened=counts.reopened, unchanged=counts.unchanged,
                rows_skipped=sum(1 for i in meta.issues if i.skipped), blank_rows=meta.blank_rows,
                duplicates_merged=counts.duplicates + meta.duplicates_merged,
                scan_ids=counts.scan_ids, row_issues=issue_dicts(meta.issues),
                unmapped_columns=list(meta.unmapped_columns),
            )
            if not counts.scan_ids:
                summary.reason = "the file holds no findings"
            record_event(
                conn, actor_id=actor_id, entity_type="import", entity_id=_import_entity(sha256), action="import.completed",
                occurred_at=now,
                # the file's name, not the importing machine's path to it
                metadata={**{k: v for k, v in summary.to_dict().items() if k not in {"outcome", "quarantined_to"}},
                          "file": path.name},
            )
            return summary
    except ImportRefused as error:
        summary = FileSummary(str(path), sha256, "quarantined", reason=str(error), tool=error.format_guess)
        if quarantine_dir is not None:
            target, summary.original_left_in_place = quarantine(path, sha256, error, quarantine_dir)
            summary.quarantined_to = str(target)
        return summary
