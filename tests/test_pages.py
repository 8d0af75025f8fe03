from helpers import login, make_partner, make_user

from webapp.models import MonitoredDomain, Organization


def _tile(client):
    page = client.get("/my-organization")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_admin_with_integration_access_sees_the_tile_to_connect(admin_client):
    page = _tile(admin_client)
    assert "IT Glue Integration" in page
    assert "Not connected" in page
    assert "support@example.test" not in page


def test_admin_without_integration_access_sees_the_support_contact(client, partner):
    make_user("plain-admin@acme.test", partner, "admin", integration_access=False)
    login(client, "plain-admin@acme.test")
    page = _tile(client)
    assert "not enabled for integration access" in page
    assert "mailto:support@example.test" in page
    assert "New Integration" not in page


def test_partner_user_sees_a_read_only_tile(client, partner):
    make_user("user@acme.test", partner, "user", integration_access=True)
    login(client, "user@acme.test")
    page = _tile(client)
    assert "Only a partner admin can set up the IT Glue integration." in page


def test_partner_user_cannot_reach_support_pages(client, partner):
    make_user("user@acme.test", partner, "user")
    login(client, "user@acme.test")
    assert client.get("/system").status_code == 403
    assert client.post("/system/ping").status_code == 403


def test_tile_alone_is_embeddable_only_by_configured_ancestors(admin_client):
    response = admin_client.get("/integrations/itglue/tile")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="itglue-tile"' in page and "top-bar" not in page
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_organizations_page_lists_own_organizations_with_domains_and_licenses(
    admin_client, partner
):
    org = Organization.create(partner=partner, name="Bluewater <Dental>")
    MonitoredDomain.create(partner=partner, organization=org, name="bluewater.example")
    other = make_partner("Other MSP")
    hidden = Organization.create(partner=other, name="Secret Client")
    MonitoredDomain.create(partner=other, organization=hidden, name="secret.example")
    page = admin_client.get("/organizations").get_data(as_text=True)
    assert "Bluewater &lt;Dental&gt;" in page and "bluewater.example" in page
    assert "Secret Client" not in page and "secret.example" not in page
    assert "<strong>1</strong> of 10 domain licenses used" in page
    assert "<strong>9</strong> available" in page


def test_another_partners_organization_answers_404(admin_client, partner):
    mine = Organization.create(partner=partner, name="Mine")
    theirs = Organization.create(partner=make_partner("Other MSP"), name="Theirs")
    assert admin_client.get(f"/organizations/{mine.id}").status_code == 200
    response = admin_client.get(f"/organizations/{theirs.id}")
    assert response.status_code == 404
    assert "Theirs" not in response.get_data(as_text=True)
    assert admin_client.get("/organizations/99999999").status_code == 404
    assert admin_client.get("/organizations/abc").status_code == 404


def test_organizations_page_paginates_and_ignores_bad_page_numbers(admin_client, partner):
    Organization.insert_many(
        [{"partner": partner, "name": f"Org {i:03}"} for i in range(120)]
    ).execute()
    assert "Page 1 of 3" in admin_client.get("/organizations").get_data(as_text=True)
    assert "Org 100" in admin_client.get("/organizations?page=3").get_data(as_text=True)
    for bad in ("0", "-1", "x", "999999999999"):
        assert admin_client.get(f"/organizations?page={bad}").status_code == 200


def test_security_headers_on_pages(admin_client):
    response = admin_client.get("/organizations")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


def test_organizations_page_shows_the_itglue_link(admin_client, partner):
    from webapp.models import Integration, ITGlueOrganization, OrganizationLink

    linked = Organization.create(partner=partner, name="Linked Co")
    Organization.create(partner=partner, name="Manual Co")
    integration = Integration.create(
        partner=partner, region="us", encrypted_key="x", key_hint="abcd"
    )
    ITGlueOrganization.create(integration=integration, itglue_id="77", name="Linked Co (IT Glue)",
                              search_name="linked co (it glue)", first_load=1, seen_load=1)  # fmt: skip
    OrganizationLink.create(integration=integration, itglue_id="77", organization=linked)
    page = admin_client.get("/organizations").get_data(as_text=True)
    assert "Linked to Linked Co (IT Glue)" in page
    assert page.count("Not linked") == 1


def test_htmx_errors_arrive_as_a_toast_not_in_place_of_the_page(admin_client):
    response = admin_client.get("/organizations/424242", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#toasts"
    assert (
        response.get_data(as_text=True).strip()
        == '<div class="toast toast-error" role="alert">Not found.</div>'
    )
    page = admin_client.get("/organizations/424242")
    assert "Something needs attention" in page.get_data(as_text=True)


def test_filter_results_leave_the_search_box_alone(admin_client, partner):
    from webapp.models import Integration, ITGlueOrganization, utcnow

    integration = Integration.create(partner=partner, region="us", encrypted_key="x", key_hint="abcd",
                                     load_state="loaded", loaded_at=utcnow())  # fmt: skip
    for name in ("Alpha", "Beta"):
        ITGlueOrganization.create(integration=integration, itglue_id=name, name=name,
                                  search_name=name.lower(), first_load=1, seen_load=1)  # fmt: skip
    response = admin_client.get(
        "/integrations/itglue/organizations?q=alp", headers={"HX-Request": "true"}
    )
    text = response.get_data(as_text=True)
    # Only the results are swapped: the search box the user is typing in is not in the answer.
    assert text.lstrip().startswith('<div id="itglue-results">')
    assert 'id="itglue-q"' not in text
    assert "Alpha" in text and "Beta" not in text


def test_search_by_a_pasted_url_finds_the_domain(admin_client, partner):
    from webapp.models import Integration, ITGlueDomain, ITGlueOrganization, utcnow

    integration = Integration.create(partner=partner, region="us", encrypted_key="x", key_hint="abcd",
                                     load_state="loaded", loaded_at=utcnow())  # fmt: skip
    for name in ("Alpha", "Beta"):
        org = ITGlueOrganization.create(integration=integration, itglue_id=name, name=name,
                                        search_name=name.lower(), first_load=1, seen_load=1)  # fmt: skip
        ITGlueDomain.create(integration=integration, organization=org, itglue_id=f"d-{name}",
                            raw_name=f"{name}.example", name=f"{name.lower()}.example",
                            first_load=1, seen_load=1)  # fmt: skip
    found = admin_client.get("/integrations/itglue/organizations?q=https://www.BETA.example/contact",
                             headers={"HX-Request": "true"}).get_data(as_text=True)  # fmt: skip
    assert "Beta" in found and "Alpha" not in found
    nothing = admin_client.get(
        "/integrations/itglue/organizations?q=%25", headers={"HX-Request": "true"}
    )
    assert "No IT Glue organization matches." in nothing.get_data(as_text=True)
