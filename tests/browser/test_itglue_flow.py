"""The IT Glue Integration tile in a real browser with htmx: connect, load, choose, import,
watch the statuses change, retry, refresh and delete, as a partner admin sees them."""

import copy
import re
import time
from contextlib import contextmanager

import pytest
from helpers import PASSWORD
from playwright.sync_api import expect
from rq.suspension import resume, suspend

from webapp.models import Integration, ITGlueOrganization, Partner

pytestmark = pytest.mark.browser

LOAD_TIMEOUT = 60_000
IMPORT_TIMEOUT = 60_000
BAD_KEY = "ITG.00000000000000000000000000000000"
INVALID_KEY_US = (
    "Invalid API key for the United States region. Check that the key was copied in full, has "
    "not been revoked, and that IT Glue's IP Access Control allows this portal's address."
)
GOV = ".gov domain was not imported due to licensing issues. Please contact your import manager."
PROTECTED = (
    "Your search includes a sensitive or protected domain or address. Contact support@example.test"
)


def sign_in(page, email, password=PASSWORD):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="IT Glue Integration")).to_be_visible()


def add_integration(page, key, region="United States"):
    """Open Add Integration, enter a key and a region and press Load Organizations."""
    page.get_by_role("link", name="+ New Integration").click()
    dialog = page.get_by_role("dialog", name="Add Integration")
    expect(dialog).to_be_visible()
    dialog.get_by_label("API Key").fill(key)
    dialog.get_by_label("Region").select_option(label=region)
    dialog.get_by_role("button", name="Load Organizations").click()
    return dialog


def expect_table(page):
    for header in ("Organization", "Employee Count", "Industry", "Status"):
        expect(page.get_by_role("columnheader", name=header, exact=True)).to_be_visible(
            timeout=LOAD_TIMEOUT
        )
    expect(page.get_by_role("progressbar")).to_have_count(0)


def connect(page, sandbox):
    """Sign-in done: connect the United States account and wait for its table."""
    add_integration(page, sandbox.keys["us"])
    expect_table(page)


def row(page, name):
    """The table row of an IT Glue organization, by its exact name."""
    summary = page.locator("summary").get_by_text(name, exact=True)
    return page.locator("#itglue-table tbody tr").filter(has=summary)


def status_of(page, name):
    return row(page, name).locator("td.status")


def choose(page, name, employee_count, industry):
    page.get_by_label(f"Employee Count for {name}", exact=True).select_option(employee_count)
    page.get_by_label(f"Industry for {name}", exact=True).select_option(industry)


def select(page, *names):
    for name in names:
        page.get_by_role("checkbox", name=f"Select {name}", exact=True).check()


def import_rows(page, choices):
    """Choose Employee Count and Industry on each row, select them all and press Import."""
    for name, (employee_count, industry) in choices.items():
        choose(page, name, employee_count, industry)
    select(page, *choices)
    page.get_by_role("button", name="Import", exact=True).click()


def expect_final(page, *names):
    for name in names:
        expect(status_of(page, name)).to_have_text(
            re.compile(r"^\s*(Imported|Unimported)"), timeout=IMPORT_TIMEOUT
        )


def expect_poller_stopped(page):
    expect(page.locator("#itglue-status")).not_to_have_attribute(
        "hx-trigger", re.compile(".*"), timeout=IMPORT_TIMEOUT
    )


@contextmanager
def jobs_held(app, database, partner):
    """Hold import jobs back while inside, so that the Pending state can be seen for sure."""
    embedded = app.extensions["embedded_worker"]
    if embedded is not None:
        # The embedded worker works in bursts, and a burst does not start while suspended.
        connection = app.extensions["queue"].connection
        suspend(connection)
        try:
            yield
        finally:
            resume(connection)
            embedded.wake()
    else:
        # rq worker processes wait in BLPOP and ignore suspension; an import job first locks
        # its partner's row (SELECT … FOR UPDATE), so holding that lock holds the jobs.
        with database.atomic():
            Partner.select().where(Partner.id == partner.id).for_update().get()
            yield


def is_modal(dialog, timeout=5.0):
    """Whether the dialog is (or, within `timeout`, becomes) a modal; app.js opens it on load."""
    deadline = time.monotonic() + timeout
    while not dialog.evaluate("d => d.open && d.matches(':modal')"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def focus_is_inside(page, dialog):
    return dialog.evaluate("d => d.contains(document.activeElement)")


def test_invalid_key_shows_an_error_in_the_dialog_and_saves_nothing(page, admin, sandbox):
    sign_in(page, admin.email)
    page.get_by_role("link", name="+ New Integration").click()
    dialog = page.get_by_role("dialog", name="Add Integration")
    expect(dialog).to_be_visible()
    assert is_modal(dialog)
    expect(dialog.get_by_label("API Key")).to_be_focused()
    expect(dialog.get_by_label("API Key")).to_have_attribute("type", "password")
    expect(dialog.get_by_label("Region")).to_have_value("us")

    dialog.get_by_label("API Key").fill(BAD_KEY)
    dialog.get_by_role("button", name="Load Organizations").click()
    expect(dialog.get_by_role("alert")).to_have_text(INVALID_KEY_US)
    assert is_modal(dialog)
    assert focus_is_inside(page, dialog)
    assert Integration.select().count() == 0

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    new = page.get_by_role("link", name="+ New Integration")
    expect(new).to_be_visible()
    expect(new).to_be_focused()

    page.reload()
    expect(page.get_by_role("link", name="+ New Integration")).to_be_visible()
    expect(page.get_by_text("Connected to IT Glue")).to_have_count(0)


def test_a_key_of_another_region_names_its_region(page, admin, sandbox):
    sign_in(page, admin.email)
    dialog = add_integration(page, sandbox.keys["eu"], region="United States")
    expect(dialog.get_by_role("alert")).to_have_text(
        "This key belongs to the Europe region. Choose Europe and try again."
    )
    assert Integration.select().count() == 0
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="+ New Integration")).to_be_focused()


@pytest.fixture
def slow_sandbox(sandbox):
    """Every sandbox request takes a while, so that the load's progress can be watched."""
    state = sandbox.app.config["SANDBOX"]
    state.latency_ms = 1500
    yield sandbox
    state.latency_ms = 0


def test_loading_shows_progress_then_the_table(page, admin, slow_sandbox, workers):
    sign_in(page, admin.email)
    dialog = add_integration(page, slow_sandbox.keys["us"])
    expect(dialog).to_be_hidden(timeout=10_000)
    progress = page.get_by_role("progressbar")
    expect(progress).to_be_visible()
    expect(progress).to_have_accessible_name(
        re.compile(
            r"^(Connecting to IT Glue…|Loaded [\d,]+ of [\d,]+ (organizations|domains)"
            r"|Saving the IT Glue organizations and domains…)$"
        )
    )
    loaded = page.get_by_role(
        "progressbar", name=re.compile(r"^Loaded [\d,]+ of [\d,]+ organizations$")
    )
    expect(loaded).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(page.get_by_role("button", name="Refresh from IT Glue")).to_be_disabled()
    expect_table(page)
    expect(page.get_by_text("Connected to IT Glue, United States region")).to_be_visible()
    expect(page.locator("#itglue-table tbody tr")).to_have_count(40)
    expect(page.get_by_role("button", name="Refresh from IT Glue")).to_be_enabled()


def test_progress_counts_organizations_not_pages(page, admin, slow_sandbox, workers):
    sign_in(page, admin.email)
    add_integration(page, slow_sandbox.keys["us"])
    progress = page.get_by_role("progressbar", name=re.compile(r"^Loaded .* organizations$"))
    expect(progress).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(progress).to_have_accessible_name("Loaded 40 of 40 organizations", timeout=1000)


def test_table_shows_domains_and_searches_filters_sorts(page, admin, sandbox, workers):
    sign_in(page, admin.email)
    connect(page, sandbox)
    rows = page.locator("#itglue-table tbody tr")

    contoso = row(page, "Contoso Example")
    contoso.get_by_text("Contoso Example", exact=True).click()
    domains = contoso.locator("ul.domains li")
    expect(contoso.get_by_text("Domains", exact=True)).to_be_visible()
    expect(domains).to_have_text(
        [
            "contoso-example.com (IT Glue: Contoso-Example.COM)",
            "contoso-example.com (IT Glue: contoso-example.com.)",
            "contoso-mail.example",
        ]
    )
    fabrikam = row(page, "Fabrikam Example")
    fabrikam.get_by_text("Fabrikam Example", exact=True).click()
    expect(fabrikam.locator("ul.domains li").first).to_have_text(
        "fabrikam-example.com (IT Glue: https://www.Fabrikam-Example.com/contact)"
    )

    search = page.get_by_label("Search organizations or domains")
    search.fill("acme")
    expect(rows).to_have_count(3)
    expect(page.locator("#itglue-table tbody summary")).to_have_text(
        ["Acme Holdings", "ACME Inc", "Acme, Inc."]
    )
    expect(page).to_have_url(re.compile(r"q=acme"))

    page.get_by_label("Search organizations or domains").fill("heritage-dental-hq1")
    expect(rows).to_have_count(1)
    expect(row(page, "Heritage Dental")).to_be_visible()

    page.get_by_label("Search organizations or domains").fill("no such organization")
    expect(page.get_by_text("No IT Glue organization matches.")).to_be_visible()
    expect(rows).to_have_count(0)

    page.get_by_label("Search organizations or domains").fill("")
    expect(rows).to_have_count(40)
    page.get_by_label("IT Glue type").select_option("Vendor")
    expect(page.locator("#itglue-table tbody summary")).to_have_text(
        [
            "Example Registrar Vendor",
            "North Fitness Partners",
            "South Roofing Associates",
            "Valley Finance Inc",
        ]
    )
    page.get_by_label("IT Glue type").select_option("")
    expect(rows).to_have_count(40)

    heritage = ITGlueOrganization.get(ITGlueOrganization.name == "Heritage Dental")
    ITGlueOrganization.update(status="imported").where(
        ITGlueOrganization.id == heritage.id
    ).execute()
    page.get_by_label("Import status").select_option(label="Imported")
    expect(rows).to_have_count(1)
    expect(status_of(page, "Heritage Dental")).to_have_text("Imported")
    page.get_by_label("Import status").select_option(label="Not yet imported")
    expect(rows).to_have_count(39)
    expect(row(page, "Heritage Dental")).to_have_count(0)
    page.get_by_label("Import status").select_option(label="All")
    expect(rows).to_have_count(40)

    first = page.locator("#itglue-table tbody summary").first
    expect(page.get_by_role("columnheader", name="Organization")).to_have_attribute(
        "aria-sort", "ascending"
    )
    expect(first).to_have_text('<b>Bold</b> & "Quoted" O\'Brien LLC')
    page.get_by_role("link", name="Organization", exact=True).click()
    header = page.get_by_role("columnheader", name="Organization", exact=True)
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(first).to_have_text("株式会社テスト")
    expect(page.locator("#itglue-table tbody summary").nth(1)).to_have_text("Ωmega Σystems")
    page.get_by_role("link", name="Organization", exact=True).click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(first).to_have_text('<b>Bold</b> & "Quoted" O\'Brien LLC')

    # 40 organizations fit on one page of 50: no pager at all, not a "Page 1 of 1".
    expect(page.get_by_role("navigation", name="Pages")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"Page \d+ of"))).to_have_count(0)


def test_table_pages_when_there_are_more_than_fifty(page, admin, sandbox, workers):
    sign_in(page, admin.email)
    connect(page, sandbox)
    integration = Integration.get()
    ITGlueOrganization.insert_many(
        [
            {
                "integration": integration,
                "itglue_id": f"extra-{n}",
                "name": f"Zulu Extra {n:02}",
                "search_name": f"zulu extra {n:02}",
                "first_load": integration.loaded_load,
                "seen_load": integration.loaded_load,
            }
            for n in range(1, 21)
        ]  # fmt: skip
    ).execute()
    page.reload()
    pager = page.get_by_role("navigation", name="Pages")
    expect(pager).to_contain_text("Page 1 of 2 · 60 organizations")
    expect(page.locator("#itglue-table tbody tr")).to_have_count(50)
    pager.get_by_role("link", name="Next").click()
    expect(pager).to_contain_text("Page 2 of 2 · 60 organizations")
    expect(page.locator("#itglue-table tbody tr")).to_have_count(10)
    # Latin names sort before Greek and Japanese ones: page 2 is Zulu Extra 13-20, Ω…, 株….
    expect(page.locator("#itglue-table tbody summary").first).to_have_text("Zulu Extra 13")
    expect(row(page, "Zulu Extra 20")).to_be_visible()
    expect(row(page, "Zulu Extra 12")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"page=2"))
    pager.get_by_role("link", name="Previous").click()
    expect(pager).to_contain_text("Page 1 of 2")
    page.get_by_label("Search organizations or domains").fill("zulu extra")
    expect(page.locator("#itglue-table tbody tr")).to_have_count(20)
    expect(page.get_by_role("navigation", name="Pages")).to_have_count(0)


def test_import_without_employee_count_and_industry_shows_inline_errors(
    page, admin, sandbox, workers
):
    sign_in(page, admin.email)
    connect(page, sandbox)
    select(page, "Eagle Foods Ltd", "Heritage Dental")
    page.get_by_label("Industry for Heritage Dental", exact=True).select_option("Healthcare")
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.locator("#itglue-table-error")).to_have_text(
        "Employee Count and Industry are required for every selected organization; "
        "2 are missing them."
    )
    eagle, heritage = row(page, "Eagle Foods Ltd"), row(page, "Heritage Dental")
    expect(eagle.get_by_text("Employee Count is required")).to_be_visible()
    expect(eagle.get_by_text("Industry is required")).to_be_visible()
    expect(heritage.get_by_text("Employee Count is required")).to_be_visible()
    expect(heritage.get_by_text("Industry is required")).to_have_count(0)
    expect(page.get_by_label("Employee Count for Eagle Foods Ltd", exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )
    # The choice the user did make survives the error, and so does the selection.
    expect(page.get_by_label("Industry for Heritage Dental", exact=True)).to_have_value(
        "Healthcare"
    )
    expect(page.get_by_role("checkbox", name="Select Heritage Dental", exact=True)).to_be_checked()
    expect(page.locator("td.status", has_text="Pending")).to_have_count(0)
    expect(status_of(page, "Eagle Foods Ltd")).to_have_text("Not yet imported")
    assert ITGlueOrganization.select().where(ITGlueOrganization.status.is_null(False)).count() == 0


def test_import_shows_pending_then_final_statuses(
    page, app, database, partner, admin, sandbox, workers
):
    sign_in(page, admin.email)
    connect(page, sandbox)
    blocked = ("Springfield City Council", "Mailbox Users Club", "Bad Data Pty Ltd")
    select(page, *blocked)
    page.get_by_label("Set Employee Count").select_option("1-10")
    page.get_by_label("Set Industry").select_option("Government")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator("#toasts")).to_contain_text("Updated 3 organizations.")
    for name in blocked:
        expect(page.get_by_label(f"Employee Count for {name}", exact=True)).to_have_value("1-10")
        expect(page.get_by_label(f"Industry for {name}", exact=True)).to_have_value("Government")

    choose(page, "Eagle Foods Ltd", "11-50", "Retail")
    names = ("Eagle Foods Ltd", *blocked)
    select(page, *names)
    with jobs_held(app, database, partner):
        page.get_by_role("button", name="Import", exact=True).click()
        toast = page.locator("#toasts .toast", has_text="Import started")
        expect(toast).to_be_visible()
        box = toast.bounding_box()
        viewport = page.viewport_size
        assert box["x"] >= viewport["width"] / 2 and box["y"] >= viewport["height"] / 2
        assert box["x"] + box["width"] <= viewport["width"]
        assert box["y"] + box["height"] <= viewport["height"]
        for name in names:
            expect(status_of(page, name)).to_have_text("Pending")
        expect(page.get_by_text("Importing… statuses update by themselves.")).to_be_visible()
        url = page.url

    expect(status_of(page, "Eagle Foods Ltd")).to_have_text("Imported", timeout=IMPORT_TIMEOUT)
    expect_final(page, *names)
    assert page.url == url

    council = status_of(page, "Springfield City Council")
    expect(council).to_contain_text("Unimported")
    expect(council.locator(".outcome")).to_have_text(f"0 of 2 domains imported. {GOV}")
    mailbox = status_of(page, "Mailbox Users Club")
    expect(mailbox.locator(".outcome")).to_have_text(f"0 of 3 domains imported. {PROTECTED}.")
    bad = status_of(page, "Bad Data Pty Ltd")
    expect(bad.locator(".outcome")).to_have_text(
        "0 of 5 domains imported. Not a valid domain name."
    )

    council_row = row(page, "Springfield City Council")
    council_row.get_by_text("Springfield City Council", exact=True).click()
    expect(council_row.locator("ul.domains li").first).to_contain_text(f"Unimported: {GOV}")
    eagle = row(page, "Eagle Foods Ltd")
    eagle.get_by_text("Eagle Foods Ltd", exact=True).click()
    expect(eagle.locator("ul.domains li")).to_have_text(["eagle-foods.net Imported"])
    expect(page.get_by_label("Employee Count for Eagle Foods Ltd", exact=True)).to_have_value(
        "11-50"
    )

    expect_poller_stopped(page)
    expect(page.get_by_text("Importing… statuses update by themselves.")).to_have_count(0)
    expect(page.locator("#itglue-counter")).to_contain_text("Domain licenses: 1 used of 10")

    page.get_by_label("Import status").select_option(label="Imported")
    expect(page.locator("#itglue-table tbody summary")).to_have_text(["Eagle Foods Ltd"])
    page.get_by_label("Import status").select_option(label="Unimported")
    expect(page.locator("#itglue-table tbody tr")).to_have_count(3)


def test_license_limit_then_retry_after_buying_licenses(page, partner, admin, sandbox, workers):
    Partner.update(domain_licenses=2).where(Partner.id == partner.id).execute()
    sign_in(page, admin.email)
    connect(page, sandbox)
    expect(page.locator("#itglue-counter")).to_contain_text("0 used of 2")
    import_rows(page, {"Iron Accounting Co": ("51-100", "Accounting")})
    iron = status_of(page, "Iron Accounting Co")
    expect(iron).to_contain_text("Unimported", timeout=IMPORT_TIMEOUT)
    expect(iron.locator(".outcome")).to_have_text(
        "2 of 4 domains imported. Domain license limit reached."
    )
    expect(page.locator("#itglue-counter")).to_contain_text("2 used of 2")

    Partner.update(domain_licenses=10).where(Partner.id == partner.id).execute()
    row(page, "Iron Accounting Co").get_by_role("button", name="Retry").click()
    expect(iron).to_have_text("Imported", timeout=IMPORT_TIMEOUT)
    expect_poller_stopped(page)
    page.reload()
    expect(status_of(page, "Iron Accounting Co")).to_have_text("Imported")
    expect(page.locator("#itglue-counter")).to_contain_text("4 used of 10")


@contextmanager
def extra_domain(sandbox, org_name, domain_name):
    """Add a domain to an organization of the shared sandbox's US account, then remove it."""
    state = sandbox.app.config["SANDBOX"]
    account = state.accounts["us"]
    org = next(o for o in account.organizations if o["attributes"]["name"] == org_name)
    domain = copy.deepcopy(account.domains_by_org[org["id"]][0])
    domain["id"] = "888888801"
    domain["attributes"]["name"] = domain_name
    key = ("domains", domain["id"], False)
    with state.lock:
        account.domains.append(domain)
        account.reindex()
        state.encoded.pop(key, None)
    try:
        yield
    finally:
        with state.lock:
            account.domains.remove(domain)
            account.reindex()
            state.encoded.pop(key, None)


def test_refresh_highlights_a_new_domain(page, admin, sandbox, workers):
    sign_in(page, admin.email)
    connect(page, sandbox)
    import_rows(page, {"Eagle Foods Ltd": ("11-50", "Retail")})
    expect(status_of(page, "Eagle Foods Ltd")).to_have_text("Imported", timeout=IMPORT_TIMEOUT)

    with extra_domain(sandbox, "Eagle Foods Ltd", "eagle-foods-online.example"):
        page.get_by_role("button", name="Refresh from IT Glue").click()
        expect(page.get_by_role("progressbar")).to_be_visible()
        expect_table(page)
    eagle = row(page, "Eagle Foods Ltd")
    eagle.get_by_text("Eagle Foods Ltd", exact=True).click()
    domains = eagle.locator("ul.domains li")
    expect(domains).to_have_count(2)
    new = domains.filter(has_text="eagle-foods-online.example")
    expect(new.get_by_text("New", exact=True)).to_be_visible()
    expect(domains.filter(has_text="eagle-foods.net").get_by_text("New", exact=True)).to_have_count(
        0
    )
    expect(status_of(page, "Eagle Foods Ltd")).to_have_text("Imported")


def test_delete_keeps_organizations_and_domains(page, admin, sandbox, workers):
    sign_in(page, admin.email)
    connect(page, sandbox)
    import_rows(
        page,
        {"Eagle Foods Ltd": ("11-50", "Retail"), "Heritage Dental": ("1-10", "Healthcare")},
    )
    expect_final(page, "Eagle Foods Ltd", "Heritage Dental")
    expect(status_of(page, "Heritage Dental")).to_have_text("Imported")

    page.get_by_role("link", name="Delete Integration").click()
    dialog = page.get_by_role("dialog", name="Delete Integration")
    expect(dialog).to_be_visible()
    assert is_modal(dialog)
    expect(dialog).to_contain_text("Removes 2 mappings; the organizations and their domains stay.")
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Delete Integration").click()

    expect(page.get_by_role("link", name="+ New Integration")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text(
        "IT Glue integration deleted: removed 2 mappings; the organizations and their domains stay."
    )
    expect(page.get_by_role("columnheader", name="Status")).to_have_count(0)
    assert Integration.select().count() == 0

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Organizations").click()
    organizations = page.locator("#organizations tbody tr")
    expect(organizations).to_have_count(2)
    expect(organizations.nth(0)).to_contain_text("Eagle Foods Ltd")
    expect(organizations.nth(0)).to_contain_text("eagle-foods.net")
    expect(organizations.nth(1)).to_contain_text("Heritage Dental")
    expect(organizations.nth(1)).to_contain_text("heritage-dental.org")
    expect(organizations.nth(1)).to_contain_text("heritage-dental-hq1.com.au")
