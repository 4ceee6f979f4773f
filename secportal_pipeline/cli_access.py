"""`secportal-pipeline accounts ...` and `contracts review`: service accounts, roles, reviews."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from .config import load_settings


@click.group()
def accounts() -> None:
    """Service accounts: credentials and PostgreSQL roles."""


@accounts.group()
def credential() -> None:
    """Create, rotate or revoke a service account's credential (each on the activity log)."""


def _engine():
    from .workspace.db import open_workspace

    return open_workspace(load_settings().workspace_url)


def _issue(action: str, account: str, by: str) -> None:
    from .workspace.accounts import UnknownAccount, user_id_for
    from .workspace.activity import utcnow
    from .workspace.credentials import CredentialError, create_credential, rotate_credential

    issue = {"create": create_credential, "rotate": rotate_credential}[action]
    try:
        with _engine().begin() as conn:
            issued = issue(conn, account, actor_id=user_id_for(conn, by), at=utcnow())
    except (UnknownAccount, CredentialError) as error:
        raise click.ClickException(str(error)) from None
    if issued.revoked:
        click.echo(f"revoked {', '.join(issued.revoked)}")
    click.echo(f"credential {issued.credential_id} issued to {account} at {issued.issued_at.isoformat()}")
    click.echo("secret (shown once; store it in your secret manager now, it cannot be shown again):")
    click.echo(issued.secret)


_by = click.option("--by", "by", default="svc-workspace", show_default=True,
                   help="Workspace handle of whoever does this (the activity log's actor).")


@credential.command("create")
@click.argument("account")
@_by
def credential_create(account: str, by: str) -> None:
    """Issue ACCOUNT's first credential and print its secret once."""
    _issue("create", account, by)


@credential.command("rotate")
@click.argument("account")
@_by
def credential_rotate(account: str, by: str) -> None:
    """Revoke ACCOUNT's active credential, issue a new one and print its secret once."""
    _issue("rotate", account, by)


@credential.command("revoke")
@click.argument("account")
@_by
def credential_revoke(account: str, by: str) -> None:
    """Revoke ACCOUNT's active credential: its exports fail until a new one is issued."""
    from .workspace.accounts import UnknownAccount, user_id_for
    from .workspace.activity import utcnow
    from .workspace.credentials import CredentialError, revoke_credentials

    try:
        with _engine().begin() as conn:
            revoked = revoke_credentials(conn, account, actor_id=user_id_for(conn, by), at=utcnow())
    except (UnknownAccount, CredentialError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked {', '.join(revoked)} of {account}")


@accounts.command("pg-roles")
@click.option("--account", "account_list", multiple=True,
              help="Service account to make a role for (default: every contract's service account).")
@click.option("--prefix", default="secportal_", show_default=True, help="Role name prefix.")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File holding the roles' login password (never pass a password on the command line).")
def pg_roles(account_list: tuple[str, ...], prefix: str, password_file: Path | None) -> None:
    """Create least-privilege PostgreSQL roles: read the workspace, append to the activity log."""
    from .contracts.model import load_contracts
    from .workspace.pg_roles import RoleError, create_export_roles

    names = list(account_list) or sorted({c.service_account for c in load_contracts(load_settings().contracts_dir).values()})
    password = password_file.read_text(encoding="utf-8").strip() if password_file else None
    try:
        grants = create_export_roles(_engine(), names, prefix=prefix, password=password)
    except RoleError as error:
        raise click.ClickException(str(error)) from None
    for grant in grants:
        click.echo(f"{grant.role}: {'created' if grant.created else 'privileges reset'} for {grant.account} "
                   "(SELECT on workspace tables, INSERT on activity_log, nothing on service_credentials)")


@click.command("review")
@click.argument("contract_id")
@click.option("--approver", required=True, help="Workspace handle of the reviewer (role admin or owner).")
@click.option("--on", "reviewed_on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Review date (default: today, UTC).")
def contracts_review(contract_id: str, approver: str, reviewed_on) -> None:
    """Record a classification review of CONTRACT_ID on the activity log and in its file."""
    from .contracts.model import load_contracts
    from .contracts.review import ReviewRefused, record_review
    from .workspace.activity import utcnow

    contracts = load_contracts(load_settings().contracts_dir)
    if contract_id not in contracts:
        raise click.ClickException(f"no contract {contract_id!r}; known: {', '.join(sorted(contracts))}")
    day: date = reviewed_on.date() if reviewed_on else utcnow().date()
    try:
        review = record_review(_engine(), contracts[contract_id], approver=approver, on=day, at=utcnow())
    except ReviewRefused as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{contract_id}: classification {review.classification} reviewed on {day.isoformat()} by "
               f"{approver}; next review due {review.next_due.isoformat()} ({review.path})")


def register(main: click.Group) -> None:
    """Attach these commands to the top-level group (``contracts review`` joins an existing group)."""
    main.add_command(accounts)
    group = main.commands.get("contracts")
    if group is None:
        @main.group("contracts")
        def group() -> None:
            """Contract files: review their classification."""
    group.add_command(contracts_review)
