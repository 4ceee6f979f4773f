"""Compatibility between two versions of a contract: what changed and which bump it needs.

Pure functions over parsed contracts, so each kind of change has its own unit test.
The rules, from the reader of the landed files outwards:

- major (breaking; also a new landing path ``v<major>``): a column removed or renamed,
  a type changed, a constraint tightened (pattern added or changed, range narrowed,
  allowed values reduced, required or unique added), a treatment changed, the column
  order, the partitioning or the export class changed.
- minor (additive): a column added, a constraint loosened, a classification, the
  service account or its role, the schedule or ``peopleRead`` changed.
- patch (editorial): the owner changed (the team member with role owner, a workspace
  handle: a change of who answers for the data, not of the data), a description or
  any other text edited, the review cadence changed.
- none: the classification review record (``classificationReviewedOn`` and
  ``classificationReviewedBy``). ``secportal-pipeline contracts review`` rewrites it in
  place whenever a review happens; it records an event, not a new version, so it needs
  no bump and is no part of what a release pins (``release_relevant``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .model import ColumnSpec, Contract

LEVELS = ("none", "patch", "minor", "major")
# rewritten by `contracts review` in place: never a reason for a version bump
REVIEW_RECORD = ("classificationReviewedOn", "classificationReviewedBy")


@dataclass(frozen=True)
class Change:
    level: str  # "major" (breaking), "minor" (additive or loosening), "patch", "none" (review record)
    what: str
    column: str | None = None

    def describe(self) -> str:
        where = f"column {self.column!r}: " if self.column else ""
        if self.level == "none":
            return f"{where}{self.what} (review record: needs no version bump)"
        kind = {"major": "breaking", "minor": "additive", "patch": "editorial"}[self.level]
        return f"{where}{self.what} ({kind}: needs a {self.level} version bump)"


def release_relevant(document: dict[str, Any]) -> dict[str, Any]:
    """A contract document without what a release does not pin: its version and the review record."""
    document = copy.deepcopy(document)
    document.pop("version", None)
    document["customProperties"] = [p for p in document.get("customProperties") or []
                                    if p.get("property") not in REVIEW_RECORD]
    return document


def parse_version(version: str) -> tuple[int, int, int]:
    parts = str(version).split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"version {version!r} is not semantic (MAJOR.MINOR.PATCH)")
    return int(parts[0]), int(parts[1]), int(parts[2])


def bump_level(old: str, new: str) -> str:
    """The bump from ``old`` to ``new``: none, patch, minor, major, or 'downgrade'."""
    a, b = parse_version(old), parse_version(new)
    if b < a:
        return "downgrade"
    if b == a:
        return "none"
    if b[0] > a[0]:
        return "major"
    return "minor" if b[1] > a[1] else "patch"


def _bounds(old: ColumnSpec, new: ColumnSpec) -> list[Change]:
    out = []
    for name, tighter in (("minimum", lambda a, b: b > a), ("maximum", lambda a, b: b < a)):
        a, b = getattr(old, name), getattr(new, name)
        if a == b:
            continue
        if a is None:
            out.append(Change("major", f"{name} added ({b})", old.name))
        elif b is None:
            out.append(Change("minor", f"{name} removed (was {a})", old.name))
        elif tighter(a, b):
            out.append(Change("major", f"range narrowed: {name} {a} -> {b}", old.name))
        else:
            out.append(Change("minor", f"range widened: {name} {a} -> {b}", old.name))
    return out


def _allowed(old: ColumnSpec, new: ColumnSpec) -> list[Change]:
    a, b = old.valid_values, new.valid_values
    if a == b or (a is not None and b is not None and set(a) == set(b)):
        return []
    if a is None:
        return [Change("major", f"allowed values added {list(b)}", old.name)]
    if b is None:
        return [Change("minor", "allowed values removed (any value now)", old.name)]
    removed, added = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    out = []
    if removed:
        out.append(Change("major", f"allowed values reduced: {removed} no longer allowed", old.name))
    if added:
        out.append(Change("minor", f"allowed values extended: {added} added", old.name))
    return out


def _flag(old: ColumnSpec, new: ColumnSpec, name: str, on: str, off: str) -> list[Change]:
    a, b = getattr(old, name), getattr(new, name)
    if a == b:
        return []
    return [Change("major", on, old.name)] if b else [Change("minor", off, old.name)]


def column_changes(old: ColumnSpec, new: ColumnSpec) -> list[Change]:
    """What changed in one column present in both versions."""
    out: list[Change] = []
    if old.logical_type != new.logical_type:
        out.append(Change("major", f"type changed from {old.logical_type} to {new.logical_type}", old.name))
    if old.physical_type != new.physical_type:
        out.append(Change("major", f"physical type changed from {old.physical_type} to {new.physical_type}",
                          old.name))
    if old.pattern != new.pattern:
        if old.pattern is None:
            out.append(Change("major", f"pattern added {new.pattern!r}", old.name))
        elif new.pattern is None:
            out.append(Change("minor", f"pattern removed (was {old.pattern!r})", old.name))
        else:
            out.append(Change("major", f"pattern changed from {old.pattern!r} to {new.pattern!r}", old.name))
    out += _bounds(old, new) + _allowed(old, new)
    out += _flag(old, new, "required", "became required", "no longer required")
    out += _flag(old, new, "unique", "became unique", "no longer unique")
    out += _flag(old, new, "primary_key", "added to the primary key", "removed from the primary key")
    if old.partitioned != new.partitioned:
        out.append(Change("major", "partition column changed", old.name))
    if (old.treatment, old.redaction) != (new.treatment, new.redaction):
        out.append(Change("major", f"treatment changed from {old.treatment} to {new.treatment}"
                          + (f" ({old.redaction} -> {new.redaction})" if old.redaction != new.redaction else ""),
                          old.name))
    elif old.keep_keys != new.keep_keys:
        out.append(Change("minor", "masked keys changed (keepKeys)", old.name))
    if old.classification != new.classification:
        out.append(Change("minor", f"classification changed from {old.classification} to {new.classification}",
                          old.name))
    if old.description != new.description:
        out.append(Change("patch", "description changed", old.name))
    return out


def diff_contracts(old: Contract, new: Contract) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones first."""
    old_cols = {c.name: c for c in old.columns}
    new_cols = {c.name: c for c in new.columns}
    old_names, new_names = [c.name for c in old.columns], [c.name for c in new.columns]
    removed = [n for n in old_names if n not in new_cols]
    added = [n for n in new_names if n not in old_cols]
    out: list[Change] = []
    for name in removed:
        position = old_names.index(name)
        twin = next((a for a in added if new_names.index(a) == position
                     and new_cols[a].logical_type == old_cols[name].logical_type), None)
        hint = f" (renamed to {twin!r}?)" if twin else ""
        out.append(Change("major", f"column removed{hint}", name))
    for name in added:
        required = " as required" if new_cols[name].required else ""
        out.append(Change("minor", f"column added{required}", name))
    common_old = [n for n in old_names if n in new_cols]
    common_new = [n for n in new_names if n in old_cols]
    if common_old != common_new:
        moved = next(a for a, b in zip(common_old, common_new, strict=True) if a != b)
        out.append(Change("major", f"column order changed (landing order is the contract's): "
                                   f"{common_old} -> {common_new}", moved))
    for name in common_old:
        out += column_changes(old_cols[name], new_cols[name])
    if old.table != new.table:
        out.append(Change("major", f"schema name changed from {old.table!r} to {new.table!r}"))
    for key in ("partitioning", "exportClass"):
        if old.custom.get(key) != new.custom.get(key):
            out.append(Change("major", f"{key} changed from {old.custom.get(key)!r} to {new.custom.get(key)!r}"))
    for key in ("serviceAccount", "serviceAccountRole", "dataClassification", "peopleRead", "schedule"):
        if old.custom.get(key) != new.custom.get(key):
            out.append(Change("minor", f"{key} changed from {old.custom.get(key)!r} to {new.custom.get(key)!r}"))
    if old.owner != new.owner:
        out.append(Change("patch", f"owner changed from {old.owner!r} to {new.owner!r}"))
    if old.custom.get("classificationReviewCadenceDays") != new.custom.get("classificationReviewCadenceDays"):
        out.append(Change("patch", f"classificationReviewCadenceDays changed from "
                                   f"{old.custom.get('classificationReviewCadenceDays')!r} to "
                                   f"{new.custom.get('classificationReviewCadenceDays')!r}"))
    for key in REVIEW_RECORD:
        if old.custom.get(key) != new.custom.get(key):
            out.append(Change("none", f"{key} changed from {old.custom.get(key)!r} to {new.custom.get(key)!r}"))
    return sorted(out, key=lambda c: -LEVELS.index(c.level))


def required_level(changes: list[Change]) -> str:
    return max((c.level for c in changes), key=LEVELS.index, default="none")


def compatibility_problems(old: Contract, new: Contract, *, edited: bool = False) -> list[str]:
    """Why ``new`` may not follow ``old`` as versioned (empty: it may).

    ``edited`` says the files differ beyond what the parsed contract captures (e.g.
    a purpose text) and beyond the review record, which needs at least a patch bump.
    """
    changes = diff_contracts(old, new)
    if edited and required_level(changes) == "none":
        changes = [Change("patch", "contract text edited")]
    bump = bump_level(old.version, new.version)
    head = f"{new.id}: version {old.version} -> {new.version}"
    if bump == "downgrade":
        return [f"{head}: the version went backwards"]
    need = required_level(changes)
    if LEVELS.index(bump) >= LEVELS.index(need):
        return []
    said = "is not a version bump" if bump == "none" else f"is only a {bump} bump"
    return [f"{head} {said}; {c.describe()}" for c in changes if LEVELS.index(c.level) > LEVELS.index(bump)]
