"""Stable identity of a finding across imports, independent of volatile evidence text."""

from __future__ import annotations

import hashlib
import re

_WS = re.compile(r"\s+")


def normalise_text(s: str | None) -> str:
    """CRLF/CR -> LF, trailing whitespace dropped per line, outer blank lines stripped."""
    if not s:
        return ""
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(map(str.rstrip, s.split("\n"))).strip()  # map: no Python frame per line


def fingerprint(
    tool_family: str,
    asset_ref: str,
    port: int | None,
    protocol: str | None,
    plugin_id: str,
    location: str = "",
) -> str:
    """sha256 hex of the finding key; evidence/plugin output is deliberately not part of it."""
    parts = (
        (tool_family or "").strip().lower(),
        (asset_ref or "").strip().lower().rstrip("."),
        "" if port is None else str(int(port)),
        (protocol or "").strip().lower(),
        (plugin_id or "").strip(),
        _WS.sub(" ", location or "").strip(),
    )
    # Length-prefixed fields: no separator choice can make two different keys collide.
    encoded = "".join(f"{len(p.encode())}:{p}" for p in parts)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
