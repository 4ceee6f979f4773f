"""Apply a contract's per-column treatment: raw, redacted, hashed, omitted.

hashed is a keyed HMAC-SHA256 (joins across exports still work; a dictionary of
likely e-mail addresses does not reverse it without the key). Each distinct value
is hashed once and mapped back, which is what makes it cheap on a million rows.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

from ..contracts.model import Contract
from ..contracts.schema import REDACTED_MARKER, dtype_for
from .jsonmask import mask_text


def hmac_hex(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def hash_series(series: pd.Series, key: bytes) -> pd.Series:
    distinct = series.dropna().unique()
    digests = {value: hmac_hex(key, str(value)) for value in distinct}
    return series.map(digests).astype(pd.StringDtype("pyarrow"))


def redact_series(series: pd.Series) -> pd.Series:
    return series.where(series.isna(), REDACTED_MARKER).astype(pd.StringDtype("pyarrow"))


def mask_series(series: pd.Series, keep: tuple[str, ...]) -> pd.Series:
    """The documented JSON mask (see jsonmask.py), once per distinct payload."""
    distinct = series.dropna().unique()
    masked = {value: mask_text(value, keep) for value in distinct}
    return series.map(masked).astype(pd.StringDtype("pyarrow"))


def classify(frame: pd.DataFrame, contract: Contract, key: bytes) -> pd.DataFrame:
    """The landed form of a validated canonical frame, in the contract's landing order."""
    out = {}
    for column in contract.landed_columns:
        series = frame[column.name]
        if column.treatment == "hashed":
            series = hash_series(series, key)
        elif column.treatment == "redacted" and column.redaction == "json-mask":
            series = mask_series(series, column.keep_keys)
        elif column.treatment == "redacted":
            series = redact_series(series)
        else:
            series = series.astype(dtype_for(column, landed=True))
        out[column.name] = series
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)
