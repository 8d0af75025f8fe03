from helpers import PASSWORD, login, make_partner, make_user

from webapp.auth import BAD_CREDENTIALS


def test_login_page_has_labelled_fields(client, database):
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page


def test_sign_in_takes_an_admin_to_my_organization(client, admin):
    response = login(client, "ADMIN@acme.test ")
    assert response.headers["Location"] == "/"
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "My Organization" in page and "IT Glue Integration" in page


def test_wrong_password_and_unknown_email_get_the_same_answer(client, admin):
    wrong_password = client.post("/login", data={"email": admin.email, "password": "nope nope"})
    unknown_email = client.post("/login", data={"email": "who@else.test", "password": PASSWORD})
    assert wrong_password.status_code == unknown_email.status_code == 401
    for response in (wrong_password, unknown_email):
        assert BAD_CREDENTIALS in response.get_data(as_text=True)
    assert "user_id" not in client.get("/login").request.environ.get("flask.session", {})


def test_empty_and_oversized_credentials_are_refused(client, admin):
    assert client.post("/login", data={}).status_code == 401
    huge = {"email": "a" * 100_000 + "@x.test", "password": "p" * 100_000}
    assert client.post("/login", data=huge).status_code == 401


def test_logout_ends_the_session(admin_client):
    assert admin_client.get("/my-organization").status_code == 200
    assert admin_client.post("/logout").status_code == 302
    response = admin_client.get("/my-organization")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_pages_need_a_session(client, database):
    for path in ("/my-organization", "/organizations", "/integrations/itglue/tile", "/system"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == f"/login?next={path}"


def test_htmx_request_without_session_is_told_to_redirect(client, database):
    response = client.get("/organizations", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_next_only_follows_local_paths(client, admin):
    for target, expected in (
        ("/organizations", "/organizations"),
        ("//evil.test/x", "/"),
        ("https://evil.test", "/"),
    ):
        client.post("/logout")
        response = client.post(
            f"/login?next={target}", data={"email": admin.email, "password": PASSWORD}
        )
        assert response.headers["Location"] == expected


def test_deleted_user_session_is_dropped(admin_client, admin):
    admin.delete_instance()
    assert admin_client.get("/my-organization").status_code == 302


def test_support_staff_land_on_system_page(client, database):
    make_user("ops@portal.test", None, "support")
    login(client, "ops@portal.test")
    assert client.get("/").headers["Location"] == "/system"
    assert client.get("/my-organization").status_code == 403


def test_users_of_two_partners_share_nothing_but_the_login_page(client, database):
    other = make_partner("Other MSP")
    make_user("b@other.test", other, "admin")
    login(client, "b@other.test")
    assert "Other MSP" in client.get("/my-organization").get_data(as_text=True)
