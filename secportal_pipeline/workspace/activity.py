"""The append-only activity log: record events, create and change entities with a trail."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from itertools import chain, repeat
from operator import itemgetter
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


def field_changes(current: Mapping[str, Any], changes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``{field, from, to}`` entries a change logs: only fields whose value really changes."""
    return [
        {"field": name, "from": to_json_value(current[name]), "to": to_json_value(value)}
        for name, value in changes.items()
        if to_json_value(current[name]) != to_json_value(value)
    ]


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


def _column_kind(column: sa.Column) -> str | None:
    """How the native SQLite path stores a column: "ts", "json", "float", "int", "str",
    or None for a type it does not know (the table then keeps SQLAlchemy Core)."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "ts"
    if isinstance(kind, sa.JSON):
        return "json"
    if type(kind) is sa.Float and not kind.asdecimal:
        return "float"
    if isinstance(kind, (sa.Integer, sa.String)) and not isinstance(kind, (sa.Enum, sa.TypeDecorator)):
        return "int" if isinstance(kind, sa.Integer) else "str"
    return None


_ENCODE = {"ts": _sqlite_timestamp, "json": _sqlite_json, "float": None, "int": None, "str": None}
_ENCODERS: dict[sa.Table, list[tuple[str, Callable[[Any], Any] | None]] | None] = {}


def _sqlite_encoders(table: sa.Table) -> list[tuple[str, Callable[[Any], Any] | None]] | None:
    """Per column (name, encoder or None for as-is), or None when a type needs SQLAlchemy."""
    if table not in _ENCODERS:
        kinds = [(column.name, _column_kind(column)) for column in table.columns]
        _ENCODERS[table] = None if any(kind is None for _, kind in kinds) else \
            [(name, _ENCODE[kind]) for name, kind in kinds]
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
    """``create_entities`` on SQLite: the rows as encoded tuples through sqlite3 executemany,
    their events built by SQLite from the rows just written.

    Keys are assigned here as ``max(pk) + 1, + 2, ...``: exactly what SQLite gives an
    ``INTEGER PRIMARY KEY`` without AUTOINCREMENT (checked by the caller), so the events
    can follow the rows by key (multi-row RETURNING gives no row order on SQLite).
    Safe because SQLite has one writer: once the transaction has written, nobody else
    inserts until it ends; should another connection insert between the read and the
    insert, its rows hold those keys and the insert fails on the primary key (or on a
    stale snapshot): never a silent reuse. The event metadata is the ``{"initial": row}``
    the Core path writes, as parsed JSON (SQLite's is compact and in column order); see
    ``_insert_creation_events``, and ``json.dumps`` here when that cannot.
    """
    names = [column.name for column in table.columns if column is not pk]
    quote = conn.dialect.identifier_preparer.quote
    first = (conn.exec_driver_sql(f"SELECT max({quote(pk.name)}) FROM {quote(table.name)}").scalar() or 0) + 1
    ids = list(range(first, first + len(complete)))
    stamp, as_json = _timestamp_cache(), _json_cache()
    cached = {_sqlite_timestamp: stamp, _sqlite_json: as_json, None: None}
    encoders = dict(_sqlite_encoders(table) or ())
    plan = [(name, cached[encoders[name]]) for name in names]
    plain = [name for name, encode in plan if encode is None]
    coded = [(name, encode) for name, encode in plan if encode is not None]
    plain_rows = list(map(_getter(plain), complete))  # also what the events check the types of
    _insert_native(conn, table, [pk.name, *plain, *[name for name, _ in coded]], (
        (entity_id, *row, *[encode(values[name]) for name, encode in coded])
        for entity_id, row, values in zip(ids, plain_rows, complete, strict=True)
    ))
    recorded = _sqlite_timestamp(utcnow())
    if not _insert_creation_events(conn, table, pk, first, complete, times, stamp, (plain, plain_rows),
                                   recorded=recorded, actor_id=actor_id, entity_type=entity_type, action=action):
        dumps = json.dumps
        _insert_native(conn, activity_log, _EVENT_COLUMNS, (
            (stamp(at), recorded, actor_id, entity_type, str(entity_id), action,
             dumps({"initial": values}, default=_json_default))
            for entity_id, values, at in zip(ids, complete, times, strict=True)
        ))
    return ids


def _getter(names: list[str]) -> Callable[[Mapping[str, Any]], tuple]:
    """``values -> (values[name], ...)``, a tuple for any number of names."""
    if len(names) == 1:
        (name,) = names
        return lambda values: (values[name],)
    return itemgetter(*names) if names else lambda values: ()


# Creation events built by SQLite: one INSERT ... SELECT per batch reads the rows just
# written and ``json_object`` renders each value. Per column kind, the expression turns
# what the row stores back into what the Core path logs (``to_json_value`` of the value):
# - UTC timestamps, stored "YYYY-MM-DD HH:MM:SS.ffffff", become ``isoformat()`` text
#   ("...THH:MM:SS+00:00", the fraction only when not zero);
# - JSON columns are embedded as JSON (``json(col)``), not as their text;
# - integers and text as stored, NULL as null. That is the value given only when it had
#   the column's type (SQLite's affinity stores 5 as '5' in a text column, '5' as 5 in an
#   integer one, True as 1): checked per batch, any other type keeps ``json.dumps``;
# - floats do not come from the row: SQLite prints a REAL with 15 significant digits
#   (0.30000000000000004 would read back as 0.3), so they travel as ``json.dumps`` writes
#   them, exactly the Core path's text, next to each row's occurred_at.
# Those per-row values go as one JSON array of ``[occurred_at, float, ...]``, joined to the
# rows by position (``json_each``). ``->`` keeps a number's JSON text (SQLite >= 3.38,
# older versions keep ``json.dumps``). A table with a column type this does not know, or
# too many columns for one json_object, keeps ``json.dumps`` too.

_ANY = None
_ALLOWED = {"int": frozenset({int, type(None)}), "str": frozenset({str, type(None)}),
            "ts": frozenset({datetime, type(None)})}
_MAX_OBJECT_MEMBERS = 63  # json_object takes at most 127 arguments (SQLITE_MAX_FUNCTION_ARG)
_SQLITE_JSON_ARROWS = (3, 38)  # the first SQLite with -> and ->>
_NOT_JSON = "not JSON"  # the text json() refuses: a stored JSON value SQLite would not read as Python wrote it


class _EventPlan:
    """One table's creation-event statement and what it needs from each batch."""

    def __init__(self, sql: str, floats: list[str], allowed: dict[str, frozenset[type] | None]):
        self.sql = sql
        self.floats = floats  # the float columns, in the order the per-row arrays carry them
        self.allowed = allowed  # per column, the Python types logged as stored (None: any)
        self.timestamps = [name for name, kinds in allowed.items() if kinds is _ALLOWED["ts"]]


_EVENT_PLANS: dict[sa.Table, _EventPlan | None] = {}


def _event_plan(conn: sa.Connection, table: sa.Table, pk: sa.Column) -> _EventPlan | None:
    if table in _EVENT_PLANS:
        return _EVENT_PLANS[table]
    quote = conn.dialect.identifier_preparer.quote
    members: list[str] = []
    floats: list[str] = []
    allowed: dict[str, frozenset[type] | None] = {}
    columns = [column for column in table.columns if column is not pk]
    plan: _EventPlan | None = None
    for column in columns:
        kind, stored = _column_kind(column), f"t.{quote(column.name)}"
        if kind == "ts":
            expr = f"replace(replace({stored}, '.000000', ''), ' ', 'T') || '+00:00'"
            allowed[column.name] = _ALLOWED["ts"]
        elif kind == "json":
            # json_valid is strict JSON; json() would read NaN (json.dumps writes it) as null
            # from SQLite 3.42: fail the statement instead, Python then writes the events
            expr = f"CASE WHEN json_valid({stored}) THEN json({stored}) ELSE json('{_NOT_JSON}') END"
            allowed[column.name] = _ANY
        elif kind == "float":
            floats.append(column.name)
            expr, allowed[column.name] = f"j.value -> {len(floats)}", _ANY
        elif kind is not None:
            expr, allowed[column.name] = stored, _ALLOWED[kind]
        else:
            break
        members.append(f"{_sql_string(column.name)}, {expr}")
    else:
        if len(columns) <= _MAX_OBJECT_MEMBERS:
            key = f"t.{quote(pk.name)}"
            plan = _EventPlan(
                f"INSERT INTO {quote(activity_log.name)} ({', '.join(map(quote, _EVENT_COLUMNS))}) "
                f"SELECT j.value ->> 0, ?, ?, ?, CAST({key} AS TEXT), ?, "
                f"json_object('initial', json_object({', '.join(members)})) "
                f"FROM json_each(?) AS j CROSS JOIN {quote(table.name)} AS t ON {key} = ? + j.key "
                f"ORDER BY j.key",
                floats, allowed,
            )
    _EVENT_PLANS[table] = plan
    return plan


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _insert_creation_events(
    conn: sa.Connection, table: sa.Table, pk: sa.Column, first: int, complete: list[dict[str, Any]],
    times: list[datetime], stamp: Callable[[datetime | None], str | None],
    plain: tuple[list[str], list[tuple]], *, recorded: str | None, actor_id: int, entity_type: str, action: str,
) -> bool:
    """The creation events of the rows keyed ``first``, ``first + 1``, ... (``complete`` in
    order, ``plain`` their as-is columns' values) in one INSERT ... SELECT.

    False, with nothing written, when the table, SQLite or a value needs ``json.dumps``.
    """
    plan = _event_plan(conn, table, pk)
    if plan is None or getattr(conn.dialect.dbapi, "sqlite_version_info", (0,)) < _SQLITE_JSON_ARROWS:
        return False
    names, rows = plain
    allowed = [plan.allowed[name] for name in names]
    for types in set(map(tuple, map(map, repeat(type), rows))):  # the few type combinations in the batch
        if not all(kinds is _ANY or kind in kinds for kind, kinds in zip(types, allowed, strict=True)):
            return False
    if plan.timestamps and not set(map(type, chain.from_iterable(map(_getter(plan.timestamps), complete)))) \
            <= _ALLOWED["ts"]:
        return False
    floats = _getter(plan.floats)
    try:
        per_row = json.dumps([[stamp(at), *floats(values)] for values, at in zip(complete, times, strict=True)],
                             default=_json_default, allow_nan=False)
    except ValueError:  # NaN or infinity: no JSON for SQLite, Python's dumps writes them
        return False
    try:
        conn.exec_driver_sql(plan.sql, (recorded, actor_id, entity_type, action, per_row, first))
    except sa.exc.OperationalError as error:  # the statement failed whole: nothing written
        if "malformed JSON" in str(error.orig):
            return False
        raise
    return True


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
    diff = field_changes(current, changes)
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
