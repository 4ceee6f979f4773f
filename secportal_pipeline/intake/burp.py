"""Burp Suite issues XML -> ScanRecord, streamed, with repeats of one issue key merged."""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from lxml import etree

from .errors import ImportRefused
from .fingerprint import normalise_text
from .records import NO_RATING, RowIssue, ScanMeta, ScanRecord
from .scoring import band_from_scanner
from .urls import split_url
from .xml_safety import all_text, iterparse_safe, release

EXTENSION_TYPE = "134217728"  # Burp's type id for every extension-generated issue
EVIDENCE_LIMIT = 4000
_CWE = re.compile(r"CWE-(\d+)", re.I)
_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.I)
_BREAKS = re.compile(r"<\s*(br|/p|/li|/h\d|/div|/tr)\s*/?>", re.I)
_TAGS = re.compile(r"<[^>]+>")
_EXPORT_TIME = re.compile(r"^\w{3} (\w{3}) +(\d{1,2}) (\d\d:\d\d:\d\d) ([A-Za-z]{1,5}) (\d{4})$")
# Java writes the JVM's local zone abbreviation; these are the ones Burp users commonly have.
# Ambiguous ones take the most common meaning among Burp users (IST = India, CST = US Central).
_ZONES = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 60, "IST": 330, "CET": 60, "CEST": 120,
    "EET": 120, "EEST": 180, "MSK": 180, "GST": 240, "PKT": 300, "ICT": 420, "WIB": 420,
    "WITA": 480, "WIT": 540, "SGT": 480, "HKT": 480, "AWST": 480, "JST": 540, "KST": 540,
    "ACST": 570, "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780, "BRT": -180, "ART": -180,
    "AST": -240, "ADT": -180, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300,
    "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
}


def parse_export_time(text: str | None) -> tuple[datetime | None, str | None]:
    """("Fri Apr 30 11:45:49 IST 2021") -> (UTC datetime, unknown-zone name or None)."""
    m = _EXPORT_TIME.match((text or "").strip())
    if not m:
        return None, None
    mon, day, clock, zone, year = m.groups()
    try:
        local = datetime.strptime(f"{mon} {day} {year} {clock}", "%b %d %Y %H:%M:%S")
    except ValueError:
        return None, None
    offset = _ZONES.get(zone.upper())
    tz = timezone(timedelta(minutes=offset)) if offset is not None else UTC
    return local.replace(tzinfo=tz).astimezone(UTC), None if offset is not None else zone


def html_to_text(fragment: str | None) -> str:
    """Burp's HTML snippets as plain text: block ends become newlines, tags dropped."""
    if not fragment:
        return ""
    text = _TAGS.sub("", _BREAKS.sub("\n", fragment))
    return normalise_text(html.unescape(text))


def _body(elem: etree._Element | None) -> tuple[str, str | None]:
    """Decoded HTTP message text and, if decoding failed, why."""
    body = "" if elem is None else all_text(elem)
    if not body:
        return "", None
    raw: bytes
    problem = None
    if elem.get("base64") == "true":
        try:
            raw = base64.b64decode(body, validate=False)
        except (binascii.Error, ValueError) as exc:
            raw, problem = b"", f"base64 body does not decode ({exc})"
    else:
        raw = body.encode("utf-8", errors="surrogateescape")
    # Bodies can be binary or non-UTF-8; NULs break text columns downstream.
    return raw.replace(b"\x00", b"").decode("utf-8", errors="replace"), problem


def _evidence(issue: etree._Element, where: str, meta: ScanMeta) -> str:
    pair = issue.find("requestresponse")
    if pair is None:
        return ""
    parts = []
    for tag in ("request", "response"):
        text, problem = _body(pair.find(tag))
        if problem:
            meta.issues.append(RowIssue(where, tag, "", problem + "; evidence left out", False))
        if text:
            parts.append(text)
    evidence = normalise_text("\n\n".join(parts))
    return evidence[:EVIDENCE_LIMIT]


def _record(issue: etree._Element, index: int, meta: ScanMeta) -> tuple[tuple, ScanRecord]:
    def text(tag: str) -> str:
        found = issue.find(tag)
        return "" if found is None else all_text(found).strip()

    serial = text("serialNumber")
    where = f"issue serial {serial}" if serial else f"issues/issue[{index}]"
    host_url, issue_type, severity = text("host"), text("type"), text("severity")
    host, port, _ = split_url(host_url)
    asset = host or host_url.strip().lower()
    band = band_from_scanner("burp", severity)
    if band is None:
        meta.issues.append(RowIssue(where, "severity", severity[:200], f"unknown Burp severity; {NO_RATING}", False))
    key = (issue_type, host_url, text("path"), text("location"), severity)
    if issue_type == EXTENSION_TYPE:  # every extension shares one type id; the name tells them apart
        key += (text("name"),)
    record = ScanRecord(
        record_id=serial or f"issue[{index}]",
        asset_ref=asset,
        plugin_id=issue_type,
        module="extension" if issue_type == EXTENSION_TYPE else "scanner",
        title=text("name"),
        scanner_severity=severity,
        scanner_band=band,
        port=port,
        protocol="tcp",
        location=text("location"),
        description="\n\n".join(filter(None, (html_to_text(text("issueBackground")), html_to_text(text("issueDetail"))))),
        solution="\n\n".join(filter(None, (html_to_text(text("remediationBackground")), html_to_text(text("remediationDetail"))))),
        evidence=_evidence(issue, where, meta),
        cwes=tuple(dict.fromkeys(int(n) for n in _CWE.findall(text("vulnerabilityClassifications")))),
        references=tuple(dict.fromkeys(_HREF.findall(text("references")) + _HREF.findall(text("vulnerabilityClassifications")))),
    )
    return key, record


def parse_burp(path: str | Path, meta: ScanMeta) -> Iterator[ScanRecord]:
    """Stream one ScanRecord per distinct issue; repeats are counted in meta.duplicates_merged."""
    meta.variant = meta.variant or "burp-xml"
    seen: set[tuple] = set()  # one small key per distinct issue; Burp files hold thousands, not millions
    serials: set[str] = set()
    index = 0
    in_issue = 0
    for event, elem, stack in iterparse_safe(path, "burp", meta.read_up_to):
        if event == "start":
            if len(stack) == 1:
                if elem.tag != "issues":
                    raise ImportRefused(f"root element <{elem.tag}> is not <issues>", "burp", source=str(path))
                meta.name = meta.name or f"Burp Suite {elem.get('burpVersion', '')}".strip()
                when, unknown = parse_export_time(elem.get("exportTime"))
                meta.completed_at = meta.completed_at or when
                if unknown:
                    meta.issues.append(RowIssue("issues/@exportTime", "exportTime", elem.get("exportTime", ""),
                                                f"unknown time zone {unknown!r}; taken as UTC", False))
            elif elem.tag == "issue":
                in_issue += 1
            continue
        if elem.tag == "issue":
            in_issue -= 1
            index += 1
            key, record = _record(elem, index, meta)
            release(elem)
            if key in seen:
                meta.duplicates_merged += 1
                continue
            seen.add(key)
            if record.record_id in serials:  # hand-edited exports reuse serials; keep ids unique
                meta.issues.append(RowIssue(f"issues/issue[{index}]", "serialNumber", record.record_id,
                                            f"serialNumber repeats an earlier issue; record id issue[{index}] used", False))
                record = replace(record, record_id=f"issue[{index}]")
            serials.add(record.record_id)
            if record.asset_ref not in meta.targets:
                meta.targets.append(record.asset_ref)
            yield record
        elif not in_issue:
            release(elem)
