"""Import rules through HTTP: reasons per domain and row, normalisation, linking, retry, preview,
the license counter and the table's search, filters, sorting and pages."""

from helpers import SERVICE_DATABASE, SERVICE_REDIS
from itglue_flow_helpers import (
    BASE,
    choices,
    connected,
    domain_lines,
    import_and_wait,
    monitored,
    refreshed,
    row,
    row_ids,
    row_text,
    seed_snapshot,
    status_of,
    table_html,
    text,
    wait_final,
)

from webapp import domains, importing
from webapp.db import db
from webapp.models import (
    IMPORTED,
    UNIMPORTED,
    ITGlueDomain,
    ITGlueOrganization,
    MonitoredDomain,
    Organization,
    OrganizationLink,
    Partner,
)

SUPPORT = "support@example.test"
PROTECTED = domains.protected_reason(SUPPORT)


def set_licenses(partner, n):
    Partner.update(domain_licenses=n).where(Partner.id == partner.id).execute()


def counter(client, rows=()):
    response = client.get(f"{BASE}/counter", query_string={"selected": [str(r.id) for r in rows]})
    assert response.status_code == 200
    return text(response.get_data(as_text=True))


def test_every_reason_lands_on_its_domain_and_row(admin_client, sandbox, workers, partner):
    connected(admin_client, sandbox)
    names = ["Springfield City Council", "Outback Health Clinic", "Mailbox Users Club",
             "Bad Data Pty Ltd", "Acme, Inc."]  # fmt: skip
    import_and_wait(admin_client, [row(n) for n in names])
    # Acme Holdings shares shared-example.com with Acme, Inc., which monitors it by now.
    import_and_wait(admin_client, [row("Acme Holdings")])
    page = table_html(admin_client)
    gov = row("Springfield City Council").id
    assert domain_lines(page, gov) == [
        f"springfield.gov Unimported: {domains.GOV}",
        f"council.gov.uk Unimported: {domains.GOV}",
    ]
    assert status_of(page, gov) == f"Unimported 0 of 2 domains imported. {domains.GOV} Retry"
    assert domain_lines(page, row("Outback Health Clinic").id) == [
        f"health.gov.au Unimported: {domains.GOV}"
    ]
    mail = row("Mailbox Users Club").id
    # smtp.gmail.com is protected because its registrable domain gmail.com is.
    assert domain_lines(page, mail) == [
        f"gmail.com Unimported: {PROTECTED}",
        f"outlook.com Unimported: {PROTECTED}",
        f"smtp.gmail.com Unimported: {PROTECTED}",
    ]
    assert status_of(page, mail) == f"Unimported 0 of 3 domains imported. {PROTECTED}. Retry"
    bad = row("Bad Data Pty Ltd").id
    assert domain_lines(page, bad) == [
        f"{raw} Unimported: {domains.INVALID}"
        for raw in ("intranet", "192.168.1.10", "*.wildcard.example", "admin@company.example",
                    "exa mple.com")
    ]  # fmt: skip
    assert (
        status_of(page, bad) == "Unimported 0 of 5 domains imported. Not a valid domain name. Retry"
    )
    holdings = row("Acme Holdings").id
    assert domain_lines(page, holdings) == [
        "shared-example.com Unimported: Already monitored by Acme, Inc.",
        "acme-holdings.example Imported",
    ]
    assert status_of(page, holdings) == (
        "Unimported 1 of 2 domains imported. Already monitored by Acme, Inc. Retry"
    )
    assert status_of(page, row("Acme, Inc.").id) == "Imported"
    assert monitored(partner) == ["acme-example.com", "acme-holdings.example", "shared-example.com"]


def test_license_limit_then_retry_after_buying_licenses(admin_client, sandbox, workers, partner):
    connected(admin_client, sandbox)
    set_licenses(partner, 1)
    (fabrikam,) = import_and_wait(admin_client, [row("Fabrikam Example")])
    assert fabrikam.status == UNIMPORTED
    page = table_html(admin_client)
    assert domain_lines(page, fabrikam.id) == [
        "fabrikam-example.com (IT Glue: https://www.Fabrikam-Example.com/contact) Imported",
        "fabrikam-example.co.uk (IT Glue: fabrikam-example.co.uk.) Unimported: "
        "Domain license limit reached",
    ]
    assert status_of(page, fabrikam.id) == (
        "Unimported 1 of 2 domains imported. Domain license limit reached. Retry"
    )
    assert "Domain licenses: 1 used of 1 · 0 available" in text(page)

    set_licenses(partner, 10)
    response = admin_client.post(f"{BASE}/organizations/{fabrikam.id}/retry")
    assert response.status_code == 302
    wait_final([fabrikam])
    assert refreshed(fabrikam).status == IMPORTED
    page = table_html(admin_client)
    assert status_of(page, fabrikam.id) == "Imported"
    assert monitored(partner) == ["fabrikam-example.co.uk", "fabrikam-example.com"]
    assert Organization.select().count() == 1


def _refuse_inserts_named(name):
    """A database trigger that refuses one organization: an unexpected failure inside the job."""
    if SERVICE_DATABASE:
        db.execute_sql(
            "CREATE OR REPLACE FUNCTION refuse_test_org() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.name = '{name}' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        db.execute_sql(
            "CREATE TRIGGER refuse_test_org BEFORE INSERT ON organization "
            "FOR EACH ROW EXECUTE FUNCTION refuse_test_org()"
        )
    else:
        db.execute_sql(
            f"CREATE TRIGGER refuse_test_org BEFORE INSERT ON organization WHEN NEW.name = "
            f"'{name}' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
        )


def _drop_refusal():
    if SERVICE_DATABASE:
        db.execute_sql("DROP TRIGGER IF EXISTS refuse_test_org ON organization")
        db.execute_sql("DROP FUNCTION IF EXISTS refuse_test_org()")
    else:
        db.execute_sql("DROP TRIGGER IF EXISTS refuse_test_org")


def test_unexpected_failure_is_an_error_in_the_import(admin_client, admin, partner, workers,
                                                      caplog):  # fmt: skip
    integration = seed_snapshot(partner, [("Explosive Imports Ltd", ["explosive-example.com"]),
                                          ("Calm Imports Ltd", ["calm-example.com"])])  # fmt: skip
    _refuse_inserts_named("Explosive Imports Ltd")
    try:
        rows = [row("Explosive Imports Ltd"), row("Calm Imports Ltd")]
        explosive, calm = import_and_wait(admin_client, rows)
    finally:
        _drop_refusal()
    assert explosive.status == UNIMPORTED and explosive.outcome == domains.ERROR
    assert calm.status == IMPORTED  # one failing organization does not stop the others
    page = table_html(admin_client)
    assert status_of(page, explosive.id) == "Unimported There was an error in the Import Retry"
    assert monitored(partner) == ["calm-example.com"]
    assert (
        not OrganizationLink.select()
        .where(
            OrganizationLink.integration == integration,
            OrganizationLink.itglue_id == explosive.itglue_id,
        )
        .exists()
    )
    if not SERVICE_REDIS:  # the embedded worker logs here; real workers log to their stderr
        failures = [r for r in caplog.records if "failed" in r.getMessage() and r.exc_info]
        assert failures, "the error is logged for support"


def test_normalised_names_in_the_disclosure_and_duplicates_monitored_once(
    admin_client, sandbox, workers, partner
):
    connected(admin_client, sandbox)
    page = table_html(admin_client)
    contoso, fabrikam, bucher = row("Contoso Example"), row("Fabrikam Example"), row("Bücher Haus")
    # Case, trailing dot, URL to host, www. and punycode, each shown with what IT Glue holds.
    assert domain_lines(page, contoso.id) == [
        "contoso-example.com (IT Glue: Contoso-Example.COM)",
        "contoso-example.com (IT Glue: contoso-example.com.)",
        "contoso-mail.example",
    ]
    assert domain_lines(page, fabrikam.id) == [
        "fabrikam-example.com (IT Glue: https://www.Fabrikam-Example.com/contact)",
        "fabrikam-example.co.uk (IT Glue: fabrikam-example.co.uk.)",
    ]
    assert domain_lines(page, bucher.id) == [
        "xn--bcher-example-wob.de (IT Glue: bücher-example.de)"
    ]
    assert "Will import 2 new of 3 domains" in row_text(page, contoso.id)

    rows = import_and_wait(admin_client, [contoso, fabrikam, bucher])
    assert [r.status for r in rows] == [IMPORTED] * 3
    assert monitored(partner) == [
        "contoso-example.com",
        "contoso-mail.example",
        "fabrikam-example.co.uk",
        "fabrikam-example.com",
        "xn--bcher-example-wob.de",
    ]
    page = table_html(admin_client)
    assert status_of(page, contoso.id) == "Imported"
    assert "Domain licenses: 5 used of 10 · 5 available" in text(page)


def test_same_domain_twice_in_one_import_is_monitored_once(admin_client, admin, partner, workers):
    seed_snapshot(partner, [("Twice Ltd", ["twice-example.com", "https://TWICE-example.com/",
                                           "www.twice-example.com."])])  # fmt: skip
    (twice,) = import_and_wait(admin_client, [row("Twice Ltd")])
    assert twice.status == IMPORTED
    assert monitored(partner) == ["twice-example.com"]
    assert counter(admin_client).startswith("Domain licenses: 1 used of 10")


def test_existing_organization_is_linked_by_normalised_name(
    admin_client, sandbox, workers, partner
):
    existing = Organization.create(partner=partner, name="Acme Inc")
    connected(admin_client, sandbox)
    acme, other_acme = row("Acme, Inc."), row("ACME Inc")
    page = table_html(admin_client)
    assert "Links to the existing organization “Acme Inc”" in row_text(page, acme.id)

    import_and_wait(admin_client, [acme])
    assert Organization.select().count() == 1  # linked, no duplicate
    link = OrganizationLink.get(OrganizationLink.itglue_id == acme.itglue_id)
    assert link.organization_id == existing.id
    assert sorted(d.name for d in existing.domains) == ["acme-example.com", "shared-example.com"]

    # Every organization named so is linked now: the next same-named one gets its own.
    page = table_html(admin_client)
    assert "Links to the existing organization" not in row_text(page, other_acme.id)
    import_and_wait(admin_client, [other_acme])
    assert Organization.select().count() == 2
    other = OrganizationLink.get(OrganizationLink.itglue_id == other_acme.itglue_id).organization
    assert other.id != existing.id and other.name == "ACME Inc"


def test_reimport_of_a_linked_organization_adds_only_new_domains(
    admin_client, admin, partner, workers
):
    integration = seed_snapshot(partner, [("Contoso Ltd", ["contoso-example.com", "contoso.test"])])
    (contoso,) = import_and_wait(admin_client, [row("Contoso Ltd")])
    assert contoso.status == IMPORTED
    # A refresh found a new domain in IT Glue.
    ITGlueDomain.create(integration=integration, organization=contoso, itglue_id="99001",
                        raw_name="contoso-new.example", name="contoso-new.example",
                        first_load=2, seen_load=2)  # fmt: skip
    (contoso,) = import_and_wait(admin_client, [contoso])
    assert contoso.status == IMPORTED and contoso.attempt == 2
    assert monitored(partner) == ["contoso-example.com", "contoso-new.example", "contoso.test"]
    assert MonitoredDomain.select().count() == 3
    assert Organization.select().count() == 1
    assert OrganizationLink.select().count() == 1
    assert domain_lines(table_html(admin_client), contoso.id)[-1] == "contoso-new.example Imported"


def test_status_only_moves_forward(admin_client, admin, partner, workers):
    seed_snapshot(partner, [("Forward Ltd", ["forward-example.com"])])
    (forward,) = import_and_wait(admin_client, [row("Forward Ltd")])
    assert forward.status == IMPORTED
    # A late or duplicate failure signal for the same attempt changes nothing.
    assert importing.finish(forward.id, forward.attempt, UNIMPORTED, domains.ERROR) == 0
    assert importing.import_organization(forward.id, forward.attempt) is None
    after = refreshed(forward)
    assert (after.status, after.outcome) == (IMPORTED, None)
    assert status_of(table_html(admin_client), forward.id) == "Imported"
    assert monitored(partner) == ["forward-example.com"]


def test_preview_and_license_counter_before_import(admin_client, sandbox, workers, partner):
    Organization.create(partner=partner, name="Acme Inc")
    connected(admin_client, sandbox)
    set_licenses(partner, 3)
    page = table_html(admin_client)
    fabrikam, acme = row("Fabrikam Example"), row("Acme, Inc.")
    assert "Will import 2 new of 2 domains" in row_text(page, fabrikam.id)
    assert ("Will import 0 new of 2 domains · .gov domain blocked"
            in row_text(page, row("Springfield City Council").id))  # fmt: skip
    assert (f"Will import 0 new of 3 domains · {PROTECTED}"
            in row_text(page, row("Mailbox Users Club").id))  # fmt: skip
    assert ("Will import 0 new of 5 domains · Not a valid domain name"
            in row_text(page, row("Bad Data Pty Ltd").id))  # fmt: skip
    assert ("Will import 2 new of 2 domains · Links to the existing organization “Acme Inc”"
            in row_text(page, acme.id))  # fmt: skip
    assert counter(admin_client) == "Domain licenses: 0 used of 3 · 3 available"
    # Acme, Inc. and Acme Holdings share a domain: the selection needs it once.
    selection = [fabrikam, acme, row("Acme Holdings"), row("Springfield City Council")]
    assert counter(admin_client, selection) == (
        "Domain licenses: 0 used of 3 · 3 available · this selection needs 5"
    )

    set_licenses(partner, 1)
    page = table_html(admin_client)
    assert ("Will import 1 new of 2 domains · Over the license limit"
            in row_text(page, fabrikam.id))  # fmt: skip
    assert counter(admin_client, [fabrikam]) == (
        "Domain licenses: 0 used of 1 · 1 available · this selection needs 2"
    )


def test_missing_choices_are_shown_inline_and_nothing_starts(admin_client, admin, partner):
    seed_snapshot(partner, [("Chosen Ltd", ["chosen.test"]), ("Unchosen Ltd", ["unchosen.test"])])
    chosen, unchosen = row("Chosen Ltd"), row("Unchosen Ltd")
    data = choices([chosen])
    data["selected"].append(str(unchosen.id))
    data[f"industry-{unchosen.id}"] = "Retail"
    response = admin_client.post(f"{BASE}/imports", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Employee Count and Industry are required" in text(page)
    assert "Employee Count is required" in row_text(page, unchosen.id)
    assert "is required" not in row_text(page, chosen.id)
    assert not ITGlueOrganization.select().where(ITGlueOrganization.status.is_null(False)).exists()


def _many(partner):
    organizations = []
    for i in range(120):
        organizations.append({
            "name": f"Company {i:03d}",
            "domains": [f"company-{i:03d}.test"] + (["shared-hosting.test"] if i % 40 == 0 else []),
            "type_name": "Vendor" if i % 10 == 0 else "Customer",
            "status_name": "Inactive" if i % 3 == 0 else "Active",
        })  # fmt: skip
    return seed_snapshot(partner, organizations)


def _names(page):
    return [ITGlueOrganization.get_by_id(i).name for i in row_ids(page)]


def test_search_filters_sort_and_pages_on_a_larger_set(admin_client, admin, partner):
    integration = _many(partner)
    page = table_html(admin_client)
    assert _names(page) == [f"Company {i:03d}" for i in range(50)]
    assert "Page 1 of 3 · 120 organizations" in text(page)
    last = table_html(admin_client, page=3)
    assert _names(last) == [f"Company {i:03d}" for i in range(100, 120)]
    assert "Page 3 of 3" in text(last) and 'rel="next"' not in last
    assert _names(table_html(admin_client, page=99)) == _names(last)  # past the end: last page

    descending = table_html(admin_client, sort="-name")
    assert _names(descending)[:3] == ["Company 119", "Company 118", "Company 117"]
    assert 'aria-sort="descending"' in descending

    assert _names(table_html(admin_client, q="company 07")) == [
        f"Company {i:03d}" for i in range(70, 80)
    ]
    assert _names(table_html(admin_client, q="COMPANY-042.TEST")) == ["Company 042"]
    assert _names(table_html(admin_client, q="shared-hosting")) == [
        "Company 000", "Company 040", "Company 080"]  # fmt: skip
    assert "No IT Glue organization matches." in text(table_html(admin_client, q="nothing-such"))
    for wildcard in ("%", "_", "company_0", "company%1"):  # searched for literally
        assert row_ids(table_html(admin_client, q=wildcard)) == [], wildcard

    vendors = table_html(admin_client, type="Vendor")
    assert _names(vendors) == [f"Company {i:03d}" for i in range(0, 120, 10)]
    both = table_html(admin_client, type="Vendor", itstatus="Inactive")
    assert _names(both) == [f"Company {i:03d}" for i in range(0, 120, 30)]

    ITGlueOrganization.update(status=IMPORTED, attempt=1).where(
        ITGlueOrganization.integration == integration,
        ITGlueOrganization.name.in_(["Company 005", "Company 006"]),
    ).execute()
    ITGlueOrganization.update(
        status=UNIMPORTED, attempt=1, outcome="0 of 1 domains imported."
    ).where(ITGlueOrganization.name == "Company 007").execute()
    assert _names(table_html(admin_client, state="imported")) == ["Company 005", "Company 006"]
    assert _names(table_html(admin_client, state="unimported")) == ["Company 007"]
    not_yet = table_html(admin_client, state="not_imported")
    assert "117 organizations" in text(not_yet)
    by_status = table_html(admin_client, sort="-state")
    assert _names(by_status)[:3] == ["Company 007", "Company 005", "Company 006"]
    # Bad values fall back quietly instead of failing.
    fallback = table_html(admin_client, sort="password", page="-3", state="everything")
    assert _names(fallback) == [f"Company {i:03d}" for i in range(50)]


def test_import_all_matching_the_filters(admin_client, admin, partner, workers):
    _many(partner)
    set_licenses(partner, 500)
    ITGlueOrganization.update(employee_count="1-10", industry="Retail").execute()
    response = admin_client.post(
        f"{BASE}/imports", data={"all_matching": "1", "type": "Vendor", "itstatus": "Inactive"}
    )
    assert response.status_code == 302
    wait_final()
    imported = ITGlueOrganization.select().where(ITGlueOrganization.status == IMPORTED)
    assert sorted(r.name for r in imported) == [f"Company {i:03d}" for i in range(0, 120, 30)]
    assert ITGlueOrganization.select().where(ITGlueOrganization.status.is_null()).count() == 116
