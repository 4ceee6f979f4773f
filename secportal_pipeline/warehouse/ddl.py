"""Warehouse tables derived from a contract: names, DDL, and additive evolution.

Columns come from ``Contract.landed_columns`` and their ``physical_type``; nothing here
lists a contract's columns again. A published table records the contract id and major
version it was created for (as its table comment), so a table built for v1 never
receives v2 rows: a breaking change needs a new table or a migration, not a reload.
"""

from __future__ import annotations

import duckdb

from ..contracts.model import ColumnSpec, Contract

PUBLISHED = "published"
STAGING = "staging"

# Who wrote a row and for which partition; the partition column is what a reload replaces by.
BOOKKEEPING = (("_partition", "VARCHAR"), ("_run_id", "VARCHAR"), ("_loaded_at", "TIMESTAMPTZ"))

# Export classes whose published name differs from the class name (§6); dim_* keep theirs.
_FACT_TABLES = {
    "findings_snapshot": "fact_finding_snapshot",
    "activity_slice": "fact_activity_event",
    "exception_register": "fact_exception",
    "scan_diff": "fact_scan_diff",
}


class WarehouseSchemaError(ValueError):
    """A contract that cannot be mapped onto the warehouse, with table and versions named."""


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def published_table(contract: Contract) -> str:
    """The published table for ``contract``: customProperty warehouseTable, else the §6 rule."""
    explicit = contract.custom.get("warehouseTable")
    if explicit:
        return str(explicit)
    export_class = contract.custom.get("exportClass") or contract.id
    if export_class in _FACT_TABLES:
        return _FACT_TABLES[export_class]
    if export_class.startswith("dim_"):
        return export_class
    raise WarehouseSchemaError(
        f"contract {contract.id} ({contract.source}): no published table for export class {export_class!r}; "
        "set customProperty warehouseTable"
    )


def _column_sql(column: ColumnSpec) -> str:
    # NOT NULL is left to the contract check upstream: a minor version may add a
    # required column, and rows loaded before it existed must stay valid.
    return f"{quote(column.name)} {column.physical_type}"


def _table_comment(contract: Contract) -> str:
    return f"contract {contract.id} v{contract.major}"


def create_published_sql(contract: Contract) -> str:
    """CREATE TABLE for the published table: landed columns, then bookkeeping."""
    columns = [_column_sql(c) for c in contract.landed_columns]
    columns += [f"{quote(name)} {sql_type}" for name, sql_type in BOOKKEEPING]
    table = f"{PUBLISHED}.{quote(published_table(contract))}"
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    " + ",\n    ".join(columns) + "\n)"


def _existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str] | None:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [PUBLISHED, table],
    ).fetchall()
    return [r[0] for r in rows] or None


def _comment(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    row = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [PUBLISHED, table]
    ).fetchone()
    return row[0] if row else None


def ensure_published_table(con: duckdb.DuckDBPyConnection, contract: Contract) -> str:
    """Create the schemas and the published table, or ALTER in columns a minor version added."""
    for schema in (PUBLISHED, STAGING):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    table = published_table(contract)
    qualified = f"{PUBLISHED}.{quote(table)}"
    existing = _existing_columns(con, table)
    if existing is None:
        con.execute(create_published_sql(contract))
        con.execute(f"COMMENT ON TABLE {qualified} IS '{_table_comment(contract)}'")
        return table
    recorded = _comment(con, table)
    if recorded != _table_comment(contract):
        raise WarehouseSchemaError(
            f"{qualified} was created for {recorded or 'an unknown contract'}, "
            f"but contract {contract.id} is version {contract.version} (v{contract.major}); "
            "a new major version needs its own table or a migration"
        )
    for column in contract.landed_columns:
        if column.name not in existing:
            con.execute(f"ALTER TABLE {qualified} ADD COLUMN {_column_sql(column)}")
    return table
