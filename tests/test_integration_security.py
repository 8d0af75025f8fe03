"""Security of the IT Glue tile through HTTP: the key stays secret, CSRF, bad input, tampered ids,
oversized requests, framing headers and hostile IT Glue names."""

import logging
import re
import zlib

import pytest
from helpers import login, make_partner, make_user
from itglue_flow_helpers import (
    BASE,
    HTMX,
    choices,
    connected,
    held_queue,
    import_and_wait,
    jobs_waiting,
    row,
    seed_snapshot,
    table_html,
    text,
    wait_for,
    worker_output,
)

from jobs.itglue import KEY_UNREADABLE
from webapp.models import (
    MODELS,
    ImportRun,
    Integration,
    ITGlueDomain,
    ITGlueOrganization,
    MonitoredDomain,
    Organization,
    OrganizationLink,
)
from webapp.security import CSRF_MESSAGE


def every_row():
    """Every row of every table, as text, to look for a secret or to compare before and after."""
    return {m._meta.table_name: list(m.select().order_by(m.id).tuples()) for m in MODELS}


def redis_values(connection):
    """Every key and value in the queue's Redis, with compressed job payloads inflated."""
    found = []
    for key in connection.scan_iter(count=1000):
        kind = connection.type(key)
        found.append(key)
        if kind == b"string":
            values = [connection.get(key)]
        elif kind == b"hash":
            values = [v for pair in connection.hgetall(key).items() for v in pair]
        elif kind == b"list":
            values = connection.lrange(key, 0, -1)
        elif kind == b"set":
            values = list(connection.smembers(key))
        elif kind == b"zset":
            values = connection.zrange(key, 0, -1)
        elif kind == b"stream":
            values = [repr(entry).encode() for entry in connection.xrange(key)]
        else:
            values = []
        for value in values:
            found.append(value)
            try:
                found.append(zlib.decompress(value))
            except (zlib.error, TypeError):
                pass
    return found


def sandbox_requests(sandbox):
    return sandbox.app.config["SANDBOX"].stats()["total"]


def test_the_api_key_never_leaves_the_server(app, admin_client, sandbox, workers, partner, caplog):
    caplog.set_level(logging.DEBUG)
    canary = sandbox.keys["us"]  # the real key: it is a secret as much as any canary
    integration = connected(admin_client, sandbox)
    rows = [row("Contoso Example"), row("Springfield City Council")]
    import_and_wait(admin_client, rows)
    first_ciphertext = integration.encrypted_key

    responses = []
    # The same key again (a new ciphertext), then to the wrong region (an error that names it).
    responses.append(admin_client.post(f"{BASE}/key", data={"api_key": canary, "region": "us"}))
    responses.append(admin_client.get("/my-organization"))  # with the flash message
    wait_for(lambda: Integration.get().load_state == "loaded")
    responses.append(admin_client.post(f"{BASE}/key", data={"api_key": canary, "region": "eu"},
                                       headers=HTMX))  # fmt: skip
    responses.append(admin_client.post(BASE, data={"api_key": canary, "region": "us"}))
    for url in (
        "/my-organization",
        "/organizations",
        f"{BASE}/tile",
        f"{BASE}/key",
        f"{BASE}/delete",
        f"{BASE}/new",
        f"{BASE}/progress",
        f"{BASE}/organizations",
        f"{BASE}/counter?selected={rows[0].id}",
        f"{BASE}/status?rows={rows[0].id}",
        f"/organizations/{Organization.select().first().id}",
        f"{BASE}/nothing-here",
    ):
        responses.append(admin_client.get(url))
        responses.append(admin_client.get(url, headers=HTMX))
    responses.append(admin_client.post(f"{BASE}/organizations", data={"selected": "x"}))
    responses.append(admin_client.post(f"{BASE}/organizations", data={"selected": rows[0].id}))
    responses.append(admin_client.post(f"{BASE}/organizations/999999/retry"))
    statuses = {r.status_code for r in responses}
    assert {200, 302, 400, 404, 422} <= statuses and 500 not in statuses
    assert "This key belongs to the United States region" in responses[2].get_data(as_text=True)
    for response in responses:
        assert canary not in response.get_data(as_text=True)
        assert canary not in str(response.headers)
        assert canary[-12:] not in response.get_data(as_text=True)  # not even a long tail
    for record in caplog.records:
        assert canary not in record.getMessage() and canary not in str(record.args)
        assert canary not in (caplog.text or "")
    for value in redis_values(app.extensions["queue"].connection):
        assert canary.encode() not in value
    integration = Integration.get()
    assert canary not in str(every_row())
    assert integration.encrypted_key != first_ciphertext  # the same key, a fresh nonce
    keyring = app.extensions["keyring"]
    assert keyring.decrypt(integration.encrypted_key, partner_id=partner.id) == canary
    assert keyring.decrypt(first_ciphertext, partner_id=partner.id) == canary
    # Real rq workers' stderr: their warnings and tracebacks (the embedded worker logs above).
    assert canary not in worker_output(workers)


def test_a_ciphertext_copied_to_another_partner_fails_closed(app, admin_client, sandbox, workers,
                                                             partner):  # fmt: skip
    mine = connected(admin_client, sandbox)
    other = make_partner("Bravo MSP")
    make_user("admin@bravo.test", other, "admin", integration_access=True)
    theirs = seed_snapshot(other, [("Bravo Customer", ["bravo.test"])])
    Integration.update(encrypted_key=mine.encrypted_key).where(
        Integration.id == theirs.id
    ).execute()
    bravo = app.test_client()
    login(bravo, "admin@bravo.test")
    before = sandbox_requests(sandbox)
    assert bravo.post(f"{BASE}/refresh").status_code == 302
    wait_for(lambda: Integration.get_by_id(theirs.id).load_state == "failed")
    failed = Integration.get_by_id(theirs.id)
    assert failed.load_error == KEY_UNREADABLE and failed.key_problem == KEY_UNREADABLE
    page = bravo.get("/my-organization")
    assert page.status_code == 200
    assert "The stored API key can no longer be read. Enter the key again." in text(
        page.get_data(as_text=True)
    )
    assert sandbox_requests(sandbox) == before  # the key was never sent anywhere
    assert Integration.get_by_id(mine.id).load_state == "loaded"


class TestCSRF:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @pytest.fixture
    def signed_in(self, client, admin):
        with client.session_transaction() as session:
            session["user_id"] = admin.id
        return client

    def forms(self, app, row_id):
        data = {
            "auth.login": {"email": "admin@acme.test", "password": "correct horse battery"},
            "integrations.create": {"api_key": "ITG.0123456789abcdef", "region": "us"},
            "integrations.update_key": {"api_key": "ITG.0123456789abcdef", "region": "us"},
            "integrations.update_rows": {"selected": str(row_id), "bulk_industry": "Retail"},
            "integrations.create_import": choices([ITGlueOrganization.get_by_id(row_id)]),
        }
        for rule in app.url_map.iter_rules():
            if "POST" in rule.methods:
                url = re.sub(r"<int(\([^)]*\))?:\w+>", str(row_id), rule.rule)
                yield rule.endpoint, url, data.get(rule.endpoint, {})

    def test_every_post_without_a_token_is_refused(self, app, signed_in, partner):
        seed_snapshot(partner, [("Guarded Ltd", ["guarded.test"])])
        target = row("Guarded Ltd")
        before = every_row()
        posts = list(self.forms(app, target.id))
        assert len(posts) >= 10
        with held_queue(app):
            for endpoint, url, data in posts:
                for headers in ({}, HTMX, {**HTMX, "X-CSRFToken": "forged"}):
                    response = signed_in.post(url, data=data, headers=headers)
                    assert response.status_code == 400, (endpoint, response.status_code)
                    assert CSRF_MESSAGE in response.get_data(as_text=True)
            assert jobs_waiting(app) == 0
        assert every_row() == before
        assert signed_in.get("/my-organization").status_code == 200  # still signed in

    def test_the_token_in_the_htmx_header_or_the_form_works(self, app, signed_in, partner):
        seed_snapshot(partner, [("Guarded Ltd", ["guarded.test"])])
        target = row("Guarded Ltd")
        page = signed_in.get("/my-organization").get_data(as_text=True)
        token = re.search(r'"X-CSRFToken": "([^"]+)"', page.replace("&#34;", '"')).group(1)
        bulk = {"selected": str(target.id), "bulk_industry": "Retail"}
        response = signed_in.post(
            f"{BASE}/organizations", data=bulk, headers={**HTMX, "X-CSRFToken": token}
        )
        assert response.status_code == 200
        assert "Updated 1 organizations." in response.get_data(as_text=True)
        assert row("Guarded Ltd").industry == "Retail"
        field = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        bulk = {"selected": str(target.id), "bulk_employee_count": "1-10", "csrf_token": field}
        assert signed_in.post(f"{BASE}/organizations", data=bulk).status_code == 302
        assert row("Guarded Ltd").employee_count == "1-10"


BAD_REGIONS = ["", "xx", "US", "https://api.itglue.com@evil.test", "api.itglue.com.evil.test",
               "https://169.254.169.254", "us\r\nX-Injected: 1"]  # fmt: skip
BAD_KEYS = [
    ("", "Enter the API key you generated in IT Glue."),
    ("   \t ", "Enter the API key you generated in IT Glue."),
    ("ITG." + "a" * 600, "That is not an IT Glue API key"),
    ("ITG.abc\r\nX-Injected: 1", "That is not an IT Glue API key"),
    ("ITG.abc\x00def", "That is not an IT Glue API key"),
    ("ITG.ключ-doступа", "That is not an IT Glue API key"),
    ("ITG.with inner space", "Invalid API key for the United States region"),
]


def test_bad_region_or_key_is_refused_without_calling_it_glue(admin_client, sandbox):
    before = sandbox_requests(sandbox)
    for region in BAD_REGIONS:
        form = {"api_key": sandbox.keys["us"], "region": region}
        response = admin_client.post(BASE, data=form, headers=HTMX)
        assert response.status_code == 422, region
        assert "Choose a region: United States, Europe or Australia." in text(
            response.get_data(as_text=True)
        )
    for key, message in BAD_KEYS:
        response = admin_client.post(BASE, data={"api_key": key, "region": "us"}, headers=HTMX)
        assert response.status_code == 422, key
        assert message in text(response.get_data(as_text=True)), key
        assert response.headers["HX-Retarget"] == "#itglue-modal"
    assert sandbox_requests(sandbox) == before
    assert Integration.select().count() == 0


def test_bad_replacement_key_keeps_the_stored_key(app, admin_client, sandbox, partner):
    integration = seed_snapshot(partner, [("Kept Ltd", ["kept.test"])], key="ITG.kept-key-1234")
    before = sandbox_requests(sandbox)
    for key, _ in BAD_KEYS[:-1]:
        response = admin_client.post(f"{BASE}/key", data={"api_key": key, "region": "us"})
        assert response.status_code == 422
    response = admin_client.post(f"{BASE}/key", data={"api_key": "ITG.x", "region": "mars"})
    assert response.status_code == 422
    assert sandbox_requests(sandbox) == before
    after = Integration.get_by_id(integration.id)
    assert after.encrypted_key == integration.encrypted_key
    assert app.extensions["keyring"].decrypt(after.encrypted_key, partner_id=partner.id) == (
        "ITG.kept-key-1234"
    )


TAMPERED = ["abc", "-1", "9" * 30, "1 OR 1=1", "١٢", "²", "", " 1", "0x10", "1.0"]


def test_tampered_selection_ids_change_nothing(app, admin_client, admin, partner):
    seed_snapshot(partner, [("Real Ltd", ["real.test"])])
    other = make_partner("Bravo MSP")
    foreign = row("Bravo Ltd", seed_snapshot(other, [("Bravo Ltd", ["bravo.test"])]))
    real = row("Real Ltd")
    before = every_row()
    with held_queue(app):
        for value in [*TAMPERED, str(foreign.id), "99999999999"]:
            form = {**choices([real]), "selected": [value]}
            for url in (f"{BASE}/imports", f"{BASE}/organizations"):
                response = admin_client.post(url, data={**form, "bulk_industry": "Retail"})
                assert response.status_code in (400, 404), (url, value, response.status_code)
                assert "Traceback" not in response.get_data(as_text=True)
        for path in ("abc", "-1", "1.5", "%D9%A1%D9%A2", str(foreign.id)):
            response = admin_client.post(f"{BASE}/organizations/{path}/retry")
            assert response.status_code == 404, path
        # A well-formed selection repeated, mixed with a bad part, is refused as a whole.
        mixed = {**choices([real]), "selected": [str(real.id), "abc"]}
        assert admin_client.post(f"{BASE}/imports", data=mixed).status_code == 400
        bad_choice = {**choices([real]), f"industry-{real.id}": "Crime"}
        assert admin_client.post(f"{BASE}/imports", data=bad_choice).status_code == 400
        assert jobs_waiting(app) == 0
    assert every_row() == before
    assert ImportRun.select().count() == 0


def test_non_ascii_digits_in_poller_ids_do_not_fail(admin_client, partner):
    seed_snapshot(partner, [("Real Ltd", ["real.test"])])
    assert admin_client.get(f"{BASE}/status?rows=²", headers=HTMX).status_code == 200
    assert admin_client.get(f"{BASE}/counter?selected=²").status_code == 200


def test_huge_row_id_in_the_retry_url_answers_404(admin_client, partner):
    seed_snapshot(partner, [("Real Ltd", ["real.test"])])
    response = admin_client.post(f"{BASE}/organizations/{'9' * 20}/retry")
    assert response.status_code == 404


def test_oversized_request_is_refused_with_413(app, admin_client, partner):
    seed_snapshot(partner, [("Real Ltd", ["real.test"])])
    before = every_row()
    huge = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    for url in (f"{BASE}/imports", f"{BASE}/organizations", BASE):
        response = admin_client.post(url, data={"q": huge, "api_key": huge, "region": "us"})
        assert response.status_code == 413, url
        assert "That request is too large." in response.get_data(as_text=True)
    assert every_row() == before


class TestFraming:
    @pytest.fixture
    def app_config(self):
        return {"FRAME_ANCESTORS": "https://portal.example.com"}

    @staticmethod
    def directives(response):
        policy = response.headers["Content-Security-Policy"]
        return dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())

    def test_tile_routes_frameable_by_the_portal_only_others_never(self, client, admin, partner):
        seed_snapshot(partner, [("Framed Ltd", ["framed.test"])])
        login(client, admin.email)
        for url, headers in (
            (f"{BASE}/tile", {}),
            (f"{BASE}/organizations", HTMX),
            (f"{BASE}/status", HTMX),
            (f"{BASE}/organizations/1/retry", {}),
        ):
            method = client.post if url.endswith("retry") else client.get
            response = method(url, headers=headers)
            assert self.directives(response)["frame-ancestors"] == "https://portal.example.com"
            assert "X-Frame-Options" not in response.headers, url
        for url in ("/my-organization", "/organizations", "/system", "/no-such-page"):
            response = client.get(url, headers={"Referer": "https://portal.example.com/"})
            assert self.directives(response)["frame-ancestors"] == "'none'", url
            assert response.headers["X-Frame-Options"] == "DENY", url
        # The policy does not follow what the request claims.
        response = client.get(f"{BASE}/tile?frame=https://evil.test",
                              headers={"Origin": "https://evil.test"})  # fmt: skip
        assert self.directives(response)["frame-ancestors"] == "https://portal.example.com"


def test_hostile_it_glue_names_are_rendered_escaped(admin_client, sandbox, workers, partner):
    state = sandbox.app.config["SANDBOX"]
    state.set_hostile_org(True)
    try:
        connected(admin_client, sandbox)
    finally:
        state.set_hostile_org(False)
    script, bold = row("<script>alert(1)</script> Ltd"), row('<b>Bold</b> & "Quoted" O\'Brien LLC')
    pages = [table_html(admin_client), admin_client.get("/my-organization").get_data(as_text=True)]
    import_and_wait(admin_client, [script, bold])
    pages.append(table_html(admin_client))
    pages.append(admin_client.get(f"{BASE}/status?rows={script.id},{bold.id}", headers=HTMX)
                 .get_data(as_text=True))  # fmt: skip
    pages.append(admin_client.get("/organizations").get_data(as_text=True))
    for page in pages:
        assert "<script>alert" not in page and "<b>Bold" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Ltd" in page
        assert "&lt;b&gt;Bold&lt;/b&gt; &amp; &#34;Quoted&#34; O&#39;Brien LLC" in page
    assert "Evil Corp &lt;img src=x onerror=alert(1)&gt;" in pages[0]
    assert 'aria-label="Select &lt;b&gt;Bold&lt;/b&gt; &amp; &#34;Quoted&#34;' in pages[0]
    assert Organization.select().where(Organization.name == script.name).exists()
    assert {(d.name, d.outcome) for d in ITGlueDomain.select().where(
        ITGlueDomain.organization == script)} == {("script-example.test", "imported")}  # fmt: skip


def test_logs_name_no_secret_when_a_load_is_refused(app, admin_client, sandbox, workers, caplog):
    """A key that IT Glue refuses later (revoked) fails the load with words, never the key."""
    caplog.set_level(logging.DEBUG)
    connected(admin_client, sandbox)
    state = sandbox.app.config["SANDBOX"]
    state.add_fault("status", status=403, count=50)
    try:
        assert admin_client.post(f"{BASE}/refresh").status_code == 302
        wait_for(lambda: Integration.get().load_state == "failed", timeout=60)
    finally:
        state.clear_faults()
    page = admin_client.get("/my-organization").get_data(as_text=True)
    assert "IT Glue refused the API key for the United States region" in text(page)
    assert sandbox.keys["us"] not in page and sandbox.keys["us"] not in caplog.text
    for value in redis_values(app.extensions["queue"].connection):
        assert sandbox.keys["us"].encode() not in value
    assert MonitoredDomain.select().count() == 0 and OrganizationLink.select().count() == 0
    assert sandbox.keys["us"] not in worker_output(workers)
