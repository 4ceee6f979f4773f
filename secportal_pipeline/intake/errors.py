"""Why a scanner file cannot be imported, as a value a person can act on."""

from __future__ import annotations

import re

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` on one line with control characters shown as ``\\xNN``: a file named to hold a
    line break or a terminal escape cannot forge or hide lines of the import's output."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class ImportRefused(Exception):
    """The whole file is refused; nothing from it may be imported."""

    def __init__(
        self,
        reason: str,
        format_guess: str = "",
        line: int | None = None,
        column: int | None = None,
        element_path: str | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.format_guess = format_guess
        self.line = line
        self.column = column
        self.element_path = element_path
        self.source = source  # file name, filled in by whoever knows it

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.line is not None:
            where.append(f"line {self.line}" + (f", column {self.column}" if self.column is not None else ""))
        if self.element_path:
            where.append(f"at {self.element_path}")
        prefix = f"{': '.join(where)}: " if where else ""
        guess = f" [format: {self.format_guess}]" if self.format_guess else ""
        return printable(f"{prefix}{self.reason}{guess}")


class UnsupportedFormat(ImportRefused):
    """The content is not one of the formats the intake reads."""

    def __init__(self, found: str, expected: str = "NessusClientData_v2, issues, or a CSV header", **kw) -> None:
        super().__init__(f"unsupported format: {found} (expected {expected})", **kw)
        self.found = found
        self.expected = expected

    def __str__(self) -> str:
        # The brief promises the message starts with "unsupported format:", so the file name goes last.
        text = self.reason
        if self.line is not None:
            text += f" at line {self.line}"
        if self.source:
            text += f" in {self.source}"
        return printable(text)
