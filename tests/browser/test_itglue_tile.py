"""The IT Glue Integration tile alone at /integrations/itglue/tile, and inside a portal's iframe."""

import re

import pytest
from playwright.sync_api import expect
from test_itglue_flow import (
    IMPORT_TIMEOUT,
    add_integration,
    expect_table,
    import_rows,
    row,
    sign_in,
    status_of,
)

pytestmark = pytest.mark.browser

# Another site than 127.0.0.1 (so the tile's cookie is third-party), served by page.route.
PORTAL = "http://localhost:8765"


def test_tile_alone_connects_and_imports(page, admin, sandbox, workers):
    sign_in(page, admin.email)
    page.goto("/integrations/itglue/tile")
    expect(page.get_by_role("heading", name="IT Glue Integration")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(page.get_by_role("banner")).to_have_count(0)
    expect(page.get_by_role("heading", name="My Organization")).to_have_count(0)

    add_integration(page, sandbox.keys["us"])
    expect_table(page)
    import_rows(page, {"Heritage Dental": ("1-10", "Healthcare")})
    expect(page.locator("#toasts")).to_contain_text("Import started")
    expect(status_of(page, "Heritage Dental")).to_have_text("Imported", timeout=IMPORT_TIMEOUT)
    expect(page).to_have_url(re.compile(r"/integrations/itglue/tile$"))
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)

    page.reload()
    expect(status_of(page, "Heritage Dental")).to_have_text("Imported")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)


def test_tile_alone_without_javascript_stays_alone(page_without_js, admin, sandbox, workers):
    page = page_without_js
    sign_in(page, admin.email)
    page.goto("/integrations/itglue/tile")
    page.get_by_role("link", name="+ New Integration").click()
    dialog = page.get_by_role("dialog", name="Add Integration")
    dialog.get_by_label("API Key").fill(sandbox.keys["us"])
    dialog.get_by_role("button", name="Load Organizations").click()
    expect(page).to_have_url(re.compile(r"/integrations/itglue/tile$"))
    expect(page.get_by_role("columnheader", name="Status")).to_be_visible(timeout=IMPORT_TIMEOUT)
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(row(page, "Heritage Dental")).to_be_visible()


@pytest.mark.parametrize("app_config", [{"FRAME_ANCESTORS": PORTAL}])
def test_tile_works_inside_the_portal_iframe(page, admin, sandbox, workers, live_server):
    """The portal (another site) frames the tile; the session cookie is third-party there."""
    page.route(
        f"{PORTAL}/**",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<!doctype html><title>Portal</title><h1>Portal</h1><iframe title="IT Glue" '
            f'src="{live_server}/integrations/itglue/tile" width="1200" height="900"></iframe>',
        ),
    )
    # Chromium's Local Network Access check blocks a page that did not come from a local
    # address (this one comes from page.route) from framing 127.0.0.1; a real portal and a real
    # deployment are both public, so allow it here.
    page.context.grant_permissions(["local-network-access"], origin=PORTAL)
    page.goto(f"{PORTAL}/")
    frame = page.frame_locator("iframe[title='IT Glue']")
    frame.get_by_label("Email").fill(admin.email)
    frame.get_by_label("Password").fill("correct horse battery")
    frame.get_by_role("button", name="Sign in").click()
    expect(frame.get_by_role("heading", name="IT Glue Integration")).to_be_visible()

    add_integration(frame, sandbox.keys["us"])
    expect_table(frame)
    import_rows(frame, {"Heritage Dental": ("1-10", "Healthcare")})
    expect(status_of(frame, "Heritage Dental")).to_have_text("Imported", timeout=IMPORT_TIMEOUT)
    expect(page.get_by_role("heading", name="Portal")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["domain"] == "127.0.0.1")
    assert cookie["secure"] and cookie["sameSite"] == "None"
