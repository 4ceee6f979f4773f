"""Every contract is a valid ODCS v3.1.0 document, as `datacontract lint` judges it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

CONTRACTS = sorted((REPO_ROOT / "contracts").glob("*.yaml"))
RELEASED = sorted((REPO_ROOT / "contracts" / "released").glob("*/*.yaml"))
DATACONTRACT = Path(sys.executable).with_name("datacontract")


def lint(path: Path):
    from datacontract.data_contract import DataContract

    return DataContract(data_contract_file=str(path)).lint()


@pytest.mark.parametrize("path", CONTRACTS + RELEASED, ids=lambda p: str(p.relative_to(REPO_ROOT / "contracts")))
def test_contract_passes_datacontract_lint(path):
    run = lint(path)
    assert [(c.name, str(c.result), c.reason) for c in run.checks] == [
        ("Data contract is valid against ODCS v3.1.0", "ResultEnum.passed", None)]


def test_the_cli_exits_1_on_a_contract_the_standard_refuses(tmp_path):
    """The same lint a developer runs by hand, so the test above is not vacuous."""
    assert DATACONTRACT.exists(), "datacontract-cli is a test dependency: make install (pip install -e '.[test]')"
    good = REPO_ROOT / "contracts" / "activity_slice.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("logicalType: timestamp", "logicalType: datetime", 1))
    ok = subprocess.run([str(DATACONTRACT), "lint", str(good)], capture_output=True, text=True, timeout=120)
    refused = subprocess.run([str(DATACONTRACT), "lint", str(bad)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout
    assert refused.returncode == 1
    assert "occurred_at.logicalType: 'datetime' is not one of" in " ".join(refused.stdout.split())


def test_every_contract_names_its_service_account_role_and_classification_review():
    from secportal_pipeline.contracts.model import load_contract

    for path in CONTRACTS:
        custom = load_contract(path).custom
        missing = [k for k in ("serviceAccount", "serviceAccountRole", "classificationReviewedOn",
                               "classificationReviewedBy", "classificationReviewCadenceDays") if k not in custom]
        assert not missing, f"{path.name}: customProperties lack {missing}"
