"""Compatibility between contract versions: each kind of change, its bump, and the CLI."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date

import pytest
import yaml
from click.testing import CliRunner

from secportal_pipeline.cli import main
from secportal_pipeline.contracts.compat import (
    Change,
    bump_level,
    compatibility_problems,
    diff_contracts,
    required_level,
)
from secportal_pipeline.contracts.model import load_contract
from secportal_pipeline.contracts.released import ReleaseRefused, check_all, release
from tests.conftest import REPO_ROOT

# pinned at 1.0.0 so the version arithmetic below does not move with the repository's release
BASE = replace(load_contract(REPO_ROOT / "contracts" / "findings_snapshot.yaml"), version="1.0.0")


def edit(column: str, version: str = "1.0.1", **changes):
    columns = tuple(replace(c, **changes) if c.name == column else c for c in BASE.columns)
    return replace(BASE, version=version, columns=columns)


def only(changes: list[Change]) -> tuple[str, str | None, str]:
    (change,) = changes
    return change.level, change.column, change.what


@pytest.mark.parametrize("column, changes, expected", [
    ("port", {"logical_type": "string"}, None),
    ("cvss_vector", {"pattern": r"^CVSS:3\.1/.*$"}, ("major", "cvss_vector", "pattern changed from "
                                                     + repr(BASE.column("cvss_vector").pattern) + " to '^CVSS:3\\\\.1/.*$'")),
    ("cve", {"pattern": "^CVE-"}, ("major", "cve", "pattern added '^CVE-'")),
    ("cvss_vector", {"pattern": None}, ("minor", "cvss_vector", "pattern removed (was "
                                        + repr(BASE.column("cvss_vector").pattern) + ")")),
    ("port", {"maximum": 1024}, ("major", "port", "range narrowed: maximum 65535 -> 1024")),
    ("port", {"minimum": 1}, ("major", "port", "range narrowed: minimum 0 -> 1")),
    ("port", {"minimum": -1}, ("minor", "port", "range widened: minimum 0 -> -1")),
    ("engagement_id", {"minimum": 1}, ("major", "engagement_id", "minimum added (1)")),
    ("severity", {"valid_values": ("critical", "high", "medium", "low")},
     ("major", "severity", "allowed values reduced: ['info'] no longer allowed")),
    ("severity", {"valid_values": ("critical", "high", "medium", "low", "info", "none")},
     ("minor", "severity", "allowed values extended: ['none'] added")),
    ("source_tool", {"valid_values": ("nessus", "burp")}, ("major", "source_tool",
                                                          "allowed values added ['nessus', 'burp']")),
    ("cve", {"required": True}, ("major", "cve", "became required")),
    ("title", {"required": False}, ("minor", "title", "no longer required")),
    ("title", {"unique": True}, ("major", "title", "became unique")),
    ("owner", {"treatment": "raw"}, ("major", "owner", "treatment changed from hashed to raw")),
    ("title", {"classification": "confidential"}, ("minor", "title",
                                                   "classification changed from internal to confidential")),
    ("title", {"description": "Another text"}, ("patch", "title", "description changed")),
])
def test_each_kind_of_column_change_has_its_level(column, changes, expected):
    found = diff_contracts(BASE, edit(column, **changes))
    if expected is None:  # a type change is breaking and names both types
        assert [c.describe() for c in found] == [
            "column 'port': type changed from integer to string (breaking: needs a major version bump)"]
    else:
        assert only(found) == expected


def test_removed_renamed_added_and_reordered_columns():
    cols = list(BASE.columns)
    removed = replace(BASE, columns=tuple(c for c in cols if c.name != "cve"))
    assert only(diff_contracts(BASE, removed)) == ("major", "cve", "column removed")
    renamed = replace(BASE, columns=tuple(replace(c, name="asset") if c.name == "asset_ref" else c for c in cols))
    assert [(c.level, c.column, c.what) for c in diff_contracts(BASE, renamed)] == [
        ("major", "asset_ref", "column removed (renamed to 'asset'?)"),
        ("minor", "asset", "column added as required")]
    extra = replace(cols[2], name="remediation", required=False)
    added = replace(BASE, columns=tuple(cols) + (extra,))
    assert only(diff_contracts(BASE, added)) == ("minor", "remediation", "column added")
    swapped = replace(BASE, columns=(cols[1], cols[0], *cols[2:]))
    level, column, what = only(diff_contracts(BASE, swapped))
    assert (level, column) == ("major", "snapshot_week") and what.startswith("column order changed")


def test_versions_must_bump_as_far_as_the_changes_need():
    removed = replace(BASE, columns=BASE.columns[:-1])
    assert compatibility_problems(BASE, replace(removed, version="1.1.0")) == [
        "findings_snapshot: version 1.0.0 -> 1.1.0 is only a minor bump; column 'last_seen_at': column removed "
        "(breaking: needs a major version bump)"]
    assert compatibility_problems(BASE, replace(removed, version="2.0.0")) == []
    widened = edit("port", version="1.0.0", maximum=70000)
    assert compatibility_problems(BASE, widened) == [
        "findings_snapshot: version 1.0.0 -> 1.0.0 is not a version bump; column 'port': range widened: "
        "maximum 65535 -> 70000 (additive: needs a minor version bump)"]
    assert compatibility_problems(BASE, replace(widened, version="1.1.0")) == []
    assert compatibility_problems(BASE, replace(BASE, version="0.9.0")) == [
        "findings_snapshot: version 1.0.0 -> 0.9.0: the version went backwards"]
    assert compatibility_problems(BASE, BASE) == []
    assert compatibility_problems(BASE, BASE, edited=True)[0].endswith(
        "contract text edited (editorial: needs a patch version bump)")
    assert [bump_level("1.2.3", v) for v in ("1.2.3", "1.2.4", "1.3.0", "2.0.0", "1.2.2")] == [
        "none", "patch", "minor", "major", "downgrade"]
    assert required_level([]) == "none"


@pytest.fixture
def contracts_dir(tmp_path, monkeypatch):
    """A copy of the repository's contracts and releases, pointed at by the settings."""
    target = tmp_path / "contracts"
    shutil.copytree(REPO_ROOT / "contracts", target)
    monkeypatch.setenv("SECPORTAL_CONTRACTS_DIR", str(target))
    return target


def rewrite(path, mutate) -> None:
    document = yaml.safe_load(path.read_text())
    mutate(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def columns_of(document):
    return document["schema"][0]["properties"]


def test_repository_contracts_are_compatible_with_their_releases(monkeypatch):
    results = check_all(REPO_ROOT / "contracts")
    assert len(results) == 13
    for result in results:  # every class is guarded: none is "not released yet"
        assert result.released is not None, f"{result.contract.id} has no released version"
        assert result.problems == []
    monkeypatch.setenv("SECPORTAL_CONTRACTS_DIR", str(REPO_ROOT / "contracts"))
    run = CliRunner().invoke(main, ["contracts", "check"])
    assert run.exit_code == 0, run.output
    assert "not released yet" not in run.output and "FAILED" not in run.output


def test_a_retyped_column_of_a_newly_released_class_fails_the_check(contracts_dir):
    path = contracts_dir / "report_severity_distribution.yaml"
    text = path.read_text()
    path.write_text(text.replace("      - name: open_findings\n        logicalType: integer\n        physicalType: BIGINT",
                                 "      - name: open_findings\n        logicalType: number\n        physicalType: DOUBLE"))
    result = CliRunner().invoke(main, ["contracts", "check"])
    assert result.exit_code == 1
    assert "report_severity_distribution 1.0.0 -> 1.0.0: FAILED" in result.output
    assert ("column 'open_findings': type changed from integer to number (breaking: needs a major version bump)"
            in result.output)


def test_a_recorded_classification_review_needs_no_version_bump(contracts_dir):
    from secportal_pipeline.contracts.review import rewrite_review

    path = contracts_dir / "dim_client.yaml"
    released = contracts_dir / "released" / "dim_client" / "1.0.0.yaml"
    rewrite_review(path, date(2027, 1, 15), "marcus.chen")  # what `contracts review` does to the file
    (result,) = [r for r in check_all(contracts_dir) if r.contract.id == "dim_client"]
    assert result.problems == []
    assert [c.describe() for c in result.changes] == [
        "classificationReviewedOn changed from '2026-11-30' to '2027-01-15' (review record: needs no version bump)",
        "classificationReviewedBy changed from 'dana.whitfield' to 'marcus.chen' (review record: needs no version "
        "bump)"]
    before = released.read_bytes()
    assert release(contracts_dir, "dim_client") == released  # the same release: the copy is left as released
    assert released.read_bytes() == before
    # the review record is exempt, nothing else is: any other edit still needs a bump
    path.write_text(path.read_text().replace("Workspace client id.", "The workspace client id.", 1))
    assert CliRunner().invoke(main, ["contracts", "check"]).exit_code == 1


def test_an_owner_change_is_a_patch(contracts_dir):
    path = contracts_dir / "scan_diff.yaml"

    def new_owner(d):
        d["team"]["members"] = [{"username": "marcus.chen", "name": "Marcus Chen", "role": "owner"}]
    rewrite(path, new_owner)
    result = CliRunner().invoke(main, ["contracts", "check"])
    assert result.exit_code == 1
    assert ("  scan_diff: version 1.0.0 -> 1.0.0 is not a version bump; owner changed from 'dana.whitfield' to "
            "'marcus.chen' (editorial: needs a patch version bump)") in result.output
    rewrite(path, lambda d: d.update(version="1.0.1"))
    result = CliRunner().invoke(main, ["contracts", "check"])
    assert result.exit_code == 0, result.output
    assert "scan_diff 1.0.0 -> 1.0.1: ok (1 change(s))" in result.output


def test_every_contract_owner_is_one_workspace_handle(tmp_path):
    from secportal_pipeline.contracts.model import ContractError
    from secportal_pipeline.demo.seed import PEOPLE

    owners = {c.owner for c in (load_contract(p) for p in (REPO_ROOT / "contracts").glob("*.yaml"))}
    handles = {p.handle: p for p in PEOPLE}
    assert owners == {"dana.whitfield"} and handles["dana.whitfield"].role == "owner"
    nobody = tmp_path / "scan_diff.yaml"
    document = yaml.safe_load((REPO_ROOT / "contracts" / "scan_diff.yaml").read_text())
    document["team"]["members"] = []
    nobody.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(ContractError, match="team.members must name exactly one member with role owner"):
        load_contract(nobody)


def test_check_fails_naming_contract_column_and_change_then_a_major_bump_passes(contracts_dir):
    path = contracts_dir / "exception_register.yaml"
    rewrite(path, lambda d: columns_of(d).pop(3))  # engagement_id
    result = CliRunner().invoke(main, ["contracts", "check"])
    assert result.exit_code == 1
    assert ("  exception_register: version 1.0.1 -> 1.0.1 is not a version bump; column 'engagement_id': "
            "column removed (breaking: needs a major version bump)") in result.output

    def major(d):
        d["version"] = "2.0.0"
        d["servers"][0]["path"] = "landing/exception_register/v2/{partition}/"
    rewrite(path, major)
    result = CliRunner().invoke(main, ["contracts", "check"])
    assert result.exit_code == 0, result.output
    assert "exception_register 1.0.1 -> 2.0.0: ok" in result.output


def test_an_added_column_needs_a_minor_bump_and_release_keeps_the_file(contracts_dir):
    path = contracts_dir / "activity_slice.yaml"

    def add(d):
        columns_of(d).append({"name": "source_ip", "logicalType": "string", "physicalType": "VARCHAR",
                              "required": False, "customProperties": [{"property": "treatment", "value": "hashed"}]})
    rewrite(path, add)
    result = CliRunner().invoke(main, ["contracts", "release", "activity_slice"])
    assert result.exit_code == 1
    assert ("activity_slice: version 1.0.1 -> 1.0.1 is not a version bump; column 'source_ip': column added "
            "(additive: needs a minor version bump)") in result.output
    rewrite(path, lambda d: d.update(version="1.1.0"))
    result = CliRunner().invoke(main, ["contracts", "release", "activity_slice"])
    assert result.exit_code == 0, result.output
    released = contracts_dir / "released" / "activity_slice" / "1.1.0.yaml"
    assert released.read_bytes() == path.read_bytes()
    assert CliRunner().invoke(main, ["contracts", "check"]).output.count("activity_slice 1.1.0 -> 1.1.0: ok") == 1


def test_a_released_version_never_changes(contracts_dir):
    path = contracts_dir / "findings_snapshot.yaml"
    assert release(contracts_dir, "findings_snapshot") == contracts_dir / "released" / "findings_snapshot" / "1.0.1.yaml"
    rewrite(path, lambda d: d.update(version="1.0.2"))
    release(contracts_dir, "findings_snapshot")
    released = contracts_dir / "released" / "findings_snapshot"
    (released / "1.0.2.yaml").write_text(
        (released / "1.0.1.yaml").read_text().replace("version: 1.0.1", "version: 1.0.2", 1) + "\n# edited\n")
    with pytest.raises(ReleaseRefused, match="findings_snapshot 1.0.2 is already released .* with other content"):
        release(contracts_dir, "findings_snapshot")
