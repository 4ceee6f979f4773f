"""Creation events SQLite builds itself (``create_entities`` on the native path) log what Core logs.

On SQLite ``_create_entities_native`` writes the ``{"initial": row}`` events with one
INSERT ... SELECT over the rows just inserted. Each value kind is compared here against
the Core path (``NATIVE_SQLITE`` off), after parsing: key order and spacing differ, the
values (and their JSON types: 10.0 is not 10, true is not 1) must not.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

import secportal_pipeline.workspace.activity as activity
from secportal_pipeline.exports.asof import replay
from secportal_pipeline.exports.jsonmask import mask_text
from secportal_pipeline.workspace.accounts import ensure_service_accounts
from secportal_pipeline.workspace.activity import create_entities
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.types import UTCDateTime

T0 = datetime(2026, 9, 14, 3, 0, tzinfo=UTC)

probe = sa.Table(
    "kinds_probe", sa.MetaData(),
    sa.Column("probe_id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(40), nullable=False, unique=True),
    sa.Column("label", sa.Text, nullable=False, default=""),
    sa.Column("count", sa.Integer),
    sa.Column("score", sa.Float),
    sa.Column("other_score", sa.Float),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("tags", sa.JSON, nullable=False, default=list),
    sa.Column("it's \"odd\"", sa.String(10)),  # a column name SQL has to quote
)

flagged = sa.Table(  # sa.Boolean has no native encoding: such tables keep the Core path
    "flagged_probe", sa.MetaData(),
    sa.Column("flag_id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(40), nullable=False, unique=True),
    sa.Column("active", sa.Boolean, nullable=False),
)

AWKWARD_TEXT = [
    "", "plain", "non-ASCII: é ü ß 漢字 😀 \u2028\u2029", 'quotes " and \' and `', "back\\slash \\n \\u0041",
    "new\nline\r\ntab\t", "control \x01\x08\x0b\x0c\x1b\x1f\x7f", "NUL \x00 inside\x00", "\x00",
    "json-ish {\"a\": [1, 2]}", "trailing space ",
]
FLOATS = [10.0, 7.5, 0.0, -0.0, 0.1 + 0.2, 1 / 3, 123456789.12345679, 1e300, 1.7976931348623157e308, 5e-324,
          2.5e-05, 1e16, 9.5, None]


def _rows() -> list[tuple[dict, datetime]]:
    rows = []
    for n in range(40):
        seen = T0 + timedelta(minutes=n)
        if n % 3 == 1:
            seen = seen.replace(microsecond=123456)
        elif n % 3 == 2:
            seen = seen.replace(microsecond=1)
        values = {
            "key": f"k{n:03d}",
            "label": AWKWARD_TEXT[n % len(AWKWARD_TEXT)],
            "count": [0, -7, 2**62, None, 42][n % 5],
            "score": FLOATS[n % len(FLOATS)],
            "other_score": [None, 3, -1.25][n % 3],  # an int in a float column: Core logs 3, not 3.0
            # another zone, converted to UTC (the 7th minute is 10:07 at +07:00)
            "seen_at": seen.astimezone(timezone(timedelta(hours=7))) if n % 4 == 0 else seen,
            "closed_at": None if n % 2 else seen + timedelta(days=1, microseconds=n),
            "tags": [[], ["CVE-2026-0001", "é\x00\""], [1, 2.5, None, True, {"k": ["v"]}], None, "just text"][n % 5],
            "it's \"odd\"": None if n % 2 else "odd",
        }
        if n % 7 == 0:
            del values["label"]  # filled from its default
        # occurred_at differs per row, and from the row's own timestamps
        rows.append((values, T0 - timedelta(hours=n % 5, microseconds=n % 2)))
    return rows


def _write(tmp_path, native: bool, monkeypatch, table: sa.Table, batches: list[list[tuple[dict, datetime]]]):
    monkeypatch.setattr(activity, "NATIVE_SQLITE", native)
    engine = open_workspace(f"sqlite:///{tmp_path / ('native' if native else 'core')}.sqlite")
    table.create(engine)
    with engine.begin() as conn:
        actor = ensure_service_accounts(conn, T0)["svc-intake"]
        ids = [create_entities(conn, table, batch, actor_id=actor, entity_type="probe", unique_key="key")
               for batch in batches]
    with engine.connect() as conn:
        def raw(sql):
            return [tuple(row) for row in conn.exec_driver_sql(sql)]
        stored = {
            "ids": ids,
            "rows": raw(f"SELECT * FROM {table.name} ORDER BY 1"),
            "events": raw("SELECT occurred_at, actor_id, entity_type, entity_id, action, metadata "
                          "FROM activity_log WHERE entity_type = 'probe' ORDER BY event_id"),
        }
    engine.dispose()
    return stored


def _canonical(metadata: str) -> str:
    """Equal exactly when the parsed values are, JSON types included (10 vs 10.0, true vs 1, -0.0)."""
    return json.dumps(json.loads(metadata), sort_keys=True)


@pytest.fixture
def sql_built(monkeypatch):
    """How many batches got their events from SQL (True) or from ``json.dumps`` (False)."""
    outcomes: list[bool] = []
    original = activity._insert_creation_events

    def spy(*args, **kwargs):
        outcomes.append(original(*args, **kwargs))
        return outcomes[-1]

    monkeypatch.setattr(activity, "_insert_creation_events", spy)
    return outcomes


def test_sql_built_creation_events_match_core(tmp_path, monkeypatch, sql_built):
    rows = _rows()
    batches = [rows[:25], rows[25:]]  # the second batch starts after existing keys
    native = _write(tmp_path, True, monkeypatch, probe, batches)
    assert sql_built == [True, True]
    core = _write(tmp_path, False, monkeypatch, probe, batches)
    assert sql_built == [True, True]  # the Core path never gets there

    assert native["ids"] == core["ids"] == [list(range(1, 26)), list(range(26, 41))]
    assert native["rows"] == core["rows"]
    # the events in row order, every column but metadata byte for byte
    assert [event[:-1] for event in native["events"]] == [event[:-1] for event in core["events"]]
    assert [event[3] for event in native["events"]] == [str(i) for i in range(1, 41)]
    for ours, theirs in zip(native["events"], core["events"], strict=True):
        assert _canonical(ours[-1]) == _canonical(theirs[-1])
        assert json.loads(ours[-1]) == json.loads(theirs[-1])
        assert ours[-1].startswith('{"initial":{"key":')  # SQLite's text: compact, in column order

    initial = {int(event[3]): json.loads(event[-1])["initial"] for event in native["events"]}
    assert initial[1]["seen_at"] == "2026-09-14T03:00:00+00:00"  # given at +07:00, logged in UTC
    assert initial[2]["seen_at"] == "2026-09-14T03:01:00.123456+00:00"
    assert initial[3]["seen_at"] == "2026-09-14T03:02:00.000001+00:00"
    assert initial[1]["closed_at"] == "2026-09-15T03:00:00+00:00" and initial[2]["closed_at"] is None
    assert initial[2]["tags"] == ["CVE-2026-0001", "é\x00\""] and initial[4]["tags"] is None
    assert initial[5]["tags"] == "just text"
    assert initial[1]["label"] == "" and initial[4]["label"] == 'quotes " and \' and `'
    assert initial[8]["label"] == ""  # left out, filled from the default
    assert initial[19]["label"] == "NUL \x00 inside\x00" and initial[9]["label"] == "\x00"
    assert initial[7]["label"] == "control \x01\x08\x0b\x0c\x1b\x1f\x7f"
    assert initial[3]["label"] == "non-ASCII: é ü ß 漢字 😀 \u2028\u2029" and initial[5]["label"] == "back\\slash \\n \\u0041"
    assert initial[6]["label"] == "new\nline\r\ntab\t"
    assert initial[3]["count"] == 2**62 and initial[4]["count"] is None
    assert initial[2]["other_score"] == 3 and type(initial[2]["other_score"]) is int
    for n, value in enumerate(FLOATS):
        logged = initial[n + 1]["score"]
        if value is None:
            assert logged is None
        else:
            assert type(logged) is float and logged == value and math.copysign(1, logged) == math.copysign(1, value)
    assert initial[1]["it's \"odd\""] == "odd"

    # what reads creation events gets the same from both
    def as_events(stored):
        return [{"occurred_at": datetime.fromisoformat(e[0]).replace(tzinfo=UTC), "entity_id": e[3],
                 "metadata": json.loads(e[-1])} for e in stored["events"]]
    later = T0 + timedelta(days=30)
    assert replay(as_events(native), later) == replay(as_events(core), later)
    for keep in ([], ["score", "seen_at", "tags"]):
        assert [mask_text(e[-1], keep) for e in native["events"]] == [mask_text(e[-1], keep) for e in core["events"]]


@pytest.mark.parametrize("odd", [
    {"count": True},  # SQLite would store 1: Core logs true
    {"count": "12"},  # an integer column stores '12' as 12: Core logs "12"
    {"label": 5},  # a text column stores 5 as '5': Core logs 5
    {"score": float("nan")},  # no JSON for SQLite; Python writes NaN
    {"tags": ["a", float("nan")]},  # a JSON column holding NaN: SQLite would not read it (or as null)
    {"tags": [float("-inf")]},
])
def test_values_sqlite_would_change_keep_python_encoding(tmp_path, monkeypatch, sql_built, odd):
    rows = _rows()[:6]
    rows[3] = ({**rows[3][0], **odd}, rows[3][1])
    native = _write(tmp_path, True, monkeypatch, probe, [rows])
    assert sql_built == [False]
    core = _write(tmp_path, False, monkeypatch, probe, [rows])
    assert [e[:-1] for e in native["events"]] == [e[:-1] for e in core["events"]]
    if "score" in odd or "tags" in odd:  # NaN is not equal to itself: compare the text
        assert native["events"] == core["events"]  # json.dumps: the very bytes Core writes
        assert native["rows"] == core["rows"]
    else:
        assert [_canonical(e[-1]) for e in native["events"]] == [_canonical(e[-1]) for e in core["events"]]
        (name, value), = odd.items()
        assert json.loads(native["events"][3][-1])["initial"][name] == value


def test_booleans_are_logged_as_json_booleans(tmp_path, monkeypatch, sql_built):
    rows = [({"key": f"f{n}", "active": bool(n % 2)}, T0) for n in range(4)]
    native = _write(tmp_path, True, monkeypatch, flagged, [rows])
    core = _write(tmp_path, False, monkeypatch, flagged, [rows])
    assert sql_built == []  # a Boolean column keeps the table on Core, which logs true/false
    assert native == core
    assert [json.loads(e[-1])["initial"]["active"] for e in native["events"]] == [False, True, False, True]


def test_old_sqlite_keeps_python_encoding(tmp_path, monkeypatch, sql_built):
    monkeypatch.setattr(activity, "_SQLITE_JSON_ARROWS", (99, 0))  # as if SQLite had no ->
    rows = _rows()[:5]
    native = _write(tmp_path, True, monkeypatch, probe, [rows])
    core = _write(tmp_path, False, monkeypatch, probe, [rows])
    assert sql_built == [False]
    assert native == core  # json.dumps: the very bytes Core writes
