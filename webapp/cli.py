"""The `flask --app wsgi …` commands of DESIGN.md section 3."""

import sys

import click
from peewee import IntegrityError

from webapp.db import create_tables, db
from webapp.models import ROLES, Partner, ProtectedDomain, User, normalise_email

MIN_PASSWORD = 8


def init_app(app):
    from webapp.demo import demo_command
    from webapp.itglue.sandbox.cli import sandbox_command

    commands = (
        init_db,
        create_partner,
        create_user,
        grant_integration_access,
        protected,
        rotate_encryption_key,
    )
    for command in commands:
        app.cli.add_command(command)
    app.cli.add_command(sandbox_command)
    app.cli.add_command(demo_command)


@click.command("init-db")
def init_db():
    """Create the tables (safe to run again) and seed the protected-domain list."""
    create_tables()
    with db.connection_context():
        ProtectedDomain.seed()
    click.echo("Database ready.")


@click.command("create-partner")
@click.argument("name")
@click.option("--domain-licenses", type=int, required=True, help="Domains the partner may monitor.")
def create_partner(name, domain_licenses):
    """Create a partner (an MSP) with its number of domain licenses."""
    name = name.strip()
    if not name or len(name) > 200:
        raise click.ClickException("The partner name must be 1 to 200 characters.")
    if domain_licenses < 0:
        raise click.ClickException("--domain-licenses cannot be negative.")
    with db.connection_context():
        try:
            Partner.create(name=name, domain_licenses=domain_licenses)
        except IntegrityError:
            raise click.ClickException(f"A partner named {name!r} already exists.") from None
    click.echo(f"Created partner {name!r} with {domain_licenses} domain licenses.")


@click.command("create-user")
@click.argument("email")
@click.option("--partner", "partner_name", help="The partner the user belongs to.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@click.option("--admin", is_flag=True, help="A partner admin rather than a partner user.")
@click.option("--integration-access", is_flag=True, help="Allow configuring integrations.")
@click.option("--support", is_flag=True, help="Support staff (no partner; sees the System page).")
def create_user(email, partner_name, password_stdin, admin, integration_access, support):
    """Create a user; the password is read from standard input, never from the command line."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise click.ClickException("That is not a valid email address.")
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"The password must be at least {MIN_PASSWORD} characters.")
    if support and (partner_name or admin or integration_access):
        raise click.ClickException(
            "Support staff have no partner, admin flag or integration access."
        )
    if not support and not partner_name:
        raise click.ClickException("--partner is required (or --support for support staff).")
    role = "support" if support else "admin" if admin else "user"
    with db.connection_context():
        partner = None
        if partner_name:
            partner = Partner.get_or_none(Partner.name == partner_name.strip())
            if partner is None:
                raise click.ClickException(f"No partner named {partner_name!r}.")
        user = User(email=email, partner=partner, role=role, integration_access=integration_access)
        user.set_password(password)
        try:
            user.save()
        except IntegrityError:
            raise click.ClickException(f"A user with email {email} already exists.") from None
    click.echo(f"Created {ROLES[role].lower()} {email}.")


@click.command("grant-integration-access")
@click.argument("email")
def grant_integration_access(email):
    """Let a user configure integrations (a support-staff action)."""
    with db.connection_context():
        updated = (
            User.update(integration_access=True)
            .where(User.email == normalise_email(email), User.role != "support")
            .execute()
        )
    if not updated:
        raise click.ClickException(f"No partner user with email {normalise_email(email)}.")
    click.echo(f"Integration access granted to {normalise_email(email)}.")


@click.group("protected-domains")
def protected():
    """Manage the support-managed list of sensitive or protected domains."""


@protected.command("add")
@click.argument("names", nargs=-1, required=True)
def protected_add(names):
    normalised = [_protected_name(n) for n in names]
    with db.connection_context():
        ProtectedDomain.insert_many(
            [{"name": n} for n in normalised]
        ).on_conflict_ignore().execute()
    click.echo(f"Protected: {', '.join(normalised)}")


@protected.command("remove")
@click.argument("names", nargs=-1, required=True)
def protected_remove(names):
    normalised = {_protected_name(n) for n in names}
    with db.connection_context(), db.atomic():
        listed = ProtectedDomain.names() & normalised
        if listed != normalised:
            missing = ", ".join(sorted(normalised - listed))
            raise click.ClickException(f"Not on the list: {missing}. Nothing was removed.")
        ProtectedDomain.delete().where(ProtectedDomain.name.in_(normalised)).execute()
    click.echo(f"Removed: {', '.join(sorted(normalised))}")


@protected.command("list")
def protected_list():
    with db.connection_context():
        for name in sorted(ProtectedDomain.names()):
            click.echo(name)


def _protected_name(raw):
    from webapp.domains import InvalidDomain, normalise

    try:
        return normalise(raw)
    except InvalidDomain:
        raise click.ClickException(f"{raw!r} is not a valid domain name.") from None


@click.command("rotate-encryption-key")
def rotate_encryption_key():
    """Re-encrypt every stored IT Glue API key under the first (primary) ENCRYPTION_KEY entry.

    Put the new key first in ENCRYPTION_KEY, keep the old one after it, run this, then drop the
    old one. Safe to interrupt and run again: keys already under the primary are left alone.
    """
    from flask import current_app

    from webapp.crypto import DecryptError
    from webapp.models import Integration

    keyring = current_app.extensions["keyring"]
    rotated = failed = 0
    with db.connection_context():
        for integration in Integration.select(
            Integration.id, Integration.partner, Integration.encrypted_key
        ):
            try:
                token = keyring.rotate(integration.encrypted_key, partner_id=integration.partner_id)
            except DecryptError:
                failed += 1
                continue
            if token != integration.encrypted_key:
                Integration.update(encrypted_key=token).where(
                    Integration.id == integration.id,
                    Integration.encrypted_key == integration.encrypted_key,
                ).execute()
                rotated += 1
    click.echo(f"Re-encrypted {rotated} API keys under key id {keyring.primary_kid}.")
    if failed:
        raise click.ClickException(
            f"{failed} stored keys could not be decrypted with any configured key; "
            "their partners must enter the key again."
        )
