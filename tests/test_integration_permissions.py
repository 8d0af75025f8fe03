"""Who may see and do what on the IT Glue tile, and that one partner never reaches another's rows."""

import re

import pytest
from helpers import login, make_partner, make_user
from itglue_flow_helpers import (
    BASE,
    HTMX,
    choices,
    held_queue,
    jobs_waiting,
    row,
    row_ids,
    seed_snapshot,
    table_html,
    text,
)

from webapp.models import (
    IMPORTED,
    UNIMPORTED,
    ImportRun,
    Integration,
    ITGlueDomain,
    ITGlueOrganization,
    MonitoredDomain,
    Organization,
    OrganizationLink,
)

# Every route that configures the integration or starts work, with a form that would do it.
CONFIGURING = [
    ("get", "/new", None),
    ("post", "", {"api_key": "ITG.0123456789abcdef", "region": "us"}),
    ("get", "/key", None),
    ("post", "/key", {"api_key": "ITG.0123456789abcdef", "region": "us"}),
    ("post", "/refresh", {}),
    ("post", "/organizations", {"bulk_industry": "Retail"}),
    ("post", "/imports", {"all_matching": "1"}),
    ("post", "/organizations/{row}/retry", {}),
    ("get", "/delete", None),
    ("post", "/delete", {}),
]
PUBLIC = {"static", "auth.index", "auth.login_form", "auth.login", "auth.logout"}


def state():
    """Everything the configuring routes could change, as plain values."""
    return [
        list(model.select().order_by(model.id).tuples())
        for model in (Integration, ITGlueOrganization, ITGlueDomain, Organization,
                      OrganizationLink, MonitoredDomain, ImportRun)
    ]  # fmt: skip


def seeded(partner):
    integration = seed_snapshot(
        partner, [("Visible Ltd", ["visible.test"]), ("Failed Ltd", ["failed.test"])]
    )
    ITGlueOrganization.update(
        status=UNIMPORTED, attempt=1, outcome="0 of 1 domains imported."
    ).where(ITGlueOrganization.name == "Failed Ltd").execute()
    return integration


def check_forbidden(client, row_id):
    before = state()
    for method, path, data in CONFIGURING:
        url = BASE + path.format(row=row_id)
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 403, (method, url, response.status_code)
        fragment = getattr(client, method)(url, data=data, headers=HTMX)
        assert fragment.status_code == 403, (method, url)
    assert state() == before


def test_partner_user_sees_a_read_only_table_and_cannot_configure(client, partner):
    seeded(partner)
    make_user("user@acme.test", partner, "user", integration_access=True)
    login(client, "user@acme.test")
    page = client.get("/my-organization").get_data(as_text=True)
    assert "Connected to IT Glue" in page and "Visible Ltd" in page and "Failed Ltd" in page
    for control in ('name="selected"', 'id="import-button"', ">Import<", "Refresh from IT Glue",
                    "Replace API key", "Delete Integration", "Apply to selected", ">Retry<",
                    "Will import"):  # fmt: skip
        assert control not in page, control
    # Reading stays possible: the table fragment, the counter and the poller.
    assert "Visible Ltd" in table_html(client)
    assert client.get(f"{BASE}/counter").status_code == 200
    assert client.get(f"{BASE}/status", headers=HTMX).status_code == 200
    check_forbidden(client, row("Failed Ltd").id)


def test_admin_without_integration_access_is_refused(client, partner):
    make_user("plain-admin@acme.test", partner, "admin", integration_access=False)
    login(client, "plain-admin@acme.test")
    page = client.get("/my-organization").get_data(as_text=True)
    assert "New Integration" not in page
    assert "not enabled for integration access" in page and "support@example.test" in page
    check_forbidden(client, 1)
    assert Integration.select().count() == 0

    seeded(partner)
    page = client.get("/my-organization").get_data(as_text=True)
    assert "Visible Ltd" in page
    assert 'name="selected"' not in page and 'id="import-button"' not in page
    check_forbidden(client, row("Failed Ltd").id)


@pytest.fixture
def other_partner(partner):
    """Partner B with its own integration, an imported row and a failed one."""
    other = make_partner("Bravo MSP", licenses=5)
    make_user("admin@bravo.test", other, "admin", integration_access=True)
    integration = seed_snapshot(
        other,
        [("Bravo Secret Customer", ["bravo-secret.test"]), ("Bravo Failed", ["bravo-failed.test"])],
    )
    secret = row("Bravo Secret Customer", integration)
    organization = Organization.create(partner=other, name="Bravo Secret Customer")
    OrganizationLink.create(integration=integration, itglue_id=secret.itglue_id,
                            organization=organization)  # fmt: skip
    MonitoredDomain.create(partner=other, organization=organization, name="bravo-secret.test")
    ITGlueOrganization.update(status=IMPORTED, attempt=1).where(
        ITGlueOrganization.id == secret.id
    ).execute()
    ITGlueOrganization.update(
        status=UNIMPORTED, attempt=1, outcome="0 of 1 domains imported."
    ).where(ITGlueOrganization.name == "Bravo Failed").execute()
    return integration


def test_another_partners_rows_answer_404_and_stay_unchanged(app, admin_client, partner,
                                                             other_partner):  # fmt: skip
    mine = seeded(partner)
    theirs = [r.id for r in ITGlueOrganization.select().where(
        ITGlueOrganization.integration == other_partner)]  # fmt: skip
    failed = row("Bravo Failed", other_partner)
    their_state = state()
    with held_queue(app):
        assert admin_client.post(f"{BASE}/organizations/{failed.id}/retry").status_code == 404
        form = choices([failed])
        assert admin_client.post(f"{BASE}/imports", data=form).status_code == 404
        mixed = choices([failed, row("Visible Ltd", mine)])
        assert admin_client.post(f"{BASE}/imports", data=mixed).status_code == 404
        bulk = {"selected": [str(i) for i in theirs], "bulk_industry": "Retail"}
        assert admin_client.post(f"{BASE}/organizations", data=bulk).status_code == 404
        ids = ",".join(str(i) for i in theirs)
        poll = admin_client.get(f"{BASE}/status", query_string={"rows": ids}, headers=HTMX)
        assert poll.status_code in (200, 404)
        body = poll.get_data(as_text=True)
        assert "Bravo" not in body and "bravo" not in body
        assert not set(row_ids(body)) & set(theirs)
        counter = admin_client.get(f"{BASE}/counter", query_string={"selected": theirs})
        assert "this selection needs 0" in text(counter.get_data(as_text=True))
        # Their rows never show up in any view of mine, whatever the filters say.
        for args in ({}, {"q": "bravo"}, {"state": "imported"}, {"q": "bravo-secret.test"}):
            page = table_html(admin_client, **args)
            assert "Bravo" not in page and not set(row_ids(page)) & set(theirs)
        assert admin_client.get("/organizations").get_data(as_text=True).count("Bravo") == 0
        their_org = Organization.get(Organization.name == "Bravo Secret Customer")
        assert admin_client.get(f"/organizations/{their_org.id}").status_code == 404
        assert jobs_waiting(app) == 0
    assert state() == their_state  # byte-identical, and nothing of mine changed either


def test_status_poll_for_another_partners_rows_answers_404(admin_client, partner, other_partner):
    seeded(partner)
    failed = row("Bravo Failed", other_partner)
    poll = admin_client.get(f"{BASE}/status", query_string={"rows": str(failed.id)}, headers=HTMX)
    assert poll.status_code == 404


def test_unauthenticated_htmx_poll_gets_401_and_a_login_redirect(client, partner):
    seeded(partner)
    response = client.get(f"{BASE}/status", query_string={"rows": "1,2"}, headers=HTMX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")
    assert response.get_data(as_text=True) == ""


def _url(rule):
    return re.sub(r"<(?:int:)?(\w+)>", "1", re.sub(r"<path:\w+>", "style.css", rule.rule))


def test_every_route_is_public_or_requires_login(app, client, partner):
    seeded(partner)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = _url(rule)
            plain = client.open(url, method=method)
            assert plain.status_code in (302, 401, 404), (rule.endpoint, plain.status_code)
            if plain.status_code == 302:
                assert plain.headers["Location"].startswith("/login"), rule.endpoint
            fragment = client.open(url, method=method, headers=HTMX)
            assert fragment.status_code in (401, 404), (rule.endpoint, fragment.status_code)
            for response in (plain, fragment):
                body = response.get_data(as_text=True)
                assert "Visible Ltd" not in body and "itglue-row" not in body, rule.endpoint
            checked += 1
    assert checked >= 20  # every integration, organization and system route was called


def test_public_routes_are_only_sign_in_and_assets(app, client):
    public = {rule.endpoint for rule in app.url_map.iter_rules()} & PUBLIC
    assert public == PUBLIC
    assert client.get("/").headers["Location"].startswith("/login")
    assert client.get("/login").status_code == 200
