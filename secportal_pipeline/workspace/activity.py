"""The append-only activity log: record events, create and change entities with a trail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from .schema import activity_log, retention_purges


def utcnow() -> datetime:
    return datetime.now(UTC)


_JSON_NATIVE = frozenset({str, int, float, bool, list, dict})


def to_json_value(value: Any) -> Any:
    """A value as the activity log stores it: timestamps and dates as ISO text."""
    if value is None or type(value) in _JSON_NATIVE:  # the common case, kept cheap for bulk imports
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def record_event(
    conn: sa.Connection,
    *,
    actor_id: int,
    entity_type: str,
    entity_id: int | str,
    action: str,
    occurred_at: datetime,
    metadata: Mapping[str, Any] | None = None,
) -> int:
    """Append one event and return its id."""
    result = conn.execute(
        activity_log.insert().values(
            occurred_at=occurred_at,
            recorded_at=utcnow(),
            actor_id=actor_id,
            entity_type=entity_type,
            entity_id=str(entity_id),
            action=action,
            metadata={k: to_json_value(v) for k, v in (metadata or {}).items()},
        )
    )
    return result.inserted_primary_key[0]


def _pk_column(table: sa.Table) -> sa.Column:
    (column,) = table.primary_key.columns
    return column


def complete_row(table: sa.Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with every other non-key column filled from its default (or None).

    The creation event then holds the whole initial row, which is what the as-of
    rebuild replays.
    """
    row = dict(values)
    for column in table.columns:
        if column.primary_key or column.name in row:
            continue
        default = column.default
        if default is None:
            row[column.name] = None
        elif default.is_callable:
            row[column.name] = default.arg(None)
        else:
            row[column.name] = default.arg
    return row


def create_entity(
    conn: sa.Connection,
    table: sa.Table,
    values: Mapping[str, Any],
    *,
    actor_id: int,
    occurred_at: datetime,
    entity_type: str,
    action: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Insert a row and log its creation with every initial value."""
    pk = _pk_column(table)
    values = complete_row(table, values)
    result = conn.execute(table.insert().values(**values))
    entity_id = values.get(pk.name) or result.inserted_primary_key[0]
    initial = {k: to_json_value(v) for k, v in values.items() if k != pk.name}
    record_event(
        conn,
        actor_id=actor_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action or f"{entity_type}.created",
        occurred_at=occurred_at,
        metadata={"initial": initial, **(extra or {})},
    )
    return entity_id


def create_entities(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[tuple[Mapping[str, Any], datetime]],
    *,
    actor_id: int,
    entity_type: str,
    unique_key: str,
    action: str | None = None,
) -> list[int]:
    """Insert many ``(values, occurred_at)`` rows and log each creation as ``create_entity`` does.

    Two multi-row statements (the rows, then the events) instead of two round trips per
    row: what a large import needs. Keys come back by ``unique_key`` (a unique column)
    rather than by row order, which SQLite can only promise one row per statement.
    """
    if not rows:
        return []
    pk = _pk_column(table)
    complete = [complete_row(table, values) for values, _ in rows]
    inserted = conn.execute(table.insert().returning(table.c[unique_key], pk), complete)
    id_by_key = dict(inserted.tuples().all())
    ids = [id_by_key[values[unique_key]] for values in complete]
    recorded_at = utcnow()
    conn.execute(activity_log.insert(), [
        {"occurred_at": occurred_at, "recorded_at": recorded_at, "actor_id": actor_id,
         "entity_type": entity_type, "entity_id": str(entity_id), "action": action or f"{entity_type}.created",
         "metadata": {"initial": {k: to_json_value(v) for k, v in values.items() if k != pk.name}}}
        for entity_id, values, (_, occurred_at) in zip(ids, complete, rows, strict=True)
    ])
    return ids


def update_entity(
    conn: sa.Connection,
    table: sa.Table,
    entity_id: int | str,
    changes: Mapping[str, Any],
    *,
    actor_id: int,
    occurred_at: datetime,
    entity_type: str,
    action: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Apply ``changes`` and log each real one as ``{field, from, to}``.

    Fields whose value does not change are left out; nothing at all changing
    writes no event. Returns the list of changes recorded.
    """
    pk = _pk_column(table)
    current = conn.execute(
        sa.select(*[table.c[name] for name in changes]).where(pk == entity_id)
    ).mappings().one_or_none()
    if current is None:
        raise LookupError(f"{table.name} {entity_id} does not exist")
    diff = [
        {"field": name, "from": to_json_value(current[name]), "to": to_json_value(value)}
        for name, value in changes.items()
        if to_json_value(current[name]) != to_json_value(value)
    ]
    if not diff:
        return []
    conn.execute(
        table.update().where(pk == entity_id).values(**{d["field"]: changes[d["field"]] for d in diff})
    )
    record_event(
        conn,
        actor_id=actor_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action or f"{entity_type}.updated",
        occurred_at=occurred_at,
        metadata={"changes": diff, **(extra or {})},
    )
    return diff


def purge_expired(conn: sa.Connection, cutoff: datetime) -> int:
    """Delete activity older than ``cutoff``: the one deletion the triggers allow."""
    token = conn.execute(retention_purges.insert().values(cutoff=cutoff)).inserted_primary_key[0]
    deleted = conn.execute(activity_log.delete().where(activity_log.c.occurred_at < cutoff)).rowcount
    conn.execute(retention_purges.delete().where(retention_purges.c.purge_id == token))
    return deleted
