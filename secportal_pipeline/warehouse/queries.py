"""Small read-only look-ups on the warehouse, for tests and the demo summary."""

from __future__ import annotations

from pathlib import Path

import duckdb

from .ddl import PUBLISHED, quote


def _connect(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    if not Path(warehouse_path).is_file():
        raise FileNotFoundError(f"{warehouse_path}: no warehouse file; load a partition first")
    return duckdb.connect(str(warehouse_path), read_only=True)


def _published_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY table_name", [PUBLISHED]
    ).fetchall()
    return [r[0] for r in rows]


def table_counts(warehouse_path: Path) -> dict[str, int]:
    """Row count of every published table, by table name."""
    with _connect(warehouse_path) as con:
        return {
            table: con.execute(f"SELECT count(*) FROM {PUBLISHED}.{quote(table)}").fetchone()[0]
            for table in _published_tables(con)
        }


def partition_counts(warehouse_path: Path, table: str) -> dict[str, int]:
    """Row count per ``_partition`` of one published table, in partition order."""
    with _connect(warehouse_path) as con:
        if table not in _published_tables(con):
            raise KeyError(f"{warehouse_path}: no table {PUBLISHED}.{table}")
        rows = con.execute(
            f"SELECT _partition, count(*) FROM {PUBLISHED}.{quote(table)} GROUP BY _partition ORDER BY _partition"
        ).fetchall()
    return dict(rows)
