"""One entry point: open a scanner file, whatever its format, as (meta, record stream)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .burp import parse_burp
from .csv_generic import parse_csv
from .errors import ImportRefused
from .nessus import parse_nessus
from .records import ScanMeta, ScanRecord
from .sniff import sniff

_PARSERS = {"nessus": parse_nessus, "burp": parse_burp, "csv": parse_csv}


def open_scan(path: str | Path) -> tuple[ScanMeta, Iterator[ScanRecord]]:
    """Sniff the content and return (meta, records); meta fills in as the records are consumed.

    Refusals found while streaming surface from the iterator as ImportRefused, so a caller
    must consume it inside its transaction before committing anything.
    """
    path = Path(path)
    tool = sniff(path)
    meta = ScanMeta(source_tool=tool)
    return meta, _named(_PARSERS[tool](path, meta), path)


def _named(records: Iterator[ScanRecord], path: Path) -> Iterator[ScanRecord]:
    try:
        yield from records
    except ImportRefused as exc:
        exc.source = exc.source or str(path)
        raise
