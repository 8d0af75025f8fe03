import pytest
from helpers import login


@pytest.fixture
def app_config():
    return {"FRAME_ANCESTORS": "https://portal.example.com https://admin.example.com"}


def test_tile_is_frameable_by_the_configured_portal_only(client, admin):
    login(client, admin.email)
    tile = client.get("/integrations/itglue/tile")
    directives = dict(
        d.strip().split(" ", 1) for d in tile.headers["Content-Security-Policy"].split(";")
    )
    assert directives["frame-ancestors"] == "https://portal.example.com https://admin.example.com"
    assert "X-Frame-Options" not in tile.headers
    page = client.get("/organizations")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_works_inside_the_iframe(client, admin):
    response = client.post(
        "/login", data={"email": admin.email, "password": "correct horse battery"}
    )
    cookie = response.headers["Set-Cookie"]
    for flag in ("Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/"):
        assert flag in cookie
