import re

import pytest
from helpers import PASSWORD
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def sign_in(page, email, password=PASSWORD):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_admin_signs_in_and_sees_the_itglue_tile(page, admin):
    sign_in(page, admin.email)
    expect(page).to_have_url(re.compile(r"/my-organization$"))
    expect(page.get_by_role("heading", name="My Organization")).to_be_visible()
    expect(page.get_by_role("heading", name="IT Glue Integration")).to_be_visible()


def test_wrong_password_shows_a_generic_error(page, admin):
    sign_in(page, admin.email, "wrong password")
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    expect(page.get_by_label("Email")).to_have_value(admin.email)


def test_sign_in_works_without_javascript(page_without_js, admin):
    sign_in(page_without_js, admin.email)
    expect(page_without_js.get_by_role("heading", name="IT Glue Integration")).to_be_visible()
