"""Progress of one long import, and a one-line stderr display of it for the CLI."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TextIO

MB = 1_000_000


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """Where an import stands: records loaded, bytes parsed of the file, time spent."""

    file: str
    records: int
    bytes_read: int
    total_bytes: int
    seconds: float

    def line(self) -> str:
        done, total = self.bytes_read / MB, self.total_bytes / MB
        share = f" ({100 * self.bytes_read / self.total_bytes:.0f}%)" if self.total_bytes else ""
        rate = done / self.seconds if self.seconds > 0 else 0.0
        return (f"{self.file}: {self.records:,} records, {done:,.1f} / {total:,.1f} MB{share}, "
                f"{rate:.1f} MB/s, {self.records / max(self.seconds, 1e-9):,.0f} records/s")


class ProgressLine:
    """Rewrites one status line on ``stream`` at most every ``interval`` seconds."""

    def __init__(self, stream: TextIO, interval: float = 0.5) -> None:
        self.stream = stream
        self.interval = interval
        self._last = float("-inf")
        self._shown = False

    def __call__(self, progress: ImportProgress) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        self._shown = True
        self.stream.write("\r\x1b[K" + progress.line())
        self.stream.flush()

    def finish(self) -> None:
        """End the status line so the summary that follows starts on its own line."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
        self._last = float("-inf")
