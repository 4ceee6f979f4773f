"""Released contract versions kept in the repository, and the check against them.

``contracts/released/<id>/<version>.yaml`` is a verbatim copy of the contract file as
it was released. A released version never changes: releasing the same version with
different content is refused, and a new version must be compatible with the last
release as ``compat.py`` defines it. The classification review record is no part of
a release: a contract reviewed since its release still checks (and re-releases) as
that same version.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .compat import (
    REVIEW_RECORD,
    Change,
    compatibility_problems,
    diff_contracts,
    parse_version,
    release_relevant,
)
from .model import Contract, load_contract, load_contracts

RELEASED_DIR = "released"


class ReleaseRefused(RuntimeError):
    pass


@dataclass(frozen=True)
class CheckResult:
    contract: Contract
    released: Contract | None
    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        if self.released is None:
            return f"{self.contract.id} {self.contract.version}: not released yet (nothing to compare with)"
        head = f"{self.contract.id} {self.released.version} -> {self.contract.version}"
        if self.problems:
            return f"{head}: FAILED"
        return f"{head}: ok ({len(self.changes)} change(s))" if self.changes else f"{head}: ok (unchanged)"


def released_path(contracts_dir: Path, contract_id: str, version: str) -> Path:
    return Path(contracts_dir) / RELEASED_DIR / contract_id / f"{version}.yaml"


def latest_released(contracts_dir: Path, contract_id: str) -> Path | None:
    """The released file with the highest version, or None when nothing was released."""
    folder = Path(contracts_dir) / RELEASED_DIR / contract_id
    versions = [(parse_version(p.stem), p) for p in folder.glob("*.yaml")] if folder.is_dir() else []
    return max(versions)[1] if versions else None


def _edited(a: Path, b: Path) -> bool:
    """The two files differ beyond their version field and the classification review record."""
    docs = [release_relevant(yaml.safe_load(p.read_text(encoding="utf-8"))) for p in (a, b)]
    return docs[0] != docs[1]


def _without_review_record(path: Path) -> str:
    """The file's exact text less the review record's two properties (as `contracts review` writes them)."""
    names = "|".join(re.escape(name) for name in REVIEW_RECORD)
    return re.sub(rf"^[ \t]*- property: (?:{names})[ \t]*\n[ \t]*value:.*\n", "", path.read_text(encoding="utf-8"),
                  flags=re.MULTILINE)


def check_contract(contract: Contract, contracts_dir: Path) -> CheckResult:
    path = latest_released(contracts_dir, contract.id)
    if path is None:
        return CheckResult(contract, None)
    released = load_contract(path)
    problems = compatibility_problems(released, contract, edited=_edited(path, contract.source))
    return CheckResult(contract, released, diff_contracts(released, contract), problems)


def check_all(contracts_dir: Path) -> list[CheckResult]:
    """Every contract in ``contracts_dir`` against its last release."""
    return [check_contract(c, contracts_dir) for c in load_contracts(contracts_dir).values()]


def release(contracts_dir: Path, contract_id: str) -> Path:
    """Copy the current contract file to released/<id>/<version>.yaml, after the check passes."""
    contracts = load_contracts(contracts_dir)
    if contract_id not in contracts:
        raise ReleaseRefused(f"no contract {contract_id!r} in {contracts_dir}; known: {sorted(contracts)}")
    contract = contracts[contract_id]
    result = check_contract(contract, contracts_dir)
    if not result.ok:
        raise ReleaseRefused("; ".join(result.problems))
    target = released_path(contracts_dir, contract.id, contract.version)
    if target.exists():
        # a review recorded since the release changes no released content: nothing to release
        if _without_review_record(target) == _without_review_record(contract.source):
            return target
        raise ReleaseRefused(f"{contract.id} {contract.version} is already released ({target}) with other "
                             "content; a released version never changes: bump the version")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(contract.source, target)
    return target
