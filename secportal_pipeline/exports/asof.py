"""Rebuild entities as they stood at a past instant by replaying the activity log.

Pure functions over event rows, so a backfill today and the live run at the time
read the same history and give the same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any


def replay(events: Iterable[Mapping[str, Any]], as_of: datetime,
           key: Callable[[str], Any] = int) -> dict[Any, dict[str, Any]]:
    """State per entity id after every event strictly before ``as_of``.

    ``events`` are activity rows of one entity type in (occurred_at, event_id) order:
    a creation carries ``{"initial": {...}}``, a change ``{"changes": [{field, from, to}]}``.
    Values stay in their logged (JSON) form. ``key`` turns the logged entity id into the
    state's key: ``int`` for surrogate keys, ``str`` for natural ones (a verified
    domain's asset_ref).
    """
    state: dict[Any, dict[str, Any]] = {}
    for event in events:
        if event["occurred_at"] >= as_of:
            break
        entity_id = key(event["entity_id"])
        payload = event["metadata"] or {}
        if "initial" in payload:
            state[entity_id] = {**payload["initial"], "id": entity_id}
        for change in payload.get("changes", ()):
            if entity_id in state:
                state[entity_id][change["field"]] = change["to"]
    return state


def parse_ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def in_window(row: Mapping[str, Any], start: datetime, end: datetime) -> bool:
    """Open at some point in [start, end): opened before the end, not closed before the start."""
    opened = parse_ts(row.get("opened_at"))
    closed = parse_ts(row.get("closed_at"))
    return opened is not None and opened < end and (closed is None or closed >= start)
