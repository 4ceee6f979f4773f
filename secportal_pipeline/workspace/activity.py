"""The append-only activity log: record events, create and change entities with a trail."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from .schema import activity_log, retention_purges
from .types import UTCDateTime


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


# ----------------------------------------------------------------------------- native SQLite writes
#
# A large import writes tens of thousands of rows and creation events per file. Through
# SQLAlchemy Core every row costs a parameter dict, a bind processor call per column and
# a JSON encode inside the type machinery (about a third of an import's time). On SQLite
# the rows below are encoded here instead, to exactly what those processors store (UTC
# timestamps as naive "YYYY-MM-DD HH:MM:SS.ffffff" text, JSON as ``json.dumps`` text), and
# handed to sqlite3's own ``executemany``. Other databases keep the Core path. Tables with
# a column type this does not know also keep it (``_sqlite_encoders`` returns None).

NATIVE_SQLITE = True  # tests switch it off to compare against the Core path


def _sqlite_timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: workspace timestamps must be timezone-aware")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_json(value: Any) -> str:
    return json.dumps(value)  # sa.JSON's serializer on SQLite; None becomes "null" there too


def _json_cache() -> Callable[[Any], str]:
    """``_sqlite_json`` remembered for short lists (the CVE, CWE and reference lists repeat a lot)."""
    cache: dict[tuple, str] = {}
    dumps = json.dumps

    def encode(value: Any) -> str:
        if type(value) is not list or len(value) > 16:
            return dumps(value)
        key = (*map(type, value), *value)  # typed: 1, 1.0 and True are equal keys otherwise
        try:
            return cache[key]
        except KeyError:
            encoded = cache[key] = dumps(value)
            return encoded
        except TypeError:  # an unhashable item
            return dumps(value)

    return encode


_ENCODERS: dict[sa.Table, list[tuple[str, Callable[[Any], Any] | None]] | None] = {}


def _sqlite_encoders(table: sa.Table) -> list[tuple[str, Callable[[Any], Any] | None]] | None:
    """Per column (name, encoder or None for as-is), or None when a type needs SQLAlchemy."""
    if table not in _ENCODERS:
        encoders: list[tuple[str, Callable[[Any], Any] | None]] | None = []
        for column in table.columns:
            kind = column.type
            if isinstance(kind, UTCDateTime):
                encoders.append((column.name, _sqlite_timestamp))
            elif isinstance(kind, sa.JSON):
                encoders.append((column.name, _sqlite_json))
            elif isinstance(kind, (sa.Integer, sa.String)) and not isinstance(kind, (sa.Enum, sa.TypeDecorator)) \
                    or type(kind) is sa.Float and not kind.asdecimal:
                encoders.append((column.name, None))
            else:
                encoders = None
                break
        _ENCODERS[table] = encoders
    return _ENCODERS[table]


def _native(conn: sa.Connection, table: sa.Table) -> bool:
    return NATIVE_SQLITE and conn.dialect.name == "sqlite" and _sqlite_encoders(table) is not None


def _insert_native(conn: sa.Connection, table: sa.Table, names: Sequence[str], rows: Iterable[tuple]) -> None:
    """``INSERT INTO table (names) VALUES (?, ...)`` for already-encoded tuples, via sqlite3 executemany."""
    quote = conn.dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) "
           f"VALUES ({', '.join('?' * len(names))})")
    rows = list(rows)
    if rows:
        conn.exec_driver_sql(sql, rows)


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows (each with the same keys), natively on SQLite, through Core elsewhere."""
    if not rows:
        return
    if not _native(conn, table):
        conn.execute(table.insert(), list(rows))
        return
    encoders = dict(_sqlite_encoders(table) or ())
    names = list(rows[0])
    plan = [(name, encoders[name]) for name in names]
    _insert_native(conn, table, names, (
        tuple(row[name] if encode is None else encode(row[name]) for name, encode in plan) for row in rows
    ))


def update_rows(conn: sa.Connection, table: sa.Table, updates: Sequence[tuple[int | str, Mapping[str, Any]]]) -> None:
    """Apply ``(key, {column: value})`` updates, one executemany per set of columns changed.

    No activity is written here: callers log the changes (``record_events``).
    """
    pk = _pk_column(table)
    groups: dict[tuple[str, ...], list[tuple[int | str, Mapping[str, Any]]]] = {}
    for key, changes in updates:
        if changes:
            groups.setdefault(tuple(changes), []).append((key, changes))
    native = _native(conn, table)
    encoders = dict(_sqlite_encoders(table) or ()) if native else {}
    quote = conn.dialect.identifier_preparer.quote
    for names, group in groups.items():
        if native:
            plan = [(name, encoders[name]) for name in names]
            conn.exec_driver_sql(
                f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(name)} = ?' for name in names)} "
                f"WHERE {quote(pk.name)} = ?",
                [(*[changes[name] if encode is None else encode(changes[name]) for name, encode in plan], key)
                 for key, changes in group],
            )
        else:
            conn.execute(table.update().where(pk == sa.bindparam("_key")),
                         [{**changes, "_key": key} for key, changes in group])


_EVENT_COLUMNS = ("occurred_at", "recorded_at", "actor_id", "entity_type", "entity_id", "action", "metadata")


def record_events(conn: sa.Connection, events: Sequence[Mapping[str, Any]]) -> None:
    """Append many events at once; each as ``record_event`` takes it (``metadata`` values
    already JSON-ready, see ``to_json_value``), all with one ``recorded_at``."""
    if not events:
        return
    recorded_at = utcnow()
    if not _native(conn, activity_log):
        conn.execute(activity_log.insert(), [
            {"occurred_at": e["occurred_at"], "recorded_at": recorded_at, "actor_id": e["actor_id"],
             "entity_type": e["entity_type"], "entity_id": str(e["entity_id"]), "action": e["action"],
             "metadata": e.get("metadata") or {}} for e in events
        ])
        return
    stamp, recorded = _timestamp_cache(), _sqlite_timestamp(recorded_at)
    dumps = json.dumps
    _insert_native(conn, activity_log, _EVENT_COLUMNS, [
        (stamp(e["occurred_at"]), recorded, e["actor_id"], e["entity_type"], str(e["entity_id"]), e["action"],
         dumps(e.get("metadata") or {})) for e in events
    ])


def _timestamp_cache() -> Callable[[datetime | None], str | None]:
    """``_sqlite_timestamp`` remembered per value: a file holds few distinct timestamps."""
    cache: dict[datetime | None, str | None] = {}

    def stamp(value: datetime | None) -> str | None:
        try:
            return cache[value]
        except KeyError:
            encoded = cache[value] = _sqlite_timestamp(value)
            return encoded

    return stamp


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
    for name, default in _fillers(table):
        if name in row:
            continue
        if default is None:
            row[name] = None
        elif default.is_callable:
            row[name] = default.arg(None)
        else:
            row[name] = default.arg
    return row


_FILLERS: dict[sa.Table, list[tuple[str, Any]]] = {}


def _fillers(table: sa.Table) -> list[tuple[str, Any]]:
    """(name, default) of the table's non-key columns, in order (iterating the columns is slow)."""
    fillers = _FILLERS.get(table)
    if fillers is None:
        fillers = _FILLERS[table] = [(c.name, c.default) for c in table.columns if not c.primary_key]
    return fillers


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
    if (_native(conn, table) and isinstance(pk.type, sa.Integer) and not table.dialect_kwargs.get("sqlite_autoincrement")
            and all(len(values) == len(table.columns) - 1 for values in complete)):  # no key given, no stray names
        return _create_entities_native(conn, table, pk, complete, [at for _, at in rows], actor_id=actor_id,
                                       action=action or f"{entity_type}.created", entity_type=entity_type)
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


def _json_default(value: Any) -> Any:
    # what to_json_value does for the types json cannot encode itself (tuples it lists natively)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _create_entities_native(
    conn: sa.Connection, table: sa.Table, pk: sa.Column, complete: list[dict[str, Any]], times: list[datetime],
    *, actor_id: int, action: str, entity_type: str,
) -> list[int]:
    """``create_entities`` on SQLite: rows and events as encoded tuples through sqlite3 executemany.

    Keys are assigned here as ``max(pk) + 1, + 2, ...``: exactly what SQLite gives an
    ``INTEGER PRIMARY KEY`` without AUTOINCREMENT (checked by the caller), so the events
    can be built in the same pass (multi-row RETURNING gives no row order on SQLite).
    Safe because SQLite has one writer: once the transaction has written, nobody else
    inserts until it ends; should another connection insert between the read and the
    insert, its rows hold those keys and the insert fails on the primary key (or on a
    stale snapshot): never a silent reuse. The event metadata is the same
    ``{"initial": row}`` JSON the Core path writes (json.dumps with to_json_value's
    conversions as ``default``).
    """
    names = [column.name for column in table.columns if column is not pk]
    quote = conn.dialect.identifier_preparer.quote
    first = (conn.exec_driver_sql(f"SELECT max({quote(pk.name)}) FROM {quote(table.name)}").scalar() or 0) + 1
    ids = list(range(first, first + len(complete)))
    stamp, dumps, as_json = _timestamp_cache(), json.dumps, _json_cache()
    cached = {_sqlite_timestamp: stamp, _sqlite_json: as_json, None: None}
    encoders = dict(_sqlite_encoders(table) or ())
    plan = [(name, cached[encoders[name]]) for name in names]
    plain = [name for name, encode in plan if encode is None]
    coded = [(name, encode) for name, encode in plan if encode is not None]
    order = plain + [name for name, _ in coded]
    _insert_native(conn, table, [pk.name, *order], (
        (entity_id, *[values[name] for name in plain], *[encode(values[name]) for name, encode in coded])
        for entity_id, values in zip(ids, complete, strict=True)
    ))
    recorded = _sqlite_timestamp(utcnow())
    _insert_native(conn, activity_log, _EVENT_COLUMNS, (
        (stamp(at), recorded, actor_id, entity_type, str(entity_id), action,
         dumps({"initial": values}, default=_json_default))
        for entity_id, values, at in zip(ids, complete, times, strict=True)
    ))
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
