"""Excel workbooks people open: typed cells, a frozen header, sensible widths, no formulas.

xlsxwriter writes a string that starts with ``=`` as a formula by default; scanner text
is attacker-controlled, so ``strings_to_formulas`` (and the URL and number guessing)
is off, and every text cell is also neutralised (a leading apostrophe, as in the CSV)
so the same bytes are safe if someone copies them into another sheet.

The bytes are deterministic: the document's created date is derived from the
partition, not the clock, and xlsxwriter stamps the zip entries with a fixed date, so
a re-run lands an identical file.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
import xlsxwriter

from ..contracts.model import ColumnSpec, Contract
from .neutralise import neutralise

MAX_WIDTH = 60
MIN_WIDTH = 8
SHEET_NAME_MAX = 31  # Excel's limit
FORMATS = {
    "date": "yyyy-mm-dd",
    "timestamp": 'yyyy-mm-dd hh:mm:ss "UTC"',
    "integer": "0",
    "number": "0.00",
}
FIXED_CREATED = datetime(2000, 1, 1)


@dataclass(frozen=True)
class Sheet:
    name: str
    frame: pd.DataFrame  # the landed (classified) frame
    columns: Sequence[ColumnSpec]  # the landed columns, in order


def created_for(partition: str) -> datetime:
    """The workbook's created date: the partition's date when the key is one, else a fixed instant."""
    try:
        day = date.fromisoformat(partition)
    except ValueError:
        return FIXED_CREATED
    return datetime(day.year, day.month, day.day)


def sheet_for(contract: Contract, frame: pd.DataFrame) -> Sheet:
    name = str(contract.custom.get("sheetName") or contract.id)[:SHEET_NAME_MAX]
    return Sheet(name, frame, contract.landed_columns)


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _cell_text(value, column: ColumnSpec) -> str:
    """What the cell shows, for the column width."""
    if column.logical_type == "timestamp":
        return "yyyy-mm-dd hh:mm:ss UTC"
    if column.logical_type == "number":
        return f"{value:.2f}"
    return str(value)


def _write_sheet(book: xlsxwriter.Workbook, sheet: Sheet, header_format, formats) -> None:
    ws = book.add_worksheet(sheet.name)
    widths = [len(c.name) for c in sheet.columns]
    for col, column in enumerate(sheet.columns):
        ws.write_string(0, col, column.name, header_format)
    for col, column in enumerate(sheet.columns):
        cell_format = formats.get(column.logical_type)
        for row, value in enumerate(sheet.frame[column.name].tolist(), start=1):
            if _missing(value):
                ws.write_blank(row, col, None, cell_format)
                continue
            kind = column.logical_type
            if column.treatment in ("hashed", "redacted") or kind == "string":
                text = neutralise(str(value))
                ws.write_string(row, col, text)
            elif kind == "date":
                ws.write_datetime(row, col, datetime.fromisoformat(str(value)), cell_format)
                text = "yyyy-mm-dd"
            elif kind == "timestamp":
                stamp = pd.Timestamp(value).tz_convert(UTC).tz_localize(None).to_pydatetime()
                ws.write_datetime(row, col, stamp, cell_format)
                text = _cell_text(value, column)
            elif kind == "boolean":
                ws.write_boolean(row, col, bool(value))
                text = "FALSE"
            else:
                ws.write_number(row, col, float(value) if kind == "number" else int(value), cell_format)
                text = _cell_text(value, column)
            widths[col] = max(widths[col], len(text))
    for col, width in enumerate(widths):
        ws.set_column(col, col, min(max(width + 2, MIN_WIDTH), MAX_WIDTH))
    ws.freeze_panes(1, 0)
    if len(sheet.columns):
        ws.autofilter(0, 0, max(len(sheet.frame), 1), len(sheet.columns) - 1)


def workbook_bytes(sheets: Sequence[Sheet], *, created: datetime, title: str) -> bytes:
    """One workbook, one sheet per table, as bytes."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "default_date_format": FORMATS["date"],
    })
    book.set_properties({"title": title, "author": "secportal-pipeline", "created": created})
    header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#D9E1F2"})
    formats = {kind: book.add_format({"num_format": fmt}) for kind, fmt in FORMATS.items()}
    for sheet in sheets:
        _write_sheet(book, sheet, header, formats)
    book.close()
    return buffer.getvalue()


def contract_workbook(frame: pd.DataFrame, contract: Contract, partition: str) -> bytes:
    """The landed frame of one export partition as a one-sheet workbook."""
    return workbook_bytes([sheet_for(contract, frame)], created=created_for(partition),
                          title=f"{contract.name} {partition} (contract {contract.id} v{contract.version})")
