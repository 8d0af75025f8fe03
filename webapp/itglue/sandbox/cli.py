"""The itglue-sandbox command: serve the IT Glue sandbox and print each region's URL and key."""

import click
from werkzeug.serving import run_simple

from webapp.itglue.sandbox.app import create_sandbox, sandbox_keys
from webapp.itglue.sandbox.data import REGION_NAMES


@click.command("itglue-sandbox")
@click.option("--port", type=int, required=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--orgs", type=int, default=200, show_default=True, help="US organizations.")
@click.option("--domains-per-org", type=float, default=2, show_default=True)
@click.option("--latency-ms", type=int, default=0, show_default=True, help="Delay per request.")
@click.option("--seed", type=int, default=1, show_default=True, help="Data and key seed.")
@click.option("--rate-limit", type=int, default=3000, show_default=True, help="Per 300 s.")
def sandbox_command(port, host, orgs, domains_per_org, latency_ms, seed, rate_limit):
    """Serve the IT Glue sandbox (all three regions) until interrupted."""
    app = create_sandbox(
        orgs=orgs,
        domains_per_org=domains_per_org,
        seed=seed,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
    )
    for region, key in sandbox_keys(app).items():
        name = REGION_NAMES[region]
        click.echo(f"{name:<14} http://{host}:{port}/{region}  key {key}")
    click.echo(f"Control        http://{host}:{port}/_sandbox/stats  (POST /_sandbox/faults)")
    run_simple(host, port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    sandbox_command()
