"""`secportal-pipeline contracts check|release`: compatibility against released versions."""

from __future__ import annotations

import sys

import click

from ..config import load_settings


@click.group("contracts")
def contracts_group() -> None:
    """Check contracts against their last released version, and release new versions."""


@contracts_group.command("check")
def check_cmd() -> None:
    """Compare every contract with its last release; exit 1 on an unversioned breaking change."""
    from .released import check_all

    results = check_all(load_settings().contracts_dir)
    for result in results:
        click.echo(result.line())
        for problem in result.problems:
            click.echo(f"  {problem}")
    sys.exit(0 if all(r.ok for r in results) else 1)


@contracts_group.command("release")
@click.argument("contract_ids", nargs=-1, required=True)
def release_cmd(contract_ids: tuple[str, ...]) -> None:
    """Copy each named contract to contracts/released/<id>/<version>.yaml (after the check)."""
    from .released import ReleaseRefused, release

    directory = load_settings().contracts_dir
    for contract_id in contract_ids:
        try:
            path = release(directory, contract_id)
        except ReleaseRefused as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"released {contract_id}: {path}")
