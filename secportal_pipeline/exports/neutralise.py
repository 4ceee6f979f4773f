"""Spreadsheet formula-injection neutralisation for text people open in Excel.

Scanner text is attacker-controlled: a parameter named ``=HYPERLINK(...)`` becomes
a live formula when a CSV is opened. Any text cell starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return gets a leading apostrophe (OWASP's advice), so
the spreadsheet shows the text instead of evaluating it.
"""

from __future__ import annotations

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell neutralised; other columns untouched."""
    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_string_dtype(out[name].dtype):
            series = out[name]
            mask = series.str.startswith(FORMULA_TRIGGERS).fillna(False).astype(bool)
            if mask.any():
                out[name] = series.where(~mask, "'" + series)
    return out
