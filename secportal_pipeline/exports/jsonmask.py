"""The documented mask for JSON payloads (treatment ``redacted``, redaction ``json-mask``).

An activity event's metadata holds finding descriptions, scanner evidence, rationales
and e-mail addresses next to values an analyst needs (which field changed, from which
status to which). The mask keeps the shape and every key, keeps a value only when its
key is in the contract's ``keepKeys``, and replaces every other value with the marker:

- ``{"status": "open", "evidence": "..."}`` -> ``{"evidence": "[REDACTED]", "status": "open"}``
- a change record ``{"field": f, "from": a, "to": b}`` keeps ``a`` and ``b`` only when
  ``f`` is in keepKeys (``field`` itself is always kept);
- nulls stay null (they say "was unset" and leak nothing); containers under a key that
  is not kept are masked leaf by leaf.

Output is compact JSON with sorted keys, so a re-run gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ..contracts.schema import REDACTED_MARKER


def _is_change(value: dict) -> bool:
    return "field" in value and set(value) <= {"field", "from", "to"}


def mask_value(value: Any, keep: frozenset[str], kept: bool = False) -> Any:
    """``value`` with every leaf not under a kept key replaced by the marker."""
    if isinstance(value, dict):
        if _is_change(value):
            keep_values = kept or value["field"] in keep
            return {k: v if k == "field" or keep_values else mask_value(v, keep) for k, v in value.items()}
        return {k: mask_value(v, keep, kept or k in keep) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, keep, kept) for v in value]
    if kept or value is None:
        return value
    return REDACTED_MARKER


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def mask_text(text: str | None, keep: Iterable[str]) -> str | None:
    """The masked JSON text of ``text`` (itself JSON); text that is not JSON is fully redacted."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return REDACTED_MARKER
    return dumps(mask_value(value, frozenset(keep)))


def strings(text: str | None, keep: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Every string in the JSON ``text`` with whether the mask shows it (keys always are).

    The leak check needs both: a hidden string must not reach a landed file, unless the
    same string is also shown legitimately somewhere.
    """
    if text is None:
        return
    try:
        value = json.loads(text)
    except ValueError:
        yield text, False
        return
    keep = frozenset(keep)

    def walk(node: Any, kept: bool) -> Iterator[tuple[str, bool]]:
        if isinstance(node, dict):
            change_kept = kept or (_is_change(node) and node["field"] in keep)
            for k, v in node.items():
                yield k, True
                if _is_change(node):
                    yield from walk(v, k == "field" or change_kept)
                else:
                    yield from walk(v, kept or k in keep)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v, kept)
        elif isinstance(node, str):
            yield node, kept

    yield from walk(value, False)
