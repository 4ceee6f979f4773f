"""Generic scanner CSV -> ScanRecord, for the Nessus/Tenable/DefectDojo/Faraday/free-form shapes.

Headers are trimmed and case-folded, then mapped through ALIASES, the one table of
known column names. Bad cells and rows become RowIssues and never abort the file; only a
header without a title and a host column, or a file the strict CSV reader cannot split
into rows (a stray quote, a file cut inside a quoted field) refuses it.
"""

from __future__ import annotations

import ast
import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from .errors import ImportRefused
from .fingerprint import normalise_text
from .records import NO_RATING, RowIssue, ScanMeta, ScanRecord
from .scoring import band_from_scanner, normalise_cvss2, normalise_cvss3
from .urls import PORT_PROBLEM, port_number, split_url

# canonical field -> header aliases (case-folded), highest priority first: for a row the
# first non-empty aliased cell wins (Tenable.sc "DNS Name" is often empty; "IP Address" then serves).
ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("name", "title", "plugin name", "vulnerability", "vulnerability name", "issue",
              "finding", "definition.name"),
    "host": ("host", "fqdn", "dns name", "hostname", "host name", "asset", "asset.fqdn",
             "asset.host_name", "ip address", "ip", "asset.ipv4", "url", "target", "website"),
    "port": ("port", "asset.port", "port number"),
    "protocol": ("protocol", "proto"),
    "severity": ("severity", "risk", "risk factor", "severity level", "threat", "definition.severity"),
    "plugin_id": ("plugin id", "plugin", "pluginid", "plugin_id", "definition.id", "rule id"),
    "module": ("plugin family", "family", "definition.family"),
    "description": ("description", "desc", "synopsis", "definition.description"),
    "solution": ("solution", "steps to remediate", "mitigation", "remediation", "resolution",
                 "recommendation", "definition.solution"),
    "evidence": ("plugin output", "plugin text", "evidence", "output", "proof"),
    "cvss3_vector": ("cvss3 vector", "cvss v3 vector", "cvssv3 vector", "cvss3_vector_string",
                     "cvss3 vector string", "cvss3_vector", "cvss v3.0 vector",
                     "definition.cvss3.base_vector"),
    "cvss2_vector": ("cvss vector", "cvss v2 vector", "cvss2 vector", "cvssv2 vector",
                     "cvss2_vector_string", "cvss2_vector", "definition.cvss2.base_vector"),
    # "CVSSv3" holds a vector in DefectDojo exports and a bare score in Tenable WAS: decided per cell.
    "cvss3_either": ("cvssv3",),
    "score": ("cvss", "cvss base score", "cvss v2.0 base score", "cvss v2 base score",
              "cvss3 base score", "cvss v3.0 base score", "cvss v3 base score", "cvss v4.0 base score",
              "cvss v4.0 base+threat score", "cvss2_base_score", "cvss3_base_score", "cvssv4"),
    "cve": ("cve", "cves", "cve(s)", "cve id", "cve ids", "vulnerability id", "vulnerability ids",
            "definition.cve"),
    "cwe": ("cweid", "cwe", "cwe id", "cwes"),
    "references": ("see also", "references", "refs", "reference", "xref", "cross references"),
    "location": ("location", "path", "url path", "affected url"),
    "observed_at": ("last observed", "last found", "last seen", "date"),
    "scan_start": ("host start",),
    "scan_end": ("host end",),
}
MANDATORY = ("title", "host")
_ALIAS_INDEX = {alias: canon for canon, aliases in ALIASES.items() for alias in aliases}
_CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.I)
_CWE = re.compile(r"(?:CWE-)?(\d+)", re.I)
_HOST_PORT = re.compile(r"^([^/:\s]+)(?::(\d+))?(/.*)?$")
_DATE_FORMATS = ("%m/%d/%Y", "%d/%m/%Y", "%b %d, %Y %H:%M:%S UTC", "%Y/%m/%d", "%m/%d/%Y %H:%M:%S")
_PROTOCOLS = {"http": "tcp", "https": "tcp"}  # Tenable WAS writes the application protocol
MAX_CELL = 200


def canonical(header: str) -> str | None:
    """Canonical field for one header cell, or None when it is not a known column."""
    return _ALIAS_INDEX.get(header.strip().casefold())


def detect_delimiter(first_line: str) -> str:
    """The delimiter is whichever of , ; TAB occurs most in the header line, outside quotes."""
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    return max((",", ";", "\t"), key=unquoted.count)


@dataclass
class HeaderMap:
    names: list[str]
    columns: dict[str, list[int]] = field(default_factory=dict)  # canonical -> indices by priority
    unmapped: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, header: list[str]) -> HeaderMap:
        hm = cls(names=[h.strip() for h in header])
        for i, name in enumerate(hm.names):
            canon = canonical(name)
            if canon is None:
                hm.unmapped.append(name or f"(column {i + 1}, no name)")
            else:
                hm.columns.setdefault(canon, []).append(i)
        for canon, idx in hm.columns.items():
            order = ALIASES[canon]
            idx.sort(key=lambda i: order.index(hm.names[i].casefold()))
        return hm

    def missing(self) -> list[str]:
        return [c for c in MANDATORY if c not in self.columns]


def detect_variant(names: set[str]) -> str:
    """Name the export shape from its header set (names case-folded)."""
    if "vulnerability state" in names or "definition.cvss3.base_vector" in names:
        return "tenable.io"
    if {"plugin", "plugin name", "ip address"} <= names:
        return "tenable.sc"
    if {"plugin id", "cvssv3", "risk"} <= names:
        return "tenable-was"
    if {"plugin id", "risk", "host", "name"} <= names:
        return "nessus-all-columns" if "risk factor" in names else "nessus-default"
    if "confirmed" in names and "cvss3_vector_string" in names:
        return "faraday"
    if "title" in names and ({"url", "date", "active", "verified"} & names):
        return "defectdojo-generic"
    return "generic"


def _not_utf8_byte(error: UnicodeDecodeError) -> tuple[str, int]:
    """Decode error handler: each byte that is not UTF-8 read as Windows-1252, or as Latin-1
    where Windows-1252 leaves it undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d): never fails."""
    bad = error.object[error.start:error.end]
    return "".join(bytes((b,)).decode("cp1252", errors="ignore") or chr(b) for b in bad), error.end


NOT_UTF8 = "secportal-not-utf8-byte"
codecs.register_error(NOT_UTF8, _not_utf8_byte)


def _detect_encoding(path: Path) -> tuple[str, str, str]:
    """(encoding, errors handler, note for the user or ""): UTF-16 by its BOM, else UTF-8, each
    byte that is not UTF-8 read as Windows-1252 (so one stray byte in a UTF-8 export does not
    turn every accented character of the file into two)."""
    # A full pass (about 1 s per GB) so a late undecodable byte cannot surface after records
    # were yielded; with the handler, the decoding itself cannot fail.
    with open(path, "rb") as fh:
        if fh.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # Excel "Unicode text"
            if bad := _first_undecodable(path, "utf-16"):
                raise ImportRefused(f"UTF-16 text with an invalid sequence at byte offset {bad[0]}: "
                                    "save it as UTF-8 CSV", "csv", source=str(path))
            return "utf-16", "strict", ""
    if not (bad := _first_undecodable(path, "utf-8")):
        return "utf-8-sig", "strict", ""
    offset, byte = bad
    return "utf-8-sig", NOT_UTF8, (f"not valid UTF-8 from byte offset {offset} (0x{byte:02x}) on; bytes that are "
                                   "not UTF-8 read as Windows-1252 (Latin-1 where it has none)")


def _first_undecodable(path: Path, encoding: str) -> tuple[int, int] | None:
    """(byte offset, byte) of the first byte that does not decode, or None when the whole file does."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                pending = decoder.getstate()[0]  # a character split by the previous chunk
                decoder.decode(chunk)
                offset += len(chunk)
            pending = decoder.getstate()[0]
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        start = offset - len(pending) + exc.start
        return start, exc.object[exc.start]
    return None


def _parse_date(text: str) -> datetime | None:
    text = text.strip()
    try:
        dt = datetime.fromisoformat(text)
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _split_host(raw: str) -> tuple[str, int | None, str]:
    """(host, port, location) from a host cell that may be a URL or host:port/path."""
    raw = raw.strip()
    if "://" in raw:
        return split_url(raw)
    m = _HOST_PORT.match(raw)
    if m and (m.group(2) or m.group(3)):
        return m.group(1).lower(), int(m.group(2)) if m.group(2) else None, m.group(3) or ""
    return raw.lower().rstrip("."), None, ""


def _references(cell: str) -> list[str]:
    """One reference per line; Faraday writes a Python-literal list of {'type','name'} dicts."""
    cell = cell.strip()
    if cell.startswith("["):
        try:
            items = ast.literal_eval(cell)
        except (ValueError, SyntaxError):
            items = None
        if isinstance(items, list):
            out = [i.get("name", "") if isinstance(i, dict) else str(i) for i in items]
            return [str(o).strip() for o in out if str(o).strip()]
    return [line.strip() for line in cell.splitlines() if line.strip()]


def _unique(items) -> tuple:
    return tuple(dict.fromkeys(i for i in items if i))


class _Row:
    """One data row seen through the header map, collecting its own RowIssues."""

    def __init__(self, cells: list[str], hm: HeaderMap, where: str, issues: list[RowIssue]) -> None:
        self.cells, self.hm, self.where, self.issues = cells, hm, where, issues

    def first(self, canon: str) -> tuple[str, str]:
        """(column name, value) of the highest-priority non-empty cell for a field."""
        for i in self.hm.columns.get(canon, ()):
            if i < len(self.cells) and self.cells[i].strip():
                return self.hm.names[i], self.cells[i]
        return "", ""

    def every(self, canon: str) -> list[tuple[str, str]]:
        return [(self.hm.names[i], self.cells[i]) for i in self.hm.columns.get(canon, ())
                if i < len(self.cells) and self.cells[i].strip()]

    def issue(self, column: str, value: str, reason: str, skipped: bool = False) -> None:
        self.issues.append(RowIssue(self.where, column, value[:MAX_CELL], reason, skipped))


def _record(row: _Row, record_id: str, severity_col: bool) -> ScanRecord | None:
    col, title = row.first("title")
    hcol, host_raw = row.first("host")
    if not title.strip() or not host_raw.strip():
        missing = [n for n, v in (("title", title), ("host", host_raw)) if not v.strip()]
        row.issue(", ".join(missing), "", f"row has no {' and no '.join(missing)}; not imported", True)
        return None
    host, url_port, url_loc = _split_host(host_raw)

    port = url_port
    pcol, praw = row.first("port")
    if praw.strip():
        port = port_number(praw.strip())
        if port is None:
            row.issue(pcol, praw, PORT_PROBLEM)
    proto = row.first("protocol")[1].strip().lower() or None
    proto = _PROTOCOLS.get(proto, proto) if proto else None

    scol, sev = row.first("severity")
    band = band_from_scanner("csv", sev)
    if band is None:
        if severity_col:
            why = "empty severity" if not sev.strip() else "unrecognised severity"
            row.issue(scol or row.hm.names[row.hm.columns["severity"][0]], sev, f"{why}; {NO_RATING}")

    cvss3 = None
    v3_cells = row.every("cvss3_vector") + [c for c in row.every("cvss3_either") if "/" in c[1]]
    for name, raw in v3_cells[:1]:
        cvss3 = normalise_cvss3(raw)
        if cvss3 is None:
            row.issue(name, raw, "not a CVSS 3 vector; imported without one")
    cvss2 = None
    for name, raw in row.every("cvss2_vector")[:1]:
        cvss2 = normalise_cvss2(raw)
        if cvss2 is None:
            row.issue(name, raw, "not a CVSS 2 vector; imported without one")
    for name, raw in row.every("score") + [c for c in row.every("cvss3_either") if "/" not in c[1]]:
        try:
            ok = 0.0 <= float(raw.strip()) <= 10.0
        except ValueError:
            ok = False
        if not ok:
            row.issue(name, raw, "CVSS score is not a number 0.0-10.0; ignored")

    cve_text = " ".join(v for _, v in row.every("cve"))
    cves = _unique(c.upper() for c in _CVE.findall(cve_text))
    # Non-CVE ids (GHSA-..., vendor ids) are still worth keeping as references.
    other_ids = [t for t in re.split(r"[\s,;\[\]'\"]+", _CVE.sub(" ", cve_text)) if t]
    cwes = _unique(int(n) for _, v in row.every("cwe") for n in _CWE.findall(v) if int(n) > 0)
    refs = [r for _, v in row.every("references") for r in _references(v)]

    observed = None
    ocol, oraw = row.first("observed_at")
    if oraw.strip():
        observed = _parse_date(oraw)
        if observed is None:
            row.issue(ocol, oraw, "unrecognised date; imported without observed_at")

    location = normalise_text(row.first("location")[1]) or url_loc
    description = normalise_text(row.first("description")[1])
    return ScanRecord(
        record_id=record_id,
        asset_ref=host,
        plugin_id=row.first("plugin_id")[1].strip() or title.strip(),
        module=row.first("module")[1].strip(),
        title=title.strip(),
        scanner_severity=sev.strip(),
        scanner_band=band,
        port=port,
        protocol=proto,
        location=location,
        description=description,
        solution=normalise_text(row.first("solution")[1]),
        evidence=normalise_text(row.first("evidence")[1]),
        cvss3_vector=cvss3,
        cvss2_vector=cvss2,
        cves=cves,
        cwes=cwes,
        references=_unique(refs + other_ids),
        observed_at=observed,
    )


def _fold(a: ScanRecord, b: ScanRecord) -> ScanRecord:
    """One finding reported over several rows (one row per CVE): union the id lists."""
    return replace(a, cves=_unique(a.cves + b.cves), cwes=_unique(a.cwes + b.cwes),
                   references=_unique(a.references + b.references))


def parse_csv(path: str | Path, meta: ScanMeta) -> Iterator[ScanRecord]:
    """Stream records from a scanner CSV; fills meta (variant, blank rows, unmapped columns, issues)."""
    path = Path(path)
    encoding, errors, note = _detect_encoding(path)
    if note:
        meta.issues.append(RowIssue("file", "", "", note, False))
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))  # plugin output can be megabytes
    with open(path, encoding=encoding, errors=errors, newline="") as fh:
        first_line = fh.readline()
        fh.seek(0)
        # strict: a file cut inside a quoted field raises instead of yielding the cut text as a value
        reader = csv.reader(fh, delimiter=detect_delimiter(first_line), strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise _unreadable(exc, "the header", 1, path) from None
        if not header or not any(h.strip() for h in header):
            raise ImportRefused("CSV has no header row", "csv", line=1, source=str(path))
        hm = HeaderMap.build(header)
        if missing := hm.missing():
            wanted = "; ".join(f"{m} (one of: {', '.join(ALIASES[m])})" for m in missing)
            raise ImportRefused(
                f"CSV header lacks mandatory column(s) {', '.join(missing)}: expected {wanted}; "
                f"found: {', '.join(h for h in hm.names if h) or 'no named columns'}",
                "csv", line=1, source=str(path),
            )
        meta.variant = detect_variant({n.casefold() for n in hm.names})
        meta.unmapped_columns = hm.unmapped
        severity_col = "severity" in hm.columns
        if not severity_col:
            meta.issues.append(RowIssue("header", "severity", "", f"no severity column; {NO_RATING}", False))
        fold = "plugin_id" in hm.columns
        for record in _rows(reader, hm, meta, severity_col, fold, path):
            meta.bytes_read = fh.buffer.tell()  # the text layer cannot tell() while iterating
            yield record


def _rows(reader, hm: HeaderMap, meta: ScanMeta, severity_col: bool, fold: bool, path: Path):
    # Only adjacent rows are folded (exports write one row per CVE back to back); remembering
    # every key would make memory grow with the file. A far repeat still lands on the same
    # fingerprint in the loader.
    seen_targets: set[str] = set()
    pending: ScanRecord | None = None
    pending_key = None
    n = 0
    last_short = None  # (row, line) of the last row, when it had fewer cells than the header
    while True:
        start_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            if last_short is not None and not _ends_with_newline(path):
                raise ImportRefused(
                    f"truncated file: the last row (row {last_short[0]}, line {last_short[1]}) has "
                    f"{last_short[2]} of the header's {len(hm.names)} cells and the file ends in the middle "
                    "of it, with no line break", "csv", line=last_short[1], source=str(path)) from None
            break
        except csv.Error as exc:
            raise _unreadable(exc, f"row {n + 1}", start_line, path) from None
        n += 1
        if not any(c.strip() for c in cells):
            meta.blank_rows += 1
            continue
        last_short = (n, start_line, len(cells)) if len(cells) < len(hm.names) else None
        row = _Row(cells, hm, f"row {n} (line {start_line})", meta.issues)
        if len(cells) != len(hm.names):
            shape = f"{len(cells)} cell{'s' * (len(cells) != 1)}, header has {len(hm.names)}"
            extra = [c for c in cells[len(hm.names):] if c.strip()]
            if extra:  # a cell with no column: the row is shifted, so every cell may be in the wrong one
                row.issue("", reader.dialect.delimiter.join(extra), f"{shape}; not imported", True)
                continue
            if len(cells) < len(hm.names):
                row.issue("", "", f"{shape}; missing cells read as empty")
        rec = _record(row, str(n), severity_col)
        if rec is None:
            continue
        _note_times(row, meta)
        if rec.asset_ref not in seen_targets:
            seen_targets.add(rec.asset_ref)
            meta.targets.append(rec.asset_ref)
        key = (rec.plugin_id, rec.asset_ref, rec.port, rec.protocol) if fold else None
        if fold and pending is not None and key == pending_key:
            pending = _fold(pending, rec)  # exports list one row per CVE back to back
            continue
        if pending is not None:
            yield pending
        pending, pending_key = rec, key
    if pending is not None:
        yield pending


def _ends_with_newline(path: Path) -> bool:
    """Whether the file's last character is a line break (UTF-16 too: its last two bytes)."""
    with open(path, "rb") as fh:
        fh.seek(max(fh.seek(0, 2) - 2, 0))
        return fh.read().endswith((b"\n", b"\r", b"\n\x00", b"\r\x00"))


def _unreadable(exc: csv.Error, what: str, line: int, path: Path) -> ImportRefused:
    """A row the strict reader cannot split refuses the file: past a stray quote nobody can tell
    where the next row starts (starting again at the next line would read a quoted multi-line
    cell's lines, say plugin output holding a response body, as findings of their own)."""
    if str(exc) == "unexpected end of data":  # end of file inside a quoted field
        reason = f"truncated file: unterminated quoted field in {what} (which starts at line {line}); " \
                 "the file ends inside the quotes"
    elif str(exc).startswith("field larger than field limit"):
        reason = f"a cell in {what} (which starts at line {line}) is larger than {csv.field_size_limit():,} characters"
    else:
        reason = f"CSV syntax error in {what} (which starts at line {line}): {exc}; rows after it cannot be trusted"
    return ImportRefused(reason, "csv", line=line, source=str(path))


def _note_times(row: _Row, meta: ScanMeta) -> None:
    for canon in ("scan_start", "scan_end"):
        raw = row.first(canon)[1]
        when = _parse_date(raw) if raw.strip() else None
        if when is None:
            continue
        if canon == "scan_start" and (meta.started_at is None or when < meta.started_at):
            meta.started_at = when
        if canon == "scan_end" and (meta.completed_at is None or when > meta.completed_at):
            meta.completed_at = when
