"""Helpers shared by the IT Glue sandbox, client and fidelity tests (no fixtures, no conftest)."""

import threading
from contextlib import contextmanager

import httpx
from werkzeug.serving import make_server

from webapp.itglue.sandbox.app import create_sandbox, sandbox_keys

WSGI_ROOT = "http://sandbox.test"


def wsgi_client(app, region="us", key=None, root=WSGI_ROOT):
    """Return an httpx client that talks to the sandbox in-process as one region."""
    headers = {} if key == "" else {"x-api-key": key or sandbox_keys(app)[region]}
    return httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url=f"{root}/{region}", headers=headers
    )


def region_urls(root=WSGI_ROOT):
    """Return the base URL of each region of a sandbox mounted at root."""
    return {region: f"{root}/{region}" for region in ("us", "eu", "au")}


def state(app):
    """Return the sandbox's run-time state (faults, counters)."""
    return app.config["SANDBOX"]


@contextmanager
def serve(app):
    """Serve a WSGI app on a free loopback port in a thread; yield its root URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def small_sandbox(**options):
    """Return a sandbox with a small data set unless told otherwise."""
    return create_sandbox(**{"orgs": 60, "domains_per_org": 2, **options})
