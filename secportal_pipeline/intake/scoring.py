"""CVSS normalisation and severity bands.

Severity rule (effective_severity): when a record carries a valid CVSS 3 vector, its
FIRST 3.1 qualitative band drives the severity (0.0 -> info, 0.1-3.9 low, 4.0-6.9
medium, 7.0-8.9 high, 9.0-10.0 critical); otherwise the scanner's own rating, mapped
onto the same five bands, is used. CVSS 2 never drives severity.

Vector forms: "CVSS:3.0/..." keeps 3.0, "CVSS:3.1/..." keeps 3.1, a bare "AV:N/..."
(Tenable.io/.sc) is taken as 3.1. Base scores are identical across 3.0 and 3.1 for
every base vector, so the choice affects labelling only.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cvss import CVSS2, CVSS3
from cvss.exceptions import CVSSError

BANDS = ("critical", "high", "medium", "low", "info")

_V3_PREFIX = re.compile(r"^CVSS:3\.[01]/")


@lru_cache(maxsize=8192)
def normalise_cvss3(raw: str | None) -> str | None:
    """Canonical "CVSS:3.x/..." vector, or None when absent or malformed."""
    if not raw:
        return None
    text = raw.strip().upper().replace(" ", "")
    if not text:
        return None
    if not _V3_PREFIX.match(text):
        if not text.startswith("AV:"):
            return None
        text = "CVSS:3.1/" + text
    try:
        return CVSS3(text).clean_vector()
    except (CVSSError, ValueError, KeyError):
        return None


def band_from_score(score: float) -> str:
    """FIRST CVSS 3.1 qualitative rating, with "None" reported as "info"."""
    if score <= 0.0:
        return "info"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


@lru_cache(maxsize=8192)
def score_cvss3(vector: str) -> tuple[float, str]:
    """(base score, band) of a normalised CVSS 3 vector; cached: only 2592 base vectors exist."""
    base = float(CVSS3(vector).base_score)
    return base, band_from_score(base)


@lru_cache(maxsize=4096)
def normalise_cvss2(raw: str | None) -> str | None:
    """CVSS 2 vector without the "CVSS2#" prefix, or None when absent or malformed."""
    if not raw:
        return None
    text = raw.strip().replace(" ", "")
    if text.upper().startswith("CVSS2#"):
        text = text[6:]
    if not text:
        return None
    try:
        return CVSS2(text).clean_vector()
    except (CVSSError, ValueError, KeyError):
        return None


_NESSUS = {"0": "info", "1": "low", "2": "medium", "3": "high", "4": "critical"}
_BURP = {"high": "high", "medium": "medium", "low": "low", "information": "info", "info": "info"}
_WORDS = {
    "critical": "critical", "crit": "critical", "urgent": "critical",
    "high": "high", "important": "high",
    "medium": "medium", "med": "medium", "moderate": "medium",
    "low": "low",
    "info": "info", "informational": "info", "information": "info", "none": "info", "log": "info",
    **_NESSUS,  # Tenable.io exports a numeric Severity column next to the word Risk
}


def band_from_scanner(tool: str, raw: str | None) -> str | None:
    """Map a scanner's own rating to a band; None when the value is not recognised."""
    value = (raw or "").strip().lower()
    if tool == "nessus":
        return _NESSUS.get(value) or _WORDS.get(value)
    if tool == "burp":
        return _BURP.get(value)
    return _WORDS.get(value)


def effective_severity(cvss3_band: str | None, scanner_band: str | None) -> str:
    """The module rule: a valid CVSS 3 band wins, else the scanner's band, else info."""
    if cvss3_band in BANDS:
        return cvss3_band
    if scanner_band in BANDS:
        return scanner_band
    return "info"
