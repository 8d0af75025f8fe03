"""The IT Glue Integration tile with JavaScript turned off: plain forms, redirects and reloads."""

import re

import pytest
from playwright.sync_api import expect
from test_itglue_flow import (
    BAD_KEY,
    GOV,
    IMPORT_TIMEOUT,
    INVALID_KEY_US,
    LOAD_TIMEOUT,
    choose,
    jobs_held,
    row,
    select,
    sign_in,
    status_of,
)

from webapp.models import Integration, ITGlueOrganization

pytestmark = pytest.mark.browser


@pytest.fixture
def slow_sandbox(sandbox):
    """Sandbox requests take a moment, so that the page is seen reloading itself while loading."""
    state = sandbox.app.config["SANDBOX"]
    state.latency_ms = 700
    yield sandbox
    state.latency_ms = 0


def test_connect_import_and_delete_without_javascript(
    page_without_js, app, database, partner, admin, slow_sandbox, workers
):
    page = page_without_js
    sign_in(page, admin.email)

    page.get_by_role("link", name="+ New Integration").click()
    expect(page).to_have_url(re.compile(r"/integrations/itglue/new\?host=organizations\.mine$"))
    dialog = page.get_by_role("dialog", name="Add Integration")
    expect(dialog).to_be_visible()
    expect(page.get_by_role("heading", name="My Organization")).to_be_visible()
    dialog.get_by_label("API Key").fill(BAD_KEY)
    dialog.get_by_role("button", name="Load Organizations").click()
    expect(dialog.get_by_role("alert")).to_have_text(INVALID_KEY_US)
    expect(dialog.get_by_label("API Key")).to_have_value("")
    assert Integration.select().count() == 0

    dialog.get_by_label("API Key").fill(slow_sandbox.keys["us"])
    dialog.get_by_label("Region").select_option(label="United States")
    dialog.get_by_role("button", name="Load Organizations").click()
    expect(page).to_have_url(re.compile(r"/my-organization$"))
    expect(page.get_by_role("dialog")).to_have_count(0)
    progress = page.get_by_role("progressbar")
    expect(progress).to_be_visible()
    # Nothing but the <noscript> refresh reloads the page until the table is there.
    expect(page.get_by_role("columnheader", name="Employee Count")).to_be_visible(
        timeout=LOAD_TIMEOUT
    )
    expect(progress).to_have_count(0)
    for header in ("Organization", "Industry", "Status"):
        expect(page.get_by_role("columnheader", name=header, exact=True)).to_be_visible()

    select(page, "Eagle Foods Ltd", "Springfield City Council")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#itglue-table-error")).to_have_text(
        "Employee Count and Industry are required for every selected organization; "
        "2 are missing them."
    )
    for name in ("Eagle Foods Ltd", "Springfield City Council"):
        expect(row(page, name).get_by_text("Employee Count is required")).to_be_visible()
        expect(row(page, name).get_by_text("Industry is required")).to_be_visible()
        expect(status_of(page, name)).to_have_text("Not yet imported")
    assert ITGlueOrganization.select().where(ITGlueOrganization.status.is_null(False)).count() == 0

    choose(page, "Eagle Foods Ltd", "11-50", "Retail")
    choose(page, "Springfield City Council", "251+", "Government")
    with jobs_held(app, database, partner):
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.locator("#toasts")).to_contain_text("Import started")
        expect(status_of(page, "Eagle Foods Ltd")).to_have_text("Pending")
        expect(status_of(page, "Springfield City Council")).to_have_text("Pending")
        expect(page.get_by_text("Importing… statuses update by themselves.")).to_be_visible()

    # The status block's <noscript> refresh reloads the page until no row is pending.
    expect(status_of(page, "Eagle Foods Ltd")).to_have_text("Imported", timeout=IMPORT_TIMEOUT)
    council = status_of(page, "Springfield City Council")
    expect(council).to_contain_text("Unimported", timeout=IMPORT_TIMEOUT)
    expect(council.locator(".outcome")).to_have_text(f"0 of 2 domains imported. {GOV}")
    expect(page.get_by_text("Importing… statuses update by themselves.")).to_have_count(0)

    page.get_by_role("link", name="Delete Integration").click()
    expect(page).to_have_url(re.compile(r"/integrations/itglue/delete"))
    confirm = page.get_by_role("dialog", name="Delete Integration")
    expect(confirm).to_contain_text("Removes 2 mappings; the organizations and their domains stay.")
    confirm.get_by_role("button", name="Delete Integration").click()
    expect(page).to_have_url(re.compile(r"/my-organization$"))
    expect(page.get_by_role("link", name="+ New Integration")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text(
        "IT Glue integration deleted: removed 2 mappings; the organizations and their domains stay."
    )

    page.goto("/organizations")
    expect(page.locator("#organizations tbody tr")).to_have_count(2)
    expect(page.locator("#organizations")).to_contain_text("eagle-foods.net")


def test_cancel_leaves_the_dialog_without_javascript(page_without_js, admin, sandbox):
    page = page_without_js
    sign_in(page, admin.email)
    page.get_by_role("link", name="+ New Integration").click()
    dialog = page.get_by_role("dialog", name="Add Integration")
    expect(dialog).to_be_visible()
    dialog.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(r"/my-organization$"))
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("link", name="+ New Integration")).to_be_visible()
