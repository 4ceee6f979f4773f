"""Host, port and location out of the URLs scanners write."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def split_url(url: str) -> tuple[str, int | None, str]:
    """(lower-case host or "", port, path?query) of ``url``; the scheme's port when none is given.

    A URL without a scheme is read as http; a port that is not a number is None.
    """
    url = url.strip()
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = DEFAULT_PORTS.get(parts.scheme.lower())
    location = parts.path + (f"?{parts.query}" if parts.query else "")
    return (parts.hostname or "").lower(), port, location


PORT_PROBLEM = "port is not an integer 0-65535; imported without a port"


def port_number(text: str) -> int | None:
    """A TCP/UDP port from scanner text, or None when it is not an integer 0-65535."""
    try:
        port = int(text)
    except ValueError:
        return None
    return port if 0 <= port <= 65535 else None
