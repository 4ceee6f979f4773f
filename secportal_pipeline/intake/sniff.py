"""Decide a scanner file's format from its content, never from its extension."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .csv_generic import HeaderMap, detect_delimiter
from .errors import ImportRefused, UnsupportedFormat
from .xml_safety import read_prolog

_SNIFF_BYTES = 1 << 16
# Root elements we recognise but refuse, with what to do instead.
_KNOWN_ROOTS = {
    "NessusClientData": "Nessus v1 report (root <NessusClientData>; re-export as .nessus v2)",
    "ReportHost": "Nessus fragment (root <ReportHost>, no <NessusClientData_v2> wrapper)",
    "ReportItem": "Nessus fragment (root <ReportItem>, no <NessusClientData_v2> wrapper)",
    "testsuites": "JUnit test report (root <testsuites>)",
    "testsuite": "JUnit test report (root <testsuite>)",
    "issue": "Burp fragment (root <issue>, no <issues> wrapper)",
}


def sniff(path: str | Path) -> str:
    """Return "nessus", "burp" or "csv"; raise UnsupportedFormat (or ImportRefused for hostile XML)."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    try:
        return _sniff(path, head)
    except ImportRefused as exc:
        exc.source = exc.source or str(path)
        raise


def _sniff(path: Path, head: bytes) -> str:
    if not head.strip():
        raise UnsupportedFormat("empty file" if not head else "file contains only whitespace")
    # a UTF-16 byte-order mark: UTF-16 XML, or Excel's "Unicode text" export (a tab-delimited CSV)
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    text = (head[: len(head) - len(head) % 2].decode("utf-16", errors="replace") if utf16
            else head.decode("utf-8-sig", errors="replace"))
    start = text.lstrip(" \t\r\n\ufeff")
    if not start:
        raise UnsupportedFormat("file contains only whitespace")
    if start.startswith("<"):
        return _sniff_xml(path)
    if not utf16 and _is_binary(head):
        hint = " (a Burp project file is binary: export the issues as XML instead)" if path.suffix.lower() == ".burp" else ""
        raise UnsupportedFormat(f"binary content{hint}")
    if start[0] in "{[":
        raise UnsupportedFormat("JSON document")
    return _sniff_csv(text)


def _is_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
        return False
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a multi-byte character cut by the sniff window
            return False
    controls = sum(b < 9 or 13 < b < 32 for b in head)
    return controls > len(head) // 100


def _sniff_xml(path: Path) -> str:
    with open(path, "rb") as fh:
        start = fh.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if start.startswith((b"<!doctype html", b"<html")):
            raise UnsupportedFormat("HTML document (root <html>)")
        fh.seek(0)
        prolog = read_prolog(fh)  # raises ImportRefused on hostile DOCTYPEs
    root = prolog.root
    doctype = (prolog.doctype or "").lower()
    if root is None:
        raise UnsupportedFormat("markup without a root element")
    if root.lower() == "html" or doctype.startswith("<!doctype html"):
        raise UnsupportedFormat("HTML document (root <html>)")
    if root == "NessusClientData_v2":
        return "nessus"
    if root == "issues":
        return "burp"
    if root in _KNOWN_ROOTS:
        raise UnsupportedFormat(_KNOWN_ROOTS[root])
    raise UnsupportedFormat(f"root element <{root}>")


def _sniff_csv(text: str) -> str:
    first_line = text.splitlines()[0] if text else ""
    header = next(csv.reader(io.StringIO(text), delimiter=detect_delimiter(first_line)), [])
    known = HeaderMap.build(header).columns
    # Two known columns is a header; one could be a coincidence in free text.
    if len(known) >= 2:
        return "csv"
    shown = first_line[:80] + ("..." if len(first_line) > 80 else "")
    raise UnsupportedFormat(f"text whose first line is not a known CSV header ({shown!r})")
