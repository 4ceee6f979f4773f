"""Plain records the parsers yield; one loader turns them into workspace rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


# what a row without a usable scanner rating gets (see ScanRecord.scanner_band)
NO_RATING = "info if new, a known finding keeps its severity"


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One finding as a scanner reported it, before any workspace decision.

    `record_id` identifies the record inside its file (Nessus: host|port|protocol|pluginID,
    Burp: serialNumber, CSV: the 1-based data row number) so every imported row can be
    traced back to the bytes it came from.
    """

    record_id: str
    asset_ref: str  # canonical: lower-case host name or IP, no scheme, no port
    plugin_id: str  # scanner rule id: Nessus pluginID, Burp issue type, CSV plugin/title key
    module: str  # the scanner module that produced it: Nessus plugin family, Burp "scanner"/"extension"
    title: str
    scanner_severity: str  # as reported: Nessus "0".."4", Burp "High", CSV "Medium"
    # the scanner's rating mapped to critical, high, medium, low or info; None when the file
    # gives no usable rating (a new finding then defaults to info, a known one keeps its own)
    scanner_band: str | None
    port: int | None = None
    protocol: str | None = None  # lower-case tcp/udp/icmp, None when not applicable
    location: str = ""  # path + parameter for web findings; "" for host findings
    description: str = ""
    solution: str = ""
    evidence: str = ""  # plugin output / issue detail, newlines normalised to \n
    cvss3_vector: str | None = None  # normalised to a "CVSS:3.x/" prefix; None if absent
    cvss2_vector: str | None = None  # without the "CVSS2#" prefix; None if absent
    cves: tuple[str, ...] = ()
    cwes: tuple[int, ...] = ()
    references: tuple[str, ...] = ()
    observed_at: datetime | None = None  # when the scanner saw it, tz-aware UTC, if the file says


@dataclass(frozen=True, slots=True)
class RowIssue:
    """A problem with one record that did not stop the file: skipped row or nulled field."""

    where: str  # "row 17", "ReportHost[2]/ReportItem[5]", "issue serial 123"
    column: str  # the field concerned, "" when the whole row
    value: str  # the offending raw value, truncated to 200 chars
    reason: str
    skipped: bool  # True: the row was not imported; False: imported with the field nulled


@dataclass(slots=True)
class ScanMeta:
    """What the file says about the scan as a whole; filled in while records stream."""

    source_tool: str  # nessus, burp, csv
    variant: str = ""  # e.g. "nessus-v2", "tenable-was", "tenable.io", "defectdojo-generic"
    name: str = ""  # report / scan name if the file has one
    started_at: datetime | None = None
    completed_at: datetime | None = None
    targets: list[str] = field(default_factory=list)  # asset refs in file order, unique
    issues: list[RowIssue] = field(default_factory=list)
    blank_rows: int = 0
    unmapped_columns: list[str] = field(default_factory=list)
    duplicates_merged: int = 0  # records folded into an earlier one (Burp repeats of one issue key)
    bytes_read: int = 0  # how far into the file the parser has read: progress, not content

    def read_up_to(self, position: int) -> None:
        self.bytes_read = position
