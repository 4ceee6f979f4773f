"""Drift between a real export frame and its contract fails, naming the column and the change."""

from __future__ import annotations

import pytest

from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.contracts.validate import ContractViolation, validate
from secportal_pipeline.exports import findings_snapshot
from secportal_pipeline.workspace.db import open_workspace
from tests.conftest import REPO_ROOT
from tests.workspace.helpers import small_with_findings

CONTRACT = load_contract(REPO_ROOT / "contracts" / "findings_snapshot.yaml")
WEEK = "2026-09-07"


@pytest.fixture
def frame(settings):
    """The findings snapshot of a small workspace: three real rows."""
    engine = open_workspace(settings.workspace_url)
    small_with_findings(engine, 3)
    with engine.connect() as conn:
        built = findings_snapshot.build(conn, CONTRACT, WEEK)
    assert len(built) == 3
    validate(built, CONTRACT, partition=WEEK)  # the real frame itself meets the contract
    return built


def violations(frame) -> list[str]:
    with pytest.raises(ContractViolation) as error:
        validate(frame, CONTRACT, partition=WEEK)
    return [v.describe() for v in error.value.violations]


def test_renamed_column(frame):
    assert violations(frame.rename(columns={"asset_ref": "asset"})) == [
        "column 'asset': column not in the contract (added or renamed), looks renamed from 'asset_ref'",
        "column 'asset_ref': contract column missing from the data (removed or renamed), looks renamed to 'asset'",
    ]


def test_added_column(frame):
    assert violations(frame.assign(remediation="patch it")) == [
        "column 'remediation': column not in the contract (added or renamed)"]


def test_dropped_column(frame):
    assert violations(frame.drop(columns=["port"])) == [
        "column 'port': contract column missing from the data (removed or renamed)"]


def test_reordered_columns(frame):
    names = list(frame.columns)
    names[1], names[2] = names[2], names[1]
    assert violations(frame[names]) == [
        "column 'title': column out of the contract's order: at position 2, the contract puts it at 3",
        "column 'finding_id': column out of the contract's order: at position 3, the contract puts it at 2",
    ]


def test_retyped_column(frame):
    assert violations(frame.assign(port=frame["port"].astype("float64"))) == [
        "column 'port': type differs from the contract: expected Int64, found float64"]
    # a value check on text where a number belongs only repeats the type error, so it is not listed
    assert violations(frame.assign(finding_id=frame["finding_id"].astype(str))) == [
        "column 'finding_id': type differs from the contract: expected Int64, found str"]


def test_the_exception_message_names_contract_partition_and_stage(frame):
    with pytest.raises(ContractViolation, match=r"^findings_snapshot v1\.0\.1 partition 2026-09-07 \(canonical\): "
                                                r"1 contract violation\(s\): column 'port': contract column missing"):
        validate(frame.drop(columns=["port"]), CONTRACT, partition=WEEK)


def test_the_message_withholds_values_of_protected_columns(frame):
    """A failing value in a hashed column never reaches the message (logs, incidents)."""
    from dataclasses import replace

    owner = replace(CONTRACT.column("owner"), pattern=r"^svc-")
    contract = replace(CONTRACT, columns=tuple(owner if c.name == "owner" else c for c in CONTRACT.columns))
    leaky = frame.assign(owner=frame["owner"].fillna("alice.secret@acme.example"))
    with pytest.raises(ContractViolation) as error:
        validate(leaky, contract, partition=WEEK)
    message = str(error.value)
    assert "alice.secret@acme.example" not in message
    assert "column 'owner': failed check str_matches('^svc-') (found '[withheld: hashed column]') at row 0" in message
