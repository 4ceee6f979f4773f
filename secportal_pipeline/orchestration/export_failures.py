"""An export refused before it landed, as a Dagster ``Failure`` a person can act on.

``export_partition`` refuses a partition with one of three errors, each raised before
the partition folder is swapped into place: ``ContractViolation`` (the frame does not
meet its contract), ``LeakDetected`` (a raw value of a non-raw column reached a staged
file) and ``AccessDenied`` (the service account may not run the export). The asset
turns each into a ``Failure`` whose metadata the UI shows as a table (for a contract
violation: column, check, value, row), and raises it *from* the original error, so the
run-failure sensor still finds the original class in the cause chain and files the
incident under its category.

A failure case never shows a raw value of a hashed, redacted or omitted column: the
canonical frame is pre-classification, and Dagster's event log is not the place for it.
"""

from __future__ import annotations

import dagster as dg

from ..contracts.model import Contract
from ..contracts.schema import REDACTED_MARKER
from ..contracts.validate import ContractViolation
from ..exports.leakcheck import LeakDetected
from ..exports.preflight import AccessDenied

REFUSALS = (ContractViolation, LeakDetected, AccessDenied)
MAX_CASES = 200  # a table a person reads; the count says how many there were

FAILURE_CASES = dg.TableSchema(columns=[
    dg.TableColumn("column", "string", description="the contract column (or the unexpected one)"),
    dg.TableColumn("check", "string", description="what the contract expected"),
    dg.TableColumn("value", "string", description="the failing value; withheld for a non-raw column"),
    dg.TableColumn("row", "int", description="0-based row of the frame; empty for a schema-level failure"),
])
LEAKS = dg.TableSchema(columns=[
    dg.TableColumn("column", "string", description="the non-raw contract column whose raw value leaked"),
    dg.TableColumn("treatment", "string"),
    dg.TableColumn("file", "string", description="the staged file it was found in (never landed)"),
    dg.TableColumn("landed_column", "string"),
    dg.TableColumn("row", "int", description="1-based data row of the first hit"),
    dg.TableColumn("cells", "int"),
])


def _shown_value(contract: Contract, violation, stage: str) -> str:
    names = {c.name: c for c in contract.columns}
    column = names.get(violation.column)
    if stage == "canonical" and column is not None and column.treatment != "raw" and violation.value != column.name:
        return f"{REDACTED_MARKER} ({column.treatment} column)"
    return violation.value


def failure_cases(error: ContractViolation) -> dg.TableMetadataValue:
    """The violations as a table: column, check, value, row."""
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"column": v.column, "check": v.check,
                                 "value": _shown_value(error.contract, v, error.stage), "row": v.row})
                 for v in error.violations[:MAX_CASES]],
        schema=FAILURE_CASES,
    )


def leak_cases(error: LeakDetected) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"column": leak.column, "treatment": leak.treatment, "file": leak.file,
                                 "landed_column": leak.landed_column, "row": leak.row, "cells": leak.cells})
                 for leak in error.leaks[:MAX_CASES]],
        schema=LEAKS,
    )


def export_failure(error: Exception, contract: Contract, partition: str, landed: list[str]) -> dg.Failure:
    """The ``Failure`` for a refused partition; ``landed`` are the partitions this run landed before it."""
    metadata: dict = {"contract": f"{contract.id} v{contract.version}", "partition": partition}
    if isinstance(error, ContractViolation):
        metadata |= {"stage": error.stage, "violations": len(error.violations),
                     "failure_cases": failure_cases(error)}
    elif isinstance(error, LeakDetected):
        metadata |= {"leaks": len(error.leaks), "leak_cases": leak_cases(error)}
    elif isinstance(error, AccessDenied):
        metadata |= {"service_account": error.account, "reason": error.reason}
    else:
        raise TypeError(f"not an export refusal: {type(error).__name__}")
    if landed:
        metadata["landed_before_failure"] = dg.MetadataValue.json(landed)
    return dg.Failure(
        description=f"{contract.id} partition {partition} was not landed. {error}",
        metadata=metadata,
        # the same rows and the same account fail the same way: a person has to act first
        allow_retries=False,
    )
