"""The blocking check that no raw value of a non-raw column reached the landed files.

Classification is the one step whose failure is silent: a hashed column that was
not hashed still validates as text. This check does not trust the classifier. From the
canonical (pre-classification) frame it takes every raw value of each hashed, redacted
or omitted text column, and looks for it in every text cell of every landed file (CSV,
Parquet, and the Excel workbook when there is one):

- as a whole cell (also in its formula-neutralised form, ``'=...``);
- for a JSON-masked column, each value the mask hides is also searched for among the
  strings of every landed cell that holds JSON, since it would sit inside a payload.

A value that the contract shows legitimately elsewhere (the same text in a raw column,
a JSON key, a value kept by the mask, the redaction marker) is no secret and is not
searched for. Number, date and timestamp columns are not scanned: their values collide
with legitimate numbers. The error names columns, files and rows, never the value.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..contracts.model import ColumnSpec, Contract
from ..contracts.schema import REDACTED_MARKER
from .jsonmask import mask_text, strings
from .neutralise import neutralise


class LeakDetected(RuntimeError):
    """Raw values of non-raw columns were found in landed files (a redaction rule miss)."""

    def __init__(self, contract: Contract, partition: str, leaks: list[Leak]):
        self.contract, self.partition, self.leaks = contract, partition, leaks
        head = "; ".join(leak.describe() for leak in leaks[:10])
        more = f" (+{len(leaks) - 10} more)" if len(leaks) > 10 else ""
        super().__init__(f"{contract.id} v{contract.version} partition {partition}: redaction rule miss: "
                         f"{head}{more}; nothing was landed")


@dataclass(frozen=True)
class Leak:
    column: str  # the non-raw contract column whose raw value leaked
    treatment: str
    file: str
    landed_column: str
    row: int  # 1-based data row (the CSV header is not counted)
    cells: int  # how many cells of that landed column hold such a value

    def describe(self) -> str:
        return (f"raw value(s) of column {self.column!r} ({self.treatment}) found in {self.file} column "
                f"{self.landed_column!r}, first at row {self.row} ({self.cells} cell(s))")


@dataclass
class _Needles:
    column: ColumnSpec
    whole: set[str]
    inside: set[str]


def _text(series: pd.Series) -> list[str]:
    return [str(v) for v in series.dropna().unique() if str(v).strip()]


def needles(canonical: pd.DataFrame, contract: Contract) -> list[_Needles]:
    """Per non-raw text column, the values that must not appear in a landed file."""
    shown = {REDACTED_MARKER}
    for column in contract.columns:
        if column.treatment == "raw" and column.logical_type == "string":
            shown.update(_text(canonical[column.name]))
    out = []
    for column in contract.columns:
        if column.treatment == "raw" or column.logical_type != "string":
            continue
        values = _text(canonical[column.name])
        whole, inside = set(values), set()
        if column.redaction == "json-mask":
            # a payload the mask leaves unchanged hides nothing
            whole = {v for v in values if mask_text(v, column.keep_keys) != v}
            for value in values:
                for text, kept in strings(value, column.keep_keys):
                    (shown.add if kept else inside.add)(text)
        out.append(_Needles(column, whole, inside))
    for n in out:
        n.inside = {v for v in n.inside - shown if v.strip()}
        n.whole = (n.whole | {neutralise(v) for v in n.whole}) - shown
    return [n for n in out if n.whole or n.inside]


def _csv_table(path: Path) -> pa.Table:
    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh), [])
    options = pacsv.ConvertOptions(column_types={name: pa.string() for name in header},
                                   strings_can_be_null=False)
    return pacsv.read_csv(path, convert_options=options)


def _xlsx_tables(path: Path) -> Iterator[tuple[str, pa.Table]]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            rows = list(sheet.iter_rows(values_only=True))
            if not rows:
                continue
            columns = list(zip(*rows, strict=False))  # header cell first, then the data rows
            yield f"{path.name}[{sheet.title}]", pa.table({
                str(col[0]): pa.array([v if isinstance(v, str) else None for v in col[1:]], pa.string())
                for col in columns
            })
    finally:
        workbook.close()


def landed_tables(directory: Path) -> Iterator[tuple[str, pa.Table]]:
    """Every data file in ``directory`` as (name, table); the manifest is not data."""
    for path in sorted(Path(directory).iterdir()):
        if path.suffix == ".csv":
            yield path.name, _csv_table(path)
        elif path.suffix == ".parquet":
            yield path.name, pq.read_table(path)
        elif path.suffix == ".xlsx":
            yield from _xlsx_tables(path)


def _all_strings(node) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _all_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _all_strings(v)
    elif isinstance(node, str):
        yield node


def _json_cells(array: pa.ChunkedArray) -> dict[str, set[str]]:
    """The strings inside each distinct JSON-looking cell (each parsed once)."""
    out = {}
    for text in pc.unique(array).to_pylist():
        if text and text[0] in "[{":
            try:
                out[text] = set(_all_strings(json.loads(text)))
            except ValueError:
                continue
    return out


def _hits(array: pa.ChunkedArray, n: _Needles, json_cells: dict[str, set[str]]) -> pa.ChunkedArray | None:
    """Cells equal to a hidden value, or holding JSON with a hidden string inside."""
    suspects = set(n.whole)
    if n.inside:
        suspects.update(text for text, found in json_cells.items() if not found.isdisjoint(n.inside))
    if not suspects:
        return None
    return pc.is_in(array, value_set=pa.array(sorted(suspects), pa.string()))


def find_leaks(canonical: pd.DataFrame, contract: Contract, directory: Path) -> list[Leak]:
    """Every landed text column holding a raw value of a non-raw column (empty: clean)."""
    wanted = needles(canonical, contract)
    leaks: list[Leak] = []
    if not wanted:
        return leaks
    any_inside = any(n.inside for n in wanted)
    for name, table in landed_tables(directory):
        for landed_column in table.column_names:
            array = table[landed_column]
            if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
                continue
            json_cells = _json_cells(array) if any_inside else {}
            for n in wanted:
                mask = _hits(array, n, json_cells)
                count = pc.sum(mask).as_py() if mask is not None else 0
                if count:
                    first = pc.index(mask, True).as_py()
                    leaks.append(Leak(n.column.name, n.column.treatment, name, landed_column, first + 1, count))
    return leaks


def assert_no_leaks(canonical: pd.DataFrame, contract: Contract, directory: Path, partition: str) -> None:
    leaks = find_leaks(canonical, contract, directory)
    if leaks:
        raise LeakDetected(contract, partition, leaks)
