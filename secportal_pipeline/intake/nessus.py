"""Nessus v2 (.nessus) -> ScanRecord, one per ReportItem, streamed with bounded memory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from .errors import ImportRefused
from .fingerprint import normalise_text
from .records import NO_RATING, RowIssue, ScanMeta, ScanRecord
from .scoring import band_from_scanner, normalise_cvss2, normalise_cvss3
from .urls import PORT_PROBLEM, port_number
from .xml_safety import all_text, iterparse_safe, release

_CWE = re.compile(r"(?:CWE-)?(\d+)", re.I)
# A plugin's description, synopsis and solution repeat on every host it fires on: normalise
# each distinct text once (the plugin output is per item and is not cached). Only texts of
# plugin size are remembered, so a file of huge unique texts cannot fill memory with them.
_PLUGIN_TEXT_CACHED_UP_TO = 16_384
_normalise_cached = lru_cache(maxsize=4096)(normalise_text)


def _plugin_text(text: str | None) -> str:
    return _normalise_cached(text) if text is None or len(text) <= _PLUGIN_TEXT_CACHED_UP_TO else normalise_text(text)


def _when(text: str | None) -> datetime | None:
    """HOST_START/HOST_END: ctime-style local text (taken as UTC) or ISO 8601 (Tenable WAS)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _host_ref(name: str) -> str:
    # Tenable WAS names the ReportHost by URL; the asset is the URL's host.
    if "://" in name:
        return (urlsplit(name).hostname or name).lower()
    return name.strip().lower().rstrip(".")


class _Host:
    def __init__(self, name: str, index: int) -> None:
        self.name, self.index, self.items = name, index, 0
        self.asset_ref = _host_ref(name)
        self.seen: datetime | None = None
        self.listed = False  # already in meta.targets


def _children(elem: etree._Element) -> tuple[dict[str, str], dict[str, list[str]]]:
    """One pass over a ReportItem's children: the first text of each tag (``findtext``:
    "" for an empty element) and the stripped non-blank texts of the repeated ones."""
    first: dict[str, str] = {}
    multi: dict[str, list[str]] = {"cve": [], "cwe": [], "xref": [], "see_also": []}  # repeated tags
    for child in elem:
        tag, text = child.tag, all_text(child)
        bucket = multi.get(tag)
        if bucket is not None:
            if text and (text := text.strip()):
                bucket.append(text)
        elif tag not in first:
            first[tag] = text or ""
    return first, multi


def _item(elem: etree._Element, host: _Host, meta: ScanMeta) -> ScanRecord:
    host.items += 1
    a = elem.attrib
    plugin_id = a.get("pluginID", "").strip()
    protocol = (a.get("protocol") or "").strip().lower() or None
    field, multi = _children(elem)

    def issue(column: str, value: str | None, reason: str) -> None:
        where = f"ReportHost[{host.index}]/ReportItem[{host.items}]"
        meta.issues.append(RowIssue(where, column, (value or "")[:200], reason, False))

    port: int | None = None
    raw_port = a.get("port", "").strip()
    if raw_port:
        port = port_number(raw_port)
        if port is None:
            issue("port", raw_port, PORT_PROBLEM)

    severity = a.get("severity", "").strip()
    band = band_from_scanner("nessus", severity)
    if band is None:  # old exports: fall back to risk_factor, then to info
        band = band_from_scanner("nessus", field.get("risk_factor"))
        if band is None:
            issue("severity", severity, f"no usable severity or risk_factor; {NO_RATING}")

    raw_v3 = field.get("cvss3_vector")
    cvss3 = normalise_cvss3(raw_v3)
    if raw_v3 and raw_v3.strip() and cvss3 is None:
        issue("cvss3_vector", raw_v3, "not a CVSS 3 vector; imported without one")
    raw_v2 = field.get("cvss_vector")
    cvss2 = normalise_cvss2(raw_v2)
    if raw_v2 and raw_v2.strip() and cvss2 is None:
        issue("cvss_vector", raw_v2, "not a CVSS 2 vector; imported without one")

    see_also = [ln.strip() for t in multi["see_also"] for ln in t.splitlines() if ln.strip()]
    description = _plugin_text(field.get("description")) or _plugin_text(field.get("synopsis"))
    return ScanRecord(
        record_id=f"{host.name}|{raw_port}|{a.get('protocol', '')}|{plugin_id}",
        asset_ref=host.asset_ref,
        plugin_id=plugin_id,
        module=a.get("pluginFamily", "").strip(),
        title=(a.get("pluginName") or field.get("plugin_name") or "").strip(),
        scanner_severity=severity,
        scanner_band=band,
        port=port,
        protocol=protocol,
        description=description,
        solution=_plugin_text(field.get("solution")),
        evidence=normalise_text(field.get("plugin_output")),
        cvss3_vector=cvss3,
        cvss2_vector=cvss2,
        cves=tuple(dict.fromkeys(c.upper() for c in multi["cve"])),
        cwes=tuple(dict.fromkeys(int(n) for t in multi["cwe"] for n in _CWE.findall(t) if int(n) > 0)),
        references=tuple(dict.fromkeys(see_also + multi["xref"])),
        observed_at=host.seen,
    )


def _properties(elem: etree._Element, host: _Host, meta: ScanMeta) -> None:
    tags = {t.get("name"): (t.text or "").strip() for t in elem.iterfind("tag")}
    if tags.get("host-fqdn"):
        host.asset_ref = _host_ref(tags["host-fqdn"])
    start, end = _when(tags.get("HOST_START")), _when(tags.get("HOST_END"))
    if start and (meta.started_at is None or start < meta.started_at):
        meta.started_at = start
    if end and (meta.completed_at is None or end > meta.completed_at):
        meta.completed_at = end
    host.seen = end or start


def _add_target(meta: ScanMeta, host: _Host) -> None:
    if not host.listed:
        host.listed = True
        if host.asset_ref not in meta.targets:  # two ReportHosts can share an fqdn
            meta.targets.append(host.asset_ref)


# The elements parse_nessus steps through; everything else is read through its ReportItem or
# HostProperties parent, so it costs no Python step (lxml filters events by tag in C).
_EVENT_TAGS = ("NessusClientData_v2", "Policy", "Report", "ReportHost", "HostProperties", "ReportItem")


def parse_nessus(path: str | Path, meta: ScanMeta) -> Iterator[ScanRecord]:
    """Stream one ScanRecord per ReportItem; fills meta (name, targets, scan window, issues)."""
    meta.variant = meta.variant or "nessus-v2"
    host: _Host | None = None
    hosts = 0
    root_seen = False
    for event, elem, stack in iterparse_safe(path, "nessus", meta.read_up_to, tags=_EVENT_TAGS):
        tag = elem.tag
        if event == "start":
            if not root_seen:
                if tag != "NessusClientData_v2" or elem.getparent() is not None:
                    root = elem.getroottree().getroot().tag
                    raise ImportRefused(f"root element <{root}> is not NessusClientData_v2", "nessus",
                                        source=str(path))
                root_seen = True
            elif tag == "Report":
                meta.name = meta.name or elem.get("name", "")
            elif tag == "ReportHost":
                hosts += 1
                host = _Host(elem.get("name", ""), hosts)
                if "://" in host.name:
                    meta.variant = "tenable-was"
            continue
        if tag == "ReportItem" and host is not None:
            _add_target(meta, host)
            yield _item(elem, host, meta)
            release(elem)
        elif tag == "HostProperties" and host is not None:
            _properties(elem, host, meta)
            _add_target(meta, host)  # a host with zero items is still a scanned target
            release(elem)
        elif "ReportItem" not in stack[:-1] and "HostProperties" not in stack[:-1]:
            release(elem)  # a ReportHost, the Policy, ...; nothing inside a subtree still being read
    if not root_seen:
        raise ImportRefused("no NessusClientData_v2 root element found", "nessus", source=str(path))
