"""`flask --app wsgi demo`: the whole product on one port, with the IT Glue sandbox mounted."""

import click
from flask import current_app
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import run_simple

from webapp.db import create_tables, db
from webapp.models import Partner, ProtectedDomain, User

SANDBOX_PREFIX = "/itglue-sandbox"
DEMO_PARTNER = "Demo MSP"
DEMO_LICENSES = 150
DEMO_USERS = (
    ("admin@demo.test", "admin", True, "demo-admin-password"),
    ("user@demo.test", "user", False, "demo-user-password"),
    ("support@demo.test", "support", False, "demo-support-password"),
)


@click.command("demo")
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--orgs", type=int, default=200, show_default=True, help="IT Glue sandbox size.")
def demo_command(port, orgs):
    """Seed a demo partner and serve the portal with the IT Glue sandbox in-process."""
    from webapp.itglue.sandbox.app import create_sandbox, sandbox_keys
    from webapp.itglue.sandbox.data import REGION_NAMES

    app = current_app._get_current_object()
    create_tables()
    with db.connection_context(), db.atomic():
        ProtectedDomain.seed()
        partner, _ = Partner.get_or_create(
            name=DEMO_PARTNER, defaults={"domain_licenses": DEMO_LICENSES}
        )
        for email, role, access, password in DEMO_USERS:
            if User.get_or_none(User.email == email) is None:
                user = User(
                    email=email,
                    role=role,
                    integration_access=access,
                    partner=None if role == "support" else partner,
                )
                user.set_password(password)
                user.save()

    sandbox = create_sandbox(orgs=orgs, domains_per_org=2, seed=1)
    base = f"http://127.0.0.1:{port}{SANDBOX_PREFIX}"
    for region in ("us", "eu", "au"):
        app.config[f"ITGLUE_URL_{region.upper()}"] = f"{base}/{region}"

    click.echo(f"\nDark Web ID portal: http://127.0.0.1:{port}/login\n")
    for email, role, _, password in DEMO_USERS:
        click.echo(f"  {role:<8} {email:<20} password {password}")
    click.echo(f"\nIT Glue sandbox ({orgs} organizations in the United States account):")
    for region, key in sandbox_keys(sandbox).items():
        click.echo(f"  {REGION_NAMES[region]:<14} API key {key}")
    click.echo("")
    if app.extensions["embedded_worker"] is not None:
        app.extensions["embedded_worker"].wake()  # start now, so the reconciler runs from the start
    served = DispatcherMiddleware(app, {SANDBOX_PREFIX: sandbox})
    run_simple("127.0.0.1", port, served, threaded=True, use_reloader=False)
