"""Helpers for the IT Glue flow tests: connect, seed a snapshot, import, wait, read the table."""

import html
import re
from contextlib import contextmanager

from flask import current_app
from helpers import wait_for

from webapp import snapshot
from webapp.itglue import client as itglue
from webapp.models import (
    PENDING,
    Integration,
    ITGlueOrganization,
    MonitoredDomain,
    utcnow,
)

BASE = "/integrations/itglue"
HTMX = {"HX-Request": "true"}


def connect(client, sandbox, region="us", key=None):
    """Submit the Add Integration form with the sandbox key of a region."""
    return client.post(BASE, data={"api_key": key or sandbox.keys[region], "region": region})


def wait_loaded(partner=None, timeout=60):
    """Wait until the (partner's) integration has finished loading; return it."""

    def check():
        query = Integration.select()
        if partner is not None:
            query = query.where(Integration.partner == partner)
        integration = query.first()
        if integration and integration.load_state in ("loaded", "failed"):
            return integration
        return None

    return wait_for(check, timeout=timeout)


def connected(client, sandbox, region="us"):
    """Connect through the form, wait for the load and return the loaded integration."""
    response = connect(client, sandbox, region)
    assert response.status_code == 302, response.get_data(as_text=True)
    integration = wait_loaded()
    assert integration.load_state == "loaded", integration.load_error
    return integration


def seed_snapshot(partner, organizations, *, user=None, key="ITG.seeded-key", first_id=5000):
    """Create a loaded integration whose snapshot holds `organizations` [(name, [domains])].

    Names may also be dicts with name, domains, type_name and status_name. No request is made:
    the rows are stored by webapp.snapshot as a load would store them.
    """
    keyring = current_app.extensions["keyring"]
    integration = Integration.create(
        partner=partner,
        region="us",
        encrypted_key=keyring.encrypt(key, partner_id=partner.id),
        key_hint=key[-4:],
        created_by=user,
        load_number=1,
        load_state="loaded",
        loaded_at=utcnow(),
        loaded_load=1,
    )
    orgs, domains = [], []
    next_id = first_id
    for item in organizations:
        spec = item if isinstance(item, dict) else {"name": item[0], "domains": item[1]}
        next_id += 1
        org_id = str(next_id)
        orgs.append(
            itglue.Organization(
                id=org_id,
                name=spec["name"],
                type_name=spec.get("type_name", "Customer"),
                type_id=None,
                status_name=spec.get("status_name", "Active"),
                status_id=None,
                short_name=None,
                updated_at=None,
                parent_id=None,
            )
        )
        for name in spec.get("domains", []):
            next_id += 1
            domains.append(itglue.Domain(id=str(next_id), organization_id=org_id, name=name))
    snapshot.store(integration, 1, orgs, domains)
    return integration


def row(name, integration=None):
    """The snapshot row of the IT Glue organization with this exact name."""
    query = ITGlueOrganization.select().where(ITGlueOrganization.name == name)
    if integration is not None:
        query = query.where(ITGlueOrganization.integration == integration)
    return query.get()


def choices(rows, employee_count="11-50", industry="Legal"):
    """Form fields choosing the rows with their mandatory Employee Count and Industry."""
    data = {"selected": [str(r.id) for r in rows]}
    for r in rows:
        data[f"employee_count-{r.id}"] = employee_count
        data[f"industry-{r.id}"] = industry
    return data


def start_import(client, rows, **extra):
    response = client.post(f"{BASE}/imports", data={**choices(rows), **extra})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def wait_final(rows=None, timeout=60):
    """Wait until none of `rows` (default: any row) is Pending."""

    def done():
        query = ITGlueOrganization.select().where(ITGlueOrganization.status == PENDING)
        if rows is not None:
            query = query.where(ITGlueOrganization.id.in_([r.id for r in rows]))
        return not query.exists()

    wait_for(done, timeout=timeout)


def refreshed(r):
    return ITGlueOrganization.get_by_id(r.id)


def import_and_wait(client, rows, **extra):
    start_import(client, rows, **extra)
    wait_final(rows)
    return [refreshed(r) for r in rows]


def monitored(partner):
    """The partner's monitored domain names, sorted."""
    query = MonitoredDomain.select(MonitoredDomain.name).where(MonitoredDomain.partner == partner)
    return sorted(name for (name,) in query.tuples())


def table_html(client, **args):
    """The table fragment as htmx asks for it."""
    response = client.get(f"{BASE}/organizations", query_string=args, headers=HTMX)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def text(fragment):
    """What a reader sees in a piece of HTML: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def row_html(page, row_id):
    match = re.search(rf'<tr id="itglue-row-{row_id}".*?</tr>', page, re.S)
    assert match, f"row {row_id} is not on the page"
    return match.group(0)


def row_text(page, row_id):
    return text(row_html(page, row_id))


def domain_lines(page, row_id):
    """Each domain line of a row's disclosure, as text."""
    return [text(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", row_html(page, row_id), re.S)]


def status_of(page, row_id):
    match = re.search(r'<td class="status[^"]*">(.*?)</td>', row_html(page, row_id), re.S)
    return text(match.group(1))


def row_ids(page):
    return [int(i) for i in re.findall(r'<tr id="itglue-row-(\d+)"', page)]


def jobs_waiting(app):
    return app.extensions["queue"].count


@contextmanager
def held_queue(app):
    """Keep the embedded worker asleep so enqueued jobs wait (real workers: start none)."""
    embedded = app.extensions["embedded_worker"]
    if embedded is not None:
        embedded.stop()
    app.extensions["embedded_worker"] = None
    try:
        yield
    finally:
        app.extensions["embedded_worker"] = embedded


def run_queue(app, request):
    """Start processing what waits in the queue: wake the embedded worker or start rq workers."""
    request.getfixturevalue("workers")
    embedded = app.extensions["embedded_worker"]
    if embedded is not None:
        embedded.wake()


def worker_output(workers):
    """Stop the real rq worker processes and return what they wrote to stderr."""
    output = b""
    for process in workers:
        process.terminate()
    for process in workers:
        output += process.communicate(timeout=20)[1] or b""
    return output.decode("utf-8", "replace")
