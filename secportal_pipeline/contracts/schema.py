"""Pandera schemas built from a contract: strict, ordered, never coercing."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from .model import ColumnSpec, Contract

HASH_PATTERN = r"^[0-9a-f]{64}$"
REDACTED_MARKER = "[REDACTED]"
# a masked JSON payload is still an object or an array (a payload that was not JSON
# becomes the bare marker, which this refuses: the export fails instead of guessing)
JSON_CONTAINER_PATTERN = r"^[\[{]"

# pandas dtypes an export frame carries, per contract logical type
PANDAS_DTYPES = {
    "string": pd.StringDtype("pyarrow"),
    "integer": pd.Int64Dtype(),
    "number": pd.Float64Dtype(),
    "boolean": pd.BooleanDtype(),
    "date": pd.StringDtype("pyarrow"),  # ISO yyyy-mm-dd text: CSV and Parquet agree on it
    "timestamp": pd.DatetimeTZDtype("us", "UTC"),
}
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def _checks(column: ColumnSpec, landed: bool) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if landed and column.treatment == "hashed":
        return [pa.Check.str_matches(HASH_PATTERN)]
    if landed and column.treatment == "redacted" and column.redaction == "json-mask":
        return [pa.Check.str_matches(JSON_CONTAINER_PATTERN)]
    if landed and column.treatment == "redacted":
        return [pa.Check.isin([REDACTED_MARKER])]
    if column.logical_type == "date":
        checks.append(pa.Check.str_matches(DATE_PATTERN))
    if column.pattern:
        checks.append(pa.Check.str_matches(column.pattern))
    if column.valid_values is not None:
        checks.append(pa.Check.isin(list(column.valid_values)))
    if column.minimum is not None:
        checks.append(pa.Check.ge(column.minimum))
    if column.maximum is not None:
        checks.append(pa.Check.le(column.maximum))
    return checks


def dtype_for(column: ColumnSpec, landed: bool = False):
    if landed and column.treatment in ("hashed", "redacted"):
        return PANDAS_DTYPES["string"]
    return PANDAS_DTYPES[column.logical_type]


def build_schema(contract: Contract, *, landed: bool = False) -> pa.DataFrameSchema:
    """The contract as a Pandera schema.

    ``landed=False`` checks the canonical frame an export builds (every column, real
    values); ``landed=True`` checks what is written to the landing zone (omitted
    columns gone, hashed columns hex digests, redacted columns the marker).
    """
    columns = contract.landed_columns if landed else contract.columns
    return pa.DataFrameSchema(
        {
            c.name: pa.Column(
                dtype_for(c, landed),
                checks=_checks(c, landed),
                nullable=not c.required,
                unique=c.unique,
                required=True,
                description=c.description,
            )
            for c in columns
        },
        strict=True,
        ordered=True,
        coerce=False,
        name=f"{contract.id} v{contract.version}{' (landed)' if landed else ''}",
    )


def typed_frame(records: list[dict], contract: Contract) -> pd.DataFrame:
    """A frame from ``records`` with the contract's dtypes on the columns it knows.

    Columns the contract does not know are kept as they are and column order is the
    records' own, so drift between a query and its contract still fails validation.
    """
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(
        {c.name: pd.Series([], dtype=dtype_for(c)) for c in contract.columns}
    )
    known = {c.name: c for c in contract.columns}
    for name in frame.columns:
        if name in known:
            column = known[name]
            if column.logical_type == "timestamp":
                frame[name] = pd.to_datetime(frame[name], utc=True).astype(dtype_for(column))
            else:
                frame[name] = frame[name].astype(dtype_for(column))
    return frame
