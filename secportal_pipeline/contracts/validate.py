"""Run a contract against a frame and say, in words, what broke."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from .model import Contract
from .schema import build_schema


@dataclass(frozen=True)
class Violation:
    column: str
    check: str
    value: str
    row: int | None

    def describe(self) -> str:
        where = f" at row {self.row}" if self.row is not None else ""
        # schema-level failures name the column itself (or a type): nothing more to show
        found = "" if self.value == self.column or self.check.startswith("type") else f" (found {self.value!r})"
        return f"column {self.column!r}: {self.check}{found}{where}"


class ContractViolation(Exception):
    """The frame does not match its contract; ``violations`` lists every failure."""

    def __init__(self, contract: Contract, partition: str, violations: list[Violation], stage: str):
        self.contract = contract
        self.partition = partition
        self.violations = violations
        self.stage = stage
        head = "; ".join(_describe_safely(v, contract) for v in violations[:10])
        more = f" (+{len(violations) - 10} more)" if len(violations) > 10 else ""
        super().__init__(
            f"{contract.id} v{contract.version} partition {partition} ({stage}): "
            f"{len(violations)} contract violation(s): {head}{more}"
        )


def _describe_safely(violation: Violation, contract: Contract) -> str:
    """The violation in words, without the value when its column is hashed, redacted or omitted.

    The message travels to logs, Dagster's event log and incident records, none of which
    may hold what the classification exists to keep out.
    """
    known = {c.name: c.treatment for c in contract.columns}
    if known.get(violation.column, "raw") == "raw" or violation.check.startswith(("column ", "contract column")):
        return violation.describe()
    return Violation(violation.column, violation.check, f"[withheld: {known[violation.column]} column]",
                     violation.row).describe()


SCHEMA_LEVEL_CHECKS = {"column_in_schema", "column_in_dataframe", "column_ordered"}


def _describe_check(check: str) -> str:
    """Pandera's check names made readable for the person reading the failure."""
    if check == "column_in_schema":
        return "column not in the contract (added or renamed)"
    if check == "column_in_dataframe":
        return "contract column missing from the data (removed or renamed)"
    if check == "column_ordered":
        return "column out of the contract's order"
    if check.startswith("dtype("):
        return "type differs from the contract: expected " + check[6:-1].strip("'")
    if check == "not_nullable":
        return "required value is empty"
    if check == "field_uniqueness":
        return "duplicate value in a unique column"
    return f"failed check {check}"


def violations_from(error: pa.errors.SchemaErrors) -> list[Violation]:
    cases = error.failure_cases
    out = []
    for case in cases.to_dict("records"):
        column = case.get("column")
        failure = case.get("failure_case")
        check = str(case.get("check"))
        if check in SCHEMA_LEVEL_CHECKS or column is None or (isinstance(column, float) and pd.isna(column)):
            column = str(failure)  # schema-level checks name the column as the failure case
        index = case.get("index")
        row = None if index is None or (isinstance(index, float) and pd.isna(index)) else int(index)
        out.append(Violation(
            column=str(column),
            check=_describe_check(check),
            value=str(failure),
            row=row,
        ))
    return out


def explain(violations: list[Violation], frame: pd.DataFrame, contract: Contract, landed: bool) -> list[Violation]:
    """Say what changed, not only what failed: renames, positions, the type found.

    A value check on a column whose type is already wrong only repeats the type error
    (e.g. ``>= 1`` on text), so it is dropped.
    """
    expected = [c.name for c in (contract.landed_columns if landed else contract.columns)]
    actual = [str(c) for c in frame.columns]
    extra = [c for c in actual if c not in expected]
    missing = [c for c in expected if c not in actual]
    retyped = {v.column for v in violations if v.check.startswith("type")}
    out = []
    for v in violations:
        check = v.check
        if v.column in retyped and not check.startswith("type"):
            continue
        if check.startswith("column not in the contract") and v.column in actual:
            position = actual.index(v.column)
            twin = expected[position] if position < len(expected) and expected[position] in missing else None
            check += f", looks renamed from {twin!r}" if twin else ""
        elif check.startswith("contract column missing") and v.column in expected:
            position = expected.index(v.column)
            twin = actual[position] if position < len(actual) and actual[position] in extra else None
            check += f", looks renamed to {twin!r}" if twin else ""
        elif check.startswith("column out of") and v.column in actual and v.column in expected:
            check += (f": at position {actual.index(v.column) + 1}, the contract puts it at "
                      f"{expected.index(v.column) + 1}")
        elif check.startswith("type differs"):
            check += f", found {v.value}"
        out.append(Violation(v.column, check, v.value, v.row))
    return out


def validate(frame: pd.DataFrame, contract: Contract, *, partition: str, landed: bool = False) -> pd.DataFrame:
    """Return ``frame`` unchanged when it meets the contract; raise ContractViolation if not."""
    schema = build_schema(contract, landed=landed)
    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as error:
        violations = explain(violations_from(error), frame, contract, landed)
        raise ContractViolation(contract, partition, violations, "landed" if landed else "canonical") from None
