"""A contract file (ODCS v3.1.0 YAML) read into the shape the pipeline uses.

The file is the one place an export's columns are defined; everything else (the
Pandera schema, the landing column order, the classification, the warehouse DDL)
is derived from what this module returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TREATMENTS = ("raw", "redacted", "hashed", "omitted")
REDACTIONS = ("marker", "json-mask")
LOGICAL_TYPES = ("string", "integer", "number", "boolean", "date", "timestamp")
CLASSIFICATION_LEVELS = ("public", "internal", "confidential", "restricted")


class ContractError(ValueError):
    """A contract file that cannot be used, with the file and the field named."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    logical_type: str
    physical_type: str
    required: bool
    unique: bool
    primary_key: bool
    partitioned: bool
    treatment: str
    classification: str
    description: str = ""
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    valid_values: tuple[str, ...] | None = None
    # redacted only: "marker" (the whole value becomes REDACTED_MARKER) or "json-mask"
    # (JSON text keeps its keys; values are masked unless their key is in keep_keys)
    redaction: str = "marker"
    keep_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contract:
    id: str
    name: str
    version: str
    status: str
    owner: str
    frequency: str
    landing_path: str  # "landing/<class>/v<major>/{partition}/"
    table: str
    columns: tuple[ColumnSpec, ...]
    custom: dict[str, Any]
    source: Path

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def service_account(self) -> str:
        return self.custom["serviceAccount"]

    @property
    def classification(self) -> str:
        return self.custom.get("dataClassification", "internal")

    @property
    def people_read(self) -> bool:
        return bool(self.custom.get("peopleRead", False))

    def column(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"contract {self.id} has no column {name!r}")

    @property
    def landed_columns(self) -> tuple[ColumnSpec, ...]:
        """Columns in landing order: the contract's order, omitted ones left out."""
        return tuple(c for c in self.columns if c.treatment != "omitted")

    @property
    def partition_column(self) -> str | None:
        """The column holding the partition key, which a warehouse reload replaces by."""
        return next((c.name for c in self.columns if c.partitioned), None)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)


def _custom(items: list[dict] | None) -> dict[str, Any]:
    return {item["property"]: item.get("value") for item in items or []}


def _valid_values(prop: dict) -> tuple[str, ...] | None:
    for rule in prop.get("quality") or []:
        if rule.get("metric") == "invalidValues" and "validValues" in (rule.get("arguments") or {}):
            return tuple(str(v) for v in rule["arguments"]["validValues"])
    return None


def _column(prop: dict, where: str) -> ColumnSpec:
    name = prop.get("name")
    if not name:
        raise ContractError(f"{where}: a property has no name")
    logical = prop.get("logicalType")
    if logical not in LOGICAL_TYPES:
        raise ContractError(f"{where}: column {name!r} has logicalType {logical!r}; expected one of {LOGICAL_TYPES}")
    custom = _custom(prop.get("customProperties"))
    treatment = custom.get("treatment")
    if treatment not in TREATMENTS:
        raise ContractError(f"{where}: column {name!r} has treatment {treatment!r}; expected one of {TREATMENTS}")
    classification = prop.get("classification", "internal")
    if classification not in CLASSIFICATION_LEVELS:
        raise ContractError(f"{where}: column {name!r} has classification {classification!r}")
    redaction = custom.get("redaction", "marker")
    if redaction not in REDACTIONS:
        raise ContractError(f"{where}: column {name!r} has redaction {redaction!r}; expected one of {REDACTIONS}")
    if redaction != "marker" and treatment != "redacted":
        raise ContractError(f"{where}: column {name!r} sets redaction {redaction!r} but its treatment is {treatment!r}")
    options = prop.get("logicalTypeOptions") or {}
    return ColumnSpec(
        name=name,
        logical_type=logical,
        physical_type=prop.get("physicalType") or logical.upper(),
        required=bool(prop.get("required", False)),
        unique=bool(prop.get("unique", False)),
        primary_key=bool(prop.get("primaryKey", False)),
        partitioned=bool(prop.get("partitioned", False)),
        treatment=treatment,
        classification=classification,
        description=prop.get("description", ""),
        pattern=options.get("pattern"),
        minimum=options.get("minimum"),
        maximum=options.get("maximum"),
        valid_values=_valid_values(prop),
        redaction=redaction,
        keep_keys=tuple(str(k) for k in custom.get("keepKeys") or ()),
    )


def parse_contract(document: dict, source: Path) -> Contract:
    where = str(source)
    for key in ("apiVersion", "kind", "id", "version", "status", "schema"):
        if key not in document:
            raise ContractError(f"{where}: missing required key {key!r}")
    if document["kind"] != "DataContract":
        raise ContractError(f"{where}: kind is {document['kind']!r}, expected 'DataContract'")
    (table,) = document["schema"]
    columns = tuple(_column(p, f"{where} schema {table['name']}") for p in table.get("properties") or [])
    if not columns:
        raise ContractError(f"{where}: schema {table['name']} has no properties")
    names = [c.name for c in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ContractError(f"{where}: duplicate column names {duplicates}")
    custom = _custom(document.get("customProperties"))
    if "serviceAccount" not in custom:
        raise ContractError(f"{where}: customProperties has no serviceAccount")
    owners = [m.get("username") for m in (document.get("team") or {}).get("members", []) if m.get("role") == "owner"]
    if len(owners) != 1 or not owners[0]:
        # the owner is a person the workspace knows (MFA posture, reviews): one handle, not a role name
        raise ContractError(f"{where}: team.members must name exactly one member with role owner (a workspace "
                            f"handle); found {owners}")
    frequency = next((f"{s['value']}{s.get('unit', '')}" for s in document.get("slaProperties") or []
                      if s.get("property") == "frequency"), "")
    servers = document.get("servers") or [{}]
    return Contract(
        id=document["id"],
        name=document.get("name", document["id"]),
        version=str(document["version"]),
        status=document["status"],
        owner=owners[0],
        frequency=frequency,
        landing_path=servers[0].get("path", ""),
        table=table["name"],
        columns=columns,
        custom=custom,
        source=source,
    )


def load_contract(path: Path) -> Contract:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ContractError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise ContractError(f"{path}: expected a mapping at the top level")
    contract = parse_contract(document, path)
    expected = f"/v{contract.major}/"
    if expected not in contract.landing_path:
        raise ContractError(f"{path}: landing path {contract.landing_path!r} must carry the major version ({expected})")
    return contract


def load_contracts(directory: Path) -> dict[str, Contract]:
    """Every contract in ``directory`` by id (released snapshots under released/ excluded)."""
    contracts = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        contract = load_contract(path)
        contracts[contract.id] = contract
    return contracts
