"""SQL models over ``published``: the derived dimension and the marts.

Each model is one SQL file whose header comment says its grain, its inputs and its
definitions; the file name is the table name. ``derived/*.sql`` build tables in
``published`` from other published tables (dim_framework_control); ``marts/*.sql``
build tables in ``marts``. A build is ``CREATE OR REPLACE TABLE`` in one transaction,
so a failed build leaves the previous table. The reference tables the marts join
(``marts.sla_policy`` from the configured policy, ``marts.severity_levels``) are
rewritten first by every build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

from ..workspace.types import SEVERITIES
from .ddl import PUBLISHED, quote

MARTS = "marts"
_HERE = Path(__file__).parent
MODEL_DIRS = {PUBLISHED: _HERE / "derived", MARTS: _HERE / "marts"}
# written by the builder itself, not by a model file
REFERENCE_TABLES = ("marts.sla_policy", "marts.severity_levels")
_INPUT = re.compile(r"^(published|marts)\.[a-z_][a-z0-9_]*$")


class ModelError(ValueError):
    """A model file without its documented header, or a build whose inputs are missing."""


@dataclass(frozen=True)
class Model:
    schema: str
    name: str
    path: Path
    grain: str
    inputs: tuple[str, ...]
    definitions: str
    sql: str

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def description(self) -> str:
        return f"Grain: {self.grain}.\n\n{self.definitions}"


def _header(path: Path, text: str) -> tuple[str, tuple[str, ...], str]:
    fields: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        body = line[2:].strip()
        match = re.match(r"^(grain|inputs|definitions):\s*(.*)$", body)
        if match:
            current = match.group(1)
            fields[current] = [match.group(2)] if match.group(2) else []
        elif current is not None and body:
            fields[current].append(body)
    missing = [f for f in ("grain", "inputs", "definitions") if not fields.get(f)]
    if missing:
        raise ModelError(f"{path}: header comment lacks {', '.join(missing)} (-- grain: / -- inputs: / -- definitions:)")
    inputs = tuple(i.strip() for i in " ".join(fields["inputs"]).split(",") if i.strip())
    bad = [i for i in inputs if not _INPUT.match(i)]
    if bad:
        raise ModelError(f"{path}: inputs {bad} are not schema.table names in published or marts")
    return " ".join(fields["grain"]), inputs, "\n".join(fields["definitions"])


def load_models() -> dict[str, Model]:
    """Every model by its table name (``marts.sla_attainment``), read from the SQL files."""
    models = {}
    for schema, folder in MODEL_DIRS.items():
        for path in sorted(folder.glob("*.sql")):
            text = path.read_text(encoding="utf-8")
            grain, inputs, definitions = _header(path, text)
            model = Model(schema, path.stem, path, grain, inputs, definitions, text.strip().rstrip(";"))
            models[model.table] = model
    return models


def build_order(models: dict[str, Model]) -> list[str]:
    graph = {table: [i for i in m.inputs if i in models] for table, m in models.items()}
    return list(TopologicalSorter(graph).static_order())


def _write_reference_tables(con: duckdb.DuckDBPyConnection, sla_policy: dict[str, int]) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {MARTS}")
    ranks = {severity: len(SEVERITIES) - i for i, severity in enumerate(SEVERITIES)}  # critical 5 .. info 1
    con.execute("CREATE OR REPLACE TABLE marts.severity_levels (severity VARCHAR, severity_rank INTEGER)")
    con.executemany("INSERT INTO marts.severity_levels VALUES (?, ?)", list(ranks.items()))
    con.execute("CREATE OR REPLACE TABLE marts.sla_policy (severity VARCHAR, severity_rank INTEGER, sla_days INTEGER)")
    if sla_policy:
        con.executemany("INSERT INTO marts.sla_policy VALUES (?, ?, ?)",
                        [(s, ranks[s], days) for s, days in sla_policy.items()])


def _existing(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
    return {r[0] for r in rows}


def build_model(con: duckdb.DuckDBPyConnection, model: Model, sla_policy: dict[str, int]) -> int:
    """(Re)build one model's table in one transaction; returns its row count."""
    con.execute("SET TimeZone = 'UTC'")  # dates of timestamps are UTC dates, whatever the host says
    _write_reference_tables(con, sla_policy)
    missing = [i for i in model.inputs if i not in _existing(con) and i not in REFERENCE_TABLES]
    if missing:
        raise ModelError(f"{model.table} ({model.path.name}) needs {', '.join(missing)}, not in the warehouse yet: "
                         "load the export classes it reads (and build the models it reads) first")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.schema}")
    target = f"{model.schema}.{quote(model.name)}"
    con.begin()
    try:
        con.execute(f"CREATE OR REPLACE TABLE {target} AS\n{model.sql}")
        comment = f"model {model.path.name}; grain: {model.grain}".replace("'", "''")
        con.execute(f"COMMENT ON TABLE {target} IS '{comment}'")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]


def build_models(warehouse_path: Path, sla_policy: dict[str, int], only: list[str] | None = None) -> dict[str, int]:
    """Build ``only`` (table names) or every model, in dependency order; rows per table."""
    models = load_models()
    order = [t for t in build_order(models) if only is None or t in only]
    with duckdb.connect(str(warehouse_path)) as con:
        return {table: build_model(con, models[table], sla_policy) for table in order}
